//! pprof's call graph (`internal/graph`): nodes per function/line/address,
//! weighted edges with inline/residual flags, tags, and the trimming steps
//! the reports apply. Nodes and edges live in arenas and refer to each other
//! by index.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use profile::{LocIdx, Location, Profile, Sample};

mod stack_trie;
mod walk_plan;
pub use stack_trie::StackTrie;

/// A small multiplicative hasher (FxHash's scheme) for integer keys on the
/// hot path of graph building.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        // The multiply mixes only upward; hashbrown indexes buckets with the
        // low bits, so bring the well-mixed high bits down (as rustc-hash 2).
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(c);
            self.write_u64(u64::from_le_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(buf) ^ ((rest.len() as u64) << 56));
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;

pub type NodeIdx = u32;
pub type EdgeIdx = u32;

/// Identifies a node: two locations with equal `NodeInfo` share one node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    pub name: String,
    pub orig_name: String,
    pub address: u64,
    pub file: String,
    pub start_line: i64,
    pub lineno: i64,
    pub columnno: i64,
    pub objfile: String,
}

impl NodeInfo {
    /// `NodeInfo.PrintableName`.
    pub fn printable_name(&self) -> String {
        self.name_components().join(" ")
    }

    /// `NodeInfo.NameComponents`.
    pub fn name_components(&self) -> Vec<String> {
        let mut name = Vec::new();
        if self.address != 0 {
            name.push(format!("{:016x}", self.address));
        }
        if !self.name.is_empty() {
            name.push(self.name.clone());
        }
        if self.lineno != 0 {
            let mut s = format!("{}:{}", self.file, self.lineno);
            if self.columnno != 0 {
                s.push_str(&format!(":{}", self.columnno));
            }
            name.push(s);
        } else if !self.file.is_empty() {
            name.push(self.file.clone());
        } else if !self.name.is_empty() {
        } else if !self.objfile.is_empty() {
            name.push(format!("[{}]", go_base(&self.objfile)));
        } else {
            name.push("<unknown>".to_string());
        }
        name
    }

    /// Go's `fmt.Sprint(info)`: the last-resort tie-break of node sorts.
    fn sprint(&self) -> String {
        format!(
            "{{{} {} {} {} {} {} {} {}}}",
            self.name,
            self.orig_name,
            self.address,
            self.file,
            self.start_line,
            self.lineno,
            self.columnno,
            self.objfile
        )
    }
}

/// Go's `filepath.Base`.
pub fn go_base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// Go's `filepath.Clean` (Unix).
pub fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|p| *p != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            p => out.push(p),
        }
    }
    let joined = out.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    /// Empty for string tags.
    pub unit: String,
    pub value: i64,
    pub flat: i64,
    pub flat_div: i64,
    pub cum: i64,
    pub cum_div: i64,
}

/// A value with its `-mean` divisor: the mean when a divisor was
/// accumulated, the plain sum otherwise (pprof's `FlatValue`/`CumValue`).
fn mean_or_sum(sum: i64, div: i64) -> i64 {
    if div == 0 { sum } else { sum / div }
}

impl Tag {
    pub fn flat_value(&self) -> i64 {
        mean_or_sum(self.flat, self.flat_div)
    }
    pub fn cum_value(&self) -> i64 {
        mean_or_sum(self.cum, self.cum_div)
    }
}

pub type TagMap = HashMap<String, Tag>;

/// `graph.SortTags`: by |cum| (unless `flat`), then |flat|, descending, then
/// name.
pub fn sort_tags(tags: &mut [Tag], flat: bool) {
    sort_by_less(tags, |a, b| {
        if !flat && a.cum != b.cum {
            return a.cum.wrapping_abs() > b.cum.wrapping_abs();
        }
        if a.flat != b.flat {
            return a.flat.wrapping_abs() > b.flat.wrapping_abs();
        }
        a.name < b.name
    });
}

#[derive(Clone, Debug, Default)]
pub struct Node {
    pub info: NodeInfo,
    /// The node of the enclosing function (itself for function nodes).
    pub function: NodeIdx,
    pub flat: i64,
    pub flat_div: i64,
    pub cum: i64,
    pub cum_div: i64,
    /// Incoming and outgoing edges, in insertion order.
    pub r#in: Vec<EdgeIdx>,
    pub out: Vec<EdgeIdx>,
    pub label_tags: TagMap,
    pub numeric_tags: HashMap<String, TagMap>,
}

