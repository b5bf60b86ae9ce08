//! The stacks of a session's sample groups as one call tree, so that a
//! graph build walks each shared prefix once instead of once per stack.
//!
//! pprof's `newGraph` adds every sample along its stack: cum once per node
//! and edge per sample, flat to the leaf. All samples through one prefix
//! share what that prefix contributes, so the tree carries, per tree node,
//! the summed weights of the groups below it, and a depth-first walk that
//! keeps the nodes and edges on its current path counted gives the same
//! sums. On the compiler's heap profile (690k samples, 23M frames) the tree
//! has 1.8M nodes: a build reads 13x fewer frames.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use profile::{LocIdx, Profile};

use super::walk_plan::{PlanSlot, WalkPlan};
use super::{
    Counts, Edge, EdgeIdx, FxBuild, LocTables, NO_NODE, NodeIdx, Options, Partial, SampleValues,
    TreeWalk, edge_key, sample_weights, values_weights,
};

/// The tree of a profile's stacks, root first, its nodes numbered in
/// pre-order (children in the order their stacks first appear), so that a
/// node's subtree is the range `t..end[t]`. Node 0 is the root, above every
/// stack's outermost frame; it has no location.
#[derive(Debug)]
pub struct StackTrie {
    loc: Vec<LocIdx>,
    parent: Vec<u32>,
    end: Vec<u32>,
    /// Each location's nodes, for walks that keep few graph nodes (see
    /// [`kept_sequence`]); made on the first such walk.
    occurrences: OnceLock<LocOccurrences>,
    /// Walks of every node recorded for replay, by location tables (a
    /// session's preparations that change no stack share the tree).
    plans: Mutex<Vec<Arc<PlanSlot>>>,
}

/// How many recorded walks a tree keeps (most recently used last).
const KEPT_PLANS: usize = 2;

/// The tree nodes of each location, in pre-order: location `l`'s are
/// `nodes[start[l]..start[l + 1]]`.
#[derive(Debug)]
struct LocOccurrences {
    start: Vec<u32>,
    nodes: Vec<u32>,
}

impl LocOccurrences {
    fn of(&self, l: usize) -> &[u32] {
        match (self.start.get(l), self.start.get(l + 1)) {
            (Some(&a), Some(&b)) => &self.nodes[a as usize..b as usize],
            _ => &[],
        }
    }
}

