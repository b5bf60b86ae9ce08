// Browser tests of `heapdrift serve`'s leak dashboard in a real chromium:
// it loads cleanly, a finding's timeline has one point per snapshot, the
// memory plot renders, a point opens that snapshot's flame graph, the
// two-snapshot picker opens a diff flame graph, times and gaps from the
// JSON render as dates, hostile names stay text, a fleet served from a real
// Pyroscope ranks its sites, and an archive that a running `heapdrift watch` writes (against a fake
// service replaying examples/globalmap) is followed page load by page load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSession, newPage, screenshot, load, repoPath, heapdriftBin } from './harness.mjs';

const GLOBALMAP = repoPath('examples/globalmap');
const XSS_SERIES = repoPath('testdata/dashboard/xss-series');
// A large archive for the render-time measurement (see the ignored
// `large_archive` test in crates/heapdrift/tests/serve.rs); skipped unset.
const LARGE = process.env.HEAPDRIFT_DASH_LARGE;

const ms = (v) => (v === undefined ? 'n/a' : v.toFixed(1));
const count = (dir, re) => readdirSync(dir).filter((n) => re.test(n)).length;
const HEAPS = count(GLOBALMAP, /^heap-.*\.pb\.gz$/);
const TEXTS = count(GLOBALMAP, /^heap-.*\.debug1\.txt\.gz$/);

const session = useSession();

function serve(...inputs) {
  return session.start(['serve', '--http=127.0.0.1:0', '--no_browser', ...inputs]);
}

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
  const page = await newPage(session.browser);
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
  console.log(`globalmap dashboard: ${cards} findings, ${HEAPS} points each; timelines ${ms(timings.timelines)} ms, memory ${ms(timings.memory)} ms, render ${ms(timings.render)} ms, total ${ms(timings.total)} ms`);
  await screenshot(page, 'dashboard-globalmap');
  page.assertClean('dashboard');
  // ?refresh=N reloads the page (to follow a running watch), and the
  // series links keep it.
  await load(page, `${s.url}/?refresh=1`);
  await dashboardReady(page);
  assert.match(await page.locator('table.series-table a').first().getAttribute('href'), /^\/\?refresh=1&series=files$/);
  await page.waitForEvent('load', { timeout: 10000 });
  await dashboardReady(page);
  page.assertClean('refresh');
});

