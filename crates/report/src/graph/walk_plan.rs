//! A walk of the whole call tree recorded once, then replayed for each
//! weighing: a session's graphs of every sample value, and of every
//! focus or ignore (which keep the tree and weigh the samples they drop as
//! nothing), share it.
//!
//! What a graph walk adds at a tree node does not depend on the weights:
//! the graph nodes that first appear on the path there (they get the
//! subtree's weight as cum), the edges that first appear there (their
//! weight, inline flag and place in the order edges are made), and the
//! innermost node (the flat of the groups ending there). Only which
//! subtrees weigh anything depends on them, and a subtree weighs something
//! only if every node above it does, so a node's firsts are the same in
//! every walk that reaches it. A replay adds the weights along flat arrays
//! in pre-order: no path to keep, no edge to look up (a third of a walk's
//! time on the compiler's heap profile).
//!
//! Only graphs of every node (no kept set) are planned: there no frame is
//! dropped, so no edge is residual.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::stack_trie::{
    EDGE_MARK, PathMarks, RangePartial, StackTrie, TrieWeights, in_walk_order, path_above,
};
use super::{Counts, Edge, FxBuild, LocTables, NO_NODE, NodeIdx, Partial, edge_key};

/// A tree's walk under one set of location tables, recorded once (by the
/// first graph that needs it, or by a thread of its own).
#[derive(Debug)]
pub(crate) struct PlanSlot {
    /// The tables: a graph's node numbers follow from its profile's
    /// locations and options, and any difference there changes what a walk
    /// adds.
    loc_start: Vec<u32>,
    loc_nodes: Vec<NodeIdx>,
    graph_nodes: usize,
    plan: OnceLock<WalkPlan>,
}

impl PlanSlot {
    pub(crate) fn new(t: &LocTables) -> PlanSlot {
        PlanSlot {
            loc_start: t.loc_start.to_vec(),
            loc_nodes: t.loc_nodes.to_vec(),
            graph_nodes: t.nodes,
            plan: OnceLock::new(),
        }
    }

    /// Whether the slot is for tables `t`.
    pub(crate) fn is_for(&self, t: &LocTables) -> bool {
        self.graph_nodes == t.nodes
            && self.loc_start == t.loc_start
            && self.loc_nodes == t.loc_nodes
    }

    /// The recorded walk of `trie`, recorded now if it is not yet; a
    /// recording under way on another thread is waited for.
    pub(crate) fn plan(&self, trie: &StackTrie) -> &WalkPlan {
        self.plan.get_or_init(|| {
            let t = LocTables {
                loc_start: &self.loc_start,
                loc_nodes: &self.loc_nodes,
                nodes: self.graph_nodes,
            };
            WalkPlan::record(trie, &t)
        })
    }
}

/// A recorded walk of every node of one tree under one set of location
/// tables.
#[derive(Debug)]
pub(crate) struct WalkPlan {
    graph_nodes: usize,
    /// Tree node `t`'s firsts: `node_entries[node_start[t]..node_start[t + 1]]`.
    node_start: Vec<u32>,
    node_entries: Vec<NodeIdx>,
    /// Every edge of the walk, by its number in `edge_entries`.
    edges: Vec<(NodeIdx, NodeIdx)>,
    /// Tree node `t`'s first edges, `edge_entries[edge_start[t]..edge_start[t + 1]]`:
    /// the edge's number (with [`EDGE_MARK`] set when the call is inlined)
    /// and its place along the path (pprof's order of edges).
    edge_start: Vec<u32>,
    edge_entries: Vec<(u32, u32)>,
}

impl WalkPlan {
    /// Whether tables `t` may be planned: every frame has its node.
    pub(crate) fn plannable(t: &LocTables) -> bool {
        !t.loc_nodes.contains(&NO_NODE)
    }

