// The fleet dashboard in Debian's Chromium (playwright-core from tests/e2e/node_modules, via
// NODE_PATH): it renders with no console error (so nothing breaks the CSP), shows its charts
// and tables with JavaScript on and off, and fits a phone. Screenshots go to
// FLEET_SCREENSHOTS (dashboard.sh sets it; default tests/fleet/screenshots) to be looked at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// ESM ignores NODE_PATH: resolve playwright-core through a CommonJS require that honours it.
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const BASE = process.env.FLEET_URL;
if (!BASE) throw new Error('FLEET_URL is not set: run tests/fleet/dashboard.sh PHOTOSHARE_BINARY');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = process.env.FLEET_SCREENSHOTS || path.join(HERE, 'screenshots');
mkdirSync(SHOTS, { recursive: true });

let browser;
const problems = [];

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function open(options = {}) {
  problems.length = 0;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  const res = await page.goto(BASE + '/');
  assert.equal(res.status(), 200);
  return { context, page };
}

test('the dashboard shows servers, charts and events, with nothing blocked', async () => {
  const { context, page } = await open();
  await assert.doesNotReject(page.waitForSelector('figure svg'));
  const titles = await page.$$eval('figure svg > text:first-of-type', (ts) => ts.map((t) => t.textContent));
  assert.ok(titles.includes('Fleet size'), titles.join(', '));
  assert.ok(titles.some((t) => t.startsWith('Latency')), titles.join(', '));
  assert.ok(titles.includes('Requests per second'), titles.join(', '));
  // Every chart has drawn lines, not just axes.
  const paths = await page.$$eval('figure svg', (svgs) => svgs.map((s) => s.querySelectorAll('path').length));
  assert.ok(paths.every((n) => n > 0), `paths per chart: ${paths}`);
  const servers = await page.$$eval('h2 + .scroll table tbody tr', (rows) => rows.length);
  assert.ok(servers >= 1);
  const text = await page.textContent('body');
  assert.match(text, /Servers in service/);
  assert.match(text, /web-1/);
  assert.match(text, /knobs/);  // the knob change is an event
  // The stylesheet applied (a CSP that blocked it would leave the cards unstyled).
  const bg = await page.$eval('header', (h) => getComputedStyle(h).backgroundColor);
  assert.equal(bg, 'rgb(17, 24, 39)');
  // Nothing wider than the window at desktop size.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
  await page.screenshot({ path: path.join(SHOTS, 'fleet-dashboard.png'), fullPage: true });
  await context.close();
  assert.deepEqual(problems, []);
});

test('without JavaScript, the same tables and charts', async () => {
  const { context, page } = await open({ javaScriptEnabled: false });
  const charts = await page.$$('figure svg');
  assert.ok(charts.length >= 3);
  const rows = await page.$$('table tbody tr');
  assert.ok(rows.length >= 2);
  await context.close();
  assert.deepEqual(problems, []);
});

test('on a phone', async () => {
  const { context, page } = await open({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - 390);
  assert.ok(overflow <= 0, `horizontal overflow ${overflow}px`);
  await page.screenshot({ path: path.join(SHOTS, 'fleet-dashboard-phone.png'), fullPage: true });
  await context.close();
  assert.deepEqual(problems, []);
});
