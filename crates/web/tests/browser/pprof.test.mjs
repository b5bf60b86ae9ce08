// Browser tests of `heapdrift pprof -http`: every view in a real chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { useSession, newPage, screenshot, load, repoPath } from './harness.mjs';

const HEAP = repoPath('testdata/profiles/allocs.pb.gz');
const XSS = repoPath('testdata/xss/xss-heap.pb.gz');
const XSS_BASE = repoPath('testdata/xss/xss-heap-base.pb.gz');
// A measurement, not a check: a large real profile made by
// bench/make-profiles.sh (into bench/data/, gitignored), named by the variable.
const BIG = process.env.HEAPDRIFT_BIG_PROFILE;
const HOSTILE = ['main.<script>alert(1)</script>', 'main."quote"', "main.'apos'", 'main.&amp;'];

const session = useSession();

function server(...files) {
  return session.start(['pprof', '-http=127.0.0.1:0', '-no_browser', ...files]);
}

async function flameReady(page) {
  await page.waitForFunction(() => window.heapdriftFlame && window.heapdriftFlame.drawn > 0, null, { timeout: 120000 });
}

test('each view loads without console errors', async () => {
  const s = await server(HEAP);
  const page = await newPage(session.browser);
  // `/` redirects to the flame graph, keeping the query.
  await load(page, `${s.url}/?si=alloc_space`);
  assert.match(page.url(), /\/ui\/flamegraph\?si=alloc_space$/);
  await flameReady(page);
  await screenshot(page, 'pprof-flamegraph');
  page.assertClean('flamegraph');

  for (const [view, check] of [
    ['top', '#toptable tbody tr'],
    ['graph', '#graph svg, #no-graphviz'],
    ['peek?f=main%5C.buildTree', '#report'],
    ['source?f=main%5C.buildTree', '#report'],
    ['peek', '#need-focus'],
  ]) {
    await load(page, `${s.url}/ui/${view}`);
    assert.ok(await page.locator(check).count() > 0, `${view}: ${check}`);
    await screenshot(page, `pprof-${view.replace(/[^a-z]+/g, '-')}`);
    page.assertClean(view);
  }
  // A click on a graph node focuses on it.
  await load(page, `${s.url}/ui/graph?si=alloc_space`);
  if (await page.locator('#graph svg').count()) {
    const k = await page.evaluate(() => JSON.parse(document.getElementById('graph-nodes').textContent).indexOf('main.buildTree'));
    assert.ok(k >= 0, 'main.buildTree is a graph node');
    await Promise.all([page.waitForURL(/\/ui\/graph\?si=alloc_space&f=%5Emain%5C.buildTree%24$/), page.click(`#graph g#node${k + 1}`)]);
    assert.equal(await page.inputValue('#refine-f'), '^main\\.buildTree$');
    page.assertClean('graph click');
  }
  // The view switcher keeps the state.
  await load(page, `${s.url}/ui/top?si=alloc_objects&f=codec`);
  const href = await page.locator('#view-graph').getAttribute('href');
  assert.equal(href, 'graph?si=alloc_objects&f=codec');
  // The sample picker lists the profile's sample types.
  const types = await page.locator('#samples a').allTextContents();
  assert.deepEqual(types, ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);
  assert.equal(await page.locator('#samples a.current').textContent(), 'alloc_objects');
  page.assertClean('top with state');
});

test('a click on a flame frame zooms to it', async () => {
  const s = await server(HEAP);
  const page = await newPage(session.browser);
  await load(page, `${s.url}/ui/flamegraph`);
  await flameReady(page);
  // A frame some levels down, drawn at least 20px wide but not full width.
  const target = await page.evaluate(() => {
    const f = window.heapdriftFlame;
    for (let i = 1; i < f.nodes; i++) {
      const r = f.rectOf(i);
      if (f.info(i).depth >= 3 && r.w > 20 && r.w < 400) return { i, r, name: f.info(i).name };
    }
    return null;
  });
  assert.ok(target, 'a frame to click');
  const box = await page.locator('#flame').boundingBox();
  await page.mouse.click(box.x + target.r.x + target.r.w / 2, box.y + target.r.y + target.r.h / 2);
  const after = await page.evaluate((i) => {
    const f = window.heapdriftFlame;
    return { zoomed: f.zoomed(), rect: f.rectOf(i), width: document.getElementById('flame').clientWidth, color: f.colorOf(i) };
  }, target.i);
  assert.equal(after.zoomed, target.i, `zoomed to ${target.name}`);
  assert.ok(Math.abs(after.rect.w - after.width) < 1, `frame spans the width: ${after.rect.w} vs ${after.width}`);
  // The canvas really shows it across: the pixel at its right end is its colour.
  const px = await page.evaluate(({ i }) => {
    const f = window.heapdriftFlame;
    const c = document.getElementById('flame');
    const r = f.rectOf(i);
    const dpr = window.devicePixelRatio || 1;
    const d = c.getContext('2d').getImageData(Math.floor((c.clientWidth - 4) * dpr), Math.floor((r.y + 2) * dpr), 1, 1).data;
    const probe = document.createElement('canvas').getContext('2d');
    probe.fillStyle = f.colorOf(i);
    probe.fillRect(0, 0, 1, 1);
    const want = probe.getImageData(0, 0, 1, 1).data;
    return { got: Array.from(d.slice(0, 3)), want: Array.from(want.slice(0, 3)) };
  }, { i: target.i });
  assert.deepEqual(px.got, px.want);
  await screenshot(page, 'pprof-flamegraph-zoomed');
  // Back returns to the whole graph.
  await page.goBack();
  await page.waitForFunction(() => window.heapdriftFlame.zoomed() === 0);
  // Search highlights and reports the matched share.
  await page.fill('#flame-search', 'codec');
  await page.press('#flame-search', 'Enter');
  const matched = await page.evaluate(() => window.heapdriftFlame.matched);
  assert.ok(matched > 0 && matched < 100, `matched ${matched}%`);
  assert.match(await page.locator('#flame-matched').textContent(), /^Matched: \d+\.\d\d%/);
  page.assertClean('flame zoom');
});

