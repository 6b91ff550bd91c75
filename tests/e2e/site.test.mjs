// Browser test of the whole site in Debian's Chromium, driven by playwright-core.
// Run through run.sh, which starts a server and sets PHOTOSHARE_URL. The steps build on one
// another (one user, one growing feed), so they run in order and a failed step skips the rest.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.PHOTOSHARE_URL;
if (!BASE) throw new Error('PHOTOSHARE_URL is not set: run tests/e2e/run.sh SERVER_BINARY');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const SHOTS = process.env.E2E_SCREENSHOTS || path.join(HERE, 'screenshots');
const IMAGES = process.env.E2E_IMAGES || '/work/shared/testdata/images';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const image = (rel) => path.join(IMAGES, rel);
const JPEG = image('edge/exif-samples/DSCN0010.jpg'); // 640×480 with EXIF and GPS
const PNG = image('pngsuite/basn2c08.png'); // 32×32
const GIF = image('edge/pillow/dispose_prev.gif');
const WEBP = image('edge/pillow/hopper_orientation_6.webp'); // 128×128

const user = { name: `e2e_${Date.now().toString(36)}`, password: 'correct horse battery' };
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const STEP_TIMEOUT = 20_000;

let browser;
const contexts = [];
// Everything the browser complained about: console errors (CSP violations and failed
// resources are reported there), uncaught page errors, failed requests and error statuses.
const problems = [];
const dialogs = [];

// A context whose pages report every problem into `problems`.
async function newContext(options = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: BASE, ...options });
  context.setDefaultTimeout(STEP_TIMEOUT);
  const label = options.javaScriptEnabled === false ? 'no-js' : options.viewport === PHONE ? 'phone' : options.colorScheme ?? 'js';
  context.on('page', (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`[${label}] console ${m.type()}: ${m.text()} (${page.url()})`);
    });
    page.on('pageerror', (e) => problems.push(`[${label}] page error: ${e.message} (${page.url()})`));
    page.on('requestfailed', (r) => {
      // A navigation cancels images still loading on the page it leaves: not a fault.
      if (r.failure()?.errorText === 'net::ERR_ABORTED' && r.resourceType() === 'image') return;
      problems.push(`[${label}] request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`[${label}] HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
    // A confirmation before deleting is welcome: accept it, and note that it was asked.
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      d.accept().catch(() => {});
    });
  });
  contexts.push(context);
  return context;
}

// `expected` lists patterns of problems a step provokes on purpose (an error status, say);
// each must occur, and nothing else may.
function assertNoProblems(expected = []) {
  const found = problems.splice(0);
  for (const pattern of expected) {
    assert.ok(found.some((f) => pattern.test(f)), `expected a problem matching ${pattern}, got ${JSON.stringify(found)}`);
  }
  assert.deepEqual(found.filter((f) => !expected.some((p) => p.test(f))), [], 'the browser reported problems');
}

// Elements that stick out of the panel or card they belong to (or out of the page), as
// "selector: how far" strings. Overflow that a container clips on purpose is not counted.
async function overflowing(page) {
  return page.evaluate(() => {
    const out = [];
    const width = document.documentElement.clientWidth;
    const name = (e) => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '')
      + (e.getAttribute('type') ? `[type=${e.getAttribute('type')}]` : '');
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left < -0.5 || r.right > width + 0.5) out.push(`${name(e)}: outside the page (${Math.round(r.left)}..${Math.round(r.right)} of ${width})`);
      const box = e.parentElement?.closest('.panel, .card, .drop');
      if (!box) continue;
      const b = box.getBoundingClientRect();
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5) {
        out.push(`${name(e)}: sticks out of ${name(box)} (${Math.round(r.left)}..${Math.round(r.right)} vs ${Math.round(b.left)}..${Math.round(b.right)})`);
      }
    }
    return out;
  });
}

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, name), fullPage: true });

// Thumbnails (or any images) under `scope` have all loaded with real pixels.
async function imagesLoaded(page, selector) {
  await page.waitForFunction(
    (sel) => {
      const imgs = [...document.querySelectorAll(sel)];
      return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
    },
    selector,
    { timeout: STEP_TIMEOUT },
  );
}