impl StackTrie {
    /// The tree of `stacks` (each leaf first, as samples hold them), and
    /// each stack's node. Large profiles' trees are built in two parts on
    /// two threads (see [`SPLIT_DEPTH`]).
    pub fn of_stacks<'a>(
        stacks: impl ExactSizeIterator<Item = &'a [LocIdx]>,
    ) -> (StackTrie, Vec<u32>) {
        StackTrie::of_stacks_split(stacks, None)
    }

    /// [`StackTrie::of_stacks`] in two parts split at `depth` instead of
    /// by default (0: in one part): tests check that every split gives the
    /// same graphs. The nodes' numbers may differ.
    pub fn of_stacks_split<'a>(
        stacks: impl ExactSizeIterator<Item = &'a [LocIdx]>,
        depth: Option<usize>,
    ) -> (StackTrie, Vec<u32>) {
        const NONE: u32 = u32::MAX;
        let stacks: Vec<&[LocIdx]> = stacks.collect();
        let depth = depth.unwrap_or_else(|| {
            let frames: usize = stacks.iter().map(|s| s.len()).sum();
            if frames < PARALLEL_FRAMES {
                0
            } else {
                SPLIT_DEPTH
            }
        });
        let (loc, parent, node_of_stack) = if depth == 0 {
            let (b, nodes) = Builder::build(&stacks, |_| true);
            (b.loc, b.parent, nodes)
        } else {
            let first = |stack: &[LocIdx]| in_first_part(stack, depth);
            let ((mut a, mine), (b, theirs)) = std::thread::scope(|s| {
                let b = s.spawn(|| Builder::build(&stacks, |st| !first(st)));
                let a = Builder::build(&stacks, first);
                (a, b.join().expect("call tree worker panicked"))
            });
            let nodes = a.graft(b, mine, &theirs);
            (a.loc, a.parent, nodes)
        };
        // Renumber in pre-order: subtree sizes (children come after their
        // parent, so a backward pass adds them up), then each child takes
        // the next free slot of its parent's range, in creation order.
        let n = loc.len();
        let mut size = vec![1u32; n];
        for c in (1..n).rev() {
            size[parent[c] as usize] += size[c];
        }
        let mut pre = vec![0u32; n];
        let mut next_slot = vec![0u32; n];
        next_slot[0] = 1;
        for c in 1..n {
            let p = parent[c] as usize;
            pre[c] = next_slot[p];
            next_slot[p] += size[c];
            next_slot[c] = pre[c] + 1;
        }
        let node_of_stack = node_of_stack.iter().map(|&t| pre[t as usize]).collect();
        let mut trie = StackTrie {
            loc: vec![0; n],
            parent: vec![NONE; n],
            end: vec![0; n],
            occurrences: OnceLock::new(),
            plans: Mutex::default(),
        };
        for c in 0..n {
            let t = pre[c] as usize;
            trie.loc[t] = loc[c];
            trie.end[t] = pre[c] + size[c];
            if c > 0 {
                trie.parent[t] = pre[parent[c] as usize];
            }
        }
        (trie, node_of_stack)
    }

    /// Whether the samples of each stack's node are kept under
    /// per-location verdicts (see `profile::passes::location_verdicts`): a
    /// stack is kept when no frame drops it and one lets it be kept. Each
    /// node's state follows from its parent's and its own location, so one
    /// pass over the nodes decides for every stack.
    pub fn kept_by_verdicts(&self, verdicts: &[Option<bool>]) -> Vec<bool> {
        const NEITHER: u8 = 0;
        const KEPT: u8 = 1;
        const DROPPED: u8 = 2;
        let mut state = vec![NEITHER; self.len()];
        // Parents come before their children in pre-order.
        for t in 1..self.len() {
            let above = state[self.parent[t] as usize];
            let here = verdicts.get(self.loc[t] as usize).copied().flatten();
            state[t] = match (above, here) {
                (DROPPED, _) | (_, Some(false)) => DROPPED,
                (KEPT, _) | (_, Some(true)) => KEPT,
                _ => NEITHER,
            };
        }
        state.into_iter().map(|s| s == KEPT).collect()
    }

    /// Where each location occurs in the tree (a counting sort of the
    /// nodes by location, so each list is in pre-order).
    fn occurrences(&self) -> &LocOccurrences {
        self.occurrences.get_or_init(|| {
            let locs = self.loc.iter().skip(1).map(|&l| l as usize + 1).max();
            let mut start = vec![0u32; locs.unwrap_or(0) + 1];
            for &l in &self.loc[1..] {
                start[l as usize + 1] += 1;
            }
            for i in 1..start.len() {
                start[i] += start[i - 1];
            }
            let mut next = start.clone();
            let mut nodes = vec![0u32; self.loc.len().saturating_sub(1)];
            for (t, &l) in self.loc.iter().enumerate().skip(1) {
                let slot = &mut next[l as usize];
                nodes[*slot as usize] = t as u32;
                *slot += 1;
            }
            LocOccurrences { start, nodes }
        })
    }

    /// The slot of the walk of every node under tables `t`, and whether
    /// it is new.
    fn plan_slot(&self, t: &LocTables) -> (Arc<PlanSlot>, bool) {
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = plans.iter().position(|p| p.is_for(t)) {
            let slot = plans.remove(i);
            plans.push(slot.clone());
            return (slot, false);
        }
        let slot = Arc::new(PlanSlot::new(t));
        if plans.len() >= KEPT_PLANS {
            plans.remove(0);
        }
        plans.push(slot.clone());
        (slot, true)
    }

    pub(super) fn end_of(&self, t: usize) -> u32 {
        self.end[t]
    }

    pub(super) fn loc_of(&self, t: usize) -> LocIdx {
        self.loc[t]
    }

    /// How many tree nodes there are (the root included).
    pub fn len(&self) -> usize {
        self.loc.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loc.len() <= 1
    }

    /// The weights of `prof`'s samples under `o`, each sample at its
    /// stack's node (`node_of`), summed so that each subtree's sum is one
    /// subtraction away (see [`TrieWeights`]). Samples of zero weight and divisor count nowhere, as in
    /// pprof; a node's first position is where a walk over the groups of
    /// [`super::group_samples`] would meet the first group below it.
    pub(super) fn weigh(
        &self,
        prof: &Profile,
        node_of: &[u32],
        values: &SampleValues,
        o: &Options,
    ) -> TrieWeights {
        let n = self.len();
        let mean = o.sample_mean_divisor.is_some();
        let mut wts = TrieWeights {
            acc: vec![0; n + 1],
            div: mean.then(|| vec![0; n + 1]),
            first: vec![u32::MAX; n],
        };
        let mut groups = 0u32;
        // The samples themselves are read only where their values are not
        // at hand: a focus's copy clones its samples when first read.
        for (i, &t) in node_of.iter().enumerate() {
            let (w, dw) = match values.get(i) {
                Some(v) => values_weights(v, o),
                None => sample_weights(&prof.samples[i], o),
            };
            if dw == 0 && w == 0 {
                continue;
            }
            let t = t as usize;
            if wts.first[t] == u32::MAX {
                wts.first[t] = groups;
                groups += 1;
            }
            // Each node's own weight first, one place on.
            wts.acc[t + 1] = wts.acc[t + 1].wrapping_add(w);
            if let Some(div) = &mut wts.div {
                div[t + 1] = div[t + 1].wrapping_add(dw);
            }
        }
        for sums in std::iter::once(&mut wts.acc).chain(&mut wts.div) {
            for t in 1..=n {
                sums[t] = sums[t].wrapping_add(sums[t - 1]);
            }
        }
        for t in (1..n).rev() {
            let p = self.parent[t] as usize;
            wts.first[p] = wts.first[p].min(wts.first[t]);
        }
        wts
    }
}

