//! A standalone interactive SVG flame graph: no external resources, the
//! script inline. Frames are drawn root at the top (as pprof's flame graph
//! does), children from their parent's left edge, each as wide as
//! [`FlameNode::width`](super::FlameNode::width).
//!
//! Every string from the profile goes through [`xml_escape`]; the script
//! holds no profile data (it reads names from the `<title>` elements), so
//! nothing from the profile can reach script context.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{FlameGraph, FlameNode};
use crate::measurement;

/// How the SVG looks.
#[derive(Clone, Debug)]
pub struct SvgOptions {
    /// Heading; empty for `<sample type> flame graph` (plus the profile's
    /// title when it has one).
    pub title: String,
    /// Width of the image in pixels.
    pub width: u32,
    /// Height of a frame row in pixels.
    pub row_height: u32,
    /// Font size in pixels.
    pub font_size: f64,
    /// Frames narrower than this many pixels (at full view) are left out,
    /// with their subtrees: a 100k-node profile stays a file of a few MB.
    /// Zooming cannot bring them back.
    pub min_width_px: f64,
}

impl SvgOptions {
    /// `min_width_px` as a fraction of the root's width, for
    /// [`FlameGraph::prune`]: what a JSON for the same view can leave out.
    pub fn min_fraction(&self) -> f64 {
        let chart = f64::from(self.width.max(200)) - 2.0 * PAD;
        (self.min_width_px / chart).max(0.0)
    }
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            title: String::new(),
            width: 1200,
            row_height: 16,
            font_size: 12.0,
            min_width_px: 0.1,
        }
    }
}

const PAD: f64 = 10.0;
const HEADER: f64 = 56.0;
const FOOTER: f64 = 28.0;
/// Average glyph width as a fraction of the font size (Verdana-ish), used
/// to decide how much of a name fits; the script uses the same figure.
const CHAR_WIDTH: f64 = 0.59;

/// Escapes text for XML content and attribute values. Characters XML 1.0
/// cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Kept literally, a newline in an attribute would be normalised
            // to a space by the parser; in text it is what tooltips want.
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Formats a value in the graph's unit, like pprof (`12.50MB`).
fn fmt_value(g: &FlameGraph, v: i64) -> String {
    let v = if g.ratio > 0.0 && g.ratio != 1.0 {
        (v as f64 * g.ratio) as i64
    } else {
        v
    };
    measurement::label(v, &g.unit)
}

fn fmt_pct(v: i64, total: i64) -> String {
    if total == 0 {
        return "-".to_string();
    }
    format!("{:.2}%", v as f64 * 100.0 / total as f64)
}

/// The tooltip: name, values, file.
fn tooltip(g: &FlameGraph, n: &FlameNode) -> String {
    let f = g.frame(n);
    let mut t = f.name.clone();
    if f.inlined {
        t.push_str(" (inlined)");
    }
    t.push('\n');
    if g.diff {
        let delta = n.value.wrapping_sub(n.base);
        let rel = if n.base != 0 {
            format!(", {:+.1}%", delta as f64 * 100.0 / n.base as f64)
        } else {
            String::new()
        };
        let sign = if delta > 0 { "+" } else { "" };
        let _ = write!(
            t,
            "base {} ({}) → {} ({}): {sign}{}{rel}",
            fmt_value(g, n.base),
            fmt_pct(n.base, g.total),
            fmt_value(g, n.value),
            fmt_pct(n.value, g.total),
            fmt_value(g, delta),
        );
    } else {
        let _ = write!(
            t,
            "{} ({})",
            fmt_value(g, n.value),
            fmt_pct(n.value, g.total)
        );
        if n.self_value != 0 {
            let _ = write!(t, ", self {}", fmt_value(g, n.self_value));
        }
    }
    if !f.file.is_empty() {
        t.push('\n');
        t.push_str(&f.file);
        if f.line > 0 {
            let _ = write!(t, ":{}", f.line);
        }
    }
    t
}

fn fnv(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in s.as_bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    h
}

/// Normal mode: flamegraph.pl's warm ("hot") palette, hashed by name so a
/// function keeps its colour across graphs.
fn warm_color(name: &str) -> String {
    let h = fnv(name);
    let r = 205 + (h % 51);
    let g = (h >> 8) % 231;
    let b = (h >> 16) % 56;
    format!("rgb({r},{g},{b})")
}

