//! The graph is built from halves of the sample groups on two threads when a
//! profile is large; every cut must give exactly the single-pass graph.

use std::path::PathBuf;

use report::graph::{self, NodeSet, TreeWalk, new_graph_split, new_graph_walk};

fn profiles() -> Vec<(String, profile::Profile)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/profiles");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("testdata/profiles") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let Ok(parsed) = profile::parse(&bytes, &profile::ParseOptions::default()) else {
            continue;
        };
        out.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            parsed.profile,
        ));
    }
    assert!(out.len() >= 10, "fixtures missing in {}", dir.display());
    out
}

#[test]
fn every_cut_of_the_groups_gives_the_single_pass_graph() {
    for (name, p) in profiles() {
        for si in 0..p.sample_types.len() {
            let value = move |v: &[i64]| v[si];
            let base = graph::Options::new(&value);
            let (whole, _) = new_graph_split(&p, &base, Some(0));
            let groups = graph::group_samples(&p, &base);
            // A kept set of about half the nodes exercises residual edges.
            let kept: NodeSet = whole
                .nodes
                .iter()
                .step_by(2)
                .map(|&n| whole.node(n).info.clone())
                .collect();
            for kept in [None, Some(&kept)] {
                let o = graph::Options {
                    kept_nodes: kept,
                    ..base
                };
                let want = format!("{:?}", new_graph_split(&p, &o, Some(0)).0);
                for cut in [
                    1,
                    groups.len() / 3,
                    groups.len() / 2,
                    groups.len().saturating_sub(1),
                ] {
                    let got = format!("{:?}", new_graph_split(&p, &o, Some(cut)).0);
                    assert!(
                        got == want,
                        "{name} sample {si} kept {} cut {cut}",
                        kept.is_some()
                    );
                }
            }
        }
    }
}

/// Grouping once by stack and weighing per sample value (what a session
/// does) gives exactly the groups of grouping per sample value: the same
/// groups, weights, first samples, stacks and order. (Without tags a
/// session weighs the call tree instead: the next test.)
#[test]
fn stack_groups_weighed_equal_groups_of_each_sample_value() {
    for (name, p) in profiles() {
        for tags in [true] {
            let stacks = graph::StackGroups::new(&p, tags);
            for si in 0..p.sample_types.len() {
                for mean in [false, true] {
                    let value = move |v: &[i64]| v[si];
                    let divisor = |v: &[i64]| v[0];
                    let o = graph::Options {
                        collect_tags: tags,
                        sample_mean_divisor: mean.then_some(&divisor as graph::SampleFn),
                        ..graph::Options::new(&value)
                    };
                    let want = graph::group_samples(&p, &o);
                    let got = stacks.weigh(&p, &o);
                    assert_eq!(got.len(), want.len(), "{name} index {si} tags {tags}");
                    for i in 0..want.len() {
                        let (g, w) = (&got[i], &want[i]);
                        assert_eq!(
                            (g.first, g.w, g.dw, got.stack(i)),
                            (w.first, w.w, w.dw, want.stack(i)),
                            "{name} index {si} tags {tags} mean {mean} group {i}"
                        );
                    }
                }
            }
        }
    }
}