/// Below this many frames, the tree is built on one thread.
const PARALLEL_FRAMES: usize = 1_000_000;

/// How deep (from the root) the frames go that decide which of two threads
/// builds a stack's part of the tree: stacks that share that many outer
/// frames are built by the same thread, so the two parts share only nodes
/// down to that depth, the only ones grafting one part onto the other
/// looks up. Programs start in a few functions: on the compiler's heap
/// profile, depths 4 and 8 left one thread 60% of the work; 16 to 32, 49
/// to 51%.
const SPLIT_DEPTH: usize = 16;

/// Whether `stack` is built by the first thread, from a hash of its
/// outermost `depth` frames.
fn in_first_part(stack: &[LocIdx], depth: usize) -> bool {
    let outer = &stack[stack.len().saturating_sub(depth)..];
    let h = outer.iter().fold(0u64, |h, &l| {
        (h.rotate_left(5) ^ u64::from(l)).wrapping_mul(0x517c_c1b7_2722_0a95)
    });
    h >> 63 == 0
}

/// A tree under construction: nodes in creation order (a parent before
/// its children).
struct Builder {
    loc: Vec<LocIdx>,
    parent: Vec<u32>,
    kids: Vec<Kids>,
    many: HashMap<u64, u32, FxBuild>,
}

fn kid_key(node: u32, l: LocIdx) -> u64 {
    (u64::from(node) << 32) | u64::from(l)
}