impl Node {
    pub fn flat_value(&self) -> i64 {
        mean_or_sum(self.flat, self.flat_div)
    }
    pub fn cum_value(&self) -> i64 {
        mean_or_sum(self.cum, self.cum_div)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Edge {
    pub src: NodeIdx,
    pub dest: NodeIdx,
    pub weight: i64,
    pub weight_div: i64,
    /// The edge skips over dropped nodes.
    pub residual: bool,
    /// Every call along the edge is an inlined call.
    pub inline: bool,
}

impl Edge {
    pub fn weight_value(&self) -> i64 {
        if self.weight_div == 0 {
            self.weight
        } else {
            self.weight / self.weight_div
        }
    }
}

/// `graph.NodeSet`: nodes to keep when rebuilding a graph.
pub type NodeSet = HashSet<NodeInfo>;

pub type SampleFn<'a> = &'a dyn Fn(&[i64]) -> i64;
pub type FormatTagFn<'a> = &'a dyn Fn(i64, &str) -> String;

#[derive(Clone, Copy)]
pub struct Options<'a> {
    pub sample_value: SampleFn<'a>,
    pub sample_mean_divisor: Option<SampleFn<'a>>,
    /// Formats a numeric tag value given its unit (or key when unitless).
    pub format_tag: Option<FormatTagFn<'a>>,
    pub obj_names: bool,
    pub orig_fn_names: bool,
    pub call_tree: bool,
    pub drop_negative: bool,
    pub kept_nodes: Option<&'a NodeSet>,
    /// Collect string and numeric tags (only the `dot` and `tags` views use
    /// them; skipping them makes text reports cheaper).
    pub collect_tags: bool,
    /// `group_samples(prof, self)` computed earlier for the same profile,
    /// sample functions and `collect_tags`, to skip regrouping on rebuilds.
    pub sample_groups: Option<&'a SampleGroups>,
    /// Where to find (and keep) the nodes `create_nodes` makes for graphs
    /// of every node, for later graphs over equal tables.
    pub node_tables: Option<&'a NodeTablesCache>,
}

impl<'a> Options<'a> {
    /// Options that take each sample's value from `sample_value`, with
    /// everything else off (no mean, no tags, no kept set, function names).
    pub fn new(sample_value: SampleFn<'a>) -> Options<'a> {
        Options {
            sample_value,
            sample_mean_divisor: None,
            format_tag: None,
            obj_names: false,
            orig_fn_names: false,
            call_tree: false,
            drop_negative: false,
            kept_nodes: None,
            collect_tags: false,
            sample_groups: None,
            node_tables: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeOrder {
    FlatName,
    FlatCumName,
    CumName,
    Name,
    File,
    Address,
    Entropy,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// All nodes ever created (including ones not in `nodes`).
    pub arena: Vec<Node>,
    pub edges: Vec<Edge>,
    edge_index: HashMap<u64, EdgeIdx, FxBuild>,
    /// The graph's nodes, in report order once sorted.
    pub nodes: Vec<NodeIdx>,
}

/// `edge_index`'s key: one word hashes in one multiply.
fn edge_key(from: NodeIdx, to: NodeIdx) -> u64 {
    (u64::from(from) << 32) | u64::from(to)
}

struct NodeMap {
    map: HashMap<NodeInfo, NodeIdx>,
}

impl Graph {
    pub fn node(&self, i: NodeIdx) -> &Node {
        &self.arena[i as usize]
    }

    pub fn edge(&self, i: EdgeIdx) -> &Edge {
        &self.edges[i as usize]
    }

    fn find_or_insert_node(
        &mut self,
        nm: &mut NodeMap,
        info: NodeInfo,
        kept: Option<&NodeSet>,
    ) -> Option<NodeIdx> {
        if let Some(k) = kept
            && !k.contains(&info)
        {
            return None;
        }
        if let Some(&n) = nm.map.get(&info) {
            return Some(n);
        }
        let idx = self.arena.len() as NodeIdx;
        let is_function = info.address == 0 && info.lineno == 0;
        let mut finfo = info.clone();
        self.arena.push(Node {
            info: info.clone(),
            function: idx,
            ..Default::default()
        });
        nm.map.insert(info, idx);
        if !is_function {
            finfo.address = 0;
            finfo.lineno = 0;
            finfo.columnno = 0;
            let f = self.find_or_insert_node(nm, finfo, None).unwrap_or(idx);
            self.arena[idx as usize].function = f;
        }
        Some(idx)
    }

    /// `AddToEdgeDiv`.
    pub fn add_to_edge(
        &mut self,
        from: NodeIdx,
        to: NodeIdx,
        dv: i64,
        v: i64,
        residual: bool,
        inline: bool,
    ) {
        let e = self.find_or_create_edge(from, to, residual, inline);
        self.bump_edge(e, dv, v, residual, inline);
    }

    fn find_or_create_edge(
        &mut self,
        from: NodeIdx,
        to: NodeIdx,
        residual: bool,
        inline: bool,
    ) -> EdgeIdx {
        if let Some(&e) = self.edge_index.get(&edge_key(from, to)) {
            return e;
        }
        let e = self.edges.len() as EdgeIdx;
        self.edges.push(Edge {
            src: from,
            dest: to,
            weight: 0,
            weight_div: 0,
            residual,
            inline,
        });
        self.edge_index.insert(edge_key(from, to), e);
        self.arena[from as usize].out.push(e);
        self.arena[to as usize].r#in.push(e);
        e
    }

    fn bump_edge(&mut self, e: EdgeIdx, dv: i64, v: i64, residual: bool, inline: bool) {
        let edge = &mut self.edges[e as usize];
        edge.weight_div += dv;
        edge.weight += v;
        if residual {
            edge.residual = true;
        }
        if !inline {
            edge.inline = false;
        }
    }

    /// Removes the edge from both endpoints.
    pub fn remove_edge(&mut self, e: EdgeIdx) {
        let (src, dest) = (self.edges[e as usize].src, self.edges[e as usize].dest);
        self.arena[src as usize].out.retain(|&x| x != e);
        self.arena[dest as usize].r#in.retain(|&x| x != e);
        self.edge_index.remove(&edge_key(src, dest));
    }

    /// `graph.New`.
    pub fn new(prof: &Profile, o: &Options) -> Graph {
        if o.call_tree {
            return new_tree(prof, o);
        }
        new_graph(prof, o).0
    }

    /// `Nodes.Sum` over the graph's nodes.
    pub fn sum(&self) -> (i64, i64) {
        let mut flat = 0i64;
        let mut cum = 0i64;
        for &n in &self.nodes {
            flat = flat.wrapping_add(self.node(n).flat);
            cum = cum.wrapping_add(self.node(n).cum);
        }
        (flat, cum)
    }

    /// `DiscardLowFrequencyNodes`.
    pub fn discard_low_frequency_nodes(&self, cutoff: i64) -> NodeSet {
        self.nodes
            .iter()
            .map(|&n| self.node(n))
            .filter(|n| n.cum.wrapping_abs() >= cutoff)
            .map(|n| n.info.clone())
            .collect()
    }

    /// `DiscardLowFrequencyNodePtrs`.
    pub fn discard_low_frequency_node_ptrs(&self, cutoff: i64) -> HashSet<NodeIdx> {
        self.nodes
            .iter()
            .copied()
            .filter(|&n| self.node(n).cum.wrapping_abs() >= cutoff)
            .collect()
    }

    /// `TrimLowFrequencyTags`.
    pub fn trim_low_frequency_tags(&mut self, cutoff: i64) {
        let keep = |t: &Tag| t.flat.wrapping_abs() >= cutoff || t.cum.wrapping_abs() >= cutoff;
        for &n in &self.nodes {
            let node = &mut self.arena[n as usize];
            node.label_tags.retain(|_, t| keep(t));
            for nt in node.numeric_tags.values_mut() {
                nt.retain(|_, t| keep(t));
            }
        }
    }

    /// `TrimLowFrequencyEdges`: returns the number of edges dropped.
    pub fn trim_low_frequency_edges(&mut self, cutoff: i64) -> usize {
        let mut dead: Vec<EdgeIdx> = Vec::new();
        for &n in &self.nodes {
            for &e in &self.arena[n as usize].r#in {
                if self.edges[e as usize].weight.wrapping_abs() < cutoff {
                    dead.push(e);
                }
            }
        }
        self.remove_edges(&dead);
        dead.len()
    }

    /// Removes many edges at once, in time linear in the graph's size
    /// (one `remove_edge` per edge is quadratic for high-degree nodes).
    pub fn remove_edges(&mut self, dead: &[EdgeIdx]) {
        if dead.is_empty() {
            return;
        }
        let mut is_dead = vec![false; self.edges.len()];
        let mut touched: Vec<NodeIdx> = Vec::with_capacity(dead.len() * 2);
        for &e in dead {
            is_dead[e as usize] = true;
            let edge = &self.edges[e as usize];
            touched.push(edge.src);
            touched.push(edge.dest);
            self.edge_index.remove(&edge_key(edge.src, edge.dest));
        }
        touched.sort_unstable();
        touched.dedup();
        for n in touched {
            let node = &mut self.arena[n as usize];
            node.r#in.retain(|&e| !is_dead[e as usize]);
            node.out.retain(|&e| !is_dead[e as usize]);
        }
    }

    /// `SortNodes`.
    pub fn sort_nodes(&mut self, cum: bool, visual: bool) {
        let order = if visual {
            NodeOrder::Entropy
        } else if cum {
            NodeOrder::CumName
        } else {
            NodeOrder::FlatName
        };
        let mut nodes = std::mem::take(&mut self.nodes);
        self.sort(&mut nodes, order);
        self.nodes = nodes;
    }

    /// `Nodes.Sort` over an arbitrary list of this graph's nodes.
    pub fn sort(&self, nodes: &mut [NodeIdx], order: NodeOrder) {
        let names: HashMap<NodeIdx, String, FxBuild> = match order {
            NodeOrder::FlatName
            | NodeOrder::FlatCumName
            | NodeOrder::CumName
            | NodeOrder::Entropy => nodes
                .iter()
                .map(|&n| (n, self.node(n).info.printable_name()))
                .collect(),
            _ => HashMap::default(),
        };
        // `comparePrintableName`: (equal, less).
        let cmp_name = |l: NodeIdx, r: NodeIdx| -> (bool, bool) {
            let (li, ri) = (&self.node(l).info, &self.node(r).info);
            if li == ri {
                return (true, false);
            }
            if li.address != 0 && ri.address != 0 && li.address != ri.address {
                return (false, li.address < ri.address);
            }
            (false, names[&l] < names[&r])
        };
        let cmp_nodes =
            |l: NodeIdx, r: NodeIdx| self.node(l).info.sprint() < self.node(r).info.sprint();
        let abs = |v: i64| v.wrapping_abs();
        match order {
            NodeOrder::FlatName => sort_by_less(nodes, |&l, &r| {
                let (ln, rn) = (self.node(l), self.node(r));
                if abs(ln.flat) != abs(rn.flat) {
                    return abs(ln.flat) > abs(rn.flat);
                }
                let (eq, less) = cmp_name(l, r);
                if !eq {
                    return less;
                }
                if abs(ln.cum) != abs(rn.cum) {
                    return abs(ln.cum) > abs(rn.cum);
                }
                cmp_nodes(l, r)
            }),
            NodeOrder::FlatCumName => sort_by_less(nodes, |&l, &r| {
                let (ln, rn) = (self.node(l), self.node(r));
                if abs(ln.flat) != abs(rn.flat) {
                    return abs(ln.flat) > abs(rn.flat);
                }
                if abs(ln.cum) != abs(rn.cum) {
                    return abs(ln.cum) > abs(rn.cum);
                }
                let (eq, less) = cmp_name(l, r);
                if !eq {
                    return less;
                }
                cmp_nodes(l, r)
            }),
            NodeOrder::Name => sort_by_less(nodes, |&l, &r| {
                let (li, ri) = (&self.node(l).info, &self.node(r).info);
                if li.name != ri.name {
                    return li.name < ri.name;
                }
                cmp_nodes(l, r)
            }),
            NodeOrder::File => sort_by_less(nodes, |&l, &r| {
                let (li, ri) = (&self.node(l).info, &self.node(r).info);
                if li.file != ri.file {
                    return li.file < ri.file;
                }
                if li.start_line != ri.start_line {
                    return li.start_line < ri.start_line;
                }
                cmp_nodes(l, r)
            }),
            NodeOrder::Address => sort_by_less(nodes, |&l, &r| {
                let (li, ri) = (&self.node(l).info, &self.node(r).info);
                if li.address != ri.address {
                    return li.address < ri.address;
                }
                cmp_nodes(l, r)
            }),
            NodeOrder::CumName | NodeOrder::Entropy => {
                let score: HashMap<NodeIdx, i64, FxBuild> = nodes
                    .iter()
                    .map(|&n| {
                        let s = if order == NodeOrder::CumName {
                            self.node(n).cum
                        } else {
                            self.entropy_score(n)
                        };
                        (n, s)
                    })
                    .collect();
                sort_by_less(nodes, |&l, &r| {
                    let (ls, rs) = (abs(score[&l]), abs(score[&r]));
                    if ls != rs {
                        return ls > rs;
                    }
                    let (eq, less) = cmp_name(l, r);
                    if !eq {
                        return less;
                    }
                    let (ln, rn) = (self.node(l), self.node(r));
                    if abs(ln.flat) != abs(rn.flat) {
                        return abs(ln.flat) > abs(rn.flat);
                    }
                    cmp_nodes(l, r)
                })
            }
        }
    }

    fn entropy_score(&self, n: NodeIdx) -> i64 {
        let node = self.node(n);
        let mut score = 0.0f64;
        if node.r#in.is_empty() {
            score += 1.0;
        } else {
            score += self.edge_entropy_score(&node.r#in, 0);
        }
        if node.out.is_empty() {
            score += 1.0;
        } else {
            score += self.edge_entropy_score(&node.out, node.flat);
        }
        ((score * node.cum as f64) as i64).wrapping_add(node.flat)
    }

    fn edge_entropy_score(&self, edges: &[EdgeIdx], self_weight: i64) -> f64 {
        let mut score = 0.0f64;
        let mut total = self_weight;
        for &e in edges {
            let w = self.edge(e).weight;
            if w > 0 {
                total += w.wrapping_abs();
            }
        }
        if total != 0 {
            for &e in edges {
                let frac = self.edge(e).weight.wrapping_abs() as f64 / total as f64;
                score += -frac * frac.log2();
            }
            if self_weight > 0 {
                let frac = self_weight.wrapping_abs() as f64 / total as f64;
                score += -frac * frac.log2();
            }
        }
        score
    }

    /// `selectTopNodes`: the first nodes, counting tags as extra nodes in
    /// visual mode.
    pub fn select_top_node_list(&self, max_nodes: usize, visual: bool) -> Vec<NodeIdx> {
        let mut max_nodes = max_nodes;
        if max_nodes > 0 && visual {
            let mut count = 0;
            for (i, &n) in self.nodes.iter().enumerate() {
                let tags = count_tags(self.node(n)).min(MAX_NODELETS);
                count += tags + 1;
                if count >= max_nodes {
                    max_nodes = i + 1;
                    break;
                }
            }
        }
        let max_nodes = max_nodes.min(self.nodes.len());
        self.nodes[..max_nodes].to_vec()
    }

    /// `SelectTopNodes`.
    pub fn select_top_nodes(&self, max_nodes: usize, visual: bool) -> NodeSet {
        self.select_top_node_list(max_nodes, visual)
            .into_iter()
            .map(|n| self.node(n).info.clone())
            .collect()
    }

    /// `SelectTopNodePtrs`.
    pub fn select_top_node_ptrs(&self, max_nodes: usize, visual: bool) -> HashSet<NodeIdx> {
        self.select_top_node_list(max_nodes, visual)
            .into_iter()
            .collect()
    }

    /// `EdgeMap.Sort`: by |weight| desc, then source and destination names.
    pub fn sort_edges(&self, edges: &[EdgeIdx]) -> Vec<EdgeIdx> {
        let mut v = edges.to_vec();
        let names: HashMap<NodeIdx, String, FxBuild> = v
            .iter()
            .flat_map(|&e| [self.edge(e).src, self.edge(e).dest])
            .map(|n| (n, self.node(n).info.printable_name()))
            .collect();
        sort_by_less(&mut v, |&a, &b| {
            let (ea, eb) = (self.edge(a), self.edge(b));
            if ea.weight != eb.weight {
                // As in pprof: equal magnitudes of opposite sign compare equal.
                return ea.weight.wrapping_abs() > eb.weight.wrapping_abs();
            }
            let (fa, fb) = (&names[&ea.src], &names[&eb.src]);
            if fa != fb {
                return fa < fb;
            }
            names[&ea.dest] < names[&eb.dest]
        });
        v
    }

    /// `RemoveRedundantEdges`: drops residual edges implied by other paths.
    pub fn remove_redundant_edges(&mut self) {
        for i in (0..self.nodes.len()).rev() {
            let n = self.nodes[i];
            let ins = self.sort_edges(&self.node(n).r#in.clone());
            for &e in ins.iter().rev() {
                if !self.edge(e).residual {
                    break;
                }
                if self.is_redundant_edge(e) {
                    self.remove_edge(e);
                }
            }
        }
    }

    fn is_redundant_edge(&self, e: EdgeIdx) -> bool {
        let (src, n) = (self.edge(e).src, self.edge(e).dest);
        let mut seen: HashSet<NodeIdx, FxBuild> = HashSet::default();
        seen.insert(n);
        let mut queue = std::collections::VecDeque::from([n]);
        while let Some(n) = queue.pop_front() {
            for &ie in &self.node(n).r#in {
                let isrc = self.edge(ie).src;
                if e == ie || seen.contains(&isrc) {
                    continue;
                }
                if isrc == src {
                    return true;
                }
                seen.insert(isrc);
                queue.push_back(isrc);
            }
        }
        false
    }

    /// `TrimTree`: removes nodes not in `kept` from a call tree, linking
    /// their children to their parent with residual edges.
    pub fn trim_tree(&mut self, kept: &HashSet<NodeIdx>) {
        let old = std::mem::take(&mut self.nodes);
        for &cur in &old {
            if kept.contains(&cur) {
                self.nodes.push(cur);
                continue;
            }
            let ins = self.node(cur).r#in.clone();
            if ins.is_empty() {
                for e in self.node(cur).out.clone() {
                    let dest = self.edge(e).dest;
                    self.arena[dest as usize].r#in.retain(|&x| x != e);
                    self.edge_index.remove(&edge_key(cur, dest));
                }
                self.arena[cur as usize].out.clear();
                continue;
            }
            // A tree node has at most one parent.
            let pe = ins[0];
            let parent = self.edge(pe).src;
            let parent_inline = self.edge(pe).inline;
            self.remove_edge(pe);
            for e in self.node(cur).out.clone() {
                let child = self.edge(e).dest;
                self.arena[child as usize].r#in.retain(|&x| x != e);
                self.edge_index.remove(&edge_key(cur, child));
                // pprof overwrites any existing parent→child edge in its maps.
                if let Some(&old_e) = self.edge_index.get(&edge_key(parent, child)) {
                    self.arena[parent as usize].out.retain(|&x| x != old_e);
                    self.arena[child as usize].r#in.retain(|&x| x != old_e);
                }
                self.arena[child as usize].r#in.push(e);
                self.arena[parent as usize].out.push(e);
                self.edge_index.insert(edge_key(parent, child), e);
                let edge = &mut self.edges[e as usize];
                edge.src = parent;
                edge.residual = true;
                edge.inline = parent_inline && edge.inline;
            }
            self.arena[cur as usize].out.clear();
        }
        self.remove_redundant_edges();
    }
}

/// pprof's limit of tag nodelets per node in DOT output.
pub const MAX_NODELETS: usize = 4;

fn count_tags(n: &Node) -> usize {
    let mut count = n.label_tags.values().filter(|t| t.flat != 0).count();
    for t in n.numeric_tags.values() {
        count += t.values().filter(|t| t.flat != 0).count();
    }
    count
}

/// Stable merge sort driven by a `less` predicate. Unlike `slice::sort_by`,
/// it tolerates comparators that are not total orders (pprof's edge order
/// isn't), which Go's `sort.Sort` does too.
pub fn sort_by_less<T: Clone>(v: &mut [T], mut less: impl FnMut(&T, &T) -> bool) {
    if v.len() < 2 {
        return;
    }
    if v.len() <= 12 {
        for i in 1..v.len() {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mut buf = v.to_vec();
    merge_sort(v, &mut buf, &mut less);
}

fn merge_sort<T: Clone>(v: &mut [T], buf: &mut [T], less: &mut impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    if n <= 12 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && less(&v[j], &v[j - 1]) {
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mid = n / 2;
    merge_sort(&mut v[..mid], &mut buf[..mid], less);
    merge_sort(&mut v[mid..], &mut buf[mid..], less);
    buf[..n].clone_from_slice(v);
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if less(&buf[j], &buf[i]) {
            v[k] = buf[j].clone();
            j += 1;
        } else {
            v[k] = buf[i].clone();
            i += 1;
        }
        k += 1;
    }
    while i < mid {
        v[k] = buf[i].clone();
        i += 1;
        k += 1;
    }
    while j < n {
        v[k] = buf[j].clone();
        j += 1;
        k += 1;
    }
}

/// pprof's `joinLabels`: sorted `key:value` pairs joined by a literal `\n`.
pub fn join_labels(s: &Sample) -> String {
    if s.labels.is_empty() {
        return String::new();
    }
    let mut v: Vec<String> = s
        .labels
        .iter()
        .map(|l| format!("{}:{}", l.key, l.value))
        .collect();
    v.sort();
    v.join("\\n")
}

fn node_info(
    prof: &Profile,
    l: &Location,
    line: Option<&profile::Line>,
    objfile: &str,
    o: &Options,
) -> NodeInfo {
    let func = line.and_then(|li| li.function.map(|f| (li, prof.function(f))));
    let Some((line, f)) = func else {
        return NodeInfo {
            address: l.address,
            objfile: objfile.to_string(),
            ..Default::default()
        };
    };
    let mut ni = NodeInfo {
        address: l.address,
        lineno: line.line,
        columnno: line.column,
        name: f.name.clone(),
        ..Default::default()
    };
    if !f.filename.is_empty() {
        ni.file = go_clean(&f.filename);
    }
    if o.orig_fn_names {
        ni.orig_name = f.system_name.clone();
    }
    if o.obj_names || (ni.name.is_empty() && ni.orig_name.is_empty()) {
        ni.objfile = objfile.to_string();
        ni.start_line = f.start_line;
    }
    ni
}

fn objfile_of<'p>(prof: &'p Profile, l: &Location) -> &'p str {
    l.mapping
        .map(|m| prof.mapping(m).file.as_str())
        .unwrap_or("")
}

/// The nodes [`create_nodes`] made for some profile tables under some
/// options (no kept set): a session's graphs of every sample value, and
/// of the filters that only drop samples, are over equal tables, and making
/// the nodes (a name and a hash per line) is a tenth of such a graph.
#[derive(Default)]
pub struct NodeTablesCache(std::sync::Mutex<Vec<std::sync::Arc<NodeTables>>>);

struct NodeTables {
    key: NodeTablesKey,
    graph: Graph,
    locs: Vec<Vec<Option<NodeIdx>>>,
}

/// All that `create_nodes` reads.
struct NodeTablesKey {
    obj_names: bool,
    orig_fn_names: bool,
    locations: Vec<Location>,
    functions: Vec<profile::Function>,
    mapping_files: Vec<String>,
}

impl NodeTablesKey {
    fn of(prof: &Profile, o: &Options) -> NodeTablesKey {
        NodeTablesKey {
            obj_names: o.obj_names,
            orig_fn_names: o.orig_fn_names,
            locations: prof.locations.clone(),
            functions: prof.functions.clone(),
            mapping_files: prof.mappings.iter().map(|m| m.file.clone()).collect(),
        }
    }

    /// Whether `create_nodes(prof, o)` reads what this key holds; a lookup
    /// compares in place, copying the tables only for a new entry.
    fn matches(&self, prof: &Profile, o: &Options) -> bool {
        self.obj_names == o.obj_names
            && self.orig_fn_names == o.orig_fn_names
            && self.locations == prof.locations
            && self.functions == prof.functions
            && self.mapping_files.len() == prof.mappings.len()
            && self
                .mapping_files
                .iter()
                .zip(&prof.mappings)
                .all(|(f, m)| *f == m.file)
    }
}

/// How many tables a cache keeps (most recently used last).
const KEPT_NODE_TABLES: usize = 2;

impl NodeTablesCache {
    /// `create_nodes(prof, o)` for `o` without a kept set, from the cache
    /// when it holds equal tables.
    fn create_nodes(&self, prof: &Profile, o: &Options) -> (Graph, Vec<Vec<Option<NodeIdx>>>) {
        debug_assert!(o.kept_nodes.is_none());
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let hit = match cache.iter().position(|t| t.key.matches(prof, o)) {
            Some(i) => cache.remove(i),
            None => {
                let (graph, locs) = create_nodes(prof, o);
                if cache.len() >= KEPT_NODE_TABLES {
                    cache.remove(0);
                }
                let key = NodeTablesKey::of(prof, o);
                std::sync::Arc::new(NodeTables { key, graph, locs })
            }
        };
        cache.push(hit.clone());
        (hit.graph.clone(), hit.locs.clone())
    }
}

/// `CreateNodes`: the graph's node arena and, per location, its nodes (one
/// per line, innermost first; `None` where a kept set excludes the node).
pub fn create_nodes(prof: &Profile, o: &Options) -> (Graph, Vec<Vec<Option<NodeIdx>>>) {
    let mut g = Graph::default();
    let mut nm = NodeMap {
        map: HashMap::with_capacity(prof.locations.len()),
    };
    let mut locs = Vec::with_capacity(prof.locations.len());
    for l in &prof.locations {
        let objfile = objfile_of(prof, l);
        let mut nodes = Vec::with_capacity(l.lines.len().max(1));
        if l.lines.is_empty() {
            let ni = node_info(prof, l, None, objfile, o);
            nodes.push(g.find_or_insert_node(&mut nm, ni, o.kept_nodes));
        }
        for line in &l.lines {
            let ni = node_info(prof, l, Some(line), objfile, o);
            nodes.push(g.find_or_insert_node(&mut nm, ni, o.kept_nodes));
        }
        locs.push(nodes);
    }
    (g, locs)
}

struct SampleTagInfo<'s> {
    labels: String,
    sample: &'s Sample,
}

impl Graph {
    #[allow(clippy::too_many_arguments)]
    fn add_sample(
        &mut self,
        n: NodeIdx,
        dw: i64,
        w: i64,
        tags: Option<&SampleTagInfo>,
        o: &Options,
        flat: bool,
    ) {
        let node = &mut self.arena[n as usize];
        if flat {
            node.flat_div += dw;
            node.flat += w;
        } else {
            node.cum_div += dw;
            node.cum += w;
        }
        let Some(ti) = tags else { return };
        let bump = |t: &mut Tag| {
            if flat {
                t.flat_div += dw;
                t.flat += w;
            } else {
                t.cum_div += dw;
                t.cum += w;
            }
        };
        if !ti.labels.is_empty() {
            let t = node
                .label_tags
                .entry(ti.labels.clone())
                .or_insert_with(|| Tag {
                    name: ti.labels.clone(),
                    ..Default::default()
                });
            bump(t);
        }
        let numeric = node.numeric_tags.entry(ti.labels.clone()).or_default();
        let s = ti.sample;
        for (i, nl) in s.num_labels.iter().enumerate() {
            // pprof keys units per label key: a key has units if any of its
            // values in this sample carries one.
            let has_units = s
                .num_labels
                .iter()
                .any(|x| x.key == nl.key && x.unit.is_some());
            let _ = i;
            let unit: &str = if has_units {
                nl.unit.as_deref().unwrap_or("")
            } else {
                &nl.key
            };
            let name = match o.format_tag {
                Some(f) => f(nl.value, unit),
                None => nl.value.to_string(),
            };
            let t = numeric.entry(name.clone()).or_insert_with(|| Tag {
                name,
                unit: unit.to_string(),
                value: nl.value,
                ..Default::default()
            });
            bump(t);
        }
    }

    fn select_nodes(&mut self, drop_negative: bool) {
        let nodes = (0..self.arena.len() as NodeIdx)
            .filter(|&n| {
                let node = self.node(n);
                if node.cum == 0 && node.flat == 0 {
                    return false;
                }
                !(drop_negative && is_negative(node))
            })
            .collect();
        self.nodes = nodes;
    }
}

fn is_negative(n: &Node) -> bool {
    n.flat < 0 || (n.flat == 0 && n.cum < 0)
}

fn sample_weights(s: &Sample, o: &Options) -> (i64, i64) {
    values_weights(&s.values, o)
}

fn values_weights(values: &[i64], o: &Options) -> (i64, i64) {
    let w = (o.sample_value)(values);
    let dw = o.sample_mean_divisor.map(|f| f(values)).unwrap_or(0);
    (w, dw)
}

/// `newGraph`: also returns each location's nodes.
pub fn new_graph(prof: &Profile, o: &Options) -> (Graph, Vec<Vec<Option<NodeIdx>>>) {
    new_graph_split(prof, o, None)
}

/// [`new_graph`] with the groups (or the call tree's nodes, for groups
/// from [`StackGroups`]) cut for two threads at `split` (0: one thread)
/// instead of at half: tests check that every cut gives the same graph.
pub fn new_graph_split(
    prof: &Profile,
    o: &Options,
    split: Option<usize>,
) -> (Graph, Vec<Vec<Option<NodeIdx>>>) {
    new_graph_walk(prof, o, split, TreeWalk::Auto)
}

/// How a graph is built from a call tree ([`new_graph_walk`]).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeWalk {
    /// As sessions do: a graph of every node replays the tree's recorded
    /// walk, a graph of few kept nodes visits only their locations' nodes.
    Auto,
    /// Walk every tree node.
    EveryNode,
    /// Walk the tree nodes of kept locations (every node without a kept set).
    KeptLocations,
    /// Replay the recorded walk where the graph keeps every node (else walk
    /// every tree node).
    Replay,
}

/// [`new_graph_split`] built from a call tree in the way `walk` says, for
/// tests.
#[doc(hidden)]
pub fn new_graph_walk(
    prof: &Profile,
    o: &Options,
    split: Option<usize>,
    walk: TreeWalk,
) -> (Graph, Vec<Vec<Option<NodeIdx>>>) {
    let (mut g, locs) = match o.node_tables {
        Some(cache) if o.kept_nodes.is_none() => cache.create_nodes(prof, o),
        _ => create_nodes(prof, o),
    };
    // The per-location node lists, flattened (NO_NODE where a kept set
    // excludes the node), so the hot loop below does not chase a pointer
    // per frame.
    let mut loc_start: Vec<u32> = Vec::with_capacity(locs.len() + 1);
    let mut loc_nodes_flat: Vec<NodeIdx> = Vec::new();
    for l in &locs {
        loc_start.push(loc_nodes_flat.len() as u32);
        loc_nodes_flat.extend(l.iter().map(|n| n.unwrap_or(NO_NODE)));
    }
    loc_start.push(loc_nodes_flat.len() as u32);
    let computed;
    let groups = match o.sample_groups {
        Some(g) => g,
        None => {
            computed = group_samples(prof, o);
            &computed
        }
    };
    let tables = LocTables {
        loc_start: &loc_start,
        loc_nodes: &loc_nodes_flat,
        nodes: g.arena.len(),
    };
    if o.collect_tags {
        add_groups_with_tags(&mut g, groups, &tables, prof, o);
    } else {
        // Weights and edges are sums (and flag ORs/ANDs) over groups, so
        // halves of the groups can be added up apart and merged: the merge
        // visits the first half's edges, then the second's, which creates
        // every edge in the order a single pass would.
        let parts: Vec<Partial> = if let Some((trie, weights)) = &groups.trie {
            vec![stack_trie::accumulate(trie, weights, &tables, split, walk)]
        } else {
            let split = split
                .unwrap_or_else(|| split_point(groups))
                .min(groups.groups.len());
            if split == 0 || split >= groups.groups.len() {
                vec![accumulate(groups, 0..groups.len(), &tables)]
            } else {
                std::thread::scope(|s| {
                    let second = s.spawn(|| accumulate(groups, split..groups.len(), &tables));
                    let first = accumulate(groups, 0..split, &tables);
                    vec![first, second.join().expect("graph worker panicked")]
                })
            }
        };
        for part in parts {
            for (node, c) in g.arena.iter_mut().zip(&part.counts) {
                node.flat = node.flat.wrapping_add(c.flat);
                node.flat_div = node.flat_div.wrapping_add(c.flat_div);
                node.cum = node.cum.wrapping_add(c.cum);
                node.cum_div = node.cum_div.wrapping_add(c.cum_div);
            }
            for pe in part.edges {
                let e = g.find_or_create_edge(pe.src, pe.dest, pe.residual, pe.inline);
                g.bump_edge(e, pe.weight_div, pe.weight, pe.residual, pe.inline);
            }
        }
    }
    g.select_nodes(o.drop_negative);
    (g, locs)
}

const NO_NODE: NodeIdx = NodeIdx::MAX;

/// Each location's nodes, flattened: location `l`'s are
/// `loc_nodes[loc_start[l]..loc_start[l + 1]]` (NO_NODE where a kept set
/// excludes one).
struct LocTables<'a> {
    loc_start: &'a [u32],
    loc_nodes: &'a [NodeIdx],
    /// How many nodes the graph has.
    nodes: usize,
}

impl LocTables<'_> {
    fn of(&self, l: LocIdx) -> &[NodeIdx] {
        let l = l as usize;
        &self.loc_nodes[self.loc_start[l] as usize..self.loc_start[l + 1] as usize]
    }
}

