// Browser tests of `heapdrift serve`'s leak dashboard in a real chromium:
// it loads cleanly, a finding's timeline has one point per snapshot, the
// memory plot renders, a point opens that snapshot's flame graph, the
// two-snapshot picker opens a diff flame graph, hostile names stay text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { startHeapdrift, launchBrowser, newPage, screenshot, load, repoPath } from './harness.mjs';

const GLOBALMAP = repoPath('examples/globalmap');
const XSS_SERIES = repoPath('testdata/dashboard/xss-series');
// A large archive for the render-time measurement (see the ignored
// `large_archive` test in crates/heapdrift/tests/serve.rs); skipped unset.
const LARGE = process.env.HEAPDRIFT_DASH_LARGE;

const count = (dir, re) => readdirSync(dir).filter((n) => re.test(n)).length;
const HEAPS = count(GLOBALMAP, /^heap-.*\.pb\.gz$/);
const TEXTS = count(GLOBALMAP, /^heap-.*\.debug1\.txt\.gz$/);

let browser;
const servers = [];

async function serve(...inputs) {
  const s = await startHeapdrift(['serve', '--http=127.0.0.1:0', '--no_browser', ...inputs]);
  servers.push(s);
  return s;
}

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.stop()));
});

async function dashboardReady(page) {
  await page.waitForFunction(() => window.heapdriftDashboard && window.heapdriftDashboard.ready, null, { timeout: 120000 });
  const err = await page.locator('#error').textContent();
  assert.equal(await page.locator('#error').isHidden(), true, `dashboard error: ${err}`);
}

async function flameReady(page) {
  await page.waitForFunction(() => window.heapdriftFlame && window.heapdriftFlame.drawn > 0, null, { timeout: 120000 });
}

let globalmap;
async function globalmapServer() {
  globalmap ??= await serve(GLOBALMAP);
  return globalmap;
}

test('the dashboard loads without console errors and plots the findings', async () => {
  const s = await globalmapServer();
  const page = await newPage(browser);
  await load(page, `${s.url}/`);
  await dashboardReady(page);
  // Targets: one pseudo-target of plain files with its series, selected.
  assert.equal(await page.locator('table.series-table tbody tr').count(), 1);
  assert.equal(await page.locator('tr.selected[data-series="files"]').count(), 1);
  // Rank 1 is the leak at globalmap/main.go:74.
  const first = page.locator('article.finding').first();
  assert.equal(await first.getAttribute('data-rank'), '1');
  assert.equal(await first.getAttribute('data-verdict'), 'leak');
  assert.match(await first.locator('.site').textContent(), /globalmap\/main\.go:74$/);
  // Its timeline: one point per heap snapshot, each linked to a snapshot,
  // a trend line and the verdict.
  const plot = first.locator('svg.timeline');
  assert.equal(await plot.getAttribute('data-points'), String(HEAPS));
  assert.equal(await plot.locator('circle.pt').count(), HEAPS);
  assert.equal(await plot.locator('a circle.pt[data-snapshot]').count(), HEAPS);
  assert.ok((await plot.locator('line.trend.leak').count()) >= 1);
  assert.equal(await plot.locator('text.verdict').textContent(), 'LEAK');
  // Points rise left to right (a leak), in time order.
  const xy = await plot.locator('circle.pt').evaluateAll((cs) => cs.map((c) => [+c.getAttribute('cx'), +c.getAttribute('cy')]));
  for (let i = 1; i < xy.length; i++) assert.ok(xy[i][0] > xy[i - 1][0], 'x in time order');
  assert.ok(xy[xy.length - 1][1] < xy[0][1], 'the last point is higher than the first');
  // Every finding card has its plot.
  const cards = await page.locator('article.finding').count();
  assert.ok(cards >= 1);
  assert.equal(await page.locator('article.finding svg.timeline').count(), cards);
  // The memory plot: six stacked components, a column per debug=1 text.
  const mem = page.locator('#memory-plot svg.memory');
  assert.equal(await mem.getAttribute('data-points'), String(TEXTS));
  const comps = await mem.locator('path.area').evaluateAll((ps) => [...new Set(ps.map((p) => p.getAttribute('data-component')))]);
  assert.deepEqual(comps, ['heap in use', 'heap free (idle, not released)', 'heap released', 'goroutine stacks', 'runtime metadata', 'other runtime memory']);
  assert.equal(await mem.locator('a rect.hit[data-snapshot]').count(), TEXTS);
  // The areas are drawn: the heap-in-use path has real extent.
  const box = await mem.locator('path.area[data-component="heap in use"]').first().boundingBox();
  assert.ok(box && box.width > 100 && box.height > 5, `heap in use area ${JSON.stringify(box)}`);
  const timings = await page.evaluate(() => window.heapdriftDashboard.timings);
  console.log(`globalmap dashboard: ${cards} findings, ${HEAPS} points each; timelines ${timings.timelines.toFixed(1)} ms, memory ${timings.memory.toFixed(1)} ms, render ${timings.render.toFixed(1)} ms, total ${timings.total.toFixed(1)} ms`);
  await screenshot(page, 'dashboard-globalmap');
  page.assertClean('dashboard');
});