    /// Records the walk of every node of `trie` under tables `t`, on two
    /// threads for large trees (each records the nodes of one half of the
    /// pre-order, the second half's edges are renumbered into the first's).
    pub(crate) fn record(trie: &StackTrie, t: &LocTables) -> WalkPlan {
        const MIN_NODES: u32 = 200_000;
        let n = trie.len() as u32;
        let cut = if n < MIN_NODES { n } else { n / 2 };
        let (mut a, b) = if cut >= n {
            (record_range(trie, t, 1..n), None)
        } else {
            std::thread::scope(|s| {
                let b = s.spawn(|| record_range(trie, t, cut..n));
                let a = record_range(trie, t, 1..cut);
                (a, Some(b.join().expect("walk plan worker panicked")))
            })
        };
        if let Some(b) = b {
            let mut index: HashMap<u64, u32, FxBuild> = a
                .edges
                .iter()
                .enumerate()
                .map(|(i, &(s, d))| (edge_key(s, d), i as u32))
                .collect();
            let renumber: Vec<u32> = b
                .edges
                .iter()
                .map(|&(s, d)| {
                    *index.entry(edge_key(s, d)).or_insert_with(|| {
                        a.edges.push((s, d));
                        (a.edges.len() - 1) as u32
                    })
                })
                .collect();
            let (nodes_before, edges_before) =
                (a.node_entries.len() as u32, a.edge_entries.len() as u32);
            a.node_start
                .extend(b.node_start.iter().map(|&x| x + nodes_before));
            a.node_entries.extend(b.node_entries);
            a.edge_start
                .extend(b.edge_start.iter().map(|&x| x + edges_before));
            a.edge_entries
                .extend(b.edge_entries.into_iter().map(|(e, step)| {
                    let inline = e & EDGE_MARK;
                    (renumber[(e & !EDGE_MARK) as usize] | inline, step)
                }));
        }
        a.node_start.push(a.node_entries.len() as u32);
        a.edge_start.push(a.edge_entries.len() as u32);
        WalkPlan {
            graph_nodes: t.nodes,
            node_start: a.node_start,
            node_entries: a.node_entries,
            edges: a.edges,
            edge_start: a.edge_start,
            edge_entries: a.edge_entries,
        }
    }

    /// What a walk of `trie` weighed by `wts` gives (see
    /// `stack_trie::accumulate`), on two threads for large trees, each
    /// replaying one half of the pre-order into its own sums.
    /// Two threads take the nodes before and after `cut` (by default half
    /// of them, none on small trees; 0: one thread), as in a walk.
    pub(crate) fn replay(
        &self,
        trie: &StackTrie,
        wts: &TrieWeights,
        t: &LocTables,
        cut: Option<usize>,
    ) -> Partial {
        const MIN_NODES: u32 = 200_000;
        let n = trie.len() as u32;
        let cut = match cut {
            None if n < MIN_NODES => 0,
            None => n / 2,
            Some(c) => u32::try_from(c).unwrap_or(u32::MAX).min(n),
        };
        if cut <= 1 || cut >= n {
            return in_walk_order(keep_met(self.replay_range(trie, wts, t, 1..n)));
        }
        let (mut a, b) = std::thread::scope(|s| {
            let b = s.spawn(|| self.replay_range(trie, wts, t, cut..n));
            let a = self.replay_range(trie, wts, t, 1..cut);
            (a, b.join().expect("walk replay worker panicked"))
        });
        for (c, d) in a.counts.iter_mut().zip(&b.counts) {
            c.flat = c.flat.wrapping_add(d.flat);
            c.flat_div = c.flat_div.wrapping_add(d.flat_div);
            c.cum = c.cum.wrapping_add(d.cum);
            c.cum_div = c.cum_div.wrapping_add(d.cum_div);
        }
        for ((e, f), (o, p)) in a
            .edges
            .iter_mut()
            .zip(&b.edges)
            .zip(a.order.iter_mut().zip(&b.order))
        {
            e.weight = e.weight.wrapping_add(f.weight);
            e.weight_div = e.weight_div.wrapping_add(f.weight_div);
            e.inline &= f.inline;
            *o = (*o).min(*p);
        }
        in_walk_order(keep_met(a))
    }

    /// The sums of the tree nodes in `range`: a subtree that weighs
    /// nothing is skipped whole, as a walk skips it.
    fn replay_range(
        &self,
        trie: &StackTrie,
        wts: &TrieWeights,
        t: &LocTables,
        range: std::ops::Range<u32>,
    ) -> RangePartial {
        let mut counts = vec![Counts::default(); self.graph_nodes];
        let mut edges: Vec<Edge> = self
            .edges
            .iter()
            .map(|&(src, dest)| Edge {
                src,
                dest,
                weight: 0,
                weight_div: 0,
                residual: false,
                inline: true,
            })
            .collect();
        let mut order = vec![(u32::MAX, u32::MAX); self.edges.len()];
        let mut tn = range.start;
        while tn < range.end {
            let tu = tn as usize;
            let end = trie.end_of(tu);
            let first = wts.first_of(tu);
            if first == u32::MAX {
                tn = end;
                continue;
            }
            let (w, dw) = wts.sub(tu, end as usize);
            let nodes = self.node_start[tu] as usize..self.node_start[tu + 1] as usize;
            for &node in &self.node_entries[nodes] {
                let c = &mut counts[node as usize];
                c.cum = c.cum.wrapping_add(w);
                c.cum_div = c.cum_div.wrapping_add(dw);
            }
            let firsts = self.edge_start[tu] as usize..self.edge_start[tu + 1] as usize;
            for &(e, step) in &self.edge_entries[firsts] {
                let i = (e & !EDGE_MARK) as usize;
                let edge = &mut edges[i];
                edge.weight = edge.weight.wrapping_add(w);
                edge.weight_div = edge.weight_div.wrapping_add(dw);
                edge.inline &= e & EDGE_MARK != 0;
                order[i] = order[i].min((first, step));
            }
            // Groups ending here: flat to the innermost frame's node.
            if let Some(&leaf) = t.of(trie.loc_of(tu)).first() {
                let (ew, edw) = wts.ends(tu);
                let c = &mut counts[leaf as usize];
                c.flat = c.flat.wrapping_add(ew);
                c.flat_div = c.flat_div.wrapping_add(edw);
            }
            tn += 1;
        }
        RangePartial {
            counts,
            edges,
            order,
        }
    }
}

