//! Flame graphs as data: the call tree of one sample value, built the way
//! pprof's web flame graph builds it (`internal/report/stacks.go` and
//! `internal/driver/html/stacks.js`), stored compactly for 100k+ nodes.
//!
//! # Data model
//! A [`FlameGraph`] has two tables:
//! - `frames`: one [`FlameFrame`] per distinct stack entry, pprof's
//!   `StackSource`. Two entries are the same frame when function name, file,
//!   line, column and the inlined flag agree (pprof's key), so a function
//!   inlined into its caller and the same function called out of line are
//!   two frames.
//! - `nodes`: the call tree in preorder, one [`FlameNode`] per distinct path
//!   from the root. `nodes[0]` is the synthetic root ("root", all samples);
//!   each node names its parent by index (always smaller than its own) and
//!   its frame by index into `frames`. A node's subtree is the run of nodes
//!   after it with a greater depth. Siblings with the same frame are one
//!   node. Siblings are ordered by decreasing width (see
//!   [`FlameNode::width`]), ties in order of first appearance in the
//!   profile's samples, as pprof's flame graph orders its boxes.
//!
//! Within a sample, frames run from the outermost caller down to the leaf;
//! a location's inlined lines expand to their own frames, the out-of-line
//! function first (pprof's order). Locations without lines add no frame,
//! as in pprof's flame graph.
//!
//! # Values and diffs
//! `value` sums the sample values of the samples through a node that are
//! not labelled `pprof::base` (the new profile). `base` sums the values of
//! the samples labelled `pprof::base=true`, negated back to positive: pprof's
//! `-diff_base` marks the base that way after negating it. Without a
//! `-diff_base` base, `base` is 0. Samples whose value is 0 are left out:
//! they add nothing to any width (most samples of an `inuse_*` heap profile
//! are freed allocations).
//!
//! A node's `value` is its `self_value` plus its children's `value`s (and
//! likewise for `base`), except after [`FlameGraph::prune`], which keeps a
//! parent's totals when it drops children.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::sync::OnceLock;

use profile::{Line, Profile};
use regex::Regex;

use crate::config::Config;
use crate::graph::go_base;
use crate::report::{Report, compute_total, trim_path};
use crate::shortnames::{file_name_suffixes, short_name_list};

/// The root's `parent`.
pub const NO_PARENT: u32 = u32::MAX;

/// One distinct stack entry (pprof's `StackSource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlameFrame {
    /// pprof's `FullName`: the function name, or the file name for file
    /// granularity, with `:line[:column]` when the granularity keeps lines.
    /// Unknown functions are `?1?`, `?2?`, … as in pprof.
    pub name: String,
    /// Names to draw, longest first, never empty (pprof's `Display`:
    /// package path and receiver dropped step by step).
    pub display: Vec<String>,
    /// Source file (after `-trim_path`), empty when unknown.
    pub file: String,
    /// First line of the function (`Function.start_line`), 0 when unknown.
    pub line: i64,
    /// Inlined into its caller (the caller is the parent node).
    pub inlined: bool,
    /// A stable hash of the package name (or the file's directory), in
    /// `0..1_048_576` like pprof's `Color`, for palettes keyed by package.
    pub color: u32,
}

/// One node of the call tree. `Copy`, 40 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlameNode {
    /// Index of the parent in `FlameGraph::nodes`; [`NO_PARENT`] for the root.
    pub parent: u32,
    /// 0 for the root.
    pub depth: u32,
    /// Index into `FlameGraph::frames` (0, "root", for the root).
    pub frame: u32,
    /// Sum over the new profile's samples through this node.
    pub value: i64,
    /// Sum over the new profile's samples whose leaf is this node.
    pub self_value: i64,
    /// Sum over the base's samples through this node, positive.
    pub base: i64,
}

impl FlameNode {
    /// The width to draw: `|value| + |base|`, pprof's `sumpos + sumneg`
    /// (in a diff, a node spans its old and new values together).
    pub fn width(&self) -> u64 {
        self.value
            .unsigned_abs()
            .saturating_add(self.base.unsigned_abs())
    }
}

/// A flame graph: frames, nodes in preorder, and what the values mean.
#[derive(Clone, Debug, PartialEq)]
pub struct FlameGraph {
    /// The sample type shown (`inuse_space`).
    pub sample_type: String,
    /// Its unit as the profile gives it (`bytes`, `nanoseconds`, `count`).
    pub unit: String,
    /// The denominator of percentages: pprof's report total (Σ|v| before
    /// filters; the base's total for `-diff_base`).
    pub total: i64,
    /// `1/-divide_by`: multiply values by it before display.
    pub ratio: f64,
    /// Title (the main binary's base name), may be empty.
    pub title: String,
    /// Whether any sample was labelled `pprof::base` (diff colouring).
    pub diff: bool,
    pub frames: Vec<FlameFrame>,
    pub nodes: Vec<FlameNode>,
}

