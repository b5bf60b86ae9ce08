//! pprof's `internal/report`: report options, the total, the trimmed graph
//! and the text generators (text/top, tree/peek, traces, tags, comments,
//! callgrind).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use profile::{Label, NumLabel, Profile};
use regex::Regex;

use crate::dotgraph;
use crate::gofmt::pad_left;
use crate::graph::{self, Graph, NodeSet, go_base};
use crate::measurement::{self, percentage};
use crate::tabwriter::TabWriter;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Callgrind,
    Comments,
    /// `disasm`: needs the binaries, see `Report::print_assembly`.
    Dis,
    Dot,
    List,
    Raw,
    Tags,
    Text,
    Traces,
    Tree,
    /// `weblist`: needs the binaries and sources, see `Report::print_weblist`.
    WebList,
}

pub type ValueFn = Box<dyn Fn(&[i64]) -> i64 + Send + Sync>;

/// pprof's `report.Options`.
pub struct Options {
    pub output_format: OutputFormat,
    pub cum_sort: bool,
    pub call_tree: bool,
    pub drop_negative: bool,
    pub compact_labels: bool,
    pub ratio: f64,
    pub title: String,
    /// Replaces the profile's own header lines when not empty.
    pub profile_labels: Vec<String>,
    pub active_filters: Vec<String>,
    pub num_label_units: HashMap<String, String>,
    /// Go's `NodeCount` (≤ 0: no limit).
    pub node_count: i64,
    pub node_fraction: f64,
    pub edge_fraction: f64,
    pub sample_value: ValueFn,
    pub sample_mean_divisor: Option<ValueFn>,
    pub sample_type: String,
    pub sample_unit: String,
    pub output_unit: String,
    /// `peek`/`list` symbol filter.
    pub symbol: Option<Regex>,
    pub source_path: String,
    pub trim_path: String,
    pub intel_syntax: bool,
    pub show_columns: bool,
    /// Where `list` looks for sources when `source_path` is empty (pprof
    /// uses the process's working directory; this crate does no I/O).
    pub working_dir: String,
    /// The zone of the `Time:` header: offset east of UTC in seconds and
    /// its abbreviation (pprof uses the local zone; the default is UTC).
    pub time_zone: (i64, String),
}

impl Options {
    /// Options for sample value `index` of `prof` as the pprof driver's
    /// `reportOptions` sets them (the unit is kept as written), with the
    /// CLI defaults for the rest (nodefraction 0.005, edgefraction 0.001,
    /// nodecount off, unit `minimum`, title = the main binary's base name).
    pub fn for_sample_index(prof: &Profile, index: usize, format: OutputFormat) -> Options {
        let st = prof.sample_types.get(index).cloned().unwrap_or_default();
        Options {
            output_format: format,
            cum_sort: false,
            call_tree: false,
            drop_negative: false,
            compact_labels: false,
            ratio: 1.0,
            title: prof
                .mappings
                .first()
                .filter(|m| !m.file.is_empty())
                .map(|m| go_base(&m.file))
                .unwrap_or_default(),
            profile_labels: Vec::new(),
            active_filters: Vec::new(),
            num_label_units: HashMap::new(),
            node_count: 0,
            node_fraction: 0.005,
            edge_fraction: 0.001,
            sample_value: Box::new(move |v: &[i64]| v.get(index).copied().unwrap_or(0)),
            sample_mean_divisor: None,
            sample_type: st.r#type,
            sample_unit: st.unit,
            output_unit: "minimum".to_string(),
            symbol: None,
            source_path: String::new(),
            trim_path: String::new(),
            intel_syntax: false,
            show_columns: false,
            working_dir: String::new(),
            time_zone: (0, "UTC".to_string()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no matches found for regexp: {0}")]
    NoMatches(String),
    /// The cause is the `source`, not repeated here: a chain printer
    /// shows it once, and a broken pipe is found by walking the chain.
    #[error("writing the report failed")]
    Io(#[from] std::io::Error),
    #[error("the list report needs a source reader: call Report::print_source")]
    NeedsSourceReader,
    #[error("could not stat current dir")]
    NoWorkingDir,
    #[error("no matches found for regexp {0}")]
    NoSymbols(String),
    #[error("no matches found for address {0:#x}")]
    NoSymbolAtAddress(u64),
    #[error(
        "address {0:#x} found in binary, but the corresponding symbols do not have samples in the profile"
    )]
    NoSamplesAtAddress(u64),
    /// A binary could not be read or disassembled (the tool's message).
    #[error("{0}")]
    Binary(String),
    #[error("unexpected output format {0:?}")]
    Unsupported(OutputFormat),
}

/// A report over one (already filtered and aggregated) profile.
pub struct Report {
    /// Shared with other reports over the same prepared profile (the
    /// shell's cache); copied on the first write.
    prof: Arc<Profile>,
    total: i64,
    pub options: Options,
    /// What graph builds share: within the report, and with later reports
    /// over the same profile and sample value. Reset when the profile
    /// changes.
    memo: Arc<GraphMemo>,
}

/// What graph builds over one profile and one sample value share: the
/// samples grouped by stack, and the last graphs built (a shell session
/// asks for the same graph again under another sort or node count).
#[derive(Default)]
pub(crate) struct GraphMemo {
    groups: OnceLock<graph::SampleGroups>,
    graphs: Mutex<Vec<(GraphKey, Graph)>>,
    /// In a session, the samples grouped by stack whatever the sample
    /// value, shared by the memos of every sample value of one profile.
    stacks: Option<Arc<OnceLock<graph::StackGroups>>>,
    /// In a session, the graph nodes made for the profiles' tables, shared
    /// by every memo.
    node_tables: Option<Arc<graph::NodeTablesCache>>,
}

impl GraphMemo {
    /// A memo for one sample value of a profile whose stack groups are
    /// shared with the other sample values, and whose graph nodes are kept
    /// in `node_tables` for every profile of a session.
    pub(crate) fn sharing(
        stacks: Arc<OnceLock<graph::StackGroups>>,
        node_tables: Arc<graph::NodeTablesCache>,
    ) -> GraphMemo {
        GraphMemo {
            stacks: Some(stacks),
            node_tables: Some(node_tables),
            ..Default::default()
        }
    }
}

/// What a graph built from sample groups depends on beyond the profile and
/// the sample value.
#[derive(PartialEq)]
struct GraphKey {
    kept: Option<NodeSet>,
    obj_names: bool,
    drop_negative: bool,
}

/// Graphs a memo keeps: the untrimmed graph and a trimmed rebuild or two.
const MEMO_GRAPHS: usize = 4;

impl GraphMemo {
    fn find(&self, key: &GraphKey) -> Option<Graph> {
        let graphs = self.graphs.lock().unwrap_or_else(|e| e.into_inner());
        graphs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, g)| g.clone())
    }