test('a timeline point opens the flame graph of its snapshot', async () => {
  const s = await globalmapServer();
  const page = await newPage(browser);
  await load(page, `${s.url}/`);
  await dashboardReady(page);
  const pt = page.locator('article.finding').first().locator('circle.pt').nth(HEAPS - 1);
  const id = await pt.getAttribute('data-snapshot');
  await Promise.all([page.waitForURL(/\/ui\/flamegraph\?src=/), pt.click()]);
  assert.equal(new URL(page.url()).searchParams.get('src'), id);
  await flameReady(page);
  assert.match(await page.title(), new RegExp(`snapshot ${id} · heap`));
  assert.equal(await page.evaluate(() => window.heapdriftFlame.diff), false);
  // The leaking function is in this snapshot's flame graph.
  assert.ok(await page.evaluate(() => window.heapdriftFlame.find('main.') !== null));
  await screenshot(page, 'dashboard-point-flamegraph');
  page.assertClean('flame graph of a point');
  // A click on a memory column opens its debug=1 snapshot too.
  await load(page, `${s.url}/`);
  await dashboardReady(page);
  const col = page.locator('#memory-plot a rect.hit').nth(2);
  const mid = await col.getAttribute('data-snapshot');
  await Promise.all([page.waitForURL(/\/ui\/flamegraph\?src=/), col.click()]);
  assert.equal(new URL(page.url()).searchParams.get('src'), mid);
  await flameReady(page);
  assert.match(await page.title(), /heap_debug1/);
  page.assertClean('flame graph of a memory column');
});

test('the two-snapshot picker opens a diff flame graph', async () => {
  const s = await globalmapServer();
  const page = await newPage(browser);
  await load(page, `${s.url}/`);
  await dashboardReady(page);
  assert.equal(await page.locator('#pick-kind').inputValue(), 'heap');
  const ids = await page.locator('#pick-base option').evaluateAll((os) => os.map((o) => o.value));
  assert.equal(ids.length, HEAPS);
  await page.locator('#pick-base').selectOption(ids[2]);
  await page.locator('#pick-src').selectOption(ids[HEAPS - 2]);
  await Promise.all([page.waitForURL(/\/ui\/flamegraph\?src=.*&base=/), page.locator('#pick-diff').click()]);
  const q = new URL(page.url()).searchParams;
  assert.equal(q.get('src'), ids[HEAPS - 2]);
  assert.equal(q.get('base'), ids[2]);
  await flameReady(page);
  assert.equal(await page.evaluate(() => window.heapdriftFlame.diff), true);
  await screenshot(page, 'dashboard-diff-flamegraph');
  page.assertClean('diff flame graph');
  // The finding card's own diff link (last against first) works too.
  await load(page, `${s.url}/`);
  await dashboardReady(page);
  const diff = page.locator('article.finding').first().locator('a.diff-link');
  await Promise.all([page.waitForURL(/base=/), diff.click()]);
  await flameReady(page);
  assert.equal(await page.evaluate(() => window.heapdriftFlame.diff), true);
  page.assertClean('finding diff link');
});

test('hostile names in profiles render as text', async () => {
  const s = await serve(XSS_SERIES);
  const page = await newPage(browser);
  await load(page, `${s.url}/`);
  await dashboardReady(page);
  const fn = 'main.(*T).<img src=x onerror=alert(1)>"q"\'apos\'&amp;';
  const file = '/src/</script><script>alert(1)</script>.go';
  assert.equal(await page.locator('article.finding .fn').first().textContent(), fn);
  assert.equal(await page.locator('article.finding .site').first().textContent(), `${fn} ${file}:74`);
  // No element came out of a name: no img, no script but ours.
  assert.equal(await page.locator('main img').count(), 0);
  assert.equal(await page.locator('script').count(), 1);
  assert.equal(await page.locator('svg.timeline title').first().textContent(), `${fn}: bytes over time`);
  await screenshot(page, 'dashboard-xss');
  page.assertClean('hostile names');
});

test('render time of a large series', { skip: !LARGE && 'HEAPDRIFT_DASH_LARGE unset' }, async () => {
  const s = await serve(LARGE);
  const page = await newPage(browser);
  const t0 = Date.now();
  await load(page, `${s.url}/`, { timeout: 600000 });
  await page.waitForFunction(() => window.heapdriftDashboard && window.heapdriftDashboard.ready, null, { timeout: 600000 });
  const wall = Date.now() - t0;
  const points = await page.locator('article.finding').first().locator('svg.timeline').getAttribute('data-points');
  const t = await page.evaluate(() => window.heapdriftDashboard.timings);
  const cards = await page.locator('article.finding').count();
  console.log(`large series: ${points} points per timeline, ${cards} findings drawn; timelines ${t.timelines.toFixed(1)} ms, memory ${t.memory.toFixed(1)} ms, render ${t.render.toFixed(1)} ms, page total ${t.total.toFixed(1)} ms, first load incl. analysis ${wall} ms`);
  // Second load: the analysis is cached.
  const t1 = Date.now();
  await load(page, `${s.url}/`);
  await page.waitForFunction(() => window.heapdriftDashboard && window.heapdriftDashboard.ready);
  const t2 = await page.evaluate(() => window.heapdriftDashboard.timings);
  console.log(`large series, cached: render ${t2.render.toFixed(1)} ms, page total ${t2.total.toFixed(1)} ms, wall ${Date.now() - t1} ms`);
  await screenshot(page, 'dashboard-large');
  page.assertClean('large');
});
