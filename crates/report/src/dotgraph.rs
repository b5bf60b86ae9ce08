//! pprof's DOT rendering of a call graph (`internal/graph/dotgraph.go`).

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use crate::graph::{Graph, NodeIdx, NodeInfo, Tag, go_base, sort_tags};
use crate::measurement;

/// pprof's limit of tag nodelets per node.
const MAX_NODELETS: usize = 4;

/// Per-node rendering options (`DotNodeAttributes`).
#[derive(Clone, Debug, Default)]
pub struct DotNodeAttributes {
    pub shape: String,
    pub bold: bool,
    pub peripheries: i64,
    pub url: String,
}

pub struct DotConfig<'a> {
    pub title: String,
    pub legend_url: String,
    pub labels: Vec<String>,
    pub format_value: &'a dyn Fn(i64) -> String,
    pub total: i64,
    pub nodes: HashMap<NodeIdx, DotNodeAttributes>,
}

/// `ComposeDot`.
pub fn compose_dot(g: &Graph, c: &DotConfig) -> String {
    let mut out = String::new();
    let graphname = if c.title.is_empty() {
        "unnamed"
    } else {
        &c.title
    };
    out.push_str(&format!("digraph \"{graphname}\" {{\n"));
    out.push_str("node [style=filled fillcolor=\"#f8f8f8\"]\n");
    add_legend(&mut out, c);
    if !g.nodes.is_empty() {
        let mut ids: HashMap<NodeIdx, usize> = HashMap::new();
        let mut max_flat = g.node(g.nodes[0]).flat_value().wrapping_abs() as f64;
        for (i, &n) in g.nodes.iter().enumerate() {
            ids.insert(n, i + 1);
            let f = g.node(n).flat_value().wrapping_abs() as f64;
            if f > max_flat {
                max_flat = f;
            }
        }
        let mut has_nodelets: HashMap<NodeIdx, bool> = HashMap::new();
        let mut edges = Vec::new();
        for &n in &g.nodes {
            add_node(&mut out, g, n, ids[&n], max_flat, c);
            has_nodelets.insert(n, add_nodelets(&mut out, g, n, ids[&n], c));
            edges.extend(g.node(n).out.iter().copied());
        }
        for e in g.sort_edges(&edges) {
            let edge = g.edge(e);
            add_edge(
                &mut out,
                g,
                e,
                ids.get(&edge.src).copied().unwrap_or(0),
                ids.get(&edge.dest).copied().unwrap_or(0),
                has_nodelets.get(&edge.src).copied().unwrap_or(false),
                c,
            );
        }
    }
    out.push_str("}\n");
    out
}

fn add_legend(out: &mut String, c: &DotConfig) {
    let Some(title) = c.labels.first() else {
        return;
    };
    out.push_str(&format!(
        "subgraph cluster_L {{ \"{}\" [shape=box fontsize=16",
        escape_for_dot(title)
    ));
    let labels: Vec<String> = c.labels.iter().map(|l| escape_for_dot(l)).collect();
    out.push_str(&format!(" label=\"{}\\l\"", labels.join("\\l")));
    if !c.legend_url.is_empty() {
        out.push_str(&format!(" URL=\"{}\" target=\"_blank\"", c.legend_url));
    }
    if !c.title.is_empty() {
        out.push_str(&format!(" tooltip=\"{}\"", c.title));
    }
    out.push_str("] }\n");
}