// Ids of the photos on the front page, top to bottom (newest first).
async function feedIds(page) {
  const hrefs = await page.locator('.grid .card > a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  return hrefs.map((h) => h.replace('/photos/', '').replace('?in=user', ''));
}

// The API's view of the feed: the order of record, to compare the page against.
async function apiFeed(context) {
  const res = await context.request.get('/api/v1/photos?limit=50');
  assert.equal(res.status(), 200);
  return (await res.json()).photos;
}

async function logIn(page) {
  const form = page.locator('form[action="/login"]').first();
  await form.locator('input[name=username]').fill(user.name);
  await form.locator('input[name=password]').fill(user.password);
  await Promise.all([page.waitForURL(`${BASE}/`), form.locator('button[type=submit]').click()]);
  await assertLoggedIn(page);
}

async function assertLoggedIn(page) {
  assert.equal((await page.locator('header .who strong').textContent()).trim(), user.name);
  assert.ok(await page.locator('form.upload-form').isVisible(), 'the upload form is shown');
  assert.equal(await page.locator('form[action="/register"]').count(), 0, 'no register form when logged in');
}

// The steps share state; once one fails the rest would only repeat its failure.
let broken = false;
function step(name, fn) {
  test(name, { timeout: 60_000 }, async (t) => {
    if (broken) return t.skip('an earlier step failed');
    try {
      await fn(t);
    } catch (e) {
      broken = true;
      throw e;
    }
  });
}

let js; // the JavaScript context, desktop size
let page;
const uploaded = {}; // file name → photo id

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // launch() gives every run a fresh, empty profile directory of its own.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  js = await newContext();
  page = await js.newPage();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
});

step('a. front page, logged out: login and register forms, no console errors, CSP set', async () => {
  const res = await page.goto('/');
  assert.equal(res.status(), 200);
  const headers = res.headers();
  assert.match(headers['content-security-policy'] ?? '', /script-src/, 'a Content-Security-Policy is sent');
  const scriptSrc = headers['content-security-policy'].split(';').find((d) => d.trim().startsWith('script-src'));
  assert.doesNotMatch(scriptSrc, /unsafe-inline|unsafe-eval/, 'no inline script allowed');
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.ok(headers['referrer-policy'], 'a Referrer-Policy is sent');
  assert.ok(headers['x-served-by'], 'X-Served-By names the server');
  for (const action of ['/login', '/register']) {
    const form = page.locator(`main form[action="${action}"]`);
    assert.ok(await form.isVisible(), `the ${action} form is visible`);
    assert.ok(await form.locator('input[name=username]').isVisible());
    assert.ok(await form.locator('input[type=password]').isVisible());
  }
  assert.equal(await page.locator('form.upload-form').count(), 0, 'no upload form when logged out');
  assert.match(await page.locator('footer.served').textContent(), /Served by/);
  // The stylesheet and the script really arrived (a CSP or MIME problem would stop them).
  const styled = await page.evaluate(() => getComputedStyle(document.body).display);
  assert.equal(styled, 'flex', 'style.css is applied');
  await page.waitForLoadState('networkidle');
  await shot(page, 'desktop-front-logged-out.png');
  assertNoProblems();
});

step('b. register through the form, land logged in on the front page', async () => {
  const form = page.locator('main form[action="/register"]');
  await form.locator('input[name=username]').fill(user.name);
  await form.locator('input[name=password]').fill(user.password);
  await Promise.all([page.waitForURL(`${BASE}/`), form.locator('button[type=submit]').click()]);
  await assertLoggedIn(page);
  assert.equal(await page.locator('form[action="/login"]').count(), 0, 'no login form when logged in');
  assertNoProblems();
});