/// What a run of groups adds to a graph without tags: node weights and the
/// edges in the order it met them.
struct Partial {
    counts: Vec<Counts>,
    edges: Vec<Edge>,
}

/// Where to cut the groups in two for two threads: at half of the frames,
/// or 0 when the profile is too small for a thread to pay off.
fn split_point(groups: &SampleGroups) -> usize {
    const MIN_FRAMES: usize = 200_000;
    let frames: usize = (0..groups.len()).map(|i| groups.stack(i).len()).sum();
    if frames < MIN_FRAMES || groups.groups.len() < 2 {
        return 0;
    }
    // The first group that starts at or after half of the frames.
    let mut before = 0;
    for i in 0..groups.len() {
        if before >= frames / 2 {
            return i.min(groups.groups.len() - 1);
        }
        before += groups.stack(i).len();
    }
    groups.groups.len() - 1
}

/// Where [`walk_groups`] adds what a sample group contributes.
trait GroupSink {
    /// A new group begins.
    fn begin_group(&mut self, _gi: usize) {}
    /// Cum (or, for the leaf, flat) weight for node `n`, once per group.
    fn node(&mut self, n: NodeIdx, w: i64, dw: i64, flat: bool);
    /// The edge `p → n`, created with these flags when new.
    fn edge(&mut self, p: NodeIdx, n: NodeIdx, residual: bool, inline: bool) -> EdgeIdx;
    /// Weight for edge `e`, once per group.
    fn bump(&mut self, e: EdgeIdx, w: i64, dw: i64, residual: bool, inline: bool);
}