fn add_node(out: &mut String, g: &Graph, n: NodeIdx, id: usize, max_flat: f64, c: &DotConfig) {
    let node = g.node(n);
    let (flat, cum) = (node.flat_value(), node.cum_value());
    let attrs = c.nodes.get(&n);
    let mut label = multiline_printable_name(&node.info);
    let flat_value = (c.format_value)(flat);
    if flat != 0 {
        label.push_str(&format!(
            "{flat_value} ({})",
            measurement::percentage(flat, c.total).trim()
        ));
    } else {
        label.push('0');
    }
    let mut cum_value = flat_value.clone();
    if cum != flat {
        label.push_str(if flat != 0 { "\\n" } else { " " });
        cum_value = (c.format_value)(cum);
        label.push_str(&format!(
            "of {cum_value} ({})",
            measurement::percentage(cum, c.total).trim()
        ));
    }
    let mut font_size = 8i64;
    let aflat = flat.wrapping_abs() as f64;
    if max_flat != 0.0 && flat != 0 && aflat <= max_flat {
        font_size += (16.0 * (aflat / max_flat).sqrt()).ceil() as i64;
    }
    let shape = attrs
        .filter(|a| !a.shape.is_empty())
        .map(|a| a.shape.as_str())
        .unwrap_or("box");
    let score = node.cum_value() as f64 / c.total.wrapping_abs() as f64;
    let mut attr = format!(
        "label=\"{label}\" id=\"node{id}\" fontsize={font_size} shape={shape} tooltip=\"{} ({cum_value})\" color=\"{}\" fillcolor=\"{}\"",
        escape_for_dot(&node.info.printable_name()),
        dot_color(score, false),
        dot_color(score, true)
    );
    if let Some(a) = attrs {
        if a.bold {
            attr.push_str(" style=\"bold,filled\"");
        }
        if a.peripheries != 0 {
            attr.push_str(&format!(" peripheries={}", a.peripheries));
        }
        if !a.url.is_empty() {
            attr.push_str(&format!(" URL=\"{}\" target=\"_blank\"", a.url));
        }
    }
    out.push_str(&format!("N{id} [{attr}]\n"));
}

fn add_nodelets(out: &mut String, g: &Graph, n: NodeIdx, id: usize, c: &DotConfig) -> bool {
    let node = g.node(n);
    let mut nodelets = String::new();
    let mut ts: Vec<Tag> = node.label_tags.values().cloned().collect();
    let mut lnts: HashMap<&str, Vec<Tag>> = HashMap::new();
    for (l, tm) in &node.numeric_tags {
        if !tm.is_empty() {
            lnts.insert(l.as_str(), tm.values().cloned().collect());
        }
    }
    let flat_tags = !node.out.is_empty();
    sort_tags(&mut ts, flat_tags);
    ts.truncate(MAX_NODELETS);
    for (i, t) in ts.iter().enumerate() {
        let w = if flat_tags {
            t.flat_value()
        } else {
            t.cum_value()
        };
        if w == 0 {
            continue;
        }
        let weight = (c.format_value)(w);
        nodelets.push_str(&format!(
            "N{id}_{i} [label = \"{}\" id=\"N{id}_{i}\" fontsize=8 shape=box3d tooltip=\"{weight}\"]\n",
            t.name
        ));
        nodelets.push_str(&format!(
            "N{id} -> N{id}_{i} [label=\" {weight}\" weight=100 tooltip=\"{weight}\" labeltooltip=\"{weight}\"]\n"
        ));
        if let Some(nts) = lnts.get(t.name.as_str()) {
            nodelets.push_str(&numeric_nodelets(nts, flat_tags, &format!("N{id}_{i}"), c));
        }
    }
    if let Some(nts) = lnts.get("") {
        nodelets.push_str(&numeric_nodelets(nts, flat_tags, &format!("N{id}"), c));
    }
    out.push_str(&nodelets);
    !nodelets.is_empty()
}

fn numeric_nodelets(nts: &[Tag], flat_tags: bool, source: &str, c: &DotConfig) -> String {
    let mut nodelets = String::new();
    for (j, t) in collapsed_tags(nts, MAX_NODELETS, flat_tags)
        .iter()
        .enumerate()
    {
        let (w, attr) = if flat_tags || t.flat_value() == t.cum_value() {
            (t.flat_value(), "")
        } else {
            (t.cum_value(), " style=\"dotted\"")
        };
        if w != 0 {
            let weight = (c.format_value)(w);
            nodelets.push_str(&format!(
                "N{source}_{j} [label = \"{}\" id=\"N{source}_{j}\" fontsize=8 shape=box3d tooltip=\"{weight}\"]\n",
                t.name
            ));
            nodelets.push_str(&format!(
                "{source} -> N{source}_{j} [label=\" {weight}\" weight=100 tooltip=\"{weight}\" labeltooltip=\"{weight}\"{attr}]\n"
            ));
        }
    }
    nodelets
}