step('c. upload two photos through the file chooser, with progress rows, newest first', async () => {
  // The page records what its progress list showed, in sessionStorage, as it changes.
  await page.evaluate(() => {
    const list = document.querySelector('.upload-form .progress-list');
    const record = () => {
      const rows = [...list.querySelectorAll('li:not(.summary)')].map((li) => ({
        name: li.querySelector('.name')?.textContent,
        hasBar: !!li.querySelector('progress'),
        status: li.querySelector('.status')?.textContent,
      }));
      const seen = JSON.parse(sessionStorage.getItem('e2e-rows') || '{"max":0}');
      seen.max = Math.max(seen.max, rows.length);
      seen.rows = rows;
      sessionStorage.setItem('e2e-rows', JSON.stringify(seen));
    };
    new MutationObserver(record).observe(list, { childList: true, subtree: true, characterData: true });
  });
  const posts = [];
  const onRequest = (r) => {
    if (r.url().startsWith(`${BASE}/api/v1/photos`)) posts.push([r.method(), Boolean(r.headers()['x-csrf-token'])]);
  };
  page.on('request', onRequest);
  let reloads = 0;
  const onLoad = () => { reloads++; };
  page.on('load', onLoad);
  await page.locator('form.upload-form input[type=file]').setInputFiles([JPEG, PNG]);
  const summary = page.locator('.upload-form .progress-list li.summary');
  await summary.waitFor({ timeout: STEP_TIMEOUT });
  assert.equal((await summary.textContent()).trim(), '2 photos uploaded.');
  await page.waitForFunction(() => document.querySelectorAll('.feed .grid .card').length === 2, null, { timeout: STEP_TIMEOUT });
  page.off('request', onRequest);
  page.off('load', onLoad);
  assert.equal(reloads, 0, 'the new photos are put in place, the page is not reloaded');
  assert.deepEqual(posts, [['POST', true], ['POST', true]], 'one API request per file, each with its CSRF token');
  await page.waitForURL(`${BASE}/`);
  const seen = await page.evaluate(() => JSON.parse(sessionStorage.getItem('e2e-rows')));
  assert.equal(seen.max, 2, 'one progress row per file');
  assert.deepEqual(seen.rows.map((r) => r.name), ['DSCN0010.jpg', 'basn2c08.png']);
  assert.ok(seen.rows.every((r) => r.hasBar), 'each row has a progress bar');
  assert.deepEqual(seen.rows.map((r) => r.status), ['done', 'done']);
  await assertLoggedIn(page);
  assert.equal(await page.locator('.upload-form .progress-list li').count(), 3, 'each file keeps its row, and a summary');

  const api = await apiFeed(js);
  assert.equal(api.length, 2);
  const ids = await feedIds(page);
  assert.deepEqual(ids, api.map((p) => p.id), 'the page shows the feed in the API order');
  // The PNG went second, so it is the newest and comes first.
  assert.deepEqual(api.map((p) => [p.width, p.height]), [[32, 32], [640, 480]], 'newest first');
  [uploaded.png, uploaded.jpeg] = ids;
  for (const by of await page.locator('.grid .card .meta .by').allTextContents()) assert.equal(by.trim(), user.name);
  await imagesLoaded(page, '.grid .card img');
  await page.waitForLoadState('networkidle');
  await shot(page, 'desktop-front-logged-in.png');
  assertNoProblems();
});