/// Only the edges some weighed subtree met: a walk makes no others.
fn keep_met(p: RangePartial) -> RangePartial {
    let (edges, order) = p
        .edges
        .into_iter()
        .zip(p.order)
        .filter(|(_, o)| o.0 != u32::MAX)
        .unzip();
    RangePartial {
        counts: p.counts,
        edges,
        order,
    }
}

/// One part of a plan as recorded: its nodes' starts (without the final
/// end), entries, and edges in its own numbering.
struct Recorded {
    node_start: Vec<u32>,
    node_entries: Vec<NodeIdx>,
    edges: Vec<(NodeIdx, NodeIdx)>,
    edge_start: Vec<u32>,
    edge_entries: Vec<(u32, u32)>,
}

/// Records the firsts of the tree nodes in `range` (all of them, weighed or
/// not); a range that starts inside a subtree first puts the nodes above
/// it on the path.
fn record_range(trie: &StackTrie, t: &LocTables, range: std::ops::Range<u32>) -> Recorded {
    struct Open {
        end: u32,
        log_before: usize,
        parent: NodeIdx,
        step: u32,
    }
    let mut r = Recorded {
        node_start: Vec::with_capacity(range.len() + 1),
        node_entries: Vec::with_capacity(range.len() * 3 / 2),
        edges: Vec::new(),
        edge_start: Vec::with_capacity(range.len() + 1),
        edge_entries: Vec::with_capacity(range.len() * 3 / 2),
    };
    if range.start == 1 {
        // The root: no frames.
        r.node_start.push(0);
        r.edge_start.push(0);
    }
    let mut edge_index: HashMap<u64, u32, FxBuild> = HashMap::default();
    let mut last_out: Vec<u32> = vec![u32::MAX; t.nodes];
    let mut marks = PathMarks::new(t.nodes);
    let mut open: Vec<Open> = Vec::new();
    let ancestors = path_above(
        trie,
        Some(range.start).filter(|_| !range.is_empty()),
        |_| true,
    );
    let mut pending_ancestors = ancestors.len();
    let mut cursor = range.start;
    loop {
        let (ti, record) = if pending_ancestors > 0 {
            pending_ancestors -= 1;
            (ancestors[pending_ancestors], false)
        } else if cursor < range.end {
            cursor += 1;
            (cursor - 1, true)
        } else {
            break;
        };
        while open.last().is_some_and(|o| o.end <= ti) {
            let o = open.pop().expect("checked");
            marks.unwind(o.log_before);
        }
        if record {
            r.node_start.push(r.node_entries.len() as u32);
            r.edge_start.push(r.edge_entries.len() as u32);
        }
        let tu = ti as usize;
        let (mut parent, mut step) = open.last().map_or((NO_NODE, 0), |o| (o.parent, o.step));
        let log_before = marks.position();
        let loc_nodes = t.of(trie.loc_of(tu));
        for ni in (0..loc_nodes.len()).rev() {
            let node = loc_nodes[ni];
            if marks.node(node) && record {
                r.node_entries.push(node);
            }
            if parent != NO_NODE && parent != node {
                let inline = ni != loc_nodes.len() - 1;
                let cached = last_out[parent as usize];
                let e = if cached != u32::MAX && r.edges[cached as usize].1 == node {
                    cached
                } else {
                    let e = *edge_index.entry(edge_key(parent, node)).or_insert_with(|| {
                        r.edges.push((parent, node));
                        (r.edges.len() - 1) as u32
                    });
                    last_out[parent as usize] = e;
                    e
                };
                if marks.edge(e) && record {
                    let mark = if inline { EDGE_MARK } else { 0 };
                    r.edge_entries.push((e | mark, step));
                }
            }
            parent = node;
            step += 1;
        }
        open.push(Open {
            end: trie.end_of(tu),
            log_before,
            parent,
            step,
        });
    }
    r
}