fn collapsed_tags(ts: &[Tag], count: usize, flat_tags: bool) -> Vec<Tag> {
    let mut ts = ts.to_vec();
    sort_tags(&mut ts, flat_tags);
    if ts.len() <= count {
        return ts;
    }
    let mut groups: Vec<Vec<&Tag>> = ts[..count].iter().map(|t| vec![t]).collect();
    for t in &ts[count..] {
        let (mut g, mut d) = (0, tag_distance(t, groups[0][0]));
        for (i, grp) in groups.iter().enumerate().skip(1) {
            let nd = tag_distance(t, grp[0]);
            if nd < d {
                g = i;
                d = nd;
            }
        }
        groups[g].push(t);
    }
    let mut nts: Vec<Tag> = groups
        .iter()
        .map(|g| {
            let (name, flat, cum) = tag_group_label(g);
            Tag {
                name,
                flat,
                cum,
                ..Default::default()
            }
        })
        .collect();
    sort_tags(&mut nts, flat_tags);
    nts
}

fn tag_distance(t: &Tag, u: &Tag) -> f64 {
    let (v, _) = measurement::scale(u.value, &u.unit, &t.unit);
    if v < t.value as f64 {
        t.value as f64 - v
    } else {
        v - t.value as f64
    }
}

fn tag_group_label(g: &[&Tag]) -> (String, i64, i64) {
    if g.len() == 1 {
        let t = g[0];
        return (
            measurement::label(t.value, &t.unit),
            t.flat_value(),
            t.cum_value(),
        );
    }
    let (mut min, mut max) = (g[0], g[0]);
    let (mut df, mut f) = (min.flat_div, min.flat);
    let (mut dc, mut c) = (min.cum_div, min.cum);
    for &t in &g[1..] {
        if (measurement::scale(t.value, &t.unit, &min.unit).0 as i64) < min.value {
            min = t;
        }
        if (measurement::scale(t.value, &t.unit, &max.unit).0 as i64) > max.value {
            max = t;
        }
        f += t.flat;
        df += t.flat_div;
        c += t.cum;
        dc += t.cum_div;
    }
    if df != 0 {
        f /= df;
    }
    if dc != 0 {
        c /= dc;
    }
    (
        format!(
            "{}..{}",
            measurement::label(min.value, &min.unit),
            measurement::label(max.value, &max.unit)
        ),
        f,
        c,
    )
}

fn add_edge(
    out: &mut String,
    g: &Graph,
    e: u32,
    from: usize,
    to: usize,
    has_nodelets: bool,
    c: &DotConfig,
) {
    let edge = g.edge(e);
    let inline = if edge.inline { "\\n (inline)" } else { "" };
    let wv = edge.weight_value();
    let w = (c.format_value)(wv);
    let mut attr = format!("label=\" {w}{inline}\"");
    if c.total != 0 {
        let weight = 1 + (wv.wrapping_mul(100) / c.total).wrapping_abs().min(100);
        if weight > 1 {
            attr.push_str(&format!(" weight={weight}"));
        }
        let width = 1 + (wv.wrapping_mul(5) / c.total).wrapping_abs().min(5);
        if width > 1 {
            attr.push_str(&format!(" penwidth={width}"));
        }
        attr.push_str(&format!(
            " color=\"{}\"",
            dot_color(wv as f64 / c.total.wrapping_abs() as f64, false)
        ));
    }
    let arrow = if edge.residual { "..." } else { "->" };
    let tooltip = format!(
        "\"{} {arrow} {} ({w})\"",
        escape_for_dot(&g.node(edge.src).info.printable_name()),
        escape_for_dot(&g.node(edge.dest).info.printable_name())
    );
    attr.push_str(&format!(" tooltip={tooltip} labeltooltip={tooltip}"));
    if edge.residual {
        attr.push_str(" style=\"dotted\"");
    }
    if has_nodelets {
        attr.push_str(" minlen=2");
    }
    out.push_str(&format!("N{from} -> N{to} [{attr}]\n"));
}