    fn keep(&self, key: GraphKey, g: &Graph) {
        let mut graphs = self.graphs.lock().unwrap_or_else(|e| e.into_inner());
        if graphs.len() >= MEMO_GRAPHS {
            graphs.remove(0);
        }
        graphs.push((key, g.clone()));
    }
}

/// pprof's `computeTotal`: Σ|v| (divided by Σ divisors with `-mean`), or
/// only the `pprof::base` samples' sum for `-diff_base` profiles.
pub fn compute_total(
    prof: &Profile,
    value: graph::SampleFn,
    mean_div: Option<graph::SampleFn>,
) -> i64 {
    let (mut div, mut total, mut diff_div, mut diff_total) = (0i64, 0i64, 0i64, 0i64);
    for s in &prof.samples {
        let v = value(&s.values).wrapping_abs();
        let d = mean_div.map(|f| f(&s.values)).unwrap_or(0);
        total = total.wrapping_add(v);
        div = div.wrapping_add(d);
        if s.labels
            .iter()
            .any(|l| &*l.key == "pprof::base" && &*l.value == "true")
        {
            diff_total = diff_total.wrapping_add(v);
            diff_div = diff_div.wrapping_add(d);
        }
    }
    finish_total((total, diff_total), (div, diff_div))
}

/// The end of pprof's `computeTotal`, from the sums over all samples and
/// over the `pprof::base` ones: `-diff_base` profiles count only the
/// latter, and `-mean` divides by the divisors' sum.
pub(crate) fn finish_total((total, diff_total): (i64, i64), (div, diff_div): (i64, i64)) -> i64 {
    let (total, div) = if diff_total > 0 {
        (diff_total, diff_div)
    } else {
        (total, div)
    };
    if div != 0 { total / div } else { total }
}

/// pprof's `trimPath`: makes a source path relative using the trim
/// prefixes, or guesses it from the search path's directory names.
pub fn trim_path(path: &str, trim: &str, search_path: &str) -> String {
    if trim.is_empty() {
        for dir in search_path.split(':').filter(|_| !search_path.is_empty()) {
            let want = format!("/{}/", go_base(dir));
            if let Some(found) = path.find(&want) {
                return path[found + want.len()..].to_string();
            }
        }
    }
    let mut trims: Vec<String> = if trim.is_empty() {
        Vec::new()
    } else {
        trim.split(':').map(str::to_string).collect()
    };
    trims.push("/proc/self/cwd/./".to_string());
    trims.push("/proc/self/cwd/".to_string());
    for mut t in trims {
        if !t.ends_with('/') {
            t.push('/');
        }
        if let Some(rest) = path.strip_prefix(&t) {
            return rest.to_string();
        }
    }
    path.to_string()
}

struct Trimmed {
    g: Graph,
    orig_count: usize,
    dropped_nodes: usize,
    dropped_edges: usize,
}

impl Report {
    /// pprof's `report.New`: computes the total now, so that filters applied
    /// afterwards (through `profile_mut`) keep percentages relative to the
    /// unfiltered profile.
    pub fn new(prof: Profile, options: Options) -> Report {
        let total = compute_total(
            &prof,
            &*options.sample_value,
            options
                .sample_mean_divisor
                .as_deref()
                .map(|f| f as &dyn Fn(&[i64]) -> i64),
        );
        Report::with_total(Arc::new(prof), options, total, Arc::default())
    }

    /// A report over a shared profile whose total (pprof's, taken before
    /// any focus) is already known, sharing `memo` with the reports over
    /// the same profile and sample value.
    pub(crate) fn with_total(
        prof: Arc<Profile>,
        options: Options,
        total: i64,
        memo: Arc<GraphMemo>,
    ) -> Report {
        Report {
            prof,
            total,
            options,
            memo,
        }
    }

    pub fn total(&self) -> i64 {
        self.total
    }

    pub fn profile(&self) -> &Profile {
        &self.prof
    }

    /// The profile to change: a private copy if it is shared.
    pub fn profile_mut(&mut self) -> &mut Profile {
        self.memo = Arc::default();
        Arc::make_mut(&mut self.prof)
    }

    /// Formats a value in the report's output unit (after `-ratio`).
    pub fn format_value(&self, v: i64) -> String {
        let o = &self.options;
        let mut v = v;
        if o.ratio > 0.0 && o.ratio != 1.0 {
            v = (v as f64 * o.ratio) as i64;
        }
        measurement::scaled_label(v, &o.sample_unit, &o.output_unit)
    }

