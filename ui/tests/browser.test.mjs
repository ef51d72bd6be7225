// The UI in headless Chromium (Debian's /usr/bin/chromium through playwright-core), with Tauri's IPC mocked by
// src/test/harness.ts. Run with `npm run test:browser` (which builds the harness first).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../harness-dist/', import.meta.url));
const artifacts = fileURLToPath(new URL('../../tests/artifacts/', import.meta.url));
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

let server;
let browser;
let base;

before(async () => {
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A fresh page on the harness, subscribed and ready for events. */
async function page() {
  const p = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(base);
  await p.waitForFunction(() => window.harness?.ready);
  p.errors = errors;
  return p;
}

let clock = Date.parse('2026-11-24T14:00:00Z');
function alert(id, change = {}) {
  clock += 1000;
  const t = new Date(clock).toISOString();
  return {
    server: 'http://127.0.0.1:8080', id, profile: 'station-reports', kind: 'report', title: `Report ${id}`,
    body: 'Station 4', priority: 'normal', assigned_to_me: false, first_received_at: t, received_at: t,
    status: null, server_time: null, notified_at: null, read_at: null, acknowledged_at: null, update_count: 0,
    responses: [], ...change,
  };
}
const liveServer = {
  label: 'Station 4', profile: 'station-reports',
  server: 'http://127.0.0.1:8080', demo: false, scripted: false, link: { status: 'live' },
  since: new Date(clock).toISOString(), down_since: null, latency_ms: 4, unread: 0,
};
// Snapshots and batches carry the rows the Rust side would hold; the harness's fake list keeps them and answers
// the UI's `list_window` requests from them.
const snapshot = (alerts, extra = {}) => ({
  type: 'snapshot', servers: [liveServer], alerts, gaps: [], list: null,
  unread: alerts.filter((a) => !a.read_at).length, notifications: { mode: 'normal' }, notify_failure: null,
  restoring: null, ...extra,
});
const batch = (alerts, unread) => ({
  type: 'batch', servers: [liveServer], alerts, gaps: [], list: null, unread, notifications: { mode: 'normal' },
  notify_failure: null, restoring: null,
});
const rowIds = (p) =>
  p.$$eval('[data-testid="alert-row"]', (rows) =>
    rows.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top).map((r) => r.dataset.alertId));

test('server text is rendered as text: XSS payloads stay inert', async () => {
  const p = await page();
  const payloads = [
    '<img src=x onerror="window.__xss=1">',
    '<a href="javascript:window.__xss=2">click</a>',
    '<script>window.__xss=3</script>',
    '"><svg onload="window.__xss=4">',
  ];
  const alerts = payloads.map((text, i) => alert(`x${i}`, { title: text, body: text }));
  await p.evaluate((e) => window.harness.emit(e), snapshot(alerts, {
    servers: [{ ...liveServer, label: payloads[0], link: { status: 'auth_failed', reason: payloads[1] } }],
  }));
  await p.waitForSelector('[data-testid="alert-row"]');
  const titles = await p.$$eval('[data-testid="alert-row"] .title', (els) => els.map((e) => e.textContent));
  for (const text of payloads) assert.ok(titles.includes(text), `${text} not shown literally`);
  await p.click('[data-testid="alert-row"]');
  await new Promise((r) => setTimeout(r, 300));
  const state = await p.evaluate(() => ({
    xss: window.__xss,
    injected: document.querySelectorAll('img[src="x"], a[href^="javascript"], svg[onload], main script').length,
  }));
  assert.deepEqual(state, { xss: undefined, injected: 0 });
  assert.match(await p.textContent('[data-testid="sign-in-again"]'), /javascript:window/);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('10,000 alerts: the page holds a window of them, scrolls by asking for more, and a burst of 1,000 lands', async () => {
  const p = await page();
  const many = Array.from({ length: 10_000 }, (_, i) => alert(`m${i}`, { read_at: '2026-11-24T13:00:00Z' }));
  await p.evaluate((e) => window.harness.emit(e), snapshot(many));
  await p.waitForFunction(() => document.querySelector('[data-testid="list-count"]').textContent === '10000 alerts');
  let drawn = await p.$$eval('[data-testid="alert-row"]', (r) => r.length);
  assert.ok(drawn > 5 && drawn < 80, `${drawn} rows in the DOM`);
  // The page asked for a window of rows, not for the list.
  const asked = await p.evaluate(() => window.harness.requests.map((r) => [r.offset, r.limit]));
  assert.deepEqual(asked.map(([offset]) => offset), [0]);
  assert.ok(asked[0][1] < 100, `asked for ${asked[0][1]} rows`);
  // Scrolled to the end: it asks for the rows there, and the oldest alert is drawn.
  await p.$eval('[data-testid="alert-list"]', (v) => (v.scrollTop = v.scrollHeight));
  await p.waitForSelector('[data-alert-id="m0"]');
  drawn = await p.$$eval('[data-testid="alert-row"]', (r) => r.length);
  assert.ok(drawn < 80, `${drawn} rows in the DOM after scrolling`);
  const last = await p.evaluate(() => window.harness.requests.at(-1));
  assert.ok(last.offset > 9_900 - 100 && last.limit < 100, JSON.stringify(last));
  // Back at the top for the burst.
  await p.$eval('[data-testid="alert-list"]', (v) => (v.scrollTop = 0));
  await p.waitForSelector('[data-alert-id="m9999"]');

  // 1,000 new alerts in 50 batches over about a second, as the Rust side sends them.
  const started = Date.now();
  for (let b = 0; b < 50; b++) {
    const fresh = Array.from({ length: 20 }, (_, i) => alert(`b${b * 20 + i}`));
    await p.evaluate((e) => window.harness.emit(e), batch(fresh, (b + 1) * 20));
    await new Promise((r) => setTimeout(r, 20));
  }
  await p.waitForFunction(() => document.querySelector('[data-testid="unread-badge"]').textContent === '1000');
  await p.waitForFunction(() => document.querySelector('[data-testid="list-count"]').textContent === '11000 alerts');
  console.log(`burst of 1000 drawn ${Date.now() - started} ms after it started`);
  await p.waitForSelector('[data-alert-id="b999"]');
  assert.equal((await rowIds(p))[0], 'b999');
  // The DOM holds at most a window's worth of rows, the page at most the window it asked for.
  drawn = await p.$$eval('[data-testid="alert-row"]', (r) => r.length);
  assert.ok(drawn < 80, `${drawn} rows in the DOM after the burst`);
  assert.equal(await p.title(), 'Alertdesk (1000)');
  assert.deepEqual(p.errors, []);
  await p.screenshot({ path: join(artifacts, 'ui-harness-10000.png') });
  await p.close();
});

test('keyboard: j/k move, Enter opens and marks read, a acknowledges, Shift+R marks all read', async () => {
  const p = await page();
  await p.evaluate((e) => window.harness.emit(e), snapshot([alert('k1'), alert('k2'), alert('k3', { assigned_to_me: true })]));
  await p.waitForSelector('[data-testid="alert-row"]');
  assert.deepEqual(await rowIds(p), ['k3', 'k2', 'k1']); // assignment to me pinned on top
  await p.focus('[data-testid="alert-list"]');
  for (const key of ['j', 'j', 'j', 'k', 'Enter', 'a', 'Shift+R']) await p.keyboard.press(key);
  const calls = await p.evaluate(() => window.harness.calls.filter(([c]) => c !== 'alert_detail' && c !== 'list_window'));
  const names = calls.map(([c]) => c);
  assert.deepEqual(names.slice(names.indexOf('mark_read')), ['mark_read', 'acknowledge', 'mark_all_read']);
  assert.deepEqual(calls.find(([c]) => c === 'mark_read')[1], { server: 'http://127.0.0.1:8080', id: 'k2' });
  // Signing out names the server the way the command takes it (two clicks: ask, then do).
  await p.click('[data-testid="sign-out"]');
  await p.click('[data-testid="sign-out"]');
  await p.waitForFunction(() => window.harness.calls.some(([c]) => c === 'sign_out'));
  const signOut = (await p.evaluate(() => window.harness.calls)).find(([c]) => c === 'sign_out');
  assert.deepEqual(signOut[1], { server: 'http://127.0.0.1:8080' });
  assert.equal(await p.getAttribute('[data-alert-id="k2"]', 'data-unread'), 'false');
  await p.keyboard.press('/');
  assert.equal(await p.evaluate(() => document.activeElement.dataset.testid), 'search');
  await p.keyboard.type('k1');
  await p.waitForFunction(() => document.querySelectorAll('[data-testid="alert-row"]').length === 1);
  await p.keyboard.press('Escape');
  await p.keyboard.press('?');
  assert.equal(await p.evaluate(() => document.querySelector('[data-testid="help-overlay"]').open), true);
  await p.close();
});

test('first run asks to sign in; a refused login shows why and keeps the form', async () => {
  const p = await page();
  await p.evaluate((e) => window.harness.emit(e), snapshot([], { servers: [] }));
  await p.waitForSelector('[data-testid="sign-in-form"]', { state: 'visible' });
  await p.fill('[data-testid="sign-in-server"]', 'http://127.0.0.1:9');
  await p.fill('[data-testid="sign-in-username"]', 'officer');
  await p.fill('[data-testid="sign-in-password"]', 'pw');
  await p.click('[data-testid="sign-in-submit"]');
  assert.match(await p.textContent('[data-testid="sign-in-error"]'), /station_id/); // required variable
  await p.fill('[data-testid="sign-in-var-station_id"]', '4');
  await p.click('[data-testid="sign-in-submit"]');
  await p.waitForFunction(() => /HTTP 401/.test(document.querySelector('[data-testid="sign-in-error"]').textContent));
  // The error arrived as {kind, message}: the message, and the window's advice for its kind.
  assert.match(await p.textContent('[data-testid="sign-in-error"]'), /HTTP 401\)\. Check the username and password\./);
  const form = await p.evaluate(() => window.harness.calls.find(([c]) => c === 'sign_in')[1].form);
  assert.deepEqual(form, {
    profile: 'station-reports', server: 'http://127.0.0.1:9', label: null, vars: { station_id: '4' },
    username: 'officer', password: 'pw', ca_file: null,
  });
  // The password is not kept in the page after the attempt, nor anywhere in storage.
  assert.equal(await p.inputValue('[data-testid="sign-in-password"]'), '');
  assert.equal(await p.evaluate(() => localStorage.length + sessionStorage.length), 0);
  await p.close();
});

test('the settings pane: keyboard only, a change is sent at once, a locked setting is shown disabled', async () => {
  const p = await page();
  await p.evaluate((e) => window.harness.emit(e), snapshot([]));
  await p.focus('[data-testid="alert-list"]');
  await p.keyboard.press(',');
  await p.waitForSelector('[data-testid="settings"][open]');
  // Focus starts on the first setting; Space toggles it, and the change goes to the Rust side at once.
  assert.equal(await p.evaluate(() => document.activeElement.dataset.testid), 'setting-on_duty');
  await p.keyboard.press('Space');
  await p.waitForFunction(() => window.harness.calls.some(([c]) => c === 'set_setting'));
  const sent = await p.evaluate(() => window.harness.calls.filter(([c]) => c === 'set_setting').map(([, a]) => a.change));
  assert.deepEqual(sent, [{ key: 'on_duty', value: false }]);
  await p.waitForFunction(() => /saved and applied/.test(document.querySelector('[data-testid="settings-status"]').textContent));
  // Quiet hours are locked: disabled, said so, and skipped by Tab.
  assert.equal(await p.isDisabled('[data-testid="setting-quiet_hours"]'), true);
  assert.equal(await p.isDisabled('[data-testid="setting-quiet-from"]'), true);
  assert.equal(await p.textContent('[data-testid="setting-note-quiet_hours"]'), 'Set by your department');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement.dataset.testid), 'setting-volume');
  // The theme: chosen with the keyboard, applied to the window at once.
  await p.focus('[data-testid="setting-theme"]');
  await p.selectOption('[data-testid="setting-theme"]', 'dark');
  await p.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
  await p.screenshot({ path: join(artifacts, 'ui-harness-settings.png') });
  await p.keyboard.press('Escape');
  await p.waitForFunction(() => !document.querySelector('[data-testid="settings"]').open);
  assert.deepEqual(p.errors, []);
  await p.close();
});