test('a focus regexp changes the top table', async () => {
  const s = await server(HEAP);
  const page = await newPage(session.browser);
  await load(page, `${s.url}/ui/top`);
  const names = async () => page.locator('#toptable td.name a').allTextContents();
  const before = await names();
  assert.ok(before.includes('main.newPayload'));
  await page.fill('#refine-f', 'codec');
  await Promise.all([page.waitForURL(/\/ui\/top\?f=codec$/), page.click('#refine-apply')]);
  const after = await names();
  assert.notDeepEqual(after, before);
  assert.ok(after.length < before.length, `${after.length} < ${before.length}`);
  assert.ok(after.some((n) => n.includes('codec')));
  assert.ok(!after.includes('main.newPayload'));
  // Sorting by cum is pprof's `sort` parameter, and keeps the focus.
  await Promise.all([page.waitForURL(/sort=cum/), page.click('#sort-cum')]);
  assert.match(page.url(), /f=codec/);
  await screenshot(page, 'pprof-top-focus');
  // Reset drops the refinement.
  await Promise.all([page.waitForURL(/\/ui\/top$/), page.click('#refine-reset')]);
  assert.deepEqual(await names(), before);
  page.assertClean('top focus');
});

test('the diff flame graph colours growth red and shrinkage blue', async () => {
  const s = await server('-diff_base', XSS_BASE, XSS);
  const page = await newPage(session.browser);
  await load(page, `${s.url}/ui/flamegraph`);
  await flameReady(page);
  const res = await page.evaluate(() => {
    const f = window.heapdriftFlame;
    const c = document.getElementById('flame');
    const dpr = window.devicePixelRatio || 1;
    const pixel = (i) => {
      const r = f.rectOf(i);
      return Array.from(c.getContext('2d').getImageData(Math.floor((r.x + 2) * dpr), Math.floor((r.y + 2) * dpr), 1, 1).data.slice(0, 3));
    };
    const grow = f.find('main.grow')[0];
    const shrink = f.find('main."quote"')[0];
    return { diff: f.diff, grow: pixel(grow), shrink: pixel(shrink) };
  });
  assert.equal(res.diff, true);
  const [gr, gg, gb] = res.grow;
  assert.ok(gr > 200 && gr - gg > 60 && gr - gb > 60, `growth is red: ${res.grow}`);
  const [sr, sg, sb] = res.shrink;
  assert.ok(sb > 200 && sb - sr > 40, `shrinkage is blue: ${res.shrink}`);
  await screenshot(page, 'pprof-flamegraph-diff');
  page.assertClean('diff');
});