/// What [`build`] needs besides the profile.
pub struct BuildOptions<'a> {
    /// The value of a sample (pprof's `SampleValue`).
    pub value: &'a dyn Fn(&[i64]) -> i64,
    pub sample_type: String,
    pub unit: String,
    /// Percentages' denominator.
    pub total: i64,
    pub ratio: f64,
    pub title: String,
    /// `-trim_path` and `-source_path`, applied to file names as pprof does.
    pub trim_path: String,
    pub source_path: String,
}

impl FlameGraph {
    /// The flame graph of sample value `index` of a profile that has been
    /// through the pipeline already, with pprof's total of that profile.
    pub fn from_profile(p: &Profile, index: usize) -> FlameGraph {
        let value = move |v: &[i64]| v.get(index).copied().unwrap_or(0);
        let st = p.sample_types.get(index).cloned().unwrap_or_default();
        let o = BuildOptions {
            value: &value,
            sample_type: st.r#type,
            unit: st.unit,
            total: compute_total(p, &value, None),
            ratio: 1.0,
            title: p
                .mappings
                .first()
                .filter(|m| !m.file.is_empty())
                .map(|m| go_base(&m.file))
                .unwrap_or_default(),
            trim_path: String::new(),
            source_path: String::new(),
        };
        build(p, &o)
    }

    /// The flame graph of a report's (filtered, aggregated) profile, with its
    /// total (computed before filters), sample value, ratio and paths.
    pub fn from_report(rpt: &Report) -> FlameGraph {
        let o = &rpt.options;
        let b = BuildOptions {
            value: &*o.sample_value,
            sample_type: o.sample_type.clone(),
            unit: o.sample_unit.clone(),
            total: rpt.total(),
            ratio: if o.ratio > 0.0 { o.ratio } else { 1.0 },
            title: o.title.clone(),
            trim_path: o.trim_path.clone(),
            source_path: o.source_path.clone(),
        };
        build(rpt.profile(), &b)
    }

    /// The root node.
    pub fn root(&self) -> &FlameNode {
        &self.nodes[0]
    }

    /// The frame of a node.
    pub fn frame(&self, node: &FlameNode) -> &FlameFrame {
        &self.frames[node.frame as usize]
    }

    /// The index one past the end of node `i`'s subtree.
    pub fn subtree_end(&self, i: usize) -> usize {
        let d = self.nodes[i].depth;
        self.nodes[i + 1..]
            .iter()
            .position(|n| n.depth <= d)
            .map_or(self.nodes.len(), |k| i + 1 + k)
    }

    /// Children of node `i`, in drawing order.
    pub fn children(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.subtree_end(i);
        let d = self.nodes[i].depth + 1;
        (i + 1..end).filter(move |&k| self.nodes[k].depth == d)
    }

    /// The frame names from the root's child down to node `i`.
    pub fn path(&self, mut i: usize) -> Vec<&str> {
        let mut out = Vec::new();
        while i != 0 {
            let n = &self.nodes[i];
            out.push(self.frames[n.frame as usize].name.as_str());
            i = n.parent as usize;
        }
        out.reverse();
        out
    }

    /// A copy without the nodes narrower than `min_fraction` of the root's
    /// width, and without their subtrees. Parents keep their `value` and
    /// `base`: what was dropped shows as unlabelled space at the end of the
    /// parent, never as a made-up "(other)" frame that search or zoom
    /// could pick. Frames no node uses any more are dropped too. The root
    /// always stays.
    pub fn prune(&self, min_fraction: f64) -> FlameGraph {
        let min = self.root().width() as f64 * min_fraction.max(0.0);
        let mut keep = vec![false; self.nodes.len()];
        let mut new_index = vec![u32::MAX; self.nodes.len()];
        let mut frame_map = vec![u32::MAX; self.frames.len()];
        let mut frames = Vec::new();
        let mut nodes = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let kept = i == 0 || (keep[n.parent as usize] && n.width() as f64 >= min);
            if !kept {
                continue;
            }
            keep[i] = true;
            new_index[i] = nodes.len() as u32;
            let f = n.frame as usize;
            if frame_map[f] == u32::MAX {
                frame_map[f] = frames.len() as u32;
                frames.push(self.frames[f].clone());
            }
            nodes.push(FlameNode {
                parent: if i == 0 {
                    NO_PARENT
                } else {
                    new_index[n.parent as usize]
                },
                frame: frame_map[f],
                ..*n
            });
        }
        FlameGraph {
            frames,
            nodes,
            sample_type: self.sample_type.clone(),
            unit: self.unit.clone(),
            title: self.title.clone(),
            ..*self
        }
    }
}

