// Browser-test harness for heapdrift's web UI: starts a heapdrift server,
// drives Debian's chromium through playwright-core (never a downloaded
// browser), fails on any console or page error, saves screenshots.
//
// Used by pprof.test.mjs (pprof -http) and dashboard.test.mjs (serve).
import { spawn } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root. */
export const repoRoot = path.resolve(here, '../../../..');
/** The binary under test: $HEAPDRIFT_BIN or target/ci/heapdrift. */
export const heapdriftBin = process.env.HEAPDRIFT_BIN || path.join(repoRoot, 'target/ci/heapdrift');
/** Where screenshots go. */
export const screenshotDir = path.join(repoRoot, 'target/browser-screenshots');
/** The browser: Debian's chromium (scripts/setup-browser.sh installs it). */
export const chromiumPath = process.env.HEAPDRIFT_CHROMIUM || '/usr/bin/chromium';

/** A repository-relative path made absolute. */
export function repoPath(p) {
  return path.join(repoRoot, p);
}

/**
 * Starts `heapdrift ARGS...` (e.g. ['pprof', '-http=127.0.0.1:0',
 * '-no_browser', file]) and resolves once it prints "Serving web UI on
 * URL". Returns { url, proc, stderr(), stop() }.
 */
export async function startHeapdrift(args, { timeoutMs = 120000 } = {}) {
  if (!existsSync(heapdriftBin)) {
    throw new Error(`${heapdriftBin} is missing: build it with cargo build --profile ci -p heapdrift`);
  }
  const proc = spawn(heapdriftBin, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC' },
  });
  let err = '';
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "Serving web UI" line in ${timeoutMs} ms; stderr:\n${err}`)), timeoutMs);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /Serving web UI on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`heapdrift exited with ${code} before serving; stderr:\n${err}${out}`));
    });
  });
  return {
    url,
    proc,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGINT');
      }),
  };
}

/** Launches headless chromium with the flags CI needs. */
export async function launchBrowser() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/setup-browser.sh`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A new page that records console errors, page errors and dialogs (an
 * alert is how an XSS shows itself; dialogs are dismissed). Call
 * `page.assertClean()` to fail on any of them.
 */
export async function newPage(browser, { width = 1400, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', async (d) => {
    problems.push(`dialog (${d.type()}): ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.problems = problems;
  page.assertClean = (what = page.url()) => {
    if (problems.length) {
      const list = problems.splice(0).join('\n  ');
      throw new Error(`${what}:\n  ${list}`);
    }
  };
  return page;
}

/** Saves a full-page screenshot as target/browser-screenshots/NAME.png. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Loads `url`, expecting HTTP 200, and waits until the page is idle. */
export async function load(page, url, { status = 200, timeout = 120000 } = {}) {
  const resp = await page.goto(url, { waitUntil: 'load', timeout });
  if (resp.status() !== status) {
    throw new Error(`${url}: HTTP ${resp.status()}, want ${status}\n${(await resp.text()).slice(0, 2000)}`);
  }
  return resp;
}

/**
 * One chromium for a test file and the heapdrift servers its tests start,
 * all closed after the file's last test. `session.browser` is set once the
 * file's `before` hook ran; `session.start(args)` is `startHeapdrift`.
 */
export function useSession() {
  const servers = [];
  const session = {
    browser: undefined,
    async start(args) {
      const s = await startHeapdrift(args);
      servers.push(s);
      return s;
    },
  };
  before(async () => {
    session.browser = await launchBrowser();
  });
  after(async () => {
    await session.browser?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });
  return session;
}