/// pprof's per-sample loop of `newGraph` over `range` of the groups: cum
/// once per node and edge per sample, flat to the leaf unless a dropped
/// node ends the stack.
fn walk_groups(
    groups: &SampleGroups,
    range: std::ops::Range<usize>,
    t: &LocTables,
    sink: &mut impl GroupSink,
) {
    // Per-group "already counted" marks, stamped with the group number so
    // they never need clearing: one per node, one per edge.
    let mut seen_node: Vec<u32> = vec![0; t.nodes];
    let mut seen_edge: Vec<u32> = Vec::new();
    for gi in range {
        let group = &groups.groups[gi];
        let (w, dw) = (group.w, group.dw);
        let stamp = gi as u32 + 1;
        sink.begin_group(gi);
        let mut parent: Option<NodeIdx> = None;
        let mut residual = false;
        for &l in groups.stack(gi).iter().rev() {
            let loc_nodes = t.of(l);
            for ni in (0..loc_nodes.len()).rev() {
                let n = loc_nodes[ni];
                if n == NO_NODE {
                    residual = true;
                    continue;
                }
                if seen_node[n as usize] != stamp {
                    seen_node[n as usize] = stamp;
                    sink.node(n, w, dw, false);
                }
                if let Some(p) = parent
                    && p != n
                {
                    let inline = ni != loc_nodes.len() - 1;
                    let e = sink.edge(p, n, residual, inline);
                    if seen_edge.len() <= e as usize {
                        seen_edge.resize(e as usize + 1, 0);
                    }
                    if seen_edge[e as usize] != stamp {
                        seen_edge[e as usize] = stamp;
                        sink.bump(e, w, dw, residual, inline);
                    }
                }
                parent = Some(n);
                residual = false;
            }
        }
        if let Some(p) = parent
            && !residual
        {
            sink.node(p, w, dw, true);
        }
    }
}

