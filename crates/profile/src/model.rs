//! The in-memory profile, shaped like google/pprof's `profile.Profile` so that
//! every pass can follow pprof's semantics one to one.
//!
//! References between tables are indexes into the owning `Vec`s
//! (`LocIdx`, `MapIdx`, `FuncIdx`), never proto ids: ids are kept only because
//! pprof prints them (`-raw`) and re-encodes them. Invariant: every index stored
//! in a `Profile` is in bounds; decoders and passes must uphold it.

use std::sync::{Arc, OnceLock};

/// Index into `Profile::locations`.
pub type LocIdx = u32;
/// Index into `Profile::mappings`.
pub type MapIdx = u32;
/// Index into `Profile::functions`.
pub type FuncIdx = u32;

/// `i` as a table index (location, function, mapping, line) for decoders,
/// which read untrusted input and so check: an error when it does not fit
/// in u32. `u32::MAX` is refused too, as the "no index" sentinel of several
/// tables (`IdIndex::NONE`, `flat::NO_INDEX`).
#[inline]
pub(crate) fn table_index(i: usize, table: &str) -> Result<u32, crate::ParseError> {
    match u32::try_from(i) {
        Ok(i) if i != u32::MAX => Ok(i),
        _ => Err(too_many(table)),
    }
}

#[cold]
fn too_many(table: &str) -> crate::ParseError {
    crate::ParseError::Invalid(format!("too many {table}"))
}

/// `i` as an index into an in-memory profile table, for passes and
/// builders that have no error to return.
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "tables are u32-indexed by design (LocIdx, MapIdx, FuncIdx); the callers are \
              infallible passes and builders over in-memory profiles, and a table of 2^32 \
              entries (hundreds of GiB) is beyond the model"
)]
pub(crate) fn mem_index(i: usize) -> u32 {
    debug_assert!(u32::try_from(i).is_ok(), "table index {i} exceeds u32");
    i as u32
}

/// Label keys and values repeat across samples; `Arc<str>` makes copying a
/// sample's labels cheap during merge and filtering.
pub type LabelStr = Arc<str>;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ValueType {
    pub r#type: String,
    pub unit: String,
}

impl ValueType {
    pub fn new(r#type: &str, unit: &str) -> Self {
        ValueType {
            r#type: r#type.to_string(),
            unit: unit.to_string(),
        }
    }
}

/// A string label (`key: value`). A key may repeat within one sample: pprof
/// keeps `map[string][]string`, we keep the pairs in insertion order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub key: LabelStr,
    pub value: LabelStr,
}

/// A numeric label with an optional unit (`bytes`, for example). `unit` is
/// `None` when the producer gave none; pprof infers one later.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NumLabel {
    pub key: LabelStr,
    pub value: i64,
    pub unit: Option<LabelStr>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Leaf first, as in profile.proto.
    pub locations: Vec<LocIdx>,
    pub values: Vec<i64>,
    pub labels: Vec<Label>,
    pub num_labels: Vec<NumLabel>,
}