    /// pprof's `DocURL`: the profile's documentation link if it is an
    /// absolute http(s) URL.
    pub fn doc_url(&self) -> String {
        let u = &self.prof.doc_url;
        let scheme = u.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http") | Some("https") => u.clone(),
            _ => String::new(),
        }
    }

    /// Turns on `-mean`: values are divided by sample value 0 (the count),
    /// as pprof's driver does.
    pub fn set_mean(options: &mut Options) {
        options.sample_mean_divisor = Some(Box::new(|v: &[i64]| v.first().copied().unwrap_or(0)));
        options.sample_type = format!("mean_{}", options.sample_type);
    }

    /// Writes the report selected by `options.output_format`.
    pub fn generate(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        match self.options.output_format {
            OutputFormat::Comments => self.print_comments(w),
            OutputFormat::Text => self.print_text(w),
            OutputFormat::Tree => self.print_tree(w),
            OutputFormat::Traces => self.print_traces(w),
            OutputFormat::Tags => self.print_tags(w),
            OutputFormat::Callgrind => self.print_callgrind(w),
            OutputFormat::Dot => self.print_dot(w),
            OutputFormat::List => Err(ReportError::NeedsSourceReader),
            f => Err(ReportError::Unsupported(f)),
        }
    }

    /// pprof's `rpt.newGraph`. Like pprof it rewrites the profile in place
    /// (trimmed file names; for graphs with tags, only the `bytes` numeric
    /// label and no `pprof::base` label: nothing else reads them), but only
    /// where that changes something, so that a shared profile is copied
    /// only when it must be.
    fn new_graph(&mut self, kept: Option<&NodeSet>) -> Graph {
        let o = &self.options;
        let trimmed = |f: &profile::Function| trim_path(&f.filename, &o.trim_path, &o.source_path);
        if self.prof.functions.iter().any(|f| trimmed(f) != f.filename) {
            let names: Vec<String> = self.prof.functions.iter().map(trimmed).collect();
            for (f, name) in self.profile_mut().functions.iter_mut().zip(names) {
                f.filename = name;
            }
        }
        let o = &self.options;
        let collect_tags = o.output_format == OutputFormat::Dot;
        if collect_tags {
            let bytes_unit: profile::LabelStr = o
                .num_label_units
                .get("bytes")
                .map(|u| u.as_str().into())
                .unwrap_or_else(|| "".into());
            let is_base = |l: &Label| &*l.key == "pprof::base";
            let stale = |s: &profile::Sample| {
                s.labels.iter().any(is_base)
                    || s.num_labels.iter().any(|l: &NumLabel| {
                        &*l.key != "bytes" || l.unit.as_deref() != Some(&*bytes_unit)
                    })
            };
            if self.prof.samples.iter().any(stale) {
                for s in &mut self.profile_mut().samples {
                    s.num_labels.retain(|l| &*l.key == "bytes");
                    for l in &mut s.num_labels {
                        l.unit = Some(bytes_unit.clone());
                    }
                    s.labels.retain(|l| !is_base(l));
                }
            }
        }
        let o = &self.options;
        let out_unit = o.output_unit.clone();
        let format_tag = move |v: i64, key: &str| measurement::scaled_label(v, key, &out_unit);
        let visual = matches!(o.output_format, OutputFormat::Dot | OutputFormat::Callgrind);
        let mut gopt = graph::Options {
            sample_value: &*o.sample_value,
            sample_mean_divisor: o
                .sample_mean_divisor
                .as_deref()
                .map(|f| f as &dyn Fn(&[i64]) -> i64),
            format_tag: Some(&format_tag),
            obj_names: matches!(
                o.output_format,
                OutputFormat::Raw
                    | OutputFormat::List
                    | OutputFormat::Dis
                    | OutputFormat::WebList
                    | OutputFormat::Callgrind
            ),
            orig_fn_names: false,
            call_tree: o.call_tree && visual,
            drop_negative: o.drop_negative,
            kept_nodes: kept,
            collect_tags,
            sample_groups: None,
            node_tables: self.memo.node_tables.as_deref(),
        };
        if gopt.call_tree {
            return Graph::new(&self.prof, &gopt);
        }
        // Tags are formatted in the output unit: such graphs are not kept.
        let key = (!collect_tags).then(|| GraphKey {
            kept: kept.cloned(),
            obj_names: gopt.obj_names,
            drop_negative: gopt.drop_negative,
        });
        if let Some(g) = key.as_ref().and_then(|k| self.memo.find(k)) {
            return g;
        }
        let groups = self.memo.groups.get_or_init(|| match &self.memo.stacks {
            Some(stacks) if !collect_tags => stacks
                .get_or_init(|| graph::StackGroups::new(&self.prof, false))
                .weigh(&self.prof, &gopt),
            _ => graph::group_samples(&self.prof, &gopt),
        });
        gopt.sample_groups = Some(groups);
        let g = Graph::new(&self.prof, &gopt);
        if let Some(k) = key {
            self.memo.keep(k, &g);
        }
        g
    }

    /// pprof's `newTrimmedGraph`. With `nodes_only`, the caller reads only
    /// the nodes and their in-edges (text reports), which lets it skip a
    /// rebuild whose edges nothing reads.
    fn new_trimmed_graph(&mut self, nodes_only: bool) -> Trimmed {
        let visual = self.options.output_format == OutputFormat::Dot;
        let cum_sort = self.options.cum_sort;
        let call_tree = self.options.call_tree
            && matches!(
                self.options.output_format,
                OutputFormat::Dot | OutputFormat::Callgrind
            );
        let mut g = self.new_graph(None);
        let (total_value, _) = g.sum();
        let node_cutoff = ((total_value as f64 * self.options.node_fraction) as i64).wrapping_abs();
        let edge_cutoff = ((total_value as f64 * self.options.edge_fraction) as i64).wrapping_abs();
        let mut dropped_nodes = 0;
        if node_cutoff > 0 {
            if call_tree {
                let kept = g.discard_low_frequency_node_ptrs(node_cutoff);
                if kept.len() != g.nodes.len() {
                    dropped_nodes = g.nodes.len() - kept.len();
                    g.trim_tree(&kept);
                }
            } else {
                let kept = g.discard_low_frequency_nodes(node_cutoff);
                if kept.len() != g.nodes.len() {
                    dropped_nodes = g.nodes.len() - kept.len();
                    let trimmed_again = nodes_only
                        && self.options.node_count > 0
                        && (self.options.node_count as usize) < kept.len();
                    if trimmed_again {
                        // A rebuild keeps each kept node's flat and cum (a
                        // node's cum counts the samples through it, its
                        // flat those ending at it, whatever else is kept);
                        // only edges change, and the top nodes' rebuild
                        // below makes the edges shown.
                        g.nodes
                            .retain(|&n| kept.contains(&g.arena[n as usize].info));
                    } else {
                        g = self.new_graph(Some(&kept));
                    }
                }
            }
        }
        let orig_count = g.nodes.len();
        g.sort_nodes(cum_sort, visual);
        if self.options.node_count > 0 {
            let node_count = self.options.node_count as usize;
            g.trim_low_frequency_tags(node_cutoff);
            g.trim_low_frequency_edges(edge_cutoff);
            if call_tree {
                let kept = g.select_top_node_ptrs(node_count, visual);
                if kept.len() != g.nodes.len() {
                    g.trim_tree(&kept);
                    g.sort_nodes(cum_sort, visual);
                }
            } else {
                let kept = g.select_top_nodes(node_count, visual);
                if kept.len() != g.nodes.len() {
                    g = self.new_graph(Some(&kept));
                    g.sort_nodes(cum_sort, visual);
                }
            }
        }
        g.trim_low_frequency_tags(node_cutoff);
        let dropped_edges = g.trim_low_frequency_edges(edge_cutoff);
        if visual {
            g.remove_redundant_edges();
        }
        Trimmed {
            g,
            orig_count,
            dropped_nodes,
            dropped_edges,
        }
    }

    /// pprof's `selectOutputUnit` for `-unit=minimum`: one unit for the
    /// whole report, from the smallest shown value.
    fn select_output_unit(&mut self, g: &Graph) {
        let o = &mut self.options;
        if o.output_unit != "minimum" || g.nodes.is_empty() {
            return;
        }
        let mut min_value = 0i64;
        for &n in &g.nodes {
            let node = g.node(n);
            let mut node_min = node.flat_value().wrapping_abs();
            if node_min == 0 {
                node_min = node.cum_value().wrapping_abs();
            }
            if node_min > 0 && (min_value == 0 || node_min < min_value) {
                min_value = node_min;
            }
        }
        let mut max_value = self.total;
        if min_value == 0 {
            min_value = max_value;
        }
        if o.ratio > 0.0 && o.ratio != 1.0 {
            min_value = (min_value as f64 * o.ratio) as i64;
            max_value = (max_value as f64 * o.ratio) as i64;
        }
        let (_, min_unit) = measurement::scale(min_value, &o.sample_unit, "minimum");
        let (_, max_unit) = measurement::scale(max_value, &o.sample_unit, "minimum");
        let mut unit = min_unit.clone();
        if min_unit != max_unit
            && min_value.wrapping_mul(100) < max_value
            && o.output_format != OutputFormat::Callgrind
        {
            unit = measurement::scale(min_value.wrapping_mul(100), &o.sample_unit, "minimum").1;
        }
        o.output_unit = if unit.is_empty() {
            o.sample_unit.clone()
        } else {
            unit
        };
    }

    /// pprof's `ProfileLabels`: the header lines describing the profile.
    pub fn profile_labels(&self) -> Vec<String> {
        let prof = &self.prof;
        let o = &self.options;
        let mut label = Vec::new();
        if let Some(m) = prof.mappings.first() {
            if !m.file.is_empty() {
                label.push(format!("File: {}", go_base(&m.file)));
            }
            if !m.build_id.is_empty() {
                label.push(format!("Build ID: {}", m.build_id));
            }
        }
        for c in &prof.comments {
            if !c.starts_with('#') {
                label.push(c.clone());
            }
        }
        if !o.sample_type.is_empty() {
            label.push(format!("Type: {}", o.sample_type));
        }
        if !prof.doc_url.is_empty() {
            label.push(format!("Doc: {}", prof.doc_url));
        }
        if prof.time_nanos != 0 {
            let (offset, zone) = &o.time_zone;
            label.push(format!(
                "Time: {}",
                format_time(prof.time_nanos, *offset, zone)
            ));
        }
        if prof.duration_nanos != 0 {
            let duration = measurement::label(prof.duration_nanos, "nanoseconds");
            let (total_nanos, total_unit) =
                measurement::scale(self.total, &o.sample_unit, "nanoseconds");
            let ratio = if total_unit == "ns" && total_nanos != 0.0 {
                format!("({})", percentage(total_nanos as i64, prof.duration_nanos))
            } else {
                String::new()
            };
            label.push(format!(
                "Duration: {duration}, Total samples = {} {ratio}",
                self.format_value(self.total)
            ));
        }
        label
    }

    fn report_labels(
        &self,
        shown_total: i64,
        node_count: usize,
        orig_count: usize,
        dropped_nodes: usize,
        dropped_edges: usize,
        full_headers: bool,
    ) -> Vec<String> {
        let o = &self.options;
        let mut label = Vec::new();
        if !o.profile_labels.is_empty() {
            label.extend(o.profile_labels.iter().cloned());
        } else if full_headers || !o.compact_labels {
            label = self.profile_labels();
        }
        if !o.active_filters.is_empty() {
            label.push("Active filters:".to_string());
            for s in &o.active_filters {
                let s = if s.len() > 80 {
                    // Go slices bytes; keep the cut on a char boundary.
                    let mut cut = 80;
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    format!("{}…", &s[..cut])
                } else {
                    s.clone()
                };
                label.push(format!("   {s}"));
            }
        }
        label.push(format!(
            "Showing nodes accounting for {}, {} of {} total",
            self.format_value(shown_total),
            percentage(shown_total, self.total).trim(),
            self.format_value(self.total)
        ));
        if self.total != 0 {
            if dropped_nodes > 0 {
                label.push(gen_label(
                    dropped_nodes,
                    "node",
                    "cum",
                    &self.format_value(
                        ((self.total as f64 * o.node_fraction) as i64).wrapping_abs(),
                    ),
                ));
            }
            if dropped_edges > 0 {
                label.push(gen_label(
                    dropped_edges,
                    "edge",
                    "freq",
                    &self.format_value(
                        ((self.total as f64 * o.edge_fraction) as i64).wrapping_abs(),
                    ),
                ));
            }
            if node_count > 0 && node_count < orig_count {
                label.push(format!(
                    "Showing top {node_count} nodes out of {orig_count}"
                ));
            }
        }
        if full_headers {
            label.push("\nSee https://git.io/JfYMW for how to read the graph".to_string());
        }
        label
    }

    /// pprof's `TextItems`: the rows of the `text`/`top` report, plus its
    /// header lines.
    pub fn text_items(&mut self) -> (Vec<TextItem>, Vec<String>) {
        let t = self.new_trimmed_graph(true);
        self.select_output_unit(&t.g);
        let g = &t.g;
        let labels = self.report_labels(
            graph_total(g),
            g.nodes.len(),
            t.orig_count,
            t.dropped_nodes,
            0,
            false,
        );
        let items = g
            .nodes
            .iter()
            .map(|&n| {
                let node = g.node(n);
                let (mut inline, mut noinline) = (false, false);
                for &e in &node.r#in {
                    if g.edge(e).inline {
                        inline = true;
                    } else {
                        noinline = true;
                    }
                }
                let inline_label = match (inline, noinline) {
                    (true, true) => "(partial-inline)",
                    (true, false) => "(inline)",
                    _ => "",
                };
                let (flat, cum) = (node.flat_value(), node.cum_value());
                TextItem {
                    name: node.info.printable_name(),
                    inline_label: inline_label.to_string(),
                    flat,
                    cum,
                    flat_format: self.format_value(flat),
                    cum_format: self.format_value(cum),
                }
            })
            .collect();
        (items, labels)
    }

    fn print_text(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        let (items, labels) = self.text_items();
        let mut out = String::new();
        out.push_str(&labels.join("\n"));
        out.push('\n');
        out.push_str(&format!(
            "{:>10} {:>5}% {:>5}% {:>10} {:>5}%\n",
            "flat", "flat", "sum", "cum", "cum"
        ));
        let mut flat_sum = 0i64;
        for item in &items {
            flat_sum = flat_sum.wrapping_add(item.flat);
            let inl = if item.inline_label.is_empty() {
                String::new()
            } else {
                format!(" {}", item.inline_label)
            };
            out.push_str(&format!(
                "{} {} {} {} {}  {}{}\n",
                pad_left(&item.flat_format, 10),
                percentage(item.flat, self.total),
                percentage(flat_sum, self.total),
                pad_left(&item.cum_format, 10),
                percentage(item.cum, self.total),
                item.name,
                inl
            ));
        }
        w.write_all(out.as_bytes())?;
        Ok(())
    }

    fn print_comments(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        for c in &self.prof.comments {
            writeln!(w, "{c}")?;
        }
        Ok(())
    }

    /// `tree`, and `peek` when `options.symbol` is set.
    fn print_tree(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        const SEPARATOR: &str =
            "----------------------------------------------------------+-------------";
        const LEGEND: &str =
            "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t ";
        let t = self.new_trimmed_graph(false);
        self.select_output_unit(&t.g);
        let g = &t.g;
        let mut out = String::new();
        out.push_str(
            &self
                .report_labels(
                    graph_total(g),
                    g.nodes.len(),
                    t.orig_count,
                    t.dropped_nodes,
                    0,
                    false,
                )
                .join("\n"),
        );
        out.push('\n');
        out.push_str(SEPARATOR);
        out.push('\n');
        out.push_str(LEGEND);
        out.push('\n');
        let mut flat_sum = 0i64;
        let mut matched = 0;
        let rx = self.options.symbol.clone();
        for &n in &g.nodes {
            let node = g.node(n);
            let name = node.info.printable_name();
            let (flat, cum) = (node.flat_value(), node.cum_value());
            if let Some(rx) = &rx
                && !rx.is_match(&name)
            {
                continue;
            }
            matched += 1;
            out.push_str(SEPARATOR);
            out.push('\n');
            for e in g.sort_edges(&node.r#in) {
                let e = g.edge(e);
                out.push_str(&format!(
                    "{} {} |   {}{}\n",
                    pad_left(&self.format_value(e.weight), 50),
                    percentage(e.weight, cum),
                    g.node(e.src).info.printable_name(),
                    if e.inline { " (inline)" } else { "" }
                ));
            }
            flat_sum = flat_sum.wrapping_add(flat);
            out.push_str(&format!(
                "{} {} {} {} {}                | {}\n",
                pad_left(&self.format_value(flat), 10),
                percentage(flat, self.total),
                percentage(flat_sum, self.total),
                pad_left(&self.format_value(cum), 10),
                percentage(cum, self.total),
                name
            ));
            for e in g.sort_edges(&node.out) {
                let e = g.edge(e);
                out.push_str(&format!(
                    "{} {} |   {}{}\n",
                    pad_left(&self.format_value(e.weight), 50),
                    percentage(e.weight, cum),
                    g.node(e.dest).info.printable_name(),
                    if e.inline { " (inline)" } else { "" }
                ));
            }
        }
        if !g.nodes.is_empty() {
            out.push_str(SEPARATOR);
            out.push('\n');
        }
        // pprof discards the report when peek matches nothing.
        if let Some(rx) = rx
            && matched == 0
        {
            return Err(ReportError::NoMatches(rx.as_str().to_string()));
        }
        w.write_all(out.as_bytes())?;
        Ok(())
    }

    fn print_traces(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        const SEPARATOR: &str =
            "-----------+-------------------------------------------------------";
        // Streamed: the report of a big profile runs to hundreds of MB.
        let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
        writeln!(out, "{}", self.profile_labels().join("\n"))?;
        let prof = &self.prof;
        let o = &self.options;
        let zero = |_: &[i64]| 0i64;
        let gopt = graph::Options::new(&zero);
        let (g, locs) = graph::create_nodes(prof, &gopt);
        let names: Vec<String> = g.arena.iter().map(|n| n.info.printable_name()).collect();
        let mut stack: Vec<(usize, bool)> = Vec::new();
        for sample in &prof.samples {
            stack.clear();
            for &l in &sample.locations {
                let nodes = &locs[l as usize];
                for (i, n) in nodes.iter().enumerate() {
                    if let Some(n) = n {
                        stack.push((*n as usize, i != nodes.len() - 1));
                    }
                }
            }
            if stack.is_empty() {
                continue;
            }
            writeln!(out, "{SEPARATOR}")?;
            let mut labels: Vec<String> =
                group_by_key(sample.labels.iter().map(|l| (&*l.key, l.value.to_string())))
                    .into_iter()
                    .map(|(k, vs)| format!("{}:  {}\n", pad_left(k, 10), vs.join(" ")))
                    .collect();
            labels.sort();
            for l in &labels {
                out.write_all(l.as_bytes())?;
            }
            let mut num_labels: Vec<String> = group_by_key(sample.num_labels.iter().map(|l| {
                let unit = o
                    .num_label_units
                    .get(&*l.key)
                    .map(String::as_str)
                    .unwrap_or("");
                (&*l.key, measurement::label(l.value, unit))
            }))
            .into_iter()
            .map(|(k, vs)| format!("{}:  {}\n", pad_left(k, 10), vs.join(" ")))
            .collect();
            num_labels.sort();
            for l in &num_labels {
                out.write_all(l.as_bytes())?;
            }
            let mut v = (o.sample_value)(&sample.values);
            let d = o
                .sample_mean_divisor
                .as_ref()
                .map(|f| f(&sample.values))
                .unwrap_or(0);
            if d != 0 {
                v /= d;
            }
            for (i, &(n, inline)) in stack.iter().enumerate() {
                let vs = if i == 0 {
                    self.format_value(v)
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{}   {}{}",
                    pad_left(&vs, 10),
                    names[n],
                    if inline { " (inline)" } else { "" }
                )?;
            }
        }
        writeln!(out, "{SEPARATOR}")?;
        out.flush()?;
        Ok(())
    }

    fn print_tags(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        let o = &self.options;
        // Summed by raw label first: a heap profile has a numeric label on
        // every sample, and formatting each one would dominate.
        let mut by_label: HashMap<(&str, &str), i64> = HashMap::new();
        let mut by_number: HashMap<(&str, i64), i64> = HashMap::new();
        let mut tag_total: HashMap<String, i64> = HashMap::new();
        for s in &self.prof.samples {
            let v = (o.sample_value)(&s.values);
            for l in &s.labels {
                *by_label.entry((&*l.key, &*l.value)).or_default() += v;
            }
            for l in &s.num_labels {
                *by_number.entry((&*l.key, l.value)).or_default() += v;
            }
            for key in s
                .labels
                .iter()
                .map(|l| &l.key)
                .chain(s.num_labels.iter().map(|l| &l.key))
            {
                match tag_total.get_mut(&**key) {
                    Some(t) => *t += v,
                    None => {
                        tag_total.insert(key.to_string(), v);
                    }
                }
            }
        }
        let mut tag_map: HashMap<String, HashMap<String, i64>> = HashMap::new();
        for ((key, value), sum) in by_label {
            *tag_map
                .entry(key.to_string())
                .or_default()
                .entry(value.to_string())
                .or_default() += sum;
        }
        for ((key, value), sum) in by_number {
            let unit = o.num_label_units.get(key).map(String::as_str).unwrap_or("");
            let val = measurement::scaled_label(value, unit, &o.output_unit);
            *tag_map
                .entry(key.to_string())
                .or_default()
                .entry(val)
                .or_default() += sum;
        }
        // Keys all have zero flat, so they end up sorted by name.
        let mut keys: Vec<&String> = tag_map.keys().collect();
        keys.sort();
        let mut tw = TabWriter::new(1, true);
        let profile_total = self.total;
        for key in keys {
            let mut tags: Vec<graph::Tag> = tag_map[key]
                .iter()
                .map(|(name, &flat)| graph::Tag {
                    name: name.clone(),
                    flat,
                    ..Default::default()
                })
                .collect();
            let total = tag_total[key];
            if profile_total > 0 {
                tw.push_str(&format!(
                    "{key}:\t Total {} of {} ({})\n",
                    self.format_value(total),
                    self.format_value(profile_total),
                    percentage(total, profile_total)
                ));
            } else {
                tw.push_str(&format!(
                    "{key}:\t Total {} of {}\n",
                    self.format_value(total),
                    self.format_value(profile_total)
                ));
            }
            graph::sort_tags(&mut tags, true);
            for t in &tags {
                if profile_total > 0 {
                    tw.push_str(&format!(
                        " \t{} ({}):\t {}\n",
                        self.format_value(t.flat_value()),
                        percentage(t.flat_value(), profile_total),
                        t.name
                    ));
                } else {
                    tw.push_str(&format!(
                        " \t{}:\t {}\n",
                        self.format_value(t.flat_value()),
                        t.name
                    ));
                }
            }
            tw.push_str("\n");
        }
        w.write_all(tw.finish().as_bytes())?;
        Ok(())
    }

    /// The trimmed graph of the `text` report, after the output unit is
    /// chosen: what pprof's `printTopProto` turns into a profile.
    pub fn top_graph(&mut self) -> Graph {
        let t = self.new_trimmed_graph(false);
        self.select_output_unit(&t.g);
        t.g
    }

    /// The untrimmed graph `list` and `disasm` annotate.
    pub(crate) fn graph_for_list(&mut self) -> Graph {
        self.new_graph(None)
    }

    /// pprof's `GetDOT`: the trimmed graph and its DOT rendering settings.
    pub fn dot_graph(&mut self) -> (Graph, Vec<String>) {
        let t = self.new_trimmed_graph(false);
        self.select_output_unit(&t.g);
        let labels = self.report_labels(
            graph_total(&t.g),
            t.g.nodes.len(),
            t.orig_count,
            t.dropped_nodes,
            t.dropped_edges,
            true,
        );
        (t.g, labels)
    }

    fn print_dot(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        let (g, labels) = self.dot_graph();
        let format = |v: i64| self.format_value(v);
        let c = dotgraph::DotConfig {
            title: self.options.title.clone(),
            legend_url: String::new(),
            labels,
            format_value: &format,
            total: self.total,
            nodes: HashMap::new(),
        };
        w.write_all(dotgraph::compose_dot(&g, &c).as_bytes())?;
        Ok(())
    }

    fn print_callgrind(&mut self, w: &mut dyn Write) -> Result<(), ReportError> {
        self.options.node_fraction = 0.0;
        self.options.edge_fraction = 0.0;
        self.options.node_count = 0;
        let t = self.new_trimmed_graph(false);
        self.select_output_unit(&t.g);
        let g = &t.g;
        let o = &self.options;
        let node_names = disambiguated_names(g);
        let mut out = String::new();
        out.push_str("positions: instr line\n");
        out.push_str(&format!("events: {}({})\n", o.sample_type, o.output_unit));
        let mut objfiles = HashMap::new();
        let mut files = HashMap::new();
        let mut names = HashMap::new();
        let mut prev: Option<&graph::NodeInfo> = None;
        for &n in &g.nodes {
            let node = g.node(n);
            let info = &node.info;
            if prev.is_none_or(|p| {
                info.objfile != p.objfile || info.file != p.file || info.name != p.name
            }) {
                out.push('\n');
                out.push_str(&format!(
                    "ob={}\n",
                    callgrind_name(&mut objfiles, &info.objfile)
                ));
                out.push_str(&format!("fl={}\n", callgrind_name(&mut files, &info.file)));
                out.push_str(&format!("fn={}\n", callgrind_name(&mut names, &info.name)));
            }
            let addr = callgrind_address(prev, info.address);
            let (sv, _) = measurement::scale(node.flat_value(), &o.sample_unit, &o.output_unit);
            out.push_str(&format!("{addr} {} {}\n", info.lineno, sv as i64));
            for e in g.sort_edges(&node.out) {
                let e = g.edge(e);
                let (c, _) = measurement::scale(e.weight, &o.sample_unit, &o.output_unit);
                let callee = g.node(e.dest);
                out.push_str(&format!(
                    "cfl={}\n",
                    callgrind_name(&mut files, &callee.info.file)
                ));
                // A callee outside the graph's nodes (a diff's edge to a
                // trimmed node) has no name in pprof's map: "".
                let callee_name = node_names.get(&e.dest).map_or("", String::as_str);
                out.push_str(&format!(
                    "cfn={}\n",
                    callgrind_name(&mut names, callee_name)
                ));
                out.push_str(&format!(
                    "calls=0 {} {}\n",
                    callgrind_address(prev, callee.info.address),
                    callee.info.lineno
                ));
                out.push_str(&format!("* * {}\n", c as i64));
            }
            prev = Some(info);
        }
        w.write_all(out.as_bytes())?;
        Ok(())
    }
}