impl Builder {
    /// The tree of the `stacks` that `mine` picks, and the node of each
    /// (`u32::MAX` for the others).
    fn build(stacks: &[&[LocIdx]], mine: impl Fn(&[LocIdx]) -> bool) -> (Builder, Vec<u32>) {
        const NONE: u32 = u32::MAX;
        // Most nodes have one or two children (the compiler's heap profile:
        // 1.8M nodes, 0.6M of them leaves), so each node holds its first
        // two; only nodes with more go to a hash table, whose lookups miss
        // the cache. For those, the first slot keeps the child last
        // stepped into: stacks that follow each other in a profile mostly
        // share their outer frames.
        let expected = stacks.len().saturating_mul(3);
        let mut b = Builder {
            loc: Vec::with_capacity(expected),
            parent: Vec::with_capacity(expected),
            kids: Vec::with_capacity(expected),
            many: HashMap::default(),
        };
        b.loc.push(0);
        b.parent.push(NONE);
        b.kids.push(Kids::default());
        let mut node_of_stack = Vec::with_capacity(stacks.len());
        // Consecutive stacks mostly share their outer frames (83% of the
        // compiler's heap profile's frames are its previous stack's): the
        // nodes of the previous stack's path, outermost first, skip the
        // lookups of the shared part, found by comparing the stacks.
        let mut path: Vec<u32> = Vec::new();
        let mut previous: &[LocIdx] = &[];
        for &stack in stacks {
            if !mine(stack) {
                node_of_stack.push(NONE);
                continue;
            }
            let shared = stack
                .iter()
                .rev()
                .zip(previous.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            previous = stack;
            path.truncate(shared);
            let mut cur = path.last().copied().unwrap_or(0);
            for &l in stack[..stack.len() - shared].iter().rev() {
                cur = b.child(cur, l);
                path.push(cur);
            }
            node_of_stack.push(cur);
        }
        (b, node_of_stack)
    }

    /// The child of `cur` at `l`, made if new.
    fn child(&mut self, cur: u32, l: LocIdx) -> u32 {
        let k = self.kids[cur as usize];
        if k.count >= 1 && k.first.0 == l {
            return k.first.1;
        }
        if k.count >= 2 && k.second.0 == l {
            return k.second.1;
        }
        let fresh = u32::try_from(self.loc.len()).expect("fewer than 2^32 tree nodes");
        let child = if k.count > 2 {
            *self.many.entry(kid_key(cur, l)).or_insert(fresh)
        } else {
            fresh
        };
        if child == fresh {
            self.loc.push(l);
            self.parent.push(cur);
            self.kids.push(Kids::default());
        }
        let k = &mut self.kids[cur as usize];
        match k.count {
            0 => k.first = (l, child),
            1 => k.second = (l, child),
            2 => {
                self.many.insert(kid_key(cur, k.first.0), k.first.1);
                self.many.insert(kid_key(cur, k.second.0), k.second.1);
                self.many.insert(kid_key(cur, l), child);
                k.first = (l, child);
            }
            _ => k.first = (l, child),
        }
        if child == fresh {
            k.count += 1;
        }
        child
    }

    /// The child of `cur` at `l`, if there is one.
    fn find(&self, cur: u32, l: LocIdx) -> Option<u32> {
        let k = self.kids[cur as usize];
        match k.count {
            0 => None,
            1 | 2 if k.first.0 == l => Some(k.first.1),
            2 if k.second.0 == l => Some(k.second.1),
            1 | 2 => None,
            _ => self.many.get(&kid_key(cur, l)).copied(),
        }
    }

    /// Adds `other`'s nodes to this tree, those already here by their
    /// path, and gives each stack its node: `mine`'s where it has one,
    /// else `theirs`' in this tree. Nodes come after this tree's, in
    /// `other`'s order, so parents still come before their children.
    fn graft(&mut self, other: Builder, mine: Vec<u32>, theirs: &[u32]) -> Vec<u32> {
        const NONE: u32 = u32::MAX;
        let here = self.loc.len() as u32;
        let mut to = vec![0u32; other.loc.len()];
        self.loc.reserve(other.loc.len());
        self.parent.reserve(other.loc.len());
        for c in 1..other.loc.len() {
            let p = to[other.parent[c] as usize];
            let l = other.loc[c];
            // Below a node of `other`'s own, every node is new here.
            if p < here
                && let Some(t) = self.find(p, l)
            {
                to[c] = t;
                continue;
            }
            to[c] = u32::try_from(self.loc.len()).expect("fewer than 2^32 tree nodes");
            self.loc.push(l);
            self.parent.push(p);
        }
        mine.into_iter()
            .zip(theirs)
            .map(|(m, &t)| if m == NONE { to[t as usize] } else { m })
            .collect()
    }
}

/// A node's children while the tree is built: the first two, and how many
/// there are (past two, all are in a hash table too).
#[derive(Clone, Copy, Default)]
struct Kids {
    first: (LocIdx, u32),
    second: (LocIdx, u32),
    count: u32,
}

/// One sample value's weights on a [`StackTrie`].
#[derive(Clone, Debug)]
pub(super) struct TrieWeights {
    /// Running sums over the nodes in pre-order of the weight of the
    /// groups whose stack ends at each: `acc[t]` sums the nodes before
    /// `t`, so a subtree's weight is `acc[end[t]] - acc[t]` (sums wrap, as
    /// pprof's do, and wrapping subtraction undoes them exactly). One
    /// array and a forward pass, where per-node subtree sums took a copy
    /// and a pass up the tree, for each sample value weighed.
    acc: Vec<i64>,
    /// With `-mean`, the same sums of the divisor; without, every divisor
    /// is 0 and nothing is stored.
    div: Option<Vec<i64>>,
    /// The first position, in the groups' order, of a group in each node's
    /// subtree (`u32::MAX`: no group, the subtree adds nothing).
    first: Vec<u32>,
}

impl TrieWeights {
    /// The first position of a group in node `t`'s subtree (`u32::MAX`:
    /// none).
    pub(super) fn first_of(&self, t: usize) -> u32 {
        self.first[t]
    }