/// A session's graphs are built by walking the stacks' call tree once
/// (`StackTrie`) instead of every group's stack: the graph, its edges'
/// order and flags included, must be exactly the group walk's, for every
/// sample value, `-mean`, and kept sets that leave residual edges.
#[test]
fn call_tree_walk_gives_the_group_walk_graph() {
    let mut checked = 0;
    // Each profile also as a diff would give it: every third sample
    // negated, so that weights cancel and nodes go negative.
    let with_diffs = profiles().into_iter().flat_map(|(name, p)| {
        let mut diff = p.clone();
        for s in diff.samples.iter_mut().step_by(3) {
            for v in &mut s.values {
                *v = v.wrapping_neg();
            }
        }
        [
            (name.clone(), p),
            (format!("{name} (negated in part)"), diff),
        ]
    });
    // The call tree in one part, and in two built apart and grafted, split
    // at the outermost frame and deeper.
    let with_diffs = with_diffs.flat_map(|(name, p)| {
        [None, Some(0), Some(1), Some(3)].map(|split| (name.clone(), p.clone(), split))
    });
    for (name, p, split) in with_diffs {
        let name = format!("{name} (tree split {split:?})");
        let stacks = graph::StackGroups::with_trie_split(&p, false, split);
        for si in 0..p.sample_types.len() {
            for mean in [false, true] {
                let value = move |v: &[i64]| v[si];
                let divisor = |v: &[i64]| v[0];
                let base = graph::Options {
                    sample_mean_divisor: mean.then_some(&divisor as graph::SampleFn),
                    ..graph::Options::new(&value)
                };
                let (whole, _) = new_graph_split(&p, &base, Some(0));
                let kept_half: NodeSet = whole
                    .nodes
                    .iter()
                    .step_by(2)
                    .map(|&n| whole.node(n).info.clone())
                    .collect();
                let kept_third: NodeSet = whole
                    .nodes
                    .iter()
                    .skip(1)
                    .step_by(3)
                    .map(|&n| whole.node(n).info.clone())
                    .collect();
                // Few nodes, and the hottest alone: most frames then drop,
                // and residual edges bridge long runs of them.
                let kept_few: NodeSet = whole
                    .nodes
                    .iter()
                    .skip(2)
                    .step_by(11)
                    .map(|&n| whole.node(n).info.clone())
                    .collect();
                let kept_hottest: NodeSet = whole
                    .nodes
                    .iter()
                    .max_by_key(|&&n| whole.node(n).cum.unsigned_abs())
                    .map(|&n| whole.node(n).info.clone())
                    .into_iter()
                    .collect();
                for kept in [
                    None,
                    Some(&kept_half),
                    Some(&kept_third),
                    Some(&kept_few),
                    Some(&kept_hottest),
                ] {
                    for drop_negative in [false, true] {
                        let o = graph::Options {
                            kept_nodes: kept,
                            drop_negative,
                            ..base
                        };
                        let want = format!("{:?}", new_graph_split(&p, &o, Some(0)).0);
                        let groups = stacks.weigh(&p, &o);
                        let o = graph::Options {
                            sample_groups: Some(&groups),
                            ..o
                        };
                        // Cuts of the tree's nodes for two threads: none,
                        // the default, and cuts inside subtrees.
                        // Every way of building from the tree: replaying
                        // its recorded walk, walking every node, walking
                        // only the nodes of kept locations.
                        for cut in [Some(0), None, Some(2), Some(7), Some(100), Some(1000)] {
                            for walk in [
                                TreeWalk::Auto,
                                TreeWalk::Replay,
                                TreeWalk::EveryNode,
                                TreeWalk::KeptLocations,
                            ] {
                                let got = format!("{:?}", new_graph_walk(&p, &o, cut, walk).0);
                                assert!(
                                    got == want,
                                    "{name} index {si} mean {mean} kept {} drop_negative \
                                     {drop_negative} cut {cut:?} walk {walk:?}",
                                    kept.map_or(0, |k| k.len())
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} graphs compared");
}

/// Focus and ignore decided once per call-tree node keep exactly the
/// samples that deciding per frame keeps, on every fixture, for regexps
/// that match nothing, some frames and every frame.
#[test]
fn focus_and_ignore_per_tree_node_keep_what_they_keep_per_frame() {
    let regex = |s: &str| regex::Regex::new(s).unwrap();
    let pairs = [
        (Some("main"), None),
        (None, Some("runtime")),
        (Some("."), Some("runtime\\.")),
        (Some("nomatchanywhere"), None),
        (None, Some(".")),
        (Some("runtime"), Some("main")),
    ];
    let mut kept_somewhere = 0;
    for ((name, p), split) in profiles()
        .into_iter()
        .flat_map(|p| [0, 1, 3].map(|split| (p.clone(), split)))
    {
        let name = format!("{name} (tree split {split})");
        let stacks = graph::StackGroups::with_trie_split(&p, false, Some(split));
        for (focus, ignore) in pairs {
            let (focus, ignore) = (focus.map(regex), ignore.map(regex));
            let want = profile::passes::samples_kept_by_name(&p, focus.as_ref(), ignore.as_ref())
                .expect("a regexp is given");
            let verdicts =
                profile::passes::location_verdicts(&p, focus.as_ref(), ignore.as_ref()).unwrap();
            let got = stacks
                .samples_kept(&verdicts)
                .expect("stacks as a call tree");
            assert_eq!(got, want, "{name} focus {focus:?} ignore {ignore:?}");
            kept_somewhere += usize::from(want.iter().any(|&k| k) && want.iter().any(|&k| !k));
            // The kept samples' groups, as a subset of the profile's.
            let subset = stacks.subset(&got).expect("stacks as a call tree");
            assert_eq!(subset.samples(), got.iter().filter(|&&k| k).count());
        }
    }
    assert!(
        kept_somewhere > 10,
        "only {kept_somewhere} cases kept some samples and dropped others"
    );
}