/// One row of the `text` report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextItem {
    pub name: String,
    pub inline_label: String,
    pub flat: i64,
    pub cum: i64,
    pub flat_format: String,
    pub cum_format: String,
}

fn graph_total(g: &Graph) -> i64 {
    g.nodes
        .iter()
        .fold(0i64, |t, &n| t.wrapping_add(g.node(n).flat_value()))
}

fn gen_label(d: usize, n: &str, l: &str, f: &str) -> String {
    let n = if d > 1 {
        format!("{n}s")
    } else {
        n.to_string()
    };
    format!("Dropped {d} {n} ({l} <= {f})")
}

/// Groups (key, value) pairs by key, keeping each key's values in order.
fn group_by_key<'a>(pairs: impl Iterator<Item = (&'a str, String)>) -> Vec<(&'a str, Vec<String>)> {
    let mut out: Vec<(&str, Vec<String>)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(key, _)| *key == k) {
            Some((_, vs)) => vs.push(v),
            None => out.push((k, vec![v])),
        }
    }
    out
}

fn disambiguated_names(g: &Graph) -> HashMap<graph::NodeIdx, String> {
    let mut index: HashMap<(&str, &str), HashMap<graph::NodeIdx, usize>> = HashMap::new();
    for &n in &g.nodes {
        let node = g.node(n);
        let p = index
            .entry((node.info.file.as_str(), node.info.name.as_str()))
            .or_default();
        let len = p.len();
        p.entry(node.function).or_insert(len);
    }
    let mut names = HashMap::new();
    for &n in &g.nodes {
        let node = g.node(n);
        let mut name = node.info.name.clone();
        let p = &index[&(node.info.file.as_str(), node.info.name.as_str())];
        if p.len() > 1 {
            name.push_str(&format!(" [{}/{}]", p[&node.function] + 1, p.len()));
        }
        names.insert(n, name);
    }
    names
}