    /// (weight, divisor) of node `t`'s subtree, which ends at `end`.
    pub(super) fn sub(&self, t: usize, end: usize) -> (i64, i64) {
        let range = |sums: &[i64]| sums[end].wrapping_sub(sums[t]);
        (range(&self.acc), self.div.as_deref().map_or(0, range))
    }

    /// (weight, divisor) of the groups whose stack ends at node `t`.
    pub(super) fn ends(&self, t: usize) -> (i64, i64) {
        self.sub(t, t + 1)
    }
}

/// A node on the walk's current path: where its subtree ends, how long the
/// log of marks was before it, and the walk's state after its frames.
struct Open {
    node: u32,
    end: u32,
    log_before: usize,
    parent: NodeIdx,
    residual: bool,
    step: u32,
}

/// Marks in the walk's log: a node, or an edge with this bit set.
pub(super) const EDGE_MARK: u32 = 1 << 31;

/// What pprof's per-sample loop of `newGraph` gives over all groups, from
/// one walk of the tree: node weights, and the edges in the order a walk
/// over the groups would create them (the order of the group that first
/// contains each, then its place along that group's stack).
///
/// Two threads take the nodes before and after `cut` in pre-order (by
/// default half of them, or none on trees too small for a thread to pay
/// off; 0: one thread): tests check that every cut gives the same graph.
/// A graph of every node replays the tree's recorded walk (see
/// [`WalkPlan`]), but the first one over some tables walks the tree and
/// leaves the recording to a thread of its own, whose work the session's
/// next reports wait for only if they come before it is done. A graph of
/// few kept nodes walks only the tree nodes of their locations when they
/// are few. `walk` forces a way, for tests.
pub(super) fn accumulate(
    trie: &Arc<StackTrie>,
    wts: &TrieWeights,
    t: &LocTables,
    cut: Option<usize>,
    walk: TreeWalk,
) -> Partial {
    if matches!(walk, TreeWalk::Auto | TreeWalk::Replay) && WalkPlan::plannable(t) {
        let (slot, new) = trie.plan_slot(t);
        if !(new && walk == TreeWalk::Auto) {
            return slot.plan(trie).replay(trie, wts, t, cut);
        }
        let walked = walk_tree(trie, wts, t, cut, TreeWalk::EveryNode);
        let trie = trie.clone();
        // Where no thread can be had, the next graph records it.
        let _ = std::thread::Builder::new()
            .name("walk plan".into())
            .spawn(move || {
                slot.plan(&trie);
            });
        return walked;
    }
    walk_tree(trie, wts, t, cut, walk)
}

/// The walk of [`accumulate`], over every tree node or the kept ones.
fn walk_tree(
    trie: &StackTrie,
    wts: &TrieWeights,
    t: &LocTables,
    cut: Option<usize>,
    walk: TreeWalk,
) -> Partial {
    const MIN_NODES: usize = 200_000;
    let n = trie.len() as u32;
    let list = match walk {
        TreeWalk::Auto => kept_sequence(trie, wts, t, true),
        TreeWalk::KeptLocations => kept_sequence(trie, wts, t, false),
        TreeWalk::EveryNode | TreeWalk::Replay => None,
    };
    let walked = list.as_ref().map_or(n as usize, Vec::len);
    let cut = match cut {
        None if walked < MIN_NODES => 0,
        None => list.as_ref().map_or(n / 2, |l| l[l.len() / 2]),
        Some(c) => u32::try_from(c).unwrap_or(u32::MAX).min(n),
    };
    let (first_part, second_part) = match &list {
        Some(list) => {
            let at = list.partition_point(|&x| x < cut);
            (Seq::List(&list[..at]), Seq::List(&list[at..]))
        }
        None => (Seq::Range(1..cut.max(1)), Seq::Range(cut.max(1)..n)),
    };
    if cut <= 1 || cut >= n {
        let all = match &list {
            Some(list) => Seq::List(list),
            None => Seq::Range(1..n),
        };
        return in_walk_order(accumulate_range(trie, wts, t, all));
    }
    let (first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| accumulate_range(trie, wts, t, second_part));
        let first = accumulate_range(trie, wts, t, first_part);
        (first, second.join().expect("graph worker panicked"))
    });
    merge(first, second)
}