/// Adds up a run of groups apart from the graph (graphs without tags), for
/// one of two threads.
struct PartialSink {
    part: Partial,
    edge_index: HashMap<u64, EdgeIdx, FxBuild>,
    /// The last edge found out of each node: stacks share most of their
    /// frames, so this usually answers without hashing.
    last_out: Vec<EdgeIdx>,
}

impl GroupSink for PartialSink {
    fn node(&mut self, n: NodeIdx, w: i64, dw: i64, flat: bool) {
        let c = &mut self.part.counts[n as usize];
        if flat {
            c.flat_div = c.flat_div.wrapping_add(dw);
            c.flat = c.flat.wrapping_add(w);
        } else {
            c.cum_div = c.cum_div.wrapping_add(dw);
            c.cum = c.cum.wrapping_add(w);
        }
    }

    fn edge(&mut self, p: NodeIdx, n: NodeIdx, residual: bool, inline: bool) -> EdgeIdx {
        let cached = self.last_out[p as usize];
        if cached != EdgeIdx::MAX && self.part.edges[cached as usize].dest == n {
            return cached;
        }
        let edges = &mut self.part.edges;
        let e = *self.edge_index.entry(edge_key(p, n)).or_insert_with(|| {
            edges.push(Edge {
                src: p,
                dest: n,
                weight: 0,
                weight_div: 0,
                residual,
                inline,
            });
            (edges.len() - 1) as EdgeIdx
        });
        self.last_out[p as usize] = e;
        e
    }