/// Frame identity: pprof's `StackSet` source key.
#[derive(Hash, PartialEq, Eq)]
struct FrameKey<'p> {
    name: &'p str,
    file: &'p str,
    line: i64,
    column: i64,
    inlined: bool,
}

/// A multiplicative hash with a murmur3 finaliser: the trie lookups hash
/// millions of small integer keys, where SipHash would dominate the build
/// time. Keys are indexes heapdrift assigns, not attacker-chosen values.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(b as u64);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.add(x);
    }
    fn write_u32(&mut self, x: u32) {
        self.add(x as u64);
    }
    fn finish(&self) -> u64 {
        // A multiply only carries low bits upwards, and the table indexes
        // by low bits: without this, keys differing only in their high half
        // (the parent of a trie key) would all share a bucket.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

impl FxHasher {
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

struct Builder<'p> {
    p: &'p Profile,
    trim: &'p str,
    search: &'p str,
    keys: HashMap<FrameKey<'p>, u32>,
    frames: Vec<FlameFrame>,
    unknown: u64,
}

impl<'p> Builder<'p> {
    /// pprof's `getSrc`.
    fn frame(&mut self, line: &'p Line, inlined: bool) -> u32 {
        let f = line.function.map(|f| self.p.function(f));
        let unknown_name;
        let (name, file, start) = match f {
            Some(f) => (f.name.as_str(), f.filename.as_str(), f.start_line),
            None => {
                // pprof makes up a new function for every such line.
                self.unknown += 1;
                unknown_name = format!("?{}?", self.unknown);
                let idx = self.frames.len() as u32;
                self.frames
                    .push(self.new_frame(&unknown_name, "", 0, line, inlined));
                return idx;
            }
        };
        let key = FrameKey {
            name,
            file,
            line: line.line,
            column: line.column,
            inlined,
        };
        if let Some(&i) = self.keys.get(&key) {
            return i;
        }
        let idx = self.frames.len() as u32;
        let fr = self.new_frame(name, file, start, line, inlined);
        self.frames.push(fr);
        self.keys.insert(key, idx);
        idx
    }

    fn new_frame(
        &self,
        name: &str,
        file: &str,
        start: i64,
        line: &Line,
        inlined: bool,
    ) -> FlameFrame {
        let file = trim_path(file, self.trim, self.search);
        if !name.is_empty() {
            let full = add_line_info(name, line);
            FlameFrame {
                display: short_name_list(&full),
                color: pick_color(package_name(name)),
                name: full,
                file,
                line: start,
                inlined,
            }
        } else {
            // File granularity: the frame is the file.
            let full = add_line_info(&file, line);
            let dir = match file.rfind('/') {
                Some(0) => "/",
                Some(i) => &file[..i],
                None => ".",
            };
            FlameFrame {
                display: file_name_suffixes(&full),
                color: pick_color(dir),
                name: full,
                line: start,
                file,
                inlined,
            }
        }
    }
}

/// pprof's `addLineInfo`.
fn add_line_info(s: &str, line: &Line) -> String {
    if line.column != 0 {
        format!("{s}:{}:{}", line.line, line.column)
    } else if line.line != 0 {
        format!("{s}:{}", line.line)
    } else {
        s.to_string()
    }
}

/// pprof's `packageName`: the name up to the first `.` or `::` after the
/// last `/`, or "".
fn package_name(name: &str) -> &str {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^((?:.*/)?[0-9A-Za-z_]+)(?:\.|::)[^/]*$").expect("valid regex")
    });
    re.captures(name)
        .and_then(|c| c.get(1))
        .map_or("", |m| m.as_str())
}

/// A stable colour index for a key: FNV-1a, reduced like pprof's
/// `pickColor` (which uses SHA-256; only stability matters here).
fn pick_color(key: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in key.as_bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    h % 1_048_576
}

/// A node while the tree is being built.
struct TmpNode {
    parent: u32,
    frame: u32,
    value: i64,
    self_value: i64,
    base: i64,
}