test('hostile names render as text in every view (XSS)', async () => {
  const s = await server(XSS);
  const d = await server('-diff_base', XSS_BASE, XSS);
  const page = await newPage(session.browser);
  for (const [url, name] of [
    [`${s.url}/ui/top`, 'top'],
    [`${s.url}/ui/graph`, 'graph'],
    [`${s.url}/ui/peek?f=main`, 'peek'],
    [`${s.url}/ui/source?f=main`, 'source'],
    [`${s.url}/ui/flamegraph`, 'flamegraph'],
    [`${d.url}/ui/flamegraph`, 'flamegraph-diff'],
    [`${s.url}/ui/top?f=${encodeURIComponent('<script>alert(5)</script>')}`, 'top-hostile-focus'],
  ]) {
    await load(page, url);
    await page.waitForTimeout(200);
    // Only our own scripts, no injected elements.
    const dom = await page.evaluate(() => ({
      scripts: Array.from(document.scripts).map((s) => s.src ? new URL(s.src).pathname : s.type),
      imgs: document.querySelectorAll('img, iframe, object, embed').length,
      bodyText: document.body.textContent,
      legend: document.querySelector('.description')?.textContent ?? '',
      svgText: document.querySelector('#graph svg')?.textContent ?? null,
      title: document.title,
    }));
    for (const src of dom.scripts) {
      assert.ok(['/ui/assets/ui.js', '/ui/assets/flame.js', 'application/json'].includes(src), `${name}: script ${src}`);
    }
    assert.equal(dom.imgs, 0, `${name}: injected elements`);
    if (name.startsWith('flamegraph')) {
      await page.waitForFunction(() => window.heapdriftFlame && window.heapdriftFlame.drawn > 0);
      // Names are data for the canvas; the tooltip shows them as text.
      for (const n of HOSTILE) {
        const idx = await page.evaluate((n) => window.heapdriftFlame.find(n), n);
        assert.equal(idx.length, 1, `${name}: frame ${n}`);
        const r = await page.evaluate((i) => window.heapdriftFlame.rectOf(i), idx[0]);
        const box = await page.locator('#flame').boundingBox();
        await page.mouse.move(box.x + r.x + Math.min(r.w / 2, 5), box.y + r.y + r.h / 2);
        const tip = await page.locator('#flame-tip').textContent();
        assert.ok(tip.startsWith(n), `${name}: tooltip ${JSON.stringify(tip)} starts with ${n}`);
      }
    } else if (name === 'top-hostile-focus') {
      assert.ok(dom.bodyText.includes('<script>alert(5)</script>'));
      assert.equal(await page.inputValue('#refine-f'), '<script>alert(5)</script>');
    } else if (name === 'graph' && dom.svgText === null) {
      // No Graphviz on this machine: the view must say so.
      assert.ok(dom.bodyText.includes('needs Graphviz'), 'graph: the missing-dot message');
    } else {
      const text = name === 'graph' ? dom.svgText : dom.bodyText;
      // The graph shortens names to their last component.
      const want = name === 'graph' ? HOSTILE.map((n) => n.slice('main.'.length)) : HOSTILE;
      for (const n of want) assert.ok(text.includes(n), `${name}: ${n} shown literally`);
    }
    assert.ok(dom.legend.includes('File: <img src=x onerror=alert(2)>'), `${name}: legend ${dom.legend}`);
    await screenshot(page, `xss-${name}`);
    page.assertClean(`xss ${name}`);
  }
});

test('render and zoom times on the largest bench profile', { skip: !(BIG && existsSync(BIG)) && 'HEAPDRIFT_BIG_PROFILE unset or missing (bench/make-profiles.sh makes one)' }, async (t) => {
  const s = await server(BIG);
  // The page as served (frames under 0.001% of the total left out), then
  // every frame (`flame_all=1`).
  for (const [query, name] of [['', 'default'], ['?flame_all=1', 'all frames']]) {
    const page = await newPage(session.browser);
    const t0 = Date.now();
    await load(page, `${s.url}/ui/flamegraph${query}`, { timeout: 300000 });
    await flameReady(page);
    const loadMs = Date.now() - t0;
    const m = await page.evaluate(() => {
      const f = window.heapdriftFlame;
      // Zoom into the widest frame three levels down, then back out.
      let best = 0;
      let bw = 0;
      for (let i = 1; i < f.nodes; i++) {
        if (f.info(i).depth === 3 && f.rectOf(i).w > bw) {
          best = i;
          bw = f.rectOf(i).w;
        }
      }
      const zoomIn = f.zoom(best);
      const zoomOut = f.zoom(0);
      const redraws = [];
      for (let k = 0; k < 5; k++) redraws.push(f.redraw());
      return { nodes: f.nodes, parseMs: f.parseMs, firstRenderMs: f.firstRenderMs, drawn: f.drawn, zoomIn, zoomOut, redraws };
    });
    const summary = `ssa heap, ${name}: ${m.nodes} nodes; page load ${loadMs} ms (server + transfer + parse); ` +
      `JSON parse+layout ${m.parseMs.toFixed(0)} ms; first render ${m.firstRenderMs.toFixed(0)} ms; ` +
      `redraw ${Math.min(...m.redraws).toFixed(1)}-${Math.max(...m.redraws).toFixed(1)} ms (${m.drawn} frames drawn); ` +
      `zoom in ${m.zoomIn.toFixed(1)} ms, zoom out ${m.zoomOut.toFixed(1)} ms`;
    t.diagnostic(summary);
    console.log(summary);
    if (query) {
      assert.ok(m.nodes > 100000);
    } else {
      assert.ok(m.nodes > 10000 && m.nodes < 100000, `${m.nodes} nodes`);
      assert.match(await page.locator('#flame-pruned').textContent(), /^\d+ of \d+ frames/);
    }
    assert.ok(Math.max(...m.redraws) < 1000, 'a redraw stays under a second');
    await screenshot(page, query ? 'pprof-flamegraph-ssa-all' : 'pprof-flamegraph-ssa');
    page.assertClean(`big flame, ${name}`);
    await page.close();
  }
});