    fn bump(&mut self, e: EdgeIdx, w: i64, dw: i64, residual: bool, inline: bool) {
        let edge = &mut self.part.edges[e as usize];
        edge.weight_div = edge.weight_div.wrapping_add(dw);
        edge.weight = edge.weight.wrapping_add(w);
        edge.residual |= residual;
        edge.inline &= inline;
    }
}

fn accumulate(groups: &SampleGroups, range: std::ops::Range<usize>, t: &LocTables) -> Partial {
    let mut sink = PartialSink {
        part: Partial {
            counts: vec![Counts::default(); t.nodes],
            edges: Vec::new(),
        },
        edge_index: HashMap::default(),
        last_out: vec![EdgeIdx::MAX; t.nodes],
    };
    walk_groups(groups, range, t, &mut sink);
    sink.part
}

/// Adds groups straight into the graph with their tags (the dot report):
/// tags are maps keyed by formatted values.
struct TagSink<'a, 'o> {
    g: &'a mut Graph,
    groups: &'a SampleGroups,
    prof: &'a Profile,
    o: &'a Options<'o>,
    tags: Option<SampleTagInfo<'a>>,
}

impl GroupSink for TagSink<'_, '_> {
    fn begin_group(&mut self, gi: usize) {
        let sample = &self.prof.samples[self.groups.groups[gi].first];
        self.tags = Some(SampleTagInfo {
            labels: join_labels(sample),
            sample,
        });
    }