/// The tree nodes a walk keeping only some graph nodes must visit, in
/// pre-order: those whose location holds a kept node and below which a
/// group weighs something. Every other node only drops frames, which the
/// walk sees as a gap between a node and its nearest visited ancestor.
/// `None` when every location holds a kept node, or (`only_if_few`) when
/// visiting the list would save too little over walking every node.
fn kept_sequence(
    trie: &StackTrie,
    wts: &TrieWeights,
    t: &LocTables,
    only_if_few: bool,
) -> Option<Vec<u32>> {
    let locs = t.loc_start.len().saturating_sub(1);
    let kept_locs: Vec<usize> = (0..locs)
        .filter(|&l| t.of(l as LocIdx).iter().any(|&n| n != NO_NODE))
        .collect();
    if kept_locs.len() == locs {
        return None;
    }
    let occ = trie.occurrences();
    let total: usize = kept_locs.iter().map(|&l| occ.of(l).len()).sum();
    // Visiting a listed node costs what visiting any node does; listing
    // them costs a pass over a bitmap of every node.
    if only_if_few && total > trie.len() / 3 {
        return None;
    }
    let mut bits = vec![0u64; trie.len().div_ceil(64)];
    for &l in &kept_locs {
        for &tn in occ.of(l) {
            if wts.first[tn as usize] != u32::MAX {
                bits[tn as usize / 64] |= 1 << (tn % 64);
            }
        }
    }
    let mut list = Vec::with_capacity(total);
    for (w, &word) in bits.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            list.push((w * 64) as u32 + word.trailing_zeros());
            word &= word - 1;
        }
    }
    Some(list)
}

/// The tree nodes a walk visits: a range of pre-order numbers (every node,
/// subtrees without weight skipped), or a list of them in pre-order.
#[derive(Clone)]
enum Seq<'a> {
    Range(std::ops::Range<u32>),
    List(&'a [u32]),
}

/// What two halves of the walk found, as one walk would: weights added,
/// edges by endpoints with flags combined, in the earliest order either
/// met them.
fn merge(a: RangePartial, b: RangePartial) -> Partial {
    let mut counts = a.counts;
    for (c, d) in counts.iter_mut().zip(&b.counts) {
        c.flat = c.flat.wrapping_add(d.flat);
        c.flat_div = c.flat_div.wrapping_add(d.flat_div);
        c.cum = c.cum.wrapping_add(d.cum);
        c.cum_div = c.cum_div.wrapping_add(d.cum_div);
    }
    let mut edges = a.edges;
    let mut order = a.order;
    let index: HashMap<u64, usize, FxBuild> = edges
        .iter()
        .enumerate()
        .map(|(i, e)| (edge_key(e.src, e.dest), i))
        .collect();
    for (e, o) in b.edges.into_iter().zip(b.order) {
        match index.get(&edge_key(e.src, e.dest)) {
            Some(&i) => {
                let m = &mut edges[i];
                m.weight = m.weight.wrapping_add(e.weight);
                m.weight_div = m.weight_div.wrapping_add(e.weight_div);
                m.residual |= e.residual;
                m.inline &= e.inline;
                order[i] = order[i].min(o);
            }
            None => {
                edges.push(e);
                order.push(o);
            }
        }
    }
    in_walk_order(RangePartial {
        counts,
        edges,
        order,
    })
}