step('d. photo page shows the display image; delete removes it everywhere', async () => {
  const id = uploaded.jpeg;
  const thumb = await page.locator(`.grid .card a[href="/photos/${id}"] img`).getAttribute('src');
  await Promise.all([page.waitForURL(`${BASE}/photos/${id}`), page.locator(`.grid .card a[href="/photos/${id}"]`).click()]);
  const img = page.locator('.photo-page figure img');
  await imagesLoaded(page, '.photo-page figure img');
  const natural = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
  assert.deepEqual(natural, [640, 480], 'the display image is the full 640×480 photo');
  const display = await img.getAttribute('src');
  assert.match(await page.locator('.photo-page figcaption').textContent(), new RegExp(`Uploaded by ${user.name}`));
  const del = page.locator('.photo-page button.danger');
  assert.ok(await del.isVisible(), 'the owner sees a delete button');
  await page.waitForLoadState('networkidle');
  await shot(page, 'desktop-photo.png');

  // The owner downloads the original, exactly as uploaded and under its own name.
  const [original] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('.photo-page .downloads a', { hasText: 'the original' }).click(),
  ]);
  assert.equal(original.suggestedFilename(), 'DSCN0010.jpg');
  assert.ok(readFileSync(await original.path()).equals(readFileSync(JPEG)), 'the original is the file as uploaded');
  const [full] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('.photo-page .downloads a', { hasText: 'full size' }).click(),
  ]);
  assert.equal(full.suggestedFilename(), 'DSCN0010.jpg');
  assert.ok(!readFileSync(await full.path()).includes('Exif'), 'the full-size download carries no EXIF');

  await Promise.all([page.waitForURL(`${BASE}/`), del.click()]);
  assert.deepEqual(await feedIds(page), [uploaded.png], 'the deleted photo is gone from the front page');
  assert.equal((await js.request.get(`/photos/${id}`)).status(), 404, 'its page is gone');
  assert.equal((await js.request.get(display)).status(), 404, 'its display image is gone');
  assert.equal((await js.request.get(thumb)).status(), 404, 'its thumbnail is gone');
  assertNoProblems();
});

step('e. log out: upload form gone, login form back', async () => {
  await Promise.all([page.waitForURL(`${BASE}/`), page.locator('header form[action="/logout"] button').click()]);
  assert.equal(await page.locator('form.upload-form').count(), 0, 'no upload form after logout');
  assert.ok(await page.locator('main form[action="/login"]').isVisible(), 'the login form is back');
  assert.equal(await page.locator('header .who').count(), 0);
  // The remaining photo is still public.
  assert.deepEqual(await feedIds(page), [uploaded.png]);
  assertNoProblems();
});

step('f. without JavaScript: log in and upload through the plain form', async () => {
  const nojs = await newContext({ javaScriptEnabled: false });
  const p = await nojs.newPage();
  await p.goto('/');
  await logIn(p);
  await p.locator('form.upload-form input[type=file]').setInputFiles([GIF]);
  const [post] = await Promise.all([
    p.waitForRequest((r) => r.method() === 'POST'),
    p.waitForURL(`${BASE}/`),
    p.locator('form.upload-form button[type=submit]').click(),
  ]);
  assert.equal(post.url(), `${BASE}/upload`, 'the plain form posted to /upload');
  assert.match(post.headers()['content-type'], /^multipart\/form-data; boundary=/);
  await assertLoggedIn(p);
  assert.equal(await p.locator('.upload-form .progress-list li').count(), 0, 'no script ran: no progress rows');
  const ids = await feedIds(p);
  assert.equal(ids.length, 2);
  assert.equal(ids[1], uploaded.png);
  uploaded.gif = ids[0];
  assert.equal((await p.locator('.grid .card .meta .by').first().textContent()).trim(), user.name);
  const thumb = await p.locator('.grid .card img').first().getAttribute('src');
  const res = await nojs.request.get(thumb);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /^image\//);
  await p.close();
  assertNoProblems();
});

step('g. drag and drop a file onto the drop zone', async () => {
  await logIn(page);
  const drop = page.locator('form.upload-form .drop');
  const file = { b64: readFileSync(WEBP).toString('base64'), name: path.basename(WEBP), type: 'image/webp' };
  const dataTransfer = await page.evaluateHandle(({ b64, name, type }) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type }));
    return dt;
  }, file);
  await drop.dispatchEvent('dragenter', { dataTransfer });
  await drop.dispatchEvent('dragover', { dataTransfer });
  assert.ok(await drop.evaluate((d) => d.classList.contains('over')), 'the drop zone lights up while dragging');
  const shown = (await feedIds(page)).length;
  await drop.dispatchEvent('drop', { dataTransfer });
  await page.locator('.upload-form .progress-list li.summary').waitFor({ timeout: STEP_TIMEOUT });
  await page.waitForFunction((n) => document.querySelectorAll('.feed .grid .card').length === n, shown + 1, { timeout: STEP_TIMEOUT });
  const ids = await feedIds(page);
  assert.deepEqual(ids.slice(1), [uploaded.gif, uploaded.png]);
  uploaded.webp = ids[0];
  const [photo] = await apiFeed(js);
  assert.equal(photo.id, uploaded.webp);
  assert.deepEqual([photo.width, photo.height, photo.uploaded_by], [128, 128, user.name]);
  await imagesLoaded(page, '.grid .card img');
  assertNoProblems();
});

