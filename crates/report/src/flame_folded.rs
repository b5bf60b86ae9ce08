//! Brendan Gregg's folded stacks (`a;b;c 42`), for flamegraph.pl, inferno
//! and speedscope.

use std::io::{self, Write};

use super::FlameGraph;

/// Writes one line per distinct stack (a node with a value of its own):
/// the frame names from the outermost caller to the leaf joined by `;`, a
/// space, and the value in the profile's unit (`g.unit`, before `ratio`).
///
/// In a diff (`g.diff`) each line has two numbers, `before after`, as
/// difffolded.pl writes them for flamegraph.pl (`base` then `value`), and
/// stacks present in only one profile have 0 in the other column.
///
/// A node's own value is its `value` less its children's, so a pruned
/// graph folds what was pruned into the parent's line. Lines come in the
/// graph's preorder. Names lose what the format cannot carry: `;` becomes
/// `:`, line breaks and other control characters become spaces. The root
/// is not a frame and is left out; a stack of the root alone (samples
/// without frames) is written as `root`.
pub fn write_folded(g: &FlameGraph, w: impl Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    let n = g.nodes.len();
    // Children's sums, to get each node's own part.
    let mut kid_value = vec![0i64; n];
    let mut kid_base = vec![0i64; n];
    for node in &g.nodes[1..] {
        let p = node.parent as usize;
        kid_value[p] = kid_value[p].wrapping_add(node.value);
        kid_base[p] = kid_base[p].wrapping_add(node.base);
    }
    let names: Vec<String> = g.frames.iter().map(|f| clean(&f.name)).collect();
    // The current path's names as one string, with the byte length at
    // each depth so that moving up is a truncate.
    let mut path = String::new();
    let mut ends: Vec<usize> = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        let d = node.depth as usize;
        if i > 0 {
            ends.truncate(d - 1);
            path.truncate(ends.last().copied().unwrap_or(0));
            if d > 1 {
                path.push(';');
            }
            path.push_str(&names[node.frame as usize]);
            ends.push(path.len());
        }
        let own = node.value.wrapping_sub(kid_value[i]);
        let own_base = node.base.wrapping_sub(kid_base[i]);
        if own == 0 && own_base == 0 {
            continue;
        }
        let stack = if i == 0 { "root" } else { path.as_str() };
        if g.diff {
            writeln!(w, "{stack} {own_base} {own}")?;
        } else {
            writeln!(w, "{stack} {own}")?;
        }
    }
    w.flush()
}

fn clean(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            ';' => ':',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}