/// Builds the flame graph of `p` (see the module documentation).
pub fn build(p: &Profile, o: &BuildOptions) -> FlameGraph {
    let mut b = Builder {
        p,
        trim: &o.trim_path,
        search: &o.source_path,
        keys: HashMap::new(),
        frames: vec![FlameFrame {
            name: "root".into(),
            display: vec!["root".into()],
            file: String::new(),
            line: 0,
            inlined: false,
            color: 0,
        }],
        unknown: 0,
    };
    let mut nodes = vec![TmpNode {
        parent: NO_PARENT,
        frame: 0,
        value: 0,
        self_value: 0,
        base: 0,
    }];
    let mut children: FxMap<u64, u32> = FxMap::default();
    // Frames of each location, root-most first; None until first seen.
    // Locations with a function-less line are never cached: pprof gives
    // each occurrence a new `?N?` frame.
    let mut loc_frames: Vec<Option<Box<[u32]>>> = vec![None; p.locations.len()];
    let mut scratch: Vec<u32> = Vec::new();
    let mut diff = false;
    for s in &p.samples {
        let v = (o.value)(&s.values);
        if v == 0 {
            continue;
        }
        let is_base = profile::passes::is_diff_base_sample(s);
        diff |= is_base;
        let (dv, db) = if is_base {
            (0, v.wrapping_neg())
        } else {
            (v, 0)
        };
        let mut cur = 0u32;
        let add = |n: &mut TmpNode| {
            n.value = n.value.wrapping_add(dv);
            n.base = n.base.wrapping_add(db);
        };
        add(&mut nodes[0]);
        for &l in s.locations.iter().rev() {
            let cached = loc_frames[l as usize].is_some();
            if !cached {
                let loc = p.location(l);
                scratch.clear();
                let last = loc.lines.len().saturating_sub(1);
                let mut cacheable = true;
                for (j, line) in loc.lines.iter().enumerate().rev() {
                    cacheable &= line.function.is_some();
                    scratch.push(b.frame(line, j != last));
                }
                if cacheable {
                    loc_frames[l as usize] = Some(scratch.clone().into_boxed_slice());
                }
            }
            let fr: &[u32] = match &loc_frames[l as usize] {
                Some(f) => f,
                None => &scratch,
            };
            for &f in fr {
                let key = (cur as u64) << 32 | f as u64;
                let next = *children.entry(key).or_insert_with(|| {
                    nodes.push(TmpNode {
                        parent: cur,
                        frame: f,
                        value: 0,
                        self_value: 0,
                        base: 0,
                    });
                    nodes.len() as u32 - 1
                });
                add(&mut nodes[next as usize]);
                cur = next;
            }
        }
        nodes[cur as usize].self_value = nodes[cur as usize].self_value.wrapping_add(dv);
    }
    drop(children);

    let width = |n: &TmpNode| n.value.unsigned_abs().saturating_add(n.base.unsigned_abs());
    // Children lists in creation order (= first appearance in the samples),
    // then by decreasing width; the sort is stable.
    let mut start = vec![0u32; nodes.len() + 1];
    for n in &nodes[1..] {
        start[n.parent as usize + 1] += 1;
    }
    for i in 0..nodes.len() {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut kids = vec![0u32; nodes.len().saturating_sub(1)];
    for (i, n) in nodes.iter().enumerate().skip(1) {
        let slot = &mut fill[n.parent as usize];
        kids[*slot as usize] = i as u32;
        *slot += 1;
    }
    for i in 0..nodes.len() {
        let (a, z) = (start[i] as usize, start[i + 1] as usize);
        kids[a..z].sort_by_key(|&k| std::cmp::Reverse(width(&nodes[k as usize])));
    }

    // Preorder.
    let mut out = Vec::with_capacity(nodes.len());
    let mut stack: Vec<(u32, u32, u32)> = vec![(0, NO_PARENT, 0)];
    while let Some((i, parent, depth)) = stack.pop() {
        let n = &nodes[i as usize];
        let me = out.len() as u32;
        out.push(FlameNode {
            parent,
            depth,
            frame: n.frame,
            value: n.value,
            self_value: n.self_value,
            base: n.base,
        });
        let (a, z) = (start[i as usize] as usize, start[i as usize + 1] as usize);
        for &k in kids[a..z].iter().rev() {
            stack.push((k, me, depth + 1));
        }
    }

    FlameGraph {
        sample_type: o.sample_type.clone(),
        unit: o.unit.clone(),
        total: o.total,
        ratio: o.ratio,
        title: o.title.clone(),
        diff,
        frames: b.frames,
        nodes: out,
    }
}

/// Writes `s` as a JSON string. Besides what JSON requires, `<`, `>`, `&`,
/// U+2028 and U+2029 are escaped (as Go's `encoding/json` does), so the
/// text can sit inside an HTML `<script>` element unchanged.
pub fn write_json_string(w: &mut impl Write, s: &str) -> io::Result<()> {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                write!(out, "\\u{:04x}", c as u32)?;
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
    w.write_all(&out)
}

fn write_f64(w: &mut impl Write, x: f64) -> io::Result<()> {
    if x.is_finite() {
        write!(w, "{x:?}")
    } else {
        w.write_all(b"null")
    }
}

fn write_column<T>(
    w: &mut impl Write,
    name: &str,
    items: &[T],
    mut f: impl FnMut(&mut dyn Write, &T) -> io::Result<()>,
) -> io::Result<()> {
    write!(w, "\"{name}\":[")?;
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        f(w, it)?;
    }
    w.write_all(b"]")
}

