// heapdrift flame graph: draws report::flame's JSON (docs/flame.md) on a
// canvas. Hand-written, no dependencies. Names reach the page only through
// canvas fillText and textContent, never as HTML.
//
// Big profiles (100k+ nodes): the tree is kept in typed arrays, frames
// narrower than MIN_PX are skipped with their whole subtree (preorder +
// subtree end index), so a redraw touches only what is visible.
'use strict';
(function () {
  const ROW = 18;
  const MIN_PX = 0.5;
  const FONT = '12px "DejaVu Sans Mono", Menlo, Consolas, monospace';

  const t0 = performance.now();
  const dataEl = document.getElementById('flame-data');
  const canvas = document.getElementById('flame');
  const box = document.getElementById('flame-box');
  if (!dataEl || !canvas || !box) return;
  const data = JSON.parse(dataEl.textContent);
  const tip = document.getElementById('flame-tip');
  const search = document.getElementById('flame-search');
  const matchedEl = document.getElementById('flame-matched');
  const statusEl = document.getElementById('flame-status');
  const resetBtn = document.getElementById('flame-reset');

  const nodes = data.nodes;
  const frames = data.frames;
  const N = nodes.parent.length;
  const parent = Int32Array.from(nodes.parent);
  const depth = Int32Array.from(nodes.depth);
  const frame = Int32Array.from(nodes.frame);
  const value = Float64Array.from(nodes.value);
  const base = Float64Array.from(nodes.base);
  const width = new Float64Array(N);
  const x = new Float64Array(N);
  const end = new Int32Array(N);
  const diff = !!data.diff;
  const ratio = data.ratio || 1;
  const total = data.total || 0;

  // Widths, left edges (children packed from their parent's left edge, in
  // the order given) and subtree ends.
  {
    const cursor = new Float64Array(N);
    const stack = [];
    for (let i = 0; i < N; i++) {
      width[i] = Math.abs(value[i]) + Math.abs(base[i]);
      if (i > 0) {
        const p = parent[i];
        x[i] = cursor[p];
        cursor[p] += width[i];
      }
      cursor[i] = x[i];
      while (stack.length && depth[stack[stack.length - 1]] >= depth[i]) {
        end[stack.pop()] = i;
      }
      stack.push(i);
    }
    while (stack.length) end[stack.pop()] = N;
  }

  let zoom = 0;
  let frameMatch = null;
  let matchRe = null;
  const state = {
    nodes: N,
    diff: diff,
    lastRenderMs: 0,
    lastZoomMs: 0,
    parseMs: 0,
    drawn: 0,
  };

  // --- value formatting (pprof's measurement units, roughly) -------------
  function scaled(v) {
    v *= ratio;
    const unit = data.unit || '';
    const a = Math.abs(v);
    const fmt = (n, u) => {
      let s = n.toFixed(2);
      if (s.endsWith('.00')) s = s.slice(0, -3);
      return s + u;
    };
    if (unit === 'bytes') {
      const us = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
      let k = 0;
      let n = v;
      while (Math.abs(n) >= 1024 && k < us.length - 1) {
        n /= 1024;
        k++;
      }
      return fmt(n, us[k]);
    }
    if (unit === 'nanoseconds' || unit === 'seconds' || unit === 'milliseconds' || unit === 'microseconds') {
      const ns = unit === 'seconds' ? v * 1e9 : unit === 'milliseconds' ? v * 1e6 : unit === 'microseconds' ? v * 1e3 : v;
      const b = Math.abs(ns);
      if (b >= 3600e9) return fmt(ns / 3600e9, 'hrs');
      if (b >= 60e9) return fmt(ns / 60e9, 'mins');
      if (b >= 1e9) return fmt(ns / 1e9, 's');
      if (b >= 1e6) return fmt(ns / 1e6, 'ms');
      if (b >= 1e3) return fmt(ns / 1e3, 'us');
      return fmt(ns, 'ns');
    }
    if (a >= 1e9) return fmt(v / 1e9, 'G');
    if (a >= 1e6) return fmt(v / 1e6, 'M');
    if (a >= 1e4) return fmt(v / 1e3, 'k');
    return fmt(v, unit && unit !== 'count' ? unit : '');
  }
  function pct(v) {
    if (!total) return '0%';
    return (100 * v / total).toFixed(2) + '%';
  }

  // --- colours ------------------------------------------------------------
  // Normal: a warm palette keyed by package (frames.color). Diff: red for
  // growth, blue for shrinkage, intensity by the relative change.
  function colorOf(i) {
    if (frameMatch && frameMatch[frame[i]]) return 'rgb(200,80,230)';
    if (i === 0) return 'rgb(210,210,210)';
    if (diff) {
      const v = value[i];
      const b = base[i];
      const m = Math.max(Math.abs(v), Math.abs(b));
      const r = m === 0 ? 0 : (v - b) / m; // -1 .. 1
      const k = Math.min(1, Math.abs(r));
      if (r > 0) {
        const c = Math.round(235 - 150 * k);
        return 'rgb(255,' + c + ',' + c + ')';
      }
      if (r < 0) {
        const c = Math.round(235 - 150 * k);
        return 'rgb(' + c + ',' + c + ',255)';
      }
      return 'rgb(225,225,225)';
    }
    const h = frames.color[frame[i]] || 0;
    const hue = 10 + (h % 40);
    const light = 55 + ((h >> 8) % 15);
    return 'hsl(' + hue + ',85%,' + light + '%)';
  }

  // --- layout and drawing ---------------------------------------------------
  let cssWidth = 0;
  let scale = 1;
  let x0 = 0;
  let charWidth = 7.2;

  function visibleMaxDepth() {
    let m = depth[zoom];
    const e = end[zoom];
    for (let i = zoom; i < e; i++) if (depth[i] > m) m = depth[i];
    return m;
  }

  function draw() {
    const start = performance.now();
    cssWidth = Math.max(100, box.clientWidth);
    const rows = visibleMaxDepth() + 1;
    const cssHeight = rows * ROW;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(cssWidth * dpr);
    canvas.height = Math.round(cssHeight * dpr);
    canvas.style.height = cssHeight + 'px';
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    charWidth = ctx.measureText('mmmmmmmmmm').width / 10 || 7.2;
    const w0 = width[zoom] || 1;
    scale = cssWidth / w0;
    x0 = x[zoom];
    let drawn = 0;
    // The zoomed frame's ancestors span the whole width.
    for (let a = parent[zoom]; a >= 0; a = parent[a]) {
      box1(ctx, a, 0, cssWidth);
      drawn++;
    }
    const e = end[zoom];
    for (let i = zoom; i < e;) {
      const w = width[i] * scale;
      if (w < MIN_PX) {
        i = end[i];
        continue;
      }
      box1(ctx, i, (x[i] - x0) * scale, w);
      drawn++;
      i++;
    }
    state.drawn = drawn;
    state.lastRenderMs = performance.now() - start;
    statusEl.textContent = N + ' frames; drew ' + drawn + ' in ' + state.lastRenderMs.toFixed(1) + ' ms';
    return state.lastRenderMs;
  }

  function box1(ctx, i, px, w) {
    const y = depth[i] * ROW;
    ctx.fillStyle = colorOf(i);
    ctx.fillRect(px, y, Math.max(w - (w > 3 ? 1 : 0), MIN_PX), ROW - 1);
    if (w < 3 * charWidth) return;
    const label = labelFor(i, w - 6);
    if (!label) return;
    ctx.fillStyle = '#000';
    ctx.fillText(label, px + 3, y + ROW / 2);
  }

  function labelFor(i, room) {
    if (i === 0) return 'root';
    const max = Math.floor(room / charWidth);
    if (max < 3) return '';
    const names = frames.display[frame[i]] || [frames.name[frame[i]]];
    for (const n of names) if (n.length <= max) return n;
    const shortest = names[names.length - 1];
    return shortest.slice(0, max - 1) + '…';
  }

  // --- hit testing, zoom ---------------------------------------------------
  function frameAt(px, py) {
    const d = Math.floor(py / ROW);
    if (d < 0) return -1;
    if (d <= depth[zoom]) {
      let a = zoom;
      while (a >= 0 && depth[a] > d) a = parent[a];
      return a;
    }
    const vx = x0 + px / scale;
    let n = zoom;
    while (depth[n] < d) {
      let c = n + 1;
      let found = -1;
      while (c < end[n]) {
        if (vx >= x[c] && vx < x[c] + width[c]) {
          found = c;
          break;
        }
        c = end[c];
      }
      if (found < 0) return -1;
      n = found;
    }
    return width[n] * scale >= MIN_PX ? n : -1;
  }

  function setZoom(i, push) {
    if (i < 0 || i >= N) i = 0;
    const start = performance.now();
    zoom = i;
    draw();
    state.lastZoomMs = performance.now() - start;
    if (push) {
      history.pushState({ flameZoom: i }, '', i ? '#zoom=' + i : location.pathname + location.search);
    }
    updateMatched();
  }

  function rectOf(i) {
    if (i === zoom || depth[i] < depth[zoom]) {
      return { x: 0, y: depth[i] * ROW, w: cssWidth, h: ROW - 1 };
    }
    return { x: (x[i] - x0) * scale, y: depth[i] * ROW, w: width[i] * scale, h: ROW - 1 };
  }

  canvas.addEventListener('click', function (ev) {
    const r = canvas.getBoundingClientRect();
    const i = frameAt(ev.clientX - r.left, ev.clientY - r.top);
    if (i >= 0 && i !== zoom) setZoom(i, true);
  });
  window.addEventListener('popstate', function (ev) {
    const z = ev.state && typeof ev.state.flameZoom === 'number' ? ev.state.flameZoom : 0;
    setZoom(z, false);
  });
  resetBtn.addEventListener('click', function () {
    if (zoom !== 0) setZoom(0, true);
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape' && document.activeElement !== search && zoom !== 0) setZoom(0, true);
  });

  // --- tooltip ----------------------------------------------------------------
  canvas.addEventListener('mousemove', function (ev) {
    const r = canvas.getBoundingClientRect();
    const i = frameAt(ev.clientX - r.left, ev.clientY - r.top);
    if (i < 0) {
      tip.hidden = true;
      return;
    }
    const f = frame[i];
    let text = i === 0 ? 'root' : frames.name[f];
    if (frames.file[f]) text += '\n' + frames.file[f] + (frames.line[f] ? ':' + frames.line[f] : '');
    if (diff) {
      const dv = value[i] - base[i];
      text += '\nnew ' + scaled(value[i]) + ', base ' + scaled(base[i]) +
        '\nchange ' + (dv >= 0 ? '+' : '') + scaled(dv) + ' (' + (dv >= 0 ? '+' : '') + pct(dv) + ' of total)';
    } else {
      text += '\n' + scaled(value[i]) + ' (' + pct(value[i]) + ')';
      if (nodes.self[i]) text += ', self ' + scaled(nodes.self[i]);
    }
    tip.textContent = text;
    tip.hidden = false;
    const bx = box.getBoundingClientRect();
    let left = ev.clientX - bx.left + 14;
    if (left + tip.offsetWidth > bx.width) left = Math.max(0, ev.clientX - bx.left - tip.offsetWidth - 14);
    tip.style.left = left + 'px';
    tip.style.top = (ev.clientY - bx.top + 14) + 'px';
  });
  canvas.addEventListener('mouseleave', function () {
    tip.hidden = true;
  });

  // --- search -----------------------------------------------------------------
  let searchTimer = 0;
  search.addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(applySearch, 120);
  });
  search.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter') {
      clearTimeout(searchTimer);
      applySearch();
    }
  });

  function applySearch() {
    const q = search.value;
    matchRe = null;
    frameMatch = null;
    search.classList.remove('invalid');
    if (q) {
      try {
        matchRe = new RegExp(q);
      } catch (e) {
        search.classList.add('invalid');
      }
    }
    if (matchRe) {
      frameMatch = new Uint8Array(frames.name.length);
      for (let f = 1; f < frames.name.length; f++) frameMatch[f] = matchRe.test(frames.name[f]) ? 1 : 0;
    }
    draw();
    updateMatched();
  }

  // The share of the total under matched frames (a matched frame's
  // subtree counted once), as pprof's "matched" figure.
  function updateMatched() {
    if (!frameMatch) {
      matchedEl.textContent = '';
      state.matched = null;
      return;
    }
    let sum = 0;
    for (let i = 1; i < N;) {
      if (frameMatch[frame[i]]) {
        sum += value[i];
        i = end[i];
      } else {
        i++;
      }
    }
    state.matched = total ? (100 * sum) / total : 0;
    matchedEl.textContent = 'Matched: ' + state.matched.toFixed(2) + '% (' + scaled(sum) + ')';
  }

  let resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 100);
  });

  // --- for tests and the curious ------------------------------------------
  state.frameAt = frameAt;
  state.rectOf = rectOf;
  state.colorOf = colorOf;
  state.zoom = function (i) {
    setZoom(i, true);
    return state.lastZoomMs;
  };
  state.zoomed = function () {
    return zoom;
  };
  state.find = function (name) {
    const out = [];
    for (let i = 1; i < N; i++) if (frames.name[frame[i]] === name) out.push(i);
    return out;
  };
  state.info = function (i) {
    return { name: i === 0 ? 'root' : frames.name[frame[i]], value: value[i], base: base[i], depth: depth[i] };
  };
  state.redraw = draw;
  window.heapdriftFlame = state;

  state.parseMs = performance.now() - t0;
  const z = /^#zoom=(\d+)$/.exec(location.hash);
  zoom = z ? Math.min(N - 1, parseInt(z[1], 10)) : 0;
  history.replaceState({ flameZoom: zoom }, '', location.href);
  draw();
  state.firstRenderMs = performance.now() - t0;
})();