/// `dotColor`: red for positive, green for negative scores.
pub fn dot_color(score: f64, background: bool) -> String {
    const SHIFT: f64 = 0.7;
    let (mut saturation, value) = if background { (0.1, 0.93) } else { (1.0, 0.7) };
    // Go's math.Max/Min propagate NaN.
    let mut score = if score.is_nan() {
        score
    } else {
        score.clamp(-1.0, 1.0)
    };
    if score.abs() < 0.2 {
        saturation *= score.abs() / 0.2;
    }
    if score > 0.0 {
        score = score.powf(1.0 - SHIFT);
    }
    if score < 0.0 {
        score = -(-score).powf(1.0 - SHIFT);
    }
    let (r, g);
    if score < 0.0 {
        g = value;
        r = value * (1.0 + saturation * score);
    } else {
        r = value;
        g = value * (1.0 - saturation * score);
    }
    let b = value * (1.0 - saturation);
    format!(
        "#{:02x}{:02x}{:02x}",
        go_uint8(r * 255.0),
        go_uint8(g * 255.0),
        go_uint8(b * 255.0)
    )
}

/// Go's float64→uint8 conversion on amd64 (truncation through int64, then
/// wrap-around; NaN becomes 0 in practice).
fn go_uint8(v: f64) -> u8 {
    if v.is_nan() { 0 } else { (v as i64) as u8 }
}

fn multiline_printable_name(info: &NodeInfo) -> String {
    let mut copy = info.clone();
    let name = escape_for_dot(&shorten_function_name(&copy.name));
    copy.name = name
        .replace("::", "\\n")
        .replace("[...]", "[…]")
        .replace('.', "\\n");
    if !copy.file.is_empty() {
        copy.file = go_base(&copy.file);
    }
    format!("{}\\n", copy.name_components().join("\\n"))
}

pub fn escape_for_dot(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\l")
}

struct ShortenRx {
    java: Regex,
    go: Regex,
    go_ver: Regex,
    cpp: Regex,
    cpp_anon: Regex,
}

fn shorten_rx() -> &'static ShortenRx {
    static RX: OnceLock<ShortenRx> = OnceLock::new();
    // Go's \w and \d are ASCII-only.
    RX.get_or_init(|| ShortenRx {
        java: Regex::new(r"^(?:[a-z][0-9A-Za-z_]*\.)*([A-Z][0-9A-Za-z_\$]*\.(?:<init>|[a-z][0-9A-Za-z_\$]*(?:\$[0-9]+)?))(?:(?:\()|$)").expect("valid regex"),
        go: Regex::new(r"^(?:[0-9A-Za-z_\-\.]+/)+([^.]+\..+)").expect("valid regex"),
        go_ver: Regex::new(r"^(.*?)/v(?:[2-9]|[1-9][0-9]+)([./].*)$").expect("valid regex"),
        cpp: Regex::new(r"^(?:[_a-zA-Z][0-9A-Za-z_]*::)+(_*[A-Z][0-9A-Za-z_]*::~?[_a-zA-Z][0-9A-Za-z_]*(?:<.*>)?)").expect("valid regex"),
        cpp_anon: Regex::new(r"^\(anonymous namespace\)::").expect("valid regex"),
    })
}