step('g2. a file that is no image fails alone, with the server\'s message, and no reload', async () => {
  const before = await feedIds(page);
  const drop = page.locator('form.upload-form .drop');
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['this is not a photo\n'], 'notes.jpg', { type: 'image/jpeg' }));
    return dt;
  });
  await drop.dispatchEvent('drop', { dataTransfer });
  const status = page.locator('.upload-form .progress-list li .status');
  await page.waitForFunction(() => document.querySelector('.upload-form .progress-list .status.failed'), null, { timeout: STEP_TIMEOUT });
  const text = (await status.textContent()).trim();
  assert.ok(text.length > 10 && !/^failed/.test(text), `the row shows the server's message, not a bare status: "${text}"`);
  await page.waitForTimeout(300); // a reload would come right after the last upload
  await page.locator('#upload').screenshot({ path: path.join(SHOTS, 'desktop-upload-failed.png') });
  assert.equal(await page.locator('.upload-form .progress-list li:not(.summary)').count(), 1, 'the page did not reload');
  assert.equal((await page.locator('.upload-form .progress-list li.summary').textContent()).trim(),
    '0 of 1 photo uploaded; 1 failed (see above).');
  assert.deepEqual(await feedIds(page), before);
  assert.deepEqual(await feedIds(await page.reload().then(() => page)), before, 'nothing was stored');
  assertNoProblems([/HTTP 415: POST .*\/api\/v1\/photos/, /console error: Failed to load resource: .* 415/]);
});