/// The edges sorted into the order a walk over the groups creates them.
pub(super) fn in_walk_order(p: RangePartial) -> Partial {
    let mut by_order: Vec<u32> = (0..p.edges.len() as u32).collect();
    by_order.sort_unstable_by_key(|&e| p.order[e as usize]);
    let edges = by_order
        .into_iter()
        .map(|e| p.edges[e as usize].clone())
        .collect();
    Partial {
        counts: p.counts,
        edges,
    }
}

/// A walk's findings before its edges are put in order: each edge's
/// (first group, step) where a group walk would create it.
pub(super) struct RangePartial {
    pub(super) counts: Vec<Counts>,
    pub(super) edges: Vec<Edge>,
    pub(super) order: Vec<(u32, u32)>,
}

/// How many times each graph node and edge is on a walk's current path (a
/// sample counts each once, however often recursion repeats it), and the
/// log of marks to take back when the walk leaves a subtree.
pub(super) struct PathMarks {
    node: Vec<u32>,
    edge: Vec<u32>,
    log: Vec<u32>,
}

impl PathMarks {
    pub(super) fn new(graph_nodes: usize) -> PathMarks {
        PathMarks {
            node: vec![0; graph_nodes],
            edge: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Where the log is: what [`PathMarks::unwind`] goes back to.
    pub(super) fn position(&self) -> usize {
        self.log.len()
    }

    /// Puts node `n` on the path; whether it was not on it yet.
    pub(super) fn node(&mut self, n: NodeIdx) -> bool {
        let on = &mut self.node[n as usize];
        *on += 1;
        self.log.push(n);
        *on == 1
    }

    /// Puts edge `e` on the path; whether it was not on it yet.
    pub(super) fn edge(&mut self, e: EdgeIdx) -> bool {
        if e as usize >= self.edge.len() {
            self.edge.resize(e as usize + 1, 0);
        }
        let on = &mut self.edge[e as usize];
        *on += 1;
        self.log.push(e | EDGE_MARK);
        *on == 1
    }

    /// Takes back the marks made since the log was at `position`.
    pub(super) fn unwind(&mut self, position: usize) {
        for mark in self.log.drain(position..) {
            if mark & EDGE_MARK != 0 {
                self.edge[(mark & !EDGE_MARK) as usize] -= 1;
            } else {
                self.node[mark as usize] -= 1;
            }
        }
    }
}

/// The tree nodes above `start` that `keep` picks, innermost first: what a
/// walk starting inside a subtree puts on its path first.
pub(super) fn path_above(
    trie: &StackTrie,
    start: Option<u32>,
    keep: impl Fn(u32) -> bool,
) -> Vec<u32> {
    let mut above = Vec::new();
    let mut a = start.map_or(0, |s| trie.parent[s as usize]);
    while a != 0 && a != u32::MAX {
        if keep(a) {
            above.push(a);
        }
        a = trie.parent[a as usize];
    }
    above
}

/// The walk over the tree nodes of `seq`. A walk that starts inside a
/// subtree first puts the nodes above its start on the path (those it
/// would visit), as marks only: their weights belong to the walk that
/// visits them.
fn accumulate_range(trie: &StackTrie, wts: &TrieWeights, t: &LocTables, seq: Seq) -> RangePartial {
    let mut counts = vec![Counts::default(); t.nodes];
    let mut edges: Vec<Edge> = Vec::new();
    let mut edge_order: Vec<(u32, u32)> = Vec::new();
    let mut edge_index: HashMap<u64, EdgeIdx, FxBuild> = HashMap::default();
    let mut last_out: Vec<EdgeIdx> = vec![EdgeIdx::MAX; t.nodes];
    let mut marks = PathMarks::new(t.nodes);
    let mut open: Vec<Open> = Vec::new();
    let (start, sparse) = match &seq {
        Seq::Range(r) => (Some(r.start).filter(|_| !r.is_empty()), false),
        Seq::List(l) => (l.first().copied(), true),
    };
    // A sparse walk visits only nodes whose location holds a kept node.
    let visited = |tn: u32| !sparse || t.of(trie.loc[tn as usize]).iter().any(|&n| n != NO_NODE);
    let ancestors = path_above(trie, start, visited);
    let (mut cursor, end, list) = match seq {
        Seq::Range(r) => (r.start, r.end, &[][..]),
        Seq::List(l) => (0, l.len() as u32, l),
    };
    // Ancestors first (outermost first), weighing nothing; then the rest.
    let mut pending_ancestors = ancestors.len();
    loop {
        let (ti, weigh) = if pending_ancestors > 0 {
            pending_ancestors -= 1;
            (ancestors[pending_ancestors], false)
        } else if cursor < end {
            cursor += 1;
            let ti = if sparse {
                list[cursor as usize - 1]
            } else {
                cursor - 1
            };
            (ti, true)
        } else {
            break;
        };
        while open.last().is_some_and(|o| o.end <= ti) {
            let o = open.pop().expect("checked");
            marks.unwind(o.log_before);
        }
        let tu = ti as usize;
        let first = wts.first[tu];
        if first == u32::MAX {
            // No group below: nothing to add, nor to mark.
            if weigh && !sparse {
                cursor = trie.end[tu];
            }
            continue;
        }
        let (w, dw) = if weigh {
            wts.sub(tu, trie.end[tu] as usize)
        } else {
            (0, 0)
        };
        let (mut parent, mut residual, mut step) = open
            .last()
            .map_or((NO_NODE, false, 0), |o| (o.parent, o.residual, o.step));
        // Nodes a sparse walk passes over between this one and the last
        // one visited above it hold only dropped frames.
        if sparse && open.last().is_some_and(|o| o.node != trie.parent[tu]) {
            residual = true;
        }
        let log_before = marks.position();
        let loc_nodes = t.of(trie.loc[tu]);
        for ni in (0..loc_nodes.len()).rev() {
            let node = loc_nodes[ni];
            if node == NO_NODE {
                residual = true;
                continue;
            }
            if marks.node(node) {
                let c = &mut counts[node as usize];
                c.cum = c.cum.wrapping_add(w);
                c.cum_div = c.cum_div.wrapping_add(dw);
            }
            if parent != NO_NODE && parent != node {
                let inline = ni != loc_nodes.len() - 1;
                let cached = last_out[parent as usize];
                let e = if cached != EdgeIdx::MAX && edges[cached as usize].dest == node {
                    cached
                } else {
                    let e = *edge_index.entry(edge_key(parent, node)).or_insert_with(|| {
                        edges.push(Edge {
                            src: parent,
                            dest: node,
                            weight: 0,
                            weight_div: 0,
                            residual: false,
                            inline: true,
                        });
                        edge_order.push((u32::MAX, u32::MAX));
                        (edges.len() - 1) as EdgeIdx
                    });
                    last_out[parent as usize] = e;
                    e
                };
                if marks.edge(e) && weigh {
                    let edge = &mut edges[e as usize];
                    edge.weight = edge.weight.wrapping_add(w);
                    edge.weight_div = edge.weight_div.wrapping_add(dw);
                    edge.residual |= residual;
                    edge.inline &= inline;
                    let order = &mut edge_order[e as usize];
                    *order = (*order).min((first, step));
                }
            }
            parent = node;
            residual = false;
            step += 1;
        }
        // Groups whose stack ends here: flat to the innermost node, unless
        // a dropped node ends the stack.
        if weigh && parent != NO_NODE && !residual {
            let (ew, edw) = wts.ends(tu);
            let c = &mut counts[parent as usize];
            c.flat = c.flat.wrapping_add(ew);
            c.flat_div = c.flat_div.wrapping_add(edw);
        }
        open.push(Open {
            node: ti,
            end: trie.end[tu],
            log_before,
            parent,
            residual,
            step,
        });
    }
    RangePartial {
        counts,
        edges,
        order: edge_order,
    }
}