/// `ShortenFunctionName`: drops package paths and C++/Java qualifiers.
pub fn shorten_function_name(f: &str) -> String {
    let rx = shorten_rx();
    let f = rx.cpp_anon.replace_all(f, "");
    let f = rx.go_ver.replace_all(&f, "${1}${2}").into_owned();
    for re in [&rx.go, &rx.java, &rx.cpp] {
        if let Some(c) = re.captures(&f)
            && c.len() >= 2
        {
            return c
                .iter()
                .skip(1)
                .map(|m| m.map(|m| m.as_str()).unwrap_or(""))
                .collect();
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_names() {
        // pprof's TestShortenFunctionName cases.
        let cases = [
            ("root", "root"),
            ("syscall.Syscall", "syscall.Syscall"),
            ("net/http.(*conn).serve", "http.(*conn).serve"),
            ("github.com/blahBlah/foo.Foo", "foo.Foo"),
            ("github.com/BlahBlah/foo.Foo", "foo.Foo"),
            ("github.com/BlahBlah/foo.Foo[...]", "foo.Foo[...]"),
            (
                "github.com/blah-blah/foo_bar.(*FooBar).Foo",
                "foo_bar.(*FooBar).Foo",
            ),
            (
                "encoding/json.(*structEncoder).(encoding/json.encode)-fm",
                "json.(*structEncoder).(encoding/json.encode)-fm",
            ),
            (
                "github.com/blah/blah/vendor/gopkg.in/redis.v3.(*baseClient).(github.com/blah/blah/vendor/gopkg.in/redis.v3.process)-fm",
                "redis.v3.(*baseClient).(github.com/blah/blah/vendor/gopkg.in/redis.v3.process)-fm",
            ),
            ("github.com/foo/bar/v4.(*Foo).Bar", "bar.(*Foo).Bar"),
            ("github.com/foo/bar/v4/baz.Foo.Bar", "baz.Foo.Bar"),
            ("github.com/foo/bar/v123.(*Foo).Bar", "bar.(*Foo).Bar"),
            ("github.com/foobar/v0.(*Foo).Bar", "v0.(*Foo).Bar"),
            ("github.com/foobar/v1.(*Foo).Bar", "v1.(*Foo).Bar"),
            ("example.org/v2xyz.Foo", "v2xyz.Foo"),
            ("github.com/foo/bar/v4/v4.(*Foo).Bar", "v4.(*Foo).Bar"),
            (
                "github.com/foo/bar/v4/foo/bar/v4.(*Foo).Bar",
                "v4.(*Foo).Bar",
            ),
            (
                "java.util.concurrent.ThreadPoolExecutor$Worker.run",
                "ThreadPoolExecutor$Worker.run",
            ),
            ("java.bar.foo.FooBar.run(java.lang.Runnable)", "FooBar.run"),
            ("(anonymous namespace)::Bar::Foo", "Bar::Foo"),
            ("(anonymous namespace)::foo", "foo"),
            (
                "cpp::namespace::Class::method()::$_100::operator()",
                "Class::method",
            ),
            ("foo_bar::Foo::bar", "Foo::bar"),
            (
                "cpp::namespace::Class::method<float, long, int>()",
                "Class::method<float, long, int>",
            ),
            ("foo", "foo"),
            ("foo/xyz", "foo/xyz"),
            (
                "com.google.perftools.gwp.benchmark.FloatBench.lambda$run$0",
                "FloatBench.lambda$run$0",
            ),
            ("java.bar.foo.FooBar.run$0", "FooBar.run$0"),
        ];
        for (input, want) in cases {
            assert_eq!(shorten_function_name(input), want, "{input}");
        }
    }

    #[test]
    fn colors() {
        // Values from pprof's dotgraph tests / Go output.
        assert_eq!(dot_color(0.0, false), "#b2b2b2");
        assert_eq!(dot_color(0.0, true), "#ededed");
        assert_eq!(dot_color(1.0, false), "#b20000");
        assert_eq!(dot_color(-1.0, false), "#00b200");
    }
}