    fn node(&mut self, n: NodeIdx, w: i64, dw: i64, flat: bool) {
        self.g
            .add_sample(n, dw, w, self.tags.as_ref(), self.o, flat);
    }

    fn edge(&mut self, p: NodeIdx, n: NodeIdx, residual: bool, inline: bool) -> EdgeIdx {
        self.g.find_or_create_edge(p, n, residual, inline)
    }

    fn bump(&mut self, e: EdgeIdx, w: i64, dw: i64, residual: bool, inline: bool) {
        self.g.bump_edge(e, dw, w, residual, inline);
    }
}

fn add_groups_with_tags(
    g: &mut Graph,
    groups: &SampleGroups,
    t: &LocTables,
    prof: &Profile,
    o: &Options,
) {
    let mut sink = TagSink {
        g,
        groups,
        prof,
        o,
        tags: None,
    };
    walk_groups(groups, 0..groups.groups.len(), t, &mut sink);
}

/// A node's weights, kept apart from the (large) `Node`s while samples are
/// added so that the hot loop stays in cache.
#[derive(Clone, Copy, Default)]
struct Counts {
    flat: i64,
    flat_div: i64,
    cum: i64,
    cum_div: i64,
}

/// Samples that contribute identically to the graph, with summed weights.
#[derive(Clone, Debug)]
pub struct SampleGroup {
    /// The index of the group's first sample.
    pub first: usize,
    pub w: i64,
    pub dw: i64,
    /// The group's stack in its [`StackTable`].
    stack: u32,
}

/// Stacks by number, all in one array, so that graph builds read them in
/// order rather than chasing one allocation per sample.
#[derive(Clone, Debug, Default)]
pub struct StackTable {
    stacks: Vec<LocIdx>,
    /// Stack `i` is `stacks[starts[i]..starts[i + 1]]`.
    starts: Vec<usize>,
}

impl StackTable {
    fn push(&mut self, stack: &[LocIdx]) -> u32 {
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        self.stacks.extend_from_slice(stack);
        self.starts.push(self.stacks.len());
        u32::try_from(self.starts.len() - 2).expect("fewer than 2^32 stacks")
    }

    /// How many stacks it holds.
    fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    fn get(&self, i: u32) -> &[LocIdx] {
        let i = i as usize;
        &self.stacks[self.starts[i]..self.starts[i + 1]]
    }
}

/// Groups samples with the same stack (and, when tags are collected, the
/// same labels) in order of first appearance. A sample's contribution to
/// nodes, edges and tags is additive and depends only on those fields, so
/// one pass per group gives pprof's per-sample result while touching far
/// fewer hash-table entries on profiles whose samples repeat stacks.
/// Samples with zero weight and divisor are skipped first, as pprof does.
pub fn group_samples(prof: &Profile, o: &Options) -> SampleGroups {
    let mut index: HashMap<GroupKey, usize, FxBuild> =
        HashMap::with_capacity_and_hasher(prof.samples.len(), FxBuild::default());
    let mut groups: Vec<SampleGroup> = Vec::new();
    let mut table = StackTable::default();
    for (si, s) in prof.samples.iter().enumerate() {
        let (w, dw) = sample_weights(s, o);
        if dw == 0 && w == 0 {
            continue;
        }
        match index.get(&group_key(s, o.collect_tags)) {
            Some(&g) => {
                let group = &mut groups[g];
                group.w = group.w.wrapping_add(w);
                group.dw = group.dw.wrapping_add(dw);
            }
            None => {
                index.insert(group_key(s, o.collect_tags), groups.len());
                let stack = table.push(&s.locations);
                groups.push(SampleGroup {
                    first: si,
                    w,
                    dw,
                    stack,
                });
            }
        }
    }
    SampleGroups {
        groups,
        table: std::sync::Arc::new(table),
        ..Default::default()
    }
}

/// What makes samples one group: the stack, and the labels when tags are
/// collected.
type GroupKey<'a> = (&'a [LocIdx], &'a [profile::Label], &'a [profile::NumLabel]);

fn group_key(s: &Sample, collect_tags: bool) -> GroupKey<'_> {
    if collect_tags {
        (&s.locations, &s.labels, &s.num_labels)
    } else {
        (&s.locations, &[], &[])
    }
}

/// Samples grouped as [`group_samples`] groups them, but whatever their
/// values: computed once, it gives the groups of any sample value without
/// hashing again ([`StackGroups::weigh`]), for sessions that switch between
/// sample values.
#[derive(Debug)]
pub struct StackGroups {
    /// Each sample's group.
    group_of: Vec<u32>,
    /// Every sample's values side by side (`width` each), for the call
    /// tree's weighings: reading them through each sample's own vector
    /// misses the cache once per sample, for every sample value weighed.
    values: SampleValues,
    /// The groups' stacks: a group's number is its stack's in the table
    /// with tags, its call-tree node without (where graphs are built by
    /// walking the tree).
    stacks: GroupStacks,
    collect_tags: bool,
}

#[derive(Debug, Clone)]
enum GroupStacks {
    Table(std::sync::Arc<StackTable>),
    Trie(std::sync::Arc<StackTrie>),
}

impl StackGroups {
    pub fn new(prof: &Profile, collect_tags: bool) -> StackGroups {
        StackGroups::with_trie_split(prof, collect_tags, None)
    }

    /// [`StackGroups::new`] with the call tree built in parts split at
    /// `depth` (see [`StackTrie::of_stacks_split`]), for tests.
    #[doc(hidden)]
    pub fn with_trie_split(
        prof: &Profile,
        collect_tags: bool,
        depth: Option<usize>,
    ) -> StackGroups {
        if !collect_tags {
            // The values are copied while the tree is built, which waits on
            // memory more than on the cores.
            let ((trie, group_of), values) = std::thread::scope(|s| {
                let values = s.spawn(|| SampleValues::of(prof));
                let tree = StackTrie::of_stacks_split(
                    prof.samples.iter().map(|s| &s.locations[..]),
                    depth,
                );
                (tree, values.join().expect("sample values worker panicked"))
            });
            return StackGroups {
                group_of,
                values,
                stacks: GroupStacks::Trie(std::sync::Arc::new(trie)),
                collect_tags,
            };
        }
        let mut index: HashMap<GroupKey, u32, FxBuild> =
            HashMap::with_capacity_and_hasher(prof.samples.len(), FxBuild::default());
        let mut table = StackTable::default();
        let mut group_of = Vec::with_capacity(prof.samples.len());
        for s in &prof.samples {
            let g = *index
                .entry(group_key(s, collect_tags))
                .or_insert_with(|| table.push(&s.locations));
            group_of.push(g);
        }
        StackGroups {
            group_of,
            values: SampleValues::default(),
            stacks: GroupStacks::Table(std::sync::Arc::new(table)),
            collect_tags,
        }
    }