step('h. responsive: phone view fits the screen', async () => {
  const phone = await newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const p = await phone.newPage();
  await p.goto('/');
  await imagesLoaded(p, '.grid .card img');
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no sideways scrolling on a phone (overflow ${overflow}px)`);
  await p.waitForLoadState('networkidle');
  await shot(p, 'phone-front-logged-out.png');
  await logIn(p);
  await imagesLoaded(p, '.grid .card img');
  const overflowIn = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflowIn <= 0, `no sideways scrolling when logged in (overflow ${overflowIn}px)`);
  await p.waitForLoadState('networkidle');
  await shot(p, 'phone-front-logged-in.png');
  await Promise.all([p.waitForURL(`${BASE}/photos/${uploaded.webp}`), p.locator(`.grid .card a[href="/photos/${uploaded.webp}"]`).click()]);
  await imagesLoaded(p, '.photo-page figure img');
  await shot(p, 'phone-photo.png');
  // Desktop for comparison, with every photo shown.
  await page.setViewportSize(DESKTOP);
  await page.goto('/');
  await imagesLoaded(page, '.grid .card img');
  await shot(page, 'desktop-front-final.png');
  assertNoProblems();
});

step('i. wrong password: one generic message (dark colour scheme)', async () => {
  const dark = await newContext({ colorScheme: 'dark' });
  const p = await dark.newPage();
  await p.goto('/login');
  await p.locator('main input[name=username]').fill(user.name);
  await p.locator('main input[name=password]').fill('not the password');
  const [res] = await Promise.all([p.waitForResponse((r) => r.request().method() === 'POST'), p.locator('main button[type=submit]').click()]);
  assert.equal(res.status(), 401);
  await p.waitForLoadState('load');
  const flash = (await p.locator('.flash').textContent()).trim();
  assert.equal(flash, 'Wrong username or password.');
  assert.equal(await p.locator('main input[name=username]').inputValue(), user.name, 'the username is kept');
  await shot(p, 'dark-login-failed.png');
  await p.goto('/');
  await imagesLoaded(p, '.grid .card img');
  await shot(p, 'dark-front-logged-out.png');
  assertNoProblems([/HTTP 401: POST .*\/login/, /console error: Failed to load resource: .* 401/]);
});

test('j. layout: nothing sticks out of its panel on a phone or a desktop', async () => {
  assert.ok(!broken, 'an earlier step failed');
  const found = [];
  for (const viewport of [PHONE, DESKTOP]) {
    const c = await newContext({ viewport });
    const p = await c.newPage();
    await p.goto('/');
    await logIn(p);
    for (const f of await overflowing(p)) found.push(`${viewport.width}px: ${f}`);
    await c.close();
  }
  problems.splice(0);
  assert.deepEqual(found, []);
});

step('k. a phone loads a small variant, a wide screen a large one (srcset)', async () => {
  // A 2048×1536 photo, stored at 320, 480, 640, 1024, 1600 and 2048 px wide.
  const big = path.join(mkdtempSync(path.join(tmpdir(), 'e2e-big-')), 'big.jpg');
  execFileSync('vips', ['resize', JPEG, `${big}[Q=90]`, '3.2']);
  const up = await newContext();
  const p = await up.newPage();
  await p.goto('/');
  await logIn(p);
  await p.locator('form.upload-form input[type=file]').setInputFiles([big]);
  await p.locator('.upload-form .progress-list li.summary').waitFor({ timeout: STEP_TIMEOUT });
  let photo = (await apiFeed(up))[0];
  assert.equal(photo.width, 2048);
  assert.deepEqual(photo.variants.map((v) => v.width), [320, 480, 640, 1024, 1600, 2048]);
  // AVIF and WebP come from a background job, seconds later.
  for (let i = 0; i < 120 && Object.keys(photo.formats).length < 2; ++i) {
    await new Promise((r) => setTimeout(r, 500));
    photo = await (await up.request.get(`/api/v1/photos/${photo.id}`)).json();
  }
  assert.deepEqual(Object.keys(photo.formats).sort(), ['avif', 'webp'], 'the further formats were made');
  const widthOf = new Map();
  for (const list of [photo.variants, photo.formats.avif, photo.formats.webp])
    for (const v of list) widthOf.set(new URL(v.url, BASE).href, v.width);
  const chosen = async (pg, selector) => {
    await imagesLoaded(pg, selector);
    const src = await pg.locator(selector).first().evaluate((img) => img.currentSrc);
    assert.ok(widthOf.has(src), `${src} is one of the photo's variants`);
    assert.match(src, /\.avif$/, 'Chromium takes the AVIF source of the <picture>');
    return widthOf.get(src);
  };
  const card = `.grid .card a[href="/photos/${photo.id}"] img`;
  const figure = '.photo-page figure img';

  const phone = await newContext({ viewport: PHONE });
  const fetched = [];
  phone.on('response', (r) => { if (widthOf.has(r.url())) fetched.push(widthOf.get(r.url())); });
  const q = await phone.newPage();
  await q.goto('/');
  const onCard = await chosen(q, card);
  assert.ok(onCard <= 640, `the phone's card shows the ${onCard} px variant`);
  await q.goto(`/photos/${photo.id}`);
  const onPage = await chosen(q, figure);
  assert.ok(onPage <= 640, `the phone's photo page shows the ${onPage} px variant`);
  assert.ok(fetched.every((w) => w <= 640), `the phone fetched only small variants: ${fetched}`);
  await shot(q, 'phone-photo-variant.png');

  await p.goto(`/photos/${photo.id}`);
  const onDesktop = await chosen(p, figure);
  // 1280×900: the photo is shown 960 px wide (80vh high), so `sizes` makes it 1024, not
  // 1600 (as it would without a working `sizes`) nor the 2048 px display variant.
  assert.equal(onDesktop, 1024, 'a desktop photo page shows the variant that fits');
  const shown = await p.locator(figure).evaluate((img) => [img.naturalWidth, Math.round(img.getBoundingClientRect().width)]);
  assert.deepEqual(shown, [960, 960], 'shown at the width sizes promised');
  assertNoProblems();
});