fn callgrind_name(names: &mut HashMap<String, usize>, name: &str) -> String {
    if name.is_empty() {
        return String::new();
    }
    if let Some(id) = names.get(name) {
        return format!("({id})");
    }
    let id = names.len() + 1;
    names.insert(name.to_string(), id);
    format!("({id}) {name}")
}

fn callgrind_address(prev: Option<&graph::NodeInfo>, curr: u64) -> String {
    let abs = format!("{curr:#x}");
    let Some(prev) = prev else { return abs };
    if prev.address == curr {
        return "*".to_string();
    }
    let diff = curr.wrapping_sub(prev.address) as i64;
    let relative = format!("{diff:+}");
    if relative.len() < abs.len() {
        relative
    } else {
        abs
    }
}

/// Go's `time.Unix(0, ns).Format("2006-01-02 15:04:05 MST")` in a zone
/// `offset` seconds east of UTC named `zone`.
pub fn format_time(nanos: i64, offset: i64, zone: &str) -> String {
    let secs = nanos.div_euclid(1_000_000_000).wrapping_add(offset);
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let (y, m, d) = profile::civil::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} {zone}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use profile::{Label, Sample, ValueType};

    fn sample(values: [i64; 2], base: bool) -> Sample {
        Sample {
            values: values.to_vec(),
            labels: if base {
                vec![Label {
                    key: "pprof::base".into(),
                    value: "true".into(),
                }]
            } else {
                Vec::new()
            },
            ..Default::default()
        }
    }

    fn prof(samples: Vec<Sample>) -> Profile {
        Profile {
            sample_types: vec![
                ValueType::new("samples", "count"),
                ValueType::new("cpu", "milliseconds"),
            ],
            samples: samples.into(),
            ..Default::default()
        }
    }

    // pprof's TestComputeTotal.
    #[test]
    fn totals() {
        let p1 = prof(vec![
            sample([1, 1], false),
            sample([1, 10], false),
            sample([1, 100], false),
        ]);
        let p2 = prof(vec![
            sample([1, 1], false),
            sample([1, -10], false),
            sample([1, 100], false),
        ]);
        let p3 = prof(vec![
            sample([10000, 1], false),
            sample([-10, 3], true),
            sample([1000, -10], false),
            sample([-9000, 3], true),
            sample([-1, 3], true),
            sample([100, 100], false),
            sample([100, 3], true),
        ]);
        let v0 = |v: &[i64]| v[0];
        let v1 = |v: &[i64]| v[1];
        assert_eq!(compute_total(&p1, &v0, None), 3);
        assert_eq!(compute_total(&p1, &v1, None), 111);
        assert_eq!(compute_total(&p2, &v1, None), 111);
        assert_eq!(compute_total(&p3, &v0, None), 9111);
        // -mean divides by the summed counts.
        assert_eq!(compute_total(&p1, &v1, Some(&v0)), 37);
    }

    // pprof's TestLegendActiveFilters, TestDocURL, TestProfileLabels.
    #[test]
    fn labels() {
        let mut p = prof(vec![sample([1, 10], false)]);
        p.time_nanos = 131_000_000_000;
        p.doc_url = "http://example.com/pprof-help".into();
        let mut o = Options::for_sample_index(&p, 1, OutputFormat::Text);
        o.active_filters = vec![
            "focus=123|456|789|101112|131415|161718|192021|222324|252627|282930|313233|343536|363738|acbdefghijklmnop".into(),
            "show=short filter".into(),
        ];
        let rpt = Report::new(p, o);
        let labels = rpt.report_labels(10, 1, 1, 0, 0, false);
        assert!(labels.contains(&"Time: 1970-01-01 00:02:11 UTC".to_string()));
        assert!(labels.contains(&"Doc: http://example.com/pprof-help".to_string()));
        let i = labels.iter().position(|l| l == "Active filters:").unwrap();
        assert_eq!(
            labels[i + 1],
            "   focus=123|456|789|101112|131415|161718|192021|222324|252627|282930|313233|343536…"
        );
        assert_eq!(labels[i + 2], "   show=short filter");
        assert_eq!(rpt.doc_url(), "http://example.com/pprof-help");
        for (url, want) in [
            ("", ""),
            (
                "https://example.com/pprof-help",
                "https://example.com/pprof-help",
            ),
            ("/foo", ""),
            ("mailto:nobody@example.com", ""),
        ] {
            let mut p = prof(vec![]);
            p.doc_url = url.into();
            let o = Options::for_sample_index(&p, 1, OutputFormat::Dot);
            assert_eq!(Report::new(p, o).doc_url(), want);
        }
    }

    #[test]
    fn times() {
        assert_eq!(format_time(0, 0, "UTC"), "1970-01-01 00:00:00 UTC");
        assert_eq!(
            format_time(1_764_165_156_999_999_999, 0, "UTC"),
            "2025-11-26 13:52:36 UTC"
        );
        assert_eq!(
            format_time(1_764_165_156_000_000_000, 3600, "CET"),
            "2025-11-26 14:52:36 CET"
        );
        assert_eq!(
            format_time(951_782_400_000_000_000, 0, "UTC"),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(
            format_time(-1_000_000_000, 0, "UTC"),
            "1969-12-31 23:59:59 UTC"
        );
    }
}