    /// Which samples `focus` and `ignore` keep, from their verdicts per
    /// location, decided once per call-tree node instead of once per frame
    /// (`None` for stacks kept as a table).
    pub fn samples_kept(&self, verdicts: &[Option<bool>]) -> Option<Vec<bool>> {
        let GroupStacks::Trie(trie) = &self.stacks else {
            return None;
        };
        let kept = trie.kept_by_verdicts(verdicts);
        Some(self.group_of.iter().map(|&t| kept[t as usize]).collect())
    }

    /// The groups of the samples flagged in `keep` (one flag per sample),
    /// in a profile that holds only those samples, with their stacks
    /// unchanged: the same call tree, whose nodes without kept samples
    /// weigh nothing. `None` for stacks kept as a table.
    pub fn subset(&self, keep: &[bool]) -> Option<StackGroups> {
        let GroupStacks::Trie(trie) = &self.stacks else {
            return None;
        };
        let group_of: Vec<u32> = self
            .group_of
            .iter()
            .zip(keep)
            .filter_map(|(&g, &k)| k.then_some(g))
            .collect();
        Some(StackGroups {
            group_of,
            values: self.values.subset(keep),
            stacks: GroupStacks::Trie(trie.clone()),
            collect_tags: false,
        })
    }

    /// How many samples the groups are of.
    pub fn samples(&self) -> usize {
        self.group_of.len()
    }

    /// The groups of [`group_samples`] for `o`'s sample value (and the
    /// same order: a group comes where its first sample of nonzero weight
    /// is).
    pub fn weigh(&self, prof: &Profile, o: &Options) -> SampleGroups {
        debug_assert_eq!(self.collect_tags, o.collect_tags);
        let table = match &self.stacks {
            GroupStacks::Table(table) => table,
            GroupStacks::Trie(trie) => {
                // Graphs walk the tree with these weights: no groups needed.
                let weights = trie.weigh(prof, &self.group_of, &self.values, o);
                return SampleGroups {
                    trie: Some((trie.clone(), weights)),
                    ..Default::default()
                };
            }
        };
        const UNSEEN: u32 = u32::MAX;
        // A group per stack of the table.
        let mut position = vec![UNSEEN; table.len()];
        let mut groups: Vec<SampleGroup> = Vec::new();
        for (si, (s, &g)) in prof.samples.iter().zip(&self.group_of).enumerate() {
            let (w, dw) = sample_weights(s, o);
            if dw == 0 && w == 0 {
                continue;
            }
            let p = &mut position[g as usize];
            if *p == UNSEEN {
                *p = u32::try_from(groups.len()).expect("fewer than 2^32 groups");
                groups.push(SampleGroup {
                    first: si,
                    w,
                    dw,
                    stack: g,
                });
            } else {
                let group = &mut groups[*p as usize];
                group.w = group.w.wrapping_add(w);
                group.dw = group.dw.wrapping_add(dw);
            }
        }
        SampleGroups {
            groups,
            table: table.clone(),
            trie: None,
        }
    }
}

/// Every sample's values in one vector, `width` per sample, when all
/// samples have the same number of values (else empty: weighings then read
/// each sample's own).
#[derive(Debug, Default)]
pub(crate) struct SampleValues {
    width: usize,
    all: Vec<i64>,
}

impl SampleValues {
    fn of(prof: &Profile) -> SampleValues {
        let width = prof.samples.first().map_or(0, |s| s.values.len());
        if width == 0 || prof.samples.iter().any(|s| s.values.len() != width) {
            return SampleValues::default();
        }
        let mut all = Vec::with_capacity(width * prof.samples.len());
        for s in &prof.samples {
            all.extend_from_slice(&s.values);
        }
        SampleValues { width, all }
    }

    /// The values of the samples flagged in `keep`.
    fn subset(&self, keep: &[bool]) -> SampleValues {
        if self.width == 0 {
            return SampleValues::default();
        }
        let mut all = Vec::new();
        for (row, &k) in self.all.chunks_exact(self.width).zip(keep) {
            if k {
                all.extend_from_slice(row);
            }
        }
        SampleValues {
            width: self.width,
            all,
        }
    }

    /// Sample `i`'s values, if they are here.
    fn get(&self, i: usize) -> Option<&[i64]> {
        self.all.get(i * self.width..(i + 1) * self.width)
    }
}

/// The result of [`group_samples`]: the groups and their stacks.
#[derive(Clone, Debug, Default)]
pub struct SampleGroups {
    pub groups: Vec<SampleGroup>,
    table: std::sync::Arc<StackTable>,
    /// Instead of groups, when they come from [`StackGroups`] without
    /// tags: the stacks' call tree and the samples' weights on it, which
    /// graph builds walk.
    trie: Option<(std::sync::Arc<StackTrie>, stack_trie::TrieWeights)>,
}

impl SampleGroups {
    /// Group `i`'s stack, leaf first (its first sample's locations).
    pub fn stack(&self, i: usize) -> &[LocIdx] {
        self.table.get(self.groups[i].stack)
    }
}

impl std::ops::Deref for SampleGroups {
    type Target = [SampleGroup];
    fn deref(&self) -> &[SampleGroup] {
        &self.groups
    }
}

/// `newTree`: a call tree, where a node is distinct per call path.
fn new_tree(prof: &Profile, o: &Options) -> Graph {
    let mut g = Graph::default();
    // Node maps per parent (None = roots).
    let mut parent_maps: HashMap<Option<NodeIdx>, NodeMap, FxBuild> = HashMap::default();
    for sample in &prof.samples {
        let (w, dw) = sample_weights(sample, o);
        if dw == 0 && w == 0 {
            continue;
        }
        let tag_info = o.collect_tags.then(|| SampleTagInfo {
            labels: join_labels(sample),
            sample,
        });
        let mut parent: Option<NodeIdx> = None;
        for &l in sample.locations.iter().rev() {
            let loc = prof.location(l);
            let objfile = objfile_of(prof, loc);
            let nlines = loc.lines.len().max(1);
            for lidx in (0..nlines).rev() {
                let ni = node_info(prof, loc, loc.lines.get(lidx), objfile, o);
                let mut nm = parent_maps.remove(&parent).unwrap_or(NodeMap {
                    map: HashMap::new(),
                });
                let n = g.find_or_insert_node(&mut nm, ni, o.kept_nodes);
                parent_maps.insert(parent, nm);
                let Some(n) = n else { continue };
                g.add_sample(n, dw, w, tag_info.as_ref(), o, false);
                if let Some(p) = parent {
                    g.add_to_edge(p, n, dw, w, false, lidx != nlines - 1);
                }
                parent = Some(n);
            }
        }
        if let Some(p) = parent {
            g.add_sample(p, dw, w, tag_info.as_ref(), o, true);
        }
    }
    g.select_nodes(o.drop_negative);
    g
}

/// Locations of a profile by index, for callers that walk samples.
pub fn location_nodes(locs: &[Vec<Option<NodeIdx>>], l: LocIdx) -> &[Option<NodeIdx>] {
    &locs[l as usize]
}