step('l. a mixed batch with a caption shows every result and the good photos at once; names, captions, pages, local times', async () => {
  // A viewer in Tokyo, in English: times are shown in their zone, UTC kept as the tooltip.
  const tokyo = await newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-US' });
  const p = await tokyo.newPage();
  await p.goto('/');
  await logIn(p);
  const notPhoto = path.join(mkdtempSync(path.join(tmpdir(), 'e2e-bad-')), 'notes.jpg');
  writeFileSync(notPhoto, 'this is not a photo\n');
  const before = await feedIds(p);
  await p.locator('form.upload-form input[name=caption]').fill('Harbour <at> dusk');
  await p.locator('form.upload-form input[type=file]').setInputFiles([PNG, notPhoto, GIF]);
  const summary = p.locator('.upload-form .progress-list li.summary');
  await summary.waitFor({ timeout: STEP_TIMEOUT });
  assert.equal((await summary.textContent()).trim(), '2 of 3 photos uploaded; 1 failed (see above).');
  const statuses = await p.locator('.upload-form .progress-list li:not(.summary) .status').allTextContents();
  assert.equal(statuses.length, 3);
  assert.ok(statuses[0].startsWith('done') && statuses[2].startsWith('done'), `the good files: ${statuses}`);
  assert.ok(/notes\.jpg/.test(statuses[1]), `the bad file's own message: ${statuses[1]}`);
  await p.waitForFunction((n) => document.querySelectorAll('.feed .grid .card').length === n, before.length + 2, { timeout: STEP_TIMEOUT });
  const ids = await feedIds(p);
  assert.deepEqual(ids.slice(2), before, 'both good photos are on the page, without a reload');
  await shot(p, 'desktop-mixed-batch.png');

  // The caption is each photo's alt text; the name links to the user's page.
  const card = p.locator(`.grid .card a[href="/photos/${ids[0]}"] img`);
  assert.equal(await card.getAttribute('alt'), 'Harbour <at> dusk');
  const time = p.locator('.grid .card .meta time').first();
  const utc = await time.getAttribute('title');
  const local = (await time.textContent()).trim();
  assert.match(utc, /UTC$/, `the tooltip keeps the UTC time: ${utc}`);
  assert.ok(!/UTC/.test(local) && local !== utc, `shown in the viewer's zone: "${local}"`);
  const iso = await time.getAttribute('datetime');
  const expected = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(new Date(iso));
  assert.equal(local, expected, 'as Tokyo reads it');

  await Promise.all([p.waitForURL(`${BASE}/u/${user.name}`), p.locator('.grid .card .meta a.by').first().click()]);
  assert.equal((await p.locator('h1').textContent()).trim(), `Photos by ${user.name}`);
  await shot(p, 'desktop-user-page.png');
  await Promise.all([p.waitForURL(`${BASE}/photos/${ids[0]}?in=user`), p.locator(`.grid .card a[href="/photos/${ids[0]}?in=user"]`).click()]);
  assert.equal((await p.locator('.photo-page .caption').textContent()).trim(), 'Harbour <at> dusk');
  await Promise.all([p.waitForURL(`${BASE}/photos/${ids[1]}?in=user`), p.locator('.photo-nav a[rel=next]').click()]);
  // The owner edits the caption; the next page says so (a flash message).
  await p.locator('.caption-form textarea').fill('Gulls over the harbour');
  await Promise.all([p.waitForURL(`${BASE}/photos/${ids[1]}`), p.locator('.caption-form button').click()]);
  assert.equal((await p.locator('.flash').textContent()).trim(), 'Caption saved.');
  assert.equal((await p.locator('.photo-page .caption').textContent()).trim(), 'Gulls over the harbour');
  await imagesLoaded(p, '.photo-page figure img');
  await shot(p, 'desktop-photo-caption.png');
  assertNoProblems([/HTTP 415: POST .*\/api\/v1\/photos/, /console error: Failed to load resource: .* 415/]);
});
