// heapdrift's leak dashboard. Hand-written, no libraries: it reads the
// JSON endpoints (docs/dashboard.md) and draws SVG. Profile-derived text
// only ever goes through textContent / setAttribute, never through an
// HTML parser.
'use strict';

const SVGNS = 'http://www.w3.org/2000/svg';
const MAX_FINDINGS = 25;
const MEMORY_COLORS = ['#1e88e5', '#90caf9', '#e0e0e0', '#8e24aa', '#fb8c00', '#6d4c41'];

// Timings of the last render, for tests and the closing note.
window.heapdriftDashboard = { ready: false, timings: {} };

// Attributes are set and text is added as text nodes: names from profiles
// never become markup.
function fill(e, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function el(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

function svg(tag, attrs, ...children) {
  return fill(document.createElementNS(SVGNS, tag), attrs, children);
}

async function getJSON(url) {
  const r = await fetch(url, { cache: 'no-store' });
  const body = await r.json().catch(() => ({ error: `${url}: HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `${url}: HTTP ${r.status}`);
  return body;
}

// --- formatting -----------------------------------------------------------

// Bytes and counts as drift::units prints them (the text report, the live
// view): 1024-based, B KiB MiB GiB TiB, one decimal under 100 of the unit,
// none from 100. toFixed rounds an exact tie away from zero, and so does
// drift::units.
const BINARY = ['KiB', 'MiB', 'GiB', 'TiB'];

function bytes(v) {
  if (!(Math.abs(v) >= 1024)) {
    const s = v.toFixed(0);
    if (s.replace('-', '') !== '1024') return `${s} B`;
  }
  let x = v / 1024, u = 0;
  while (Math.abs(x) >= 1024 && u + 1 < BINARY.length) { x /= 1024; u++; }
  const s = x.toFixed(Math.abs(x) >= 100 ? 0 : 1);
  if (s.replace('-', '') === '1024' && u + 1 < BINARY.length) return `${(x / 1024).toFixed(1)} ${BINARY[u + 1]}`;
  return `${s} ${BINARY[u]}`;
}

function count(v) {
  const a = Math.abs(v);
  return v.toFixed(a >= 100 || Number.isInteger(v) ? 0 : a >= 10 ? 1 : 2);
}

function amount(v, unit) {
  return unit === 'bytes' ? bytes(v) : count(v);
}

function pad(n) { return String(n).padStart(2, '0'); }

function clock(ns, withDate) {
  const d = new Date(ns / 1e6);
  const t = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  if (!withDate) return t;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${t} UTC`;
}

function duration(secs) {
  const s = Math.max(0, Math.round(secs));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${s}s`;
}

function flameURL(src, base) {
  let u = `/ui/flamegraph?src=${encodeURIComponent(src)}`;
  if (base) u += `&base=${encodeURIComponent(base)}`;
  return u;
}

// Round tick positions covering [lo, hi].
function ticks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return out;
}

function byteTicks(lo, hi, n) {
  // Powers of two read better for bytes: step = 2^k × {1, 2.5, 5} KiB-ish.
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  let step = 1;
  while (step < raw) step *= 2;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
  return out.length >= 2 ? out : ticks(lo, hi, n);
}

function timeTicks(t0, t1, n) {
  const span = (t1 - t0) / 1e9;
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  const step = (steps.find((s) => s >= span / n) || 86400) * 1e9;
  const out = [];
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
  return out;
}

// --- the plot frame ---------------------------------------------------------

const W = 900, H = 220, M = { l: 64, r: 96, t: 14, b: 26 };

// Scales and axes for times [t0, t1] and values [v0, v1].
function frame(root, t0, t1, v0, v1, unit) {
  if (t1 <= t0) { t0 -= 1e9; t1 += 1e9; }
  if (v1 <= v0) { v1 = v0 + (Math.abs(v0) || 1); }
  const pad = (v1 - v0) * 0.06;
  v1 += pad;
  if (v0 > 0 && v0 - pad < 0) v0 = 0; else v0 -= v0 === 0 ? 0 : pad;
  const x = (t) => M.l + ((t - t0) / (t1 - t0)) * (W - M.l - M.r);
  const y = (v) => H - M.b - ((v - v0) / (v1 - v0)) * (H - M.t - M.b);
  const grid = svg('g', { class: 'grid-layer' });
  const yt = unit === 'bytes' ? byteTicks(v0, v1, 4) : ticks(v0, v1, 4);
  for (const v of yt) {
    grid.append(svg('line', { class: 'grid', x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
    grid.append(svg('text', { x: M.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, amount(v, unit)));
  }
  for (const t of timeTicks(t0, t1, 6)) {
    grid.append(svg('line', { class: 'grid', x1: x(t), x2: x(t), y1: M.t, y2: H - M.b }));
    grid.append(svg('text', { x: x(t), y: H - M.b + 16, 'text-anchor': 'middle' }, clock(t)));
  }
  grid.append(svg('line', { class: 'axis', x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }));
  grid.append(svg('line', { class: 'axis', x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }));
  root.append(grid);
  return { x, y };
}

// --- finding timelines --------------------------------------------------------

function timeline(f) {
  const pts = f.points;
  const root = svg('svg', {
    class: 'plot timeline', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'data-points': pts.length, 'data-rank': f.rank, 'data-verdict': f.verdict,
  });
  root.append(svg('title', {}, `${f.function}: ${f.unit} over time`));
  if (pts.length === 0) return root;
  let v0 = Math.min(...pts.map((p) => p.value)), v1 = Math.max(...pts.map((p) => p.value));
  const segs = (f.trend && f.trend.segments) || [];
  for (const s of segs) { v0 = Math.min(v0, s.start_value, s.end_value); v1 = Math.max(v1, s.start_value, s.end_value); }
  if (v0 > 0) v0 = 0;
  const { x, y } = frame(root, pts[0].time_unix_nanos, pts[pts.length - 1].time_unix_nanos, v0, v1, f.unit);
  // Restarts: a marker, and the line is not drawn across them.
  const breaks = new Set((f.evidence && f.evidence.breaks) || []);
  for (const b of breaks) {
    if (b > 0 && b < pts.length) {
      const bx = (x(pts[b - 1].time_unix_nanos) + x(pts[b].time_unix_nanos)) / 2;
      root.append(svg('line', { class: 'restart', x1: bx, x2: bx, y1: M.t, y2: H - M.b },
        svg('title', {}, 'process restart')));
    }
  }
  let d = '';
  pts.forEach((p, i) => { d += `${i === 0 || breaks.has(i) ? 'M' : 'L'}${x(p.time_unix_nanos).toFixed(1)},${y(p.value).toFixed(1)}`; });
  root.append(svg('path', { class: 'series', d }));
  if (f.plateau !== null && f.plateau !== undefined) {
    const py = y(f.plateau);
    root.append(svg('line', { class: 'plateau-line', x1: M.l, x2: W - M.r, y1: py, y2: py },
      svg('title', {}, `plateau at ${amount(f.plateau, f.unit)}`)));
    // Inside the plot, under the line: the verdict label owns the margin.
    root.append(svg('text', { class: 'plateau-label', x: M.l + 6, y: Math.min(py + 14, H - M.b - 4) }, `plateau ${amount(f.plateau, f.unit)}`));
  }
  const label = { leak: 'LEAK', suspect: 'SUSPECT', stuck: 'STUCK', plateau: 'PLATEAU', stable: 'STABLE' }[f.verdict] || f.verdict;
  root.append(svg('text', { class: `verdict ${f.verdict}`, x: W - M.r + 4, y: M.t + 10 }, label));
  root.append(svg('text', { x: W - M.r + 4, y: M.t + 26 }, f.rate));
  const r = pts.length > 200 ? 1.8 : 3;
  const dots = svg('g', { class: 'points' });
  for (const p of pts) {
    const c = svg('circle', { class: 'pt', cx: x(p.time_unix_nanos).toFixed(1), cy: y(p.value).toFixed(1), r, 'data-time-unix-nanos': p.time_unix_nanos },
      svg('title', {}, `${clock(p.time_unix_nanos, true)}: ${amount(p.value, f.unit)}${p.snapshot ? ` (snapshot ${p.snapshot})` : ''}`));
    if (p.snapshot) {
      c.setAttribute('data-snapshot', p.snapshot);
      dots.append(svg('a', { href: flameURL(p.snapshot) }, c));
    } else {
      dots.append(c);
    }
  }
  root.append(dots);
  // The trend goes on top: with hundreds of points it would hide under them.
  for (const s of segs) {
    root.append(svg('line', {
      class: `trend ${f.verdict}`, x1: x(s.start_unix_nanos), y1: y(s.start_value), x2: x(s.end_unix_nanos), y2: y(s.end_value),
    }, svg('title', {}, `Theil–Sen trend: ${f.rate}`)));
  }
  return root;
}

function findingCard(f) {
  const site = f.file ? `${f.file}:${f.line}` : '';
  const head = el('header', {},
    el('span', { class: 'rank' }, `#${f.rank}`),
    el('span', { class: `badge ${f.verdict}` }, f.verdict),
    el('span', { class: 'kind' }, f.resource ? `resource ${f.resource}` : f.kind),
    el('span', { class: 'conf' }, `confidence ${f.confidence.toFixed(2)}`),
    el('span', { class: 'rate' }, f.rate),
    f.signature ? el('span', { class: 'sig' }, f.signature) : null);
  const card = el('article', { class: 'finding', 'data-rank': f.rank, 'data-kind': f.kind, 'data-verdict': f.verdict },
    head,
    el('div', { class: 'site' }, el('span', { class: 'fn' }, f.function), site ? ` ${site}` : ''));
  if (f.root_cause) card.append(el('p', { class: 'cause' }, el('b', {}, 'Likely cause: '), f.root_cause));
  if (f.fix_hint) card.append(el('p', { class: 'fix' }, el('b', {}, 'Fix: '), f.fix_hint));
  if (f.notes && f.notes.length) {
    card.append(el('ul', { class: 'notes' }, ...f.notes.map((n) => el('li', {}, n))));
  }
  const links = el('div', { class: 'links' });
  if (f.flame) links.append(el('a', { class: 'flame-link', href: f.flame }, 'flame graph (latest snapshot)'));
  if (f.diff) links.append(el('a', { class: 'diff-link', href: f.diff }, 'diff flame graph (last vs first)'));
  card.append(links);
  const t = performance.now();
  card.append(timeline(f));
  window.heapdriftDashboard.timings.timelines = (window.heapdriftDashboard.timings.timelines || 0) + performance.now() - t;
  const ev = f.evidence || {};
  card.append(el('div', { class: 'muted stats' },
    `${f.points.length} snapshots · first ${amount(ev.first, f.unit)} · last ${amount(ev.last, f.unit)}` +
    ` · Mann–Kendall z ${Number(ev.mann_kendall_z).toFixed(2)} (p ${Number(ev.p_value).toExponential(1)})` +
    ` · R² ${Number(ev.r_squared).toFixed(2)} · share of growth ${(100 * ev.share_of_growth).toFixed(0)}%`));
  if (f.stack && f.stack.length) {
    const det = el('details', {}, el('summary', {}, 'stack'));
    det.append(el('div', { class: 'stack' }, f.stack.map((fr) => `${fr.function}\n    ${fr.file}:${fr.line}`).join('\n')));
    card.append(det);
  }
  return card;
}

function renderFindings(doc) {
  const box = document.getElementById('findings-list');
  box.replaceChildren();
  box.classList.remove('muted');
  window.heapdriftDashboard.timings.timelines = 0;
  if (doc.findings.length === 0) {
    box.append(el('p', { class: 'muted' }, 'No findings: nothing grows.'));
    return;
  }
  const show = (n) => {
    box.replaceChildren();
    for (const f of doc.findings.slice(0, n)) box.append(findingCard(f));
    if (doc.findings.length > n) {
      const b = el('button', { class: 'more' }, `show all ${doc.findings.length} findings`);
      b.addEventListener('click', () => show(doc.findings.length));
      box.append(b);
    }
  };
  show(MAX_FINDINGS);
}

// --- memory accounting ----------------------------------------------------------

function renderMemory(doc) {
  const box = document.getElementById('memory-plot');
  box.replaceChildren();
  box.classList.remove('muted');
  const pts = doc.points;
  if (pts.length === 0) {
    box.append(el('p', { class: 'muted' }, 'No MemStats: the series has no heap debug=1 snapshots.'));
    return;
  }
  const t = performance.now();
  const root = svg('svg', { class: 'plot memory', viewBox: `0 0 ${W} ${H}`, role: 'img', 'data-points': pts.length });
  root.append(svg('title', {}, 'MemStats accounting over time (stacked)'));
  const tops = pts.map((p) => p.values.reduce((a, b) => a + b, 0));
  const { x, y } = frame(root, pts[0].time_unix_nanos, pts[pts.length - 1].time_unix_nanos, 0, Math.max(...tops), 'bytes');
  const breaks = new Set(doc.breaks || []);
  // Stack from the bottom: component k spans [sum of 0..k-1, sum of 0..k].
  const acc = pts.map(() => 0);
  doc.components.forEach((name, k) => {
    const lo = acc.slice();
    pts.forEach((p, i) => { acc[i] += p.values[k]; });
    // One polygon per segment so restarts do not join.
    let start = 0;
    const segs = [];
    for (let i = 1; i <= pts.length; i++) {
      if (i === pts.length || breaks.has(i)) { segs.push([start, i]); start = i; }
    }
    for (const [a, b] of segs) {
      let d = '';
      for (let i = a; i < b; i++) d += `${i === a ? 'M' : 'L'}${x(pts[i].time_unix_nanos).toFixed(1)},${y(acc[i]).toFixed(1)}`;
      for (let i = b - 1; i >= a; i--) d += `L${x(pts[i].time_unix_nanos).toFixed(1)},${y(lo[i]).toFixed(1)}`;
      root.append(svg('path', { class: 'area', 'data-component': name, d: d + 'Z', fill: MEMORY_COLORS[k], 'fill-opacity': 0.85 },
        svg('title', {}, name)));
    }
  });
  // A column per snapshot: hover for the numbers, click for its flame graph.
  const hits = svg('g', { class: 'hits' });
  pts.forEach((p, i) => {
    const left = i === 0 ? x(p.time_unix_nanos) - 4 : (x(pts[i - 1].time_unix_nanos) + x(p.time_unix_nanos)) / 2;
    const right = i === pts.length - 1 ? x(p.time_unix_nanos) + 4 : (x(p.time_unix_nanos) + x(pts[i + 1].time_unix_nanos)) / 2;
    const lines = doc.components.map((c, k) => `${c}: ${bytes(p.values[k])}`);
    if (p.max_rss) lines.push(`MaxRSS (peak): ${bytes(p.max_rss)}`);
    if (p.rss) lines.push(`RSS: ${bytes(p.rss)}`);
    const r = svg('rect', { class: 'hit', x: left, y: M.t, width: Math.max(1, right - left), height: H - M.t - M.b },
      svg('title', {}, `${clock(p.time_unix_nanos, true)}\n${lines.join('\n')}`));
    if (p.snapshot) {
      r.setAttribute('data-snapshot', p.snapshot);
      hits.append(svg('a', { href: flameURL(p.snapshot) }, r));
    } else hits.append(r);
  });
  root.append(hits);
  box.append(root);
  box.append(el('div', { class: 'legend' }, ...doc.components.map((c, k) => {
    const sw = el('i');
    sw.style.background = MEMORY_COLORS[k];
    return el('span', {}, sw, c);
  })));
  window.heapdriftDashboard.timings.memory = performance.now() - t;
}

// --- two-snapshot picker -----------------------------------------------------

function renderPicker(doc) {
  const kinds = [...new Set(doc.snapshots.map((s) => s.kind))];
  const kindSel = document.getElementById('pick-kind');
  const baseSel = document.getElementById('pick-base');
  const srcSel = document.getElementById('pick-src');
  const diff = document.getElementById('pick-diff');
  const flame = document.getElementById('pick-flame');
  kindSel.replaceChildren(...kinds.map((k) => el('option', { value: k }, k)));
  if (kinds.includes('heap')) kindSel.value = 'heap';
  const fill = () => {
    const list = doc.snapshots.filter((s) => s.kind === kindSel.value);
    const opts = () => list.map((s) => el('option', { value: s.id }, `${clock(s.time_unix_nanos, true)} (#${s.id})`));
    baseSel.replaceChildren(...opts());
    srcSel.replaceChildren(...opts());
    if (list.length) { baseSel.value = list[0].id; srcSel.value = list[list.length - 1].id; }
    update();
  };
  const update = () => {
    const ok = srcSel.value && baseSel.value && srcSel.value !== baseSel.value;
    diff.href = ok ? flameURL(srcSel.value, baseSel.value) : '#';
    diff.classList.toggle('disabled', !ok);
    flame.href = srcSel.value ? flameURL(srcSel.value) : '#';
    flame.classList.toggle('disabled', !srcSel.value);
  };
  kindSel.onchange = fill;
  baseSel.onchange = update;
  srcSel.onchange = update;
  fill();
}

// --- targets ------------------------------------------------------------------

function renderTargets(doc, selected) {
  document.getElementById('source').textContent = `${doc.source}: ${doc.path}`;
  const box = document.getElementById('targets-body');
  box.replaceChildren();
  box.classList.remove('muted');
  if (doc.targets.length === 0) {
    box.append(el('p', { class: 'muted' }, 'The archive has no targets yet.'));
    return;
  }
  for (const t of doc.targets) {
    box.append(el('div', { class: 'target-url' }, t.url,
      el('span', { class: 'muted' }, ` · ${t.series.length} series · ${t.gaps.length} gaps`)));
    const rows = t.series.map((s) => {
      const kinds = Object.entries(s.snapshots).map(([k, n]) => `${k} ${n}`).join(', ');
      const tr = el('tr', { 'data-series': s.id, class: s.id === selected ? 'selected' : null },
        el('td', {}, el('a', { href: seriesHref(s.id) }, s.id)),
        el('td', {}, s.first_unix_nanos ? clock(s.first_unix_nanos, true) : '—'),
        el('td', { class: 'num' }, duration(s.span_seconds)),
        el('td', { class: 'num' }, s.total),
        el('td', {}, kinds),
        el('td', {}, s.restart_reason + (s.restarts ? ` (+${s.restarts} inside)` : '')),
        el('td', { class: 'num' }, s.gaps));
      return tr;
    });
    box.append(el('table', { class: 'series-table' },
      el('thead', {}, el('tr', {}, ...['series', 'started', 'span', 'snapshots', 'by kind', 'restart', 'gaps'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)));
    if (t.gaps.length) {
      const det = el('details', {}, el('summary', {}, `gaps of ${t.url}`));
      det.append(el('ul', { class: 'notes' }, ...t.gaps.map((g) =>
        el('li', {}, `${clock(g.from_unix_nanos, true)} – ${clock(g.to_unix_nanos)}: ${g.reason}${g.kind ? ` (${g.kind})` : ''}: ${g.message}`))));
      box.append(det);
    }
  }
}

// --- fleet (serve --from a profile store) ----------------------------------------

function renderFleet(doc) {
  const box = document.getElementById('fleet-body');
  box.replaceChildren();
  document.getElementById('fleet').hidden = false;
  for (const s of doc.services) {
    const left = s.instances_left_out.length ? ` · ${s.instances_left_out.length} left out by --replicas` : '';
    box.append(el('h3', { class: 'fleet-service', 'data-service': s.service }, s.service,
      el('span', { class: 'muted' }, ` · ${s.instances_read} ${doc.group_by}(s) read${left}`)));
    if (s.sites.length === 0) {
      box.append(el('p', { class: 'muted' }, 'No site grows on any of them.'));
      continue;
    }
    const rows = s.sites.map((site) => el('tr', { class: 'fleet-site', 'data-function': site.function },
      el('td', {}, el('span', { class: `badge ${site.verdict}` }, site.verdict)),
      el('td', {}, site.kind),
      el('td', {}, el('span', { class: 'fn' }, site.function), site.file ? ` ${site.file}:${site.line}` : ''),
      el('td', { class: 'num grows' }, `${site.growing} of ${site.replicas}` + (site.leaking ? ` (leak on ${site.leaking})` : '')),
      el('td', { class: 'num' }, `${amount(site.median_growth_per_min, site.unit)}/min`),
      el('td', {}, ...site.instances.map((i, k) => {
        const id = s.series[i.instance];
        const a = id ? el('a', { href: seriesHref(id) }, i.instance) : el('span', {}, i.instance);
        return k ? [', ', a] : [a];
      }).flat())));
    box.append(el('table', { class: 'series-table' },
      el('thead', {}, el('tr', {}, ...['verdict', 'kind', 'site', 'grows on', 'median growth', 'where'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)));
  }
}

function seriesHref(id) {
  const q = new URLSearchParams(location.search);
  q.set('series', id);
  return `/?${q}`;
}

function defaultSeries(doc) {
  for (const t of doc.targets) {
    if (t.series.length) return t.series[t.series.length - 1].id;
  }
  return null;
}

async function main() {
  const t0 = performance.now();
  const params = new URLSearchParams(location.search);
  const errBox = document.getElementById('error');
  try {
    const targets = await getJSON('/api/targets');
    const series = params.get('series') || defaultSeries(targets);
    if (targets.source === 'fleet') renderFleet(await getJSON('/api/fleet'));
    renderTargets(targets, series);
    if (series === null) return;
    const s = targets.targets.flatMap((t) => t.series.map((x) => [t, x])).find(([, x]) => x.id === series);
    document.getElementById('series').hidden = false;
    document.getElementById('series-title').textContent = s
      ? `Series ${s[1].id} of ${s[0].url}` : `Series ${series}`;
    const enc = encodeURIComponent(series);
    const [findings, memory, snaps] = await Promise.all([
      getJSON(`/api/series/${enc}/findings`),
      getJSON(`/api/series/${enc}/memory`),
      getJSON(`/api/series/${enc}/snapshots`),
    ]);
    const notes = document.getElementById('series-notes');
    notes.replaceChildren(...findings.notes.map((n) => el('li', {}, n)));
    const tr = performance.now();
    renderMemory(memory);
    renderPicker(snaps);
    renderFindings(findings);
    window.heapdriftDashboard.timings.render = performance.now() - tr;
  } catch (e) {
    errBox.hidden = false;
    errBox.textContent = String(e.message || e);
  } finally {
    // ?refresh=SECONDS reloads the page, to follow a running watch.
    const every = Number(params.get('refresh'));
    if (every >= 1) setTimeout(() => location.reload(), every * 1000);
    window.heapdriftDashboard.timings.total = performance.now() - t0;
    window.heapdriftDashboard.ready = true;
    document.body.setAttribute('data-ready', '1');
  }
}

main();