impl Sample {
    /// All values of string label `key`, in insertion order.
    pub fn label_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.labels
            .iter()
            .filter(move |l| &*l.key == key)
            .map(|l| &*l.value)
    }

    /// All values of numeric label `key`, in insertion order.
    pub fn num_label_values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = i64> + 'a {
        self.num_labels
            .iter()
            .filter(move |l| &*l.key == key)
            .map(|l| l.value)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Mapping {
    pub id: u64,
    pub start: u64,
    pub limit: u64,
    pub offset: u64,
    pub file: String,
    pub build_id: String,
    pub has_functions: bool,
    pub has_filenames: bool,
    pub has_line_numbers: bool,
    pub has_inline_frames: bool,
    /// Not in profile.proto; pprof keeps it for kernel mappings.
    pub kernel_relocation_symbol: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Line {
    pub function: Option<FuncIdx>,
    pub line: i64,
    pub column: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Location {
    pub id: u64,
    pub mapping: Option<MapIdx>,
    pub address: u64,
    /// Innermost (inlined callee) first; the last line is the out-of-line caller.
    pub lines: Vec<Line>,
    pub is_folded: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Function {
    pub id: u64,
    pub name: String,
    pub system_name: String,
    pub filename: String,
    pub start_line: i64,
}

/// A profile's samples, shared between copies of the profile until one of
/// them changes its samples (copy on write): report preparations that only
/// rewrite locations copy a profile without copying hundreds of thousands
/// of samples. A copy that keeps only some samples ([`Samples::kept`])
/// clones them when they are first read, not before: a session's reports
/// over a focus read the samples' stacks and values from what it prepared
/// already, and cloning 700k samples costs more than such a report. Reads
/// and writes go through the `Vec` it derefs to.
#[derive(Clone, Default)]
pub struct Samples(Arc<SampleStore>);

#[derive(Default)]
struct SampleStore {
    /// The samples, once made.
    made: OnceLock<Vec<Sample>>,
    /// Until they are made: another set's samples whose flag is set, and
    /// how many those are.
    pending: Option<(Samples, Arc<[bool]>, usize)>,
}

impl SampleStore {
    fn get(&self) -> &Vec<Sample> {
        self.made.get_or_init(|| match &self.pending {
            Some((from, keep, _)) => clone_kept(from, keep),
            None => Vec::new(),
        })
    }
}

impl Clone for SampleStore {
    /// A copy to write to: the samples themselves.
    fn clone(&self) -> SampleStore {
        SampleStore {
            made: OnceLock::from(self.get().clone()),
            pending: None,
        }
    }
}

impl Samples {
    /// Whether `self` and `other` are the same shared samples.
    pub fn shares(&self, other: &Samples) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The samples whose flag in `keep` is set (one flag per sample),
    /// cloned only when first read.
    pub fn kept(&self, keep: &[bool]) -> Samples {
        if keep.len() == self.count() && keep.iter().all(|&k| k) {
            return self.clone();
        }
        let n = keep.iter().take(self.count()).filter(|&&k| k).count();
        Samples(Arc::new(SampleStore {
            made: OnceLock::new(),
            pending: Some((self.clone(), keep.into(), n)),
        }))
    }

    /// How many samples there are, without making those not made yet.
    pub fn count(&self) -> usize {
        match (self.0.made.get(), &self.0.pending) {
            (Some(v), _) => v.len(),
            (None, Some((_, _, n))) => *n,
            (None, None) => 0,
        }
    }
}

impl std::fmt::Debug for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Samples {
    fn eq(&self, other: &Samples) -> bool {
        **self == **other
    }
}

impl std::ops::Deref for Samples {
    type Target = Vec<Sample>;
    fn deref(&self) -> &Vec<Sample> {
        self.0.get()
    }
}

impl std::ops::DerefMut for Samples {
    fn deref_mut(&mut self) -> &mut Vec<Sample> {
        self.0.get();
        let store = Arc::make_mut(&mut self.0);
        store.pending = None;
        store.made.get_mut().expect("made just above")
    }
}

impl From<Vec<Sample>> for Samples {
    fn from(v: Vec<Sample>) -> Samples {
        Samples(Arc::new(SampleStore {
            made: OnceLock::from(v),
            pending: None,
        }))
    }
}

impl FromIterator<Sample> for Samples {
    fn from_iter<I: IntoIterator<Item = Sample>>(iter: I) -> Samples {
        iter.into_iter().collect::<Vec<Sample>>().into()
    }
}

impl<'a> IntoIterator for &'a Samples {
    type Item = &'a Sample;
    type IntoIter = std::slice::Iter<'a, Sample>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.get().iter()
    }
}

impl<'a> IntoIterator for &'a mut Samples {
    type Item = &'a mut Sample;
    type IntoIter = std::slice::IterMut<'a, Sample>;
    fn into_iter(self) -> Self::IntoIter {
        std::ops::DerefMut::deref_mut(self).iter_mut()
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    pub sample_types: Vec<ValueType>,
    pub default_sample_type: String,
    pub samples: Samples,
    pub mappings: Vec<Mapping>,
    pub locations: Vec<Location>,
    pub functions: Vec<Function>,
    pub comments: Vec<String>,
    pub doc_url: String,
    pub drop_frames: String,
    pub keep_frames: String,
    pub time_nanos: i64,
    pub duration_nanos: i64,
    pub period_type: Option<ValueType>,
    pub period: i64,
}

impl Profile {
    /// A copy holding only the samples whose flag in `keep` is set (one
    /// flag per sample), cloned when first read (see [`Samples::kept`]).
    pub fn clone_keeping_samples(&self, keep: &[bool]) -> Profile {
        // Destructured whole so that a new field cannot be forgotten here.
        let Profile {
            sample_types,
            default_sample_type,
            samples,
            mappings,
            locations,
            functions,
            comments,
            doc_url,
            drop_frames,
            keep_frames,
            time_nanos,
            duration_nanos,
            period_type,
            period,
        } = self;
        Profile {
            // Every sample kept: shared, not copied; else copied when read.
            samples: samples.kept(keep),
            sample_types: sample_types.clone(),
            default_sample_type: default_sample_type.clone(),
            mappings: mappings.clone(),
            locations: locations.clone(),
            functions: functions.clone(),
            comments: comments.clone(),
            doc_url: doc_url.clone(),
            drop_frames: drop_frames.clone(),
            keep_frames: keep_frames.clone(),
            time_nanos: *time_nanos,
            duration_nanos: *duration_nanos,
            period_type: period_type.clone(),
            period: *period,
        }
    }

    pub fn location(&self, idx: LocIdx) -> &Location {
        &self.locations[idx as usize]
    }

    pub fn function(&self, idx: FuncIdx) -> &Function {
        &self.functions[idx as usize]
    }

    pub fn mapping(&self, idx: MapIdx) -> &Mapping {
        &self.mappings[idx as usize]
    }
}

/// The samples flagged in `keep`, cloned: by two threads for large
/// profiles, as each clone allocates its sample's vectors.
fn clone_kept(samples: &[Sample], keep: &[bool]) -> Vec<Sample> {
    const MIN_PER_THREAD: usize = 100_000;
    let clone_part = |samples: &[Sample], keep: &[bool]| -> Vec<Sample> {
        samples
            .iter()
            .zip(keep)
            .filter(|(_, keep)| **keep)
            .map(|(s, _)| s.clone())
            .collect()
    };
    let n = samples.len().min(keep.len());
    if n < 2 * MIN_PER_THREAD {
        return clone_part(samples, keep);
    }
    let half = n / 2;
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| clone_part(&samples[half..n], &keep[half..n]));
        let first = clone_part(&samples[..half], &keep[..half]);
        (first, second.join().expect("clone worker panicked"))
    });
    let mut all = first;
    all.extend(second);
    all
}