/// Diff mode: red for growth, blue for shrinkage, the stronger the larger
/// the change relative to the larger of the two values; grey when equal.
fn diff_color(n: &FlameNode) -> String {
    let (new, old) = (n.value as f64, n.base as f64);
    let delta = new - old;
    let denom = new.abs().max(old.abs());
    if delta == 0.0 || denom == 0.0 {
        return "rgb(220,220,220)".to_string();
    }
    let t = (delta.abs() / denom).min(1.0);
    let c = (220.0 - 190.0 * t).round() as u32;
    if delta > 0.0 {
        format!("rgb(255,{c},{c})")
    } else {
        format!("rgb({c},{c},255)")
    }
}

/// The longest of the frame's display names that fits `px`, else the
/// shortest cut with `..`; empty when not even three characters fit.
fn fit_label(display: &[String], px: f64, font: f64) -> String {
    let per = font * CHAR_WIDTH;
    let fits = (px / per).floor() as usize;
    if fits < 3 {
        return String::new();
    }
    for d in display {
        if d.chars().count() <= fits {
            return d.clone();
        }
    }
    let last = display.last().map(String::as_str).unwrap_or("");
    let mut s: String = last.chars().take(fits - 2).collect();
    s.push_str("..");
    s
}

/// Writes `g` as one self-contained interactive SVG: click a frame to zoom
/// to it (click the root or "Reset Zoom" to go back), "Search" (or Ctrl-F,
/// `/`) highlights frames whose name matches a regular expression and
/// shows the matched share of the total, tooltips give name, value in the
/// profile's unit, percentage and file.
pub fn write_svg(g: &FlameGraph, o: &SvgOptions, w: impl Write) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    let width = f64::from(o.width.max(200));
    let chart = width - 2.0 * PAD;
    let row = f64::from(o.row_height.max(4));
    let root_w = g.nodes.first().map_or(0, |n| n.width());
    let scale = if root_w > 0 {
        chart / root_w as f64
    } else {
        0.0
    };

    // Placement in value units: children from the parent's left edge,
    // clipped to it (net values of mixed sign can overflow the parent).
    let n = g.nodes.len();
    let mut x = vec![0u64; n];
    let mut wid = vec![0u64; n];
    let mut cursor = vec![0u64; n];
    let mut shown = vec![false; n];
    let mut max_depth = 0u32;
    for (i, node) in g.nodes.iter().enumerate() {
        if i == 0 {
            wid[0] = root_w;
            shown[0] = true;
            continue;
        }
        let p = node.parent as usize;
        let start = cursor[p].max(x[p]);
        let end = x[p].saturating_add(wid[p]);
        let wi = node.width().min(end.saturating_sub(start));
        x[i] = start;
        wid[i] = wi;
        cursor[i] = start;
        cursor[p] = start.saturating_add(wi);
        shown[i] = shown[p] && wi > 0 && wi as f64 * scale >= o.min_width_px;
        if shown[i] {
            max_depth = max_depth.max(node.depth);
        }
    }

    let height = HEADER + f64::from(max_depth + 1) * row + FOOTER;
    let title = if o.title.is_empty() {
        let mut t = format!("{} flame graph", g.sample_type);
        if g.diff {
            t = format!("{} diff flame graph", g.sample_type);
        }
        if !g.title.is_empty() {
            t = format!("{}: {t}", g.title);
        }
        t
    } else {
        o.title.clone()
    };
    let font = o.font_size;
    let text_dy = (row + font * 0.75) / 2.0;
    let legend = if g.diff {
        format!(
            "Total {}; base {}. Red: grew, blue: shrank (width: base + new).",
            fmt_value(g, g.nodes.first().map_or(0, |r| r.value)),
            fmt_value(g, g.nodes.first().map_or(0, |r| r.base))
        )
    } else {
        format!(
            "Total {} ({} of {})",
            fmt_value(g, g.nodes.first().map_or(0, |r| r.value)),
            fmt_pct(g.nodes.first().map_or(0, |r| r.value), g.total),
            fmt_value(g, g.total)
        )
    };

    write!(
        w,
        r##"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg version="1.1" xmlns="http://www.w3.org/2000/svg" xmlns:fg="urn:heapdrift:flame" width="{width}" height="{height}" viewBox="0 0 {width} {height}" fg:chart="{chart}" fg:pad="{PAD}" fg:font="{font}" fg:total="{root_w}" fg:grand="{grand}">
<style>
text {{ font-family: Verdana, "DejaVu Sans", sans-serif; font-size: {font}px; fill: #000; }}
#frames g {{ cursor: pointer; }}
#frames g:hover rect {{ stroke: #000; stroke-width: 0.5; }}
#frames text {{ pointer-events: none; }}
#frames g.hide {{ display: none; }}
#frames g.parent rect {{ opacity: 0.5; }}
#frames g.match rect {{ fill: rgb(230,0,230) !important; }}
.ctl {{ cursor: pointer; fill: #1a4d8f; }}
.ctl.hide {{ display: none; }}
#title {{ font-size: {tsize}px; text-anchor: middle; }}
</style>
<rect x="0" y="0" width="{width}" height="{height}" fill="#f8f8f4"/>
<text id="title" x="{mid}" y="22">{title}</text>
<text id="legend" x="{PAD}" y="42">{legend}</text>
<text id="unzoom" class="ctl hide" x="{PAD}" y="{ctl_y}">Reset Zoom</text>
<text id="search" class="ctl" x="{search_x}" y="42">Search</text>
<text id="unsearch" class="ctl hide" x="{unsearch_x}" y="42">Reset Search</text>
<text id="matched" x="{matched_x}" y="{footer_y}" text-anchor="end"></text>
<text id="details" x="{PAD}" y="{footer_y}"> </text>
<g id="frames">
"##,
        grand = g.total,
        tsize = font + 5.0,
        mid = width / 2.0,
        title = xml_escape(&title),
        legend = xml_escape(&legend),
        ctl_y = 22,
        search_x = width - PAD - 150.0,
        unsearch_x = width - PAD - 90.0,
        matched_x = width - PAD,
        footer_y = height - 10.0,
    )?;

    let mut buf = String::new();
    for (i, node) in g.nodes.iter().enumerate() {
        if !shown[i] {
            continue;
        }
        let f = g.frame(node);
        let px = PAD + x[i] as f64 * scale;
        let pw = wid[i] as f64 * scale;
        let y = HEADER + f64::from(node.depth) * row;
        let fill = if i == 0 {
            "rgb(200,200,200)".to_string()
        } else if g.diff {
            diff_color(node)
        } else {
            warm_color(&f.name)
        };
        buf.clear();
        let _ = write!(
            buf,
            "<g><title>{}</title><rect x=\"{px:.2}\" y=\"{y}\" width=\"{pw:.2}\" height=\"{h}\" fill=\"{fill}\" fg:x=\"{ux}\" fg:w=\"{uw}\"/><text x=\"{tx:.2}\" y=\"{ty:.1}\">{label}</text></g>",
            xml_escape(&tooltip(g, node)),
            h = row - 1.0,
            ux = x[i],
            uw = wid[i],
            tx = px + 3.0,
            ty = y + text_dy,
            label = xml_escape(&fit_label(&f.display, pw - 6.0, font)),
        );
        buf.push('\n');
        w.write_all(buf.as_bytes())?;
    }
    w.write_all(b"</g>\n<script><![CDATA[\n")?;
    w.write_all(SCRIPT.as_bytes())?;
    w.write_all(b"]]></script>\n</svg>\n")?;
    w.flush()
}

/// The interactive part. It holds no profile data: names are read from
/// the frames' `<title>` text, positions from their `fg:x`/`fg:w`
/// attributes (value units, exact), so zooming is exact at any depth.
const SCRIPT: &str = r#"(function () {
  'use strict';
  var svg = document.documentElement;
  var chart = +svg.getAttribute('fg:chart'), pad = +svg.getAttribute('fg:pad');
  var font = +svg.getAttribute('fg:font'), total = +svg.getAttribute('fg:total');
  var CHAR = 0.59;
  var $ = function (id) { return document.getElementById(id); };
  var details = $('details'), matchedText = $('matched');
  var unzoom = $('unzoom'), searchBtn = $('search'), unsearch = $('unsearch');
  var gs = $('frames').getElementsByTagName('g');
  var items = [];
  for (var i = 0; i < gs.length; i++) {
    var g = gs[i];
    var rect = g.getElementsByTagName('rect')[0];
    var text = g.getElementsByTagName('text')[0];
    var tip = g.getElementsByTagName('title')[0].textContent;
    var name = tip.split('\n')[0].replace(/ \(inlined\)$/, '');
    items.push({
      g: g, rect: rect, text: text, tip: tip, name: name,
      x: +rect.getAttribute('fg:x'), w: +rect.getAttribute('fg:w'),
      y: +rect.getAttribute('y')
    });
    g.setAttribute('fg:i', i);
  }
  function shortNames(name) {
    var out = [name];
    var slash = name.lastIndexOf('/');
    var base = slash >= 0 ? name.slice(slash + 1) : name;
    if (base !== name) out.push(base);
    for (var k = 0; k < base.length; k++) {
      if (base[k] === '.' && k + 1 < base.length) out.push(base.slice(k + 1));
    }
    return out;
  }
  function fit(it, px) {
    var n = Math.floor((px - 6) / (font * CHAR));
    if (n < 3) return '';
    var names = shortNames(it.name);
    for (var k = 0; k < names.length; k++) {
      if (names[k].length <= n) return names[k];
    }
    return names[names.length - 1].slice(0, n - 2) + '..';
  }
  function place(it, x, w) {
    it.rect.setAttribute('x', x.toFixed(2));
    it.rect.setAttribute('width', w.toFixed(2));
    it.text.setAttribute('x', (x + 3).toFixed(2));
    it.text.textContent = fit(it, w);
  }
  var zoomed = null;
  function zoom(it) {
    var lo = it.x, hi = it.x + it.w, s = chart / Math.max(it.w, 1);
    for (var k = 0; k < items.length; k++) {
      var o = items[k];
      var inside = o.x >= lo && o.x + o.w <= hi && o.y >= it.y;
      var above = o.y < it.y && o.x <= lo && o.x + o.w >= hi;
      o.g.classList.remove('parent');
      if (inside) {
        var w = o.w * s;
        if (w < 0.1) { o.g.classList.add('hide'); continue; }
        o.g.classList.remove('hide');
        place(o, pad + (o.x - lo) * s, w);
      } else if (above) {
        o.g.classList.remove('hide');
        o.g.classList.add('parent');
        place(o, pad, chart);
      } else {
        o.g.classList.add('hide');
      }
    }
    zoomed = it.y > items[0].y ? it : null;
    unzoom.classList.toggle('hide', zoomed === null);
  }
  function reset() { zoom(items[0]); }
  function frameOf(e) {
    var t = e.target;
    while (t && t.nodeName !== 'g') t = t.parentNode;
    return t && t.getAttribute('fg:i') !== null ? items[+t.getAttribute('fg:i')] : null;
  }
  var frames = $('frames');
  frames.addEventListener('click', function (e) {
    var it = frameOf(e);
    if (!it) return;
    if (it === items[0]) reset();
    else zoom(it);
  });
  frames.addEventListener('mouseover', function (e) {
    var it = frameOf(e);
    if (it) details.textContent = it.tip.split('\n').slice(0, 2).join(': ');
  });
  frames.addEventListener('mouseout', function () { details.textContent = ' '; });
  unzoom.addEventListener('click', reset);
  function search(re) {
    var hits = [];
    for (var k = 0; k < items.length; k++) {
      var m = re !== null && re.test(items[k].name);
      items[k].g.classList.toggle('match', m);
      if (m) hits.push(items[k]);
    }
    // Matched share: the union of the matching frames' spans, so that a
    // match nested in another match counts once.
    hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });
    var sum = 0, end = -1;
    for (var k = 0; k < hits.length; k++) {
      var a = hits[k].x, b = hits[k].x + hits[k].w;
      if (a >= end) { sum += b - a; end = b; }
      else if (b > end) { sum += b - end; end = b; }
    }
    if (re === null) {
      matchedText.textContent = '';
    } else {
      matchedText.textContent = 'Matched: ' +
        (total > 0 ? (100 * sum / total).toFixed(1) : '0') + '%';
    }
    unsearch.classList.toggle('hide', re === null);
    return hits.length;
  }
  function askSearch() {
    var s = window.prompt('Search frames (regular expression)', '');
    if (s === null || s === '') return;
    try { search(new RegExp(s)); } catch (err) { matchedText.textContent = 'Bad regexp'; }
  }
  searchBtn.addEventListener('click', askSearch);
  unsearch.addEventListener('click', function () { search(null); });
  window.addEventListener('keydown', function (e) {
    if ((e.ctrlKey || e.metaKey) && (e.key === 'f' || e.key === 'F') || e.key === '/') {
      e.preventDefault();
      askSearch();
    } else if (e.key === 'Escape') {
      search(null);
      reset();
    }
  });
  // For tests and other pages that embed the file.
  window.flameZoom = function (k) { zoom(items[k]); };
  window.flameSearch = function (s) { return search(s === null ? null : new RegExp(s)); };
  window.flameReset = reset;
})();
"#;