/// Writes the flame graph as compact JSON (schema in docs/flame.md):
/// column arrays for frames and nodes, so that 100k nodes parse fast in a
/// browser. Every string is escaped by [`write_json_string`].
pub fn write_json(g: &FlameGraph, w: impl Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    let w = &mut w;
    w.write_all(b"{\"version\":1,\"sample_type\":")?;
    write_json_string(w, &g.sample_type)?;
    w.write_all(b",\"unit\":")?;
    write_json_string(w, &g.unit)?;
    write!(w, ",\"total\":{},\"ratio\":", g.total)?;
    write_f64(w, g.ratio)?;
    w.write_all(b",\"title\":")?;
    write_json_string(w, &g.title)?;
    write!(w, ",\"diff\":{},\"frames\":{{", g.diff)?;
    let fr = &g.frames;
    write_column(w, "name", fr, |w, f| {
        write_json_string(&mut &mut *w, &f.name)
    })?;
    w.write_all(b",")?;
    write_column(w, "display", fr, |w, f| {
        w.write_all(b"[")?;
        for (i, d) in f.display.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            write_json_string(&mut &mut *w, d)?;
        }
        w.write_all(b"]")
    })?;
    w.write_all(b",")?;
    write_column(w, "file", fr, |w, f| {
        write_json_string(&mut &mut *w, &f.file)
    })?;
    w.write_all(b",")?;
    write_column(w, "line", fr, |w, f| write!(w, "{}", f.line))?;
    w.write_all(b",")?;
    write_column(w, "inlined", fr, |w, f| write!(w, "{}", f.inlined as u8))?;
    w.write_all(b",")?;
    write_column(w, "color", fr, |w, f| write!(w, "{}", f.color))?;
    w.write_all(b"},\"nodes\":{")?;
    let ns = &g.nodes;
    write_column(w, "parent", ns, |w, n| {
        if n.parent == NO_PARENT {
            w.write_all(b"-1")
        } else {
            write!(w, "{}", n.parent)
        }
    })?;
    w.write_all(b",")?;
    write_column(w, "depth", ns, |w, n| write!(w, "{}", n.depth))?;
    w.write_all(b",")?;
    write_column(w, "frame", ns, |w, n| write!(w, "{}", n.frame))?;
    w.write_all(b",")?;
    write_column(w, "value", ns, |w, n| write!(w, "{}", n.value))?;
    w.write_all(b",")?;
    write_column(w, "self", ns, |w, n| write!(w, "{}", n.self_value))?;
    w.write_all(b",")?;
    write_column(w, "base", ns, |w, n| write!(w, "{}", n.base))?;
    w.write_all(b"}}\n")?;
    w.flush()
}

/// The command a flame graph is made for, as pprof's `stackView` does.
pub fn command() -> &'static crate::config::Command {
    crate::config::command("svg").expect("svg is in pprof's command table")
}

/// The flame graph's config editor (pprof's `stackView`): the call tree,
/// no trimming, and `filefunctions` granularity unless the settings name
/// one. Pass it to [`crate::driver::make_report`] with [`command`]; the report's
/// total is then taken before the filters, so percentages match `-top`'s.
pub fn edit_config(cfg: &mut Config) {
    cfg.call_tree = true;
    cfg.trim = false;
    if cfg.granularity.is_empty() {
        cfg.granularity = "filefunctions".into();
    }
}

#[path = "flame_folded.rs"]
mod folded;
#[path = "flame_svg.rs"]
mod svg;

pub use folded::write_folded;
pub use svg::{SvgOptions, write_svg, xml_escape};

#[cfg(test)]
#[path = "flame_tests.rs"]
mod tests;