test('a timeline point opens the flame graph of its snapshot', async () => {
  const s = await globalmapServer();
  const page = await newPage(session.browser);
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
  const page = await newPage(session.browser);
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

test('times and gaps from the JSON render as dates', async () => {
  // examples/globalmap without six heap snapshots in a row (protos and
  // texts): a 35 s interval among 5 s ones, a gap of plain files.
  const files = readdirSync(GLOBALMAP).sort();
  const heaps = files.filter((n) => /^heap-.*\.pb\.gz$/.test(n));
  const stamp = (n) => n.replace(/^heap-/, '').replace(/\..*$/, '');
  const dropped = new Set(heaps.slice(6, 12).map(stamp));
  const dir = mkdtempSync(join(tmpdir(), 'heapdrift-gap-'));
  try {
    for (const n of files) {
      if (!(n.startsWith('heap-') && dropped.has(stamp(n)))) copyFileSync(join(GLOBALMAP, n), join(dir, n));
    }
    const s = await serve(dir);
    const page = await newPage(session.browser);
    await load(page, `${s.url}/`);
    await dashboardReady(page);
    const date = '\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC';
    const row = page.locator('table.series-table tbody tr').first();
    assert.match(await row.locator('td').nth(1).textContent(), new RegExp(`^${date}$`), 'series start');
    assert.equal(await row.locator('td').last().textContent(), '1', 'one gap');
    assert.match(await page.locator('#targets-body details li').first().textContent(),
      new RegExp(`^${date} – \\d\\d:\\d\\d:\\d\\d: interval \\(heap\\): 35s between snapshots`), 'gap');
    const options = await page.locator('#pick-base option').allTextContents();
    assert.equal(options.length, heaps.length - 6);
    for (const o of options) assert.match(o, new RegExp(`^${date} \\(#\\d+\\)$`), 'snapshot time');
    const plot = page.locator('article.finding').first().locator('svg.timeline');
    assert.match(await plot.locator('circle.pt title').first().textContent(), new RegExp(`^${date}: `), 'point time');
    const ends = await plot.locator('line.trend').evaluateAll((ls) => ls.flatMap((l) => ['x1', 'y1', 'x2', 'y2'].map((a) => +l.getAttribute(a))));
    assert.ok(ends.length >= 4 && ends.every(Number.isFinite), `trend ends ${ends}`);
    assert.match(await page.locator('#memory-plot rect.hit title').first().textContent(), new RegExp(`^${date}\\n`), 'memory time');
    page.assertClean('times and gaps');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hostile names in profiles render as text', async () => {
  const s = await serve(XSS_SERIES);
  const page = await newPage(session.browser);
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
  const page = await newPage(session.browser);
  const t0 = Date.now();
  await load(page, `${s.url}/`, { timeout: 600000 });
  await page.waitForFunction(() => window.heapdriftDashboard && window.heapdriftDashboard.ready, null, { timeout: 600000 });
  const wall = Date.now() - t0;
  const points = await page.locator('article.finding').first().locator('svg.timeline').getAttribute('data-points');
  const t = await page.evaluate(() => window.heapdriftDashboard.timings);
  const cards = await page.locator('article.finding').count();
  console.log(`large series: ${points} points per timeline, ${cards} findings drawn; timelines ${ms(t.timelines)} ms, memory ${ms(t.memory)} ms, render ${ms(t.render)} ms, page total ${ms(t.total)} ms, first load incl. analysis ${wall} ms`);
  // Second load: the analysis is cached.
  const t1 = Date.now();
  await load(page, `${s.url}/`);
  await page.waitForFunction(() => window.heapdriftDashboard && window.heapdriftDashboard.ready);
  const t2 = await page.evaluate(() => window.heapdriftDashboard.timings);
  console.log(`large series, cached: render ${ms(t2.render)} ms, page total ${ms(t2.total)} ms, wall ${Date.now() - t1} ms`);
  await screenshot(page, 'dashboard-large');
  page.assertClean('large');
});

// A fake Go service replaying examples/globalmap: each request for a kind
// gets that kind's next recorded snapshot (the last one repeats).
async function replayGlobalmap() {
  const http = await import('node:http');
  const zlib = await import('node:zlib');
  const fs = await import('node:fs');
  const files = readdirSync(GLOBALMAP).sort();
  const pick = (re) => files.filter((n) => re.test(n)).map((n) => fs.readFileSync(`${GLOBALMAP}/${n}`));
  const kinds = {
    '/debug/pprof/heap': pick(/^heap-.*\.pb\.gz$/),
    // Go serves debug=1 texts plain.
    '/debug/pprof/heap?debug=1': pick(/^heap-.*\.debug1\.txt\.gz$/).map((b) => zlib.gunzipSync(b)),
    '/debug/pprof/goroutine': pick(/^goroutine-.*\.pb\.gz$/),
  };
  const served = Object.fromEntries(Object.keys(kinds).map((k) => [k, 0]));
  const index = "<html><table>\n<tr><td>1</td><td><a href='goroutine?debug=1'>goroutine</a></td></tr>\n" +
    "<tr><td>1</td><td><a href='heap?debug=1'>heap</a></td></tr>\n</table></html>";
  const srv = http.createServer((req, res) => {
    if (req.url === '/debug/pprof/') return res.end(index);
    const list = kinds[req.url];
    if (!list) { res.statusCode = 404; return res.end('Unknown profile\n'); }
    const body = list[Math.min(served[req.url], list.length - 1)];
    served[req.url] += 1;
    res.setHeader('Content-Type', 'application/octet-stream');
    res.end(body);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() };
}

test('an archive that a running watch writes: the dashboard follows it', async () => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const os = await import('node:os');
  const { heapdriftBin } = await import('./harness.mjs');
  const target = await replayGlobalmap();
  const archive = mkdtempSync(`${os.tmpdir()}/heapdrift-dash-`);
  const watch = spawn(heapdriftBin, ['watch', target.url, '--archive', archive, '--every', '500ms', '--for', '8500ms',
    '--quiet', '--dump-every', '0', '--allocs-every', '0', '--leak-every', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let werr = '';
  watch.stderr.on('data', (d) => (werr += d));
  const watchDone = new Promise((r) => watch.on('exit', r));
  try {
    // The replay has 18 heap snapshots: watch takes at most that many
    // (then the series would level off). Serve while it keeps writing.
    await new Promise((r) => setTimeout(r, 3000));
    const s = await serve(archive);
    const page = await newPage(session.browser);
    await load(page, `${s.url}/`);
    await dashboardReady(page);
    const total = async () => Number(await page.locator('table.series-table tbody tr td.num').nth(1).textContent());
    const before = await total();
    assert.ok(before > 0, 'snapshots listed');
    assert.equal(await page.locator('.target-url').first().evaluate((e) => e.firstChild.textContent), target.url);
    const code = await watchDone;
    assert.equal(code, 0, `watch: ${werr}`);
    await load(page, `${s.url}/`);
    await dashboardReady(page);
    const after = await total();
    assert.ok(after > before, `the index is read again: ${before} -> ${after}`);
    const first = page.locator('article.finding').first();
    assert.match(await first.locator('.site').textContent(), /globalmap\/main\.go:74$/);
    assert.equal(await first.getAttribute('data-verdict'), 'leak');
    const heaps = await page.evaluate(async () => {
      const t = await (await fetch('/api/targets')).json();
      return t.targets[0].series[0].snapshots.heap;
    });
    assert.equal(await first.locator('circle.pt').count(), heaps, 'one point per archived heap snapshot');
    // A point opens the archived snapshot (an index id) in the flame graph.
    const pt = first.locator('circle.pt').last();
    const id = await pt.getAttribute('data-snapshot');
    assert.match(id, /^\d+$/);
    await Promise.all([page.waitForURL(/\/ui\/flamegraph\?src=/), pt.click()]);
    await flameReady(page);
    assert.match(await page.title(), new RegExp(`snapshot ${id} · heap`));
    await screenshot(page, 'dashboard-archive-flamegraph');
    await load(page, `${s.url}/`);
    await dashboardReady(page);
    await screenshot(page, 'dashboard-archive');
    page.assertClean('archive');
  } finally {
    if (watch.exitCode === null) {
      watch.kill('SIGINT');
      await watchDone;
    }
    target.close();
    const { rmSync } = await import('node:fs');
    rmSync(archive, { recursive: true, force: true });
  }
});

// `serve --from` a real Pyroscope (scripts/pyroscope.sh, built by
// scripts/test.sh): three replicas of one service pushed from the examples,
// two of them leaking at the same line. The fleet section ranks that site
// first, "2 of 3", and a replica's link opens its series.
const PYROSCOPE = process.env.HEAPDRIFT_PYROSCOPE || repoPath('target/pyroscope/pyroscope');
test('a fleet served from Pyroscope ranks its sites and links each replica', { skip: !existsSync(PYROSCOPE) && `no Pyroscope server at ${PYROSCOPE} (scripts/pyroscope.sh build)` }, async () => {
  const sh = (args) => execFileSync('bash', [repoPath('scripts/pyroscope.sh'), ...args], { cwd: repoPath('.'), encoding: 'utf8' });
  const url = sh(['start']).trim().split('\n').pop().trim();
  const port = url.split(':').pop();
  try {
    const store = url.replace('http://', 'pyroscope://');
    for (const [example, pod] of [['globalmap', 'pod-a'], ['globalmap', 'pod-b'], ['chansend', 'pod-c']]) {
      execFileSync(heapdriftBin, ['push', '--to', store, '--service', 'served', '--instance', pod, repoPath(`examples/${example}`)]);
    }
    const s = await session.start(['serve', '--http=127.0.0.1:0', '--no_browser', '--from', store,
      '--service', 'served', '--from-time', '2026-11-26T00:00:00Z']);
    const page = await newPage(session.browser);
    await load(page, `${s.url}/`);
    await dashboardReady(page);
    assert.equal(await page.locator('#fleet').isHidden(), false);
    assert.equal(await page.locator('h3.fleet-service[data-service="served"]').count(), 1);
    const first = page.locator('tr.fleet-site').first();
    assert.equal(await first.getAttribute('data-function'), 'main.handleLogin');
    assert.equal(await first.locator('.grows').textContent(), '2 of 3 (leak on 2)');
    const links = first.locator('a');
    assert.deepEqual((await links.allTextContents()).sort(), ['pod-a', 'pod-b']);
    // Every replica is a target below.
    assert.equal(await page.locator('#targets-body table.series-table tbody tr').count(), 3);
    await screenshot(page, 'dashboard-fleet');
    await links.first().click();
    await page.waitForLoadState('load');
    await dashboardReady(page);
    assert.match(await page.locator('#series-title').textContent(), /served instance=pod-[ab]/);
    assert.equal(await page.locator('article.finding').first().getAttribute('data-verdict'), 'leak');
    page.assertClean('fleet dashboard');
  } finally {
    sh(['stop', '--port', port]);
  }
});
