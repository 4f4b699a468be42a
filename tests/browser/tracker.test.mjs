// tracker.js in Debian's chromium against the real binary. A small node:http server plays the
// customer's site on another loopback port (another origin); its page loads
// http://127.0.0.1:CA_PORT/tracker.js and calls ca.init. Every assertion about delivery is made
// against what the server stored (POST /analytics/query with the tenant's secret key).
//   scripts/build-web.sh && CA_BIN=.../career-analytics node --test tracker.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import {
  Server, createKey, freePort, makeDataDir, queryEventsEach, request, runCli, sleep, stopAll,
  withDiagnostics,
} from '../e2e/lib/harness.mjs';
import { launchBrowser } from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const kTrackerFile = path.resolve(here, '../../build/web/tracker.js');
const kPageTemplate = fs.readFileSync(path.join(here, 'pages/tracker.html'), 'utf8');
// Served for paths under /script-tag/: tracker.js started by its data-write-key alone.
const kScriptTagPage = fs.readFileSync(path.join(here, 'pages/script-tag.html'), 'utf8');
const kMaxGzipBytes = 6144;
const kEndpoint = '/api/analytics/events';

let browser;
let server; // shared by every test but the restart one
let site; // the customer's site
const keys = {}; // tenant -> {write_key, secret_key}

// ---- the customer's site ----------------------------------------------------------------------

/**
 * Serves the test page for any path (an SPA's routes, a form's action) on 127.0.0.1:PORT, and the
 * script-tag page under /script-tag/. The page posts to `site.caHost` with `site.writeKey`; both
 * are set by each test before it navigates.
 */
async function startSite() {
  const s = { caHost: '', writeKey: '', requests: [] };
  s.http = http.createServer((req, res) => {
    s.requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      if (req.url === '/favicon.ico') {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(s.html(req.url));
    });
  });
  s.html = (url = '/') => (url.startsWith('/script-tag/') ? kScriptTagPage : kPageTemplate)
    .replaceAll('__CA_HOST__', s.caHost).replaceAll('__CA_WRITE_KEY__', s.writeKey);
  await new Promise((resolve) => s.http.listen(0, '127.0.0.1', resolve));
  s.origin = `http://127.0.0.1:${s.http.address().port}`;
  s.use = (tenant, caHost = server.url) => {
    s.writeKey = keys[tenant].write_key;
    s.caHost = caHost;
  };
  return s;
}

/**
 * A fresh browser context (empty storage) with a page on the site. `opts` extend ca.init's options
 * (window.__caOpts); `initScript` runs before the page's scripts. Records the tracker's requests.
 */
async function openPage({ opts = {}, initScript = null, pathName = '/jobs', origin = site.origin } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(`window.__caOpts = ${JSON.stringify(opts)};`);
  if (initScript) await page.addInitScript(initScript);
  const posts = []; // {type, events, at}
  context.on('request', (r) => {
    if (!r.url().includes(kEndpoint) || r.method() !== 'POST') return;
    let events = [];
    try {
      events = JSON.parse(r.postData() ?? '{}').events ?? [];
    } catch {
      events = [];
    }
    posts.push({ type: r.resourceType(), events, at: Date.now() });
  });
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  await page.goto(`${origin}${pathName}`);
  return { context, page, posts, consoleLines };
}

const queueOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('_ca_q') || '[]'));

// ---- the analytics server ---------------------------------------------------------------------

async function storedEvents(srv, tenant) {
  const events = [];
  await queryEventsEach(srv, keys[tenant].secret_key, (e) => events.push(e));
  return events.sort((a, b) => a.timestamp.localeCompare(b.timestamp) || a.event_id.localeCompare(b.event_id));
}

/** Polls the tenant's stored events until `ready(events)`; returns them (throws on timeout). */
async function waitForEvents(srv, tenant, ready, { timeoutMs = 20000, what = 'events' } = {}) {
  const deadlineAt = Date.now() + timeoutMs;
  let events = [];
  for (;;) {
    events = await storedEvents(srv, tenant);
    if (ready(events)) return events;
    if (Date.now() > deadlineAt) {
      throw new Error(`timed out waiting for ${what}; stored: ` +
        JSON.stringify(events.map((e) => [e.type, e.context?.page?.path, e.properties])));
    }
    await sleep(250);
  }
}

const ofType = (events, type) => events.filter((e) => e.type === type);

async function metric(srv, name) {
  const res = await request(srv, 'GET', '/metrics');
  const line = res.text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

// ---- setup ------------------------------------------------------------------------------------

const kTenants = ['basic', 'snippet', 'auto', 'batch', 'beacon', 'offline', 'consent', 'dnt', 'faults',
  'origins', 'script-tag'];

before(async () => {
  assert.ok(fs.existsSync(kTrackerFile), `${kTrackerFile} is missing: run scripts/build-web.sh`);
  browser = await launchBrowser();
  site = await startSite();
  const dataDir = makeDataDir('ca-trk-');
  for (const tenant of kTenants) keys[tenant] = await createKey(dataDir, tenant);
  // Browsers may post only from the customer's site (the key's allowed origins).
  for (const tenant of kTenants) {
    const r = await runCli(['keys', 'origins', '--data', dataDir, '--key', keys[tenant].write_key,
      '--allow', site.origin]);
    assert.equal(r.code, 0, r.stderr);
  }
  server = await Server.start({ dataDir, label: 'tracker' });
});

after(async () => {
  await browser?.close();
  site?.http.close();
  await stopAll();
});

// ---- tests ------------------------------------------------------------------------------------

test('the server serves tracker.js, under 6 KB gzipped', withDiagnostics(async () => {
  const bytes = fs.readFileSync(kTrackerFile);
  const gzipped = zlib.gzipSync(bytes).length;
  console.log(`tracker.js: ${bytes.length} bytes minified, ${gzipped} bytes gzipped (limit ${kMaxGzipBytes})`);
  assert.ok(gzipped < kMaxGzipBytes, `tracker.js is ${gzipped} bytes gzipped`);
  const res = await request(server, 'GET', '/tracker.js');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /javascript/);
  assert.equal(res.text, bytes.toString('utf8'));
}));

test('page views (initial and SPA), custom events and identify reach the store', withDiagnostics(async () => {
  site.use('basic');
  const { context, page } = await openPage({ opts: { flushInterval: 500 } });
  await page.evaluate(() => history.pushState({}, '', '/jobs/42'));
  await page.evaluate(() => ca.track('job_view', { job_id: 'j1', source: 'search' }));
  await page.evaluate(() => { location.hash = 'details'; });
  await page.waitForFunction(() => location.hash === '#details');
  await page.evaluate(() => history.replaceState({ tab: 2 }, '')); // same address: no page view
  await page.evaluate(() => ca.identify('user-7', { industry: 'software' }));
  await page.evaluate(() => history.back()); // popstate back to /jobs/42
  await page.waitForFunction(() => location.hash === '');
  await page.evaluate(() => ca.track('job_save', { job_id: 'j1' }));

  const events = await waitForEvents(server, 'basic',
    (es) => ofType(es, 'page_view').length >= 4 && ofType(es, 'job_save').length === 1,
    { what: '4 page views and a job_save' });
  const views = ofType(events, 'page_view');
  assert.deepEqual(views.map((e) => new URL(e.context.page.url).pathname + new URL(e.context.page.url).hash),
    ['/jobs', '/jobs/42', '/jobs/42#details', '/jobs/42']);
  assert.deepEqual(views.map((e) => e.context.page.path), ['/jobs', '/jobs/42', '/jobs/42', '/jobs/42']);
  assert.equal(views[0].context.page.referrer, '');
  assert.equal(views[1].context.page.referrer, `${site.origin}/jobs`, 'an SPA view refers to the previous address');
  assert.equal(views[0].context.page.title, 'Jobs - Customer site');

  const [jobView] = ofType(events, 'job_view');
  assert.deepEqual(jobView.properties, { job_id: 'j1', source: 'search' });
  assert.equal(jobView.user_id, '', 'not identified yet');
  const [identify] = ofType(events, 'identify');
  assert.equal(identify.user_id, 'user-7');
  assert.deepEqual(identify.properties.traits, { industry: 'software' });
  const [jobSave] = ofType(events, 'job_save');
  assert.equal(jobSave.user_id, 'user-7', 'identify sets the user id of later events');

  // One visitor, one session, a client event id per event, page context from the browser.
  assert.equal(new Set(events.map((e) => e.anonymous_id)).size, 1);
  assert.equal(new Set(events.map((e) => e.session_id)).size, 1);
  for (const e of events) {
    assert.match(e.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(e.context.locale, 'en-US');
    assert.equal(typeof e.context.timezone, 'string');
    assert.ok(e.context.screen.width > 0);
    assert.equal(e.context.library.name, 'ca-tracker');
    assert.ok(Math.abs(Date.parse(e.timestamp) - Date.now()) < 60000);
  }
  assert.equal(events.length, 7, JSON.stringify(events.map((e) => e.type)));
  const stored = await page.evaluate(() => Object.keys(localStorage).sort());
  assert.deepEqual(stored, ['_ca_aid', '_ca_q', '_ca_sid', '_ca_uid']);
  assert.deepEqual(await context.cookies(), [], 'no cookies at all');
  // text/plain bodies with the key inside are simple requests: the server saw no CORS preflight.
  assert.ok(server.stderr.text.includes('"path":"/api/analytics/events"'), 'the server logs requests');
  assert.ok(!server.stderr.text.includes('"method":"OPTIONS"'), 'no preflight');

  // Logging out: reset forgets the user and starts a new anonymous id and session.
  await page.evaluate(() => { ca.reset(); ca.track('logout'); });
  const [logout] = ofType(await waitForEvents(server, 'basic', (es) => ofType(es, 'logout').length === 1,
    { what: 'the logout' }), 'logout');
  assert.equal(logout.user_id, '');
  assert.notEqual(logout.anonymous_id, jobSave.anonymous_id);
  assert.notEqual(logout.session_id, jobSave.session_id);
  await context.close();
}));

test('the loading snippet: calls made before tracker.js has loaded are kept', withDiagnostics(async () => {
  site.use('snippet');
  // The stub of docs/tracker.md, then calls before the script tag has even been parsed.
  const stub = `
    window.ca = window.ca || { q: [] };
    ['init', 'track', 'identify', 'page', 'consent', 'reset', 'flush'].forEach(function (m) {
      ca[m] = ca[m] || function () { ca.q.push([m, arguments]); };
    });
    ca.track('job_view', { job_id: 'early' });
    ca.identify('user-early');`;
  const { context } = await openPage({ opts: { flushInterval: 300 }, initScript: stub });
  const events = await waitForEvents(server, 'snippet', (es) => es.length === 3,
    { what: 'page view, early event, identify' });
  assert.deepEqual(events.map((e) => e.type).sort(), ['identify', 'job_view', 'page_view']);
  const [early] = ofType(events, 'job_view');
  assert.equal(early.properties.job_id, 'early');
  assert.equal(early.user_id, '', 'replayed in order: tracked before identify');
  assert.equal(ofType(events, 'identify')[0].user_id, 'user-early');
  await context.close();
}));

test('data-write-key alone starts the tracker; without localStorage its ids live for the page only',
  withDiagnostics(async () => {
    site.use('script-tag');
    // A browser that refuses storage to the site (privacy settings, some embedded views).
    const noStorage = `Object.defineProperty(window, 'localStorage', {
      configurable: true, get() { throw new DOMException('storage is disabled', 'SecurityError'); } });`;
    const { context, page } = await openPage({ pathName: '/script-tag/jobs', initScript: noStorage });
    assert.equal(await page.evaluate(() => { try { return typeof localStorage; } catch { return 'refused'; } }),
      'refused');
    await page.evaluate(() => { ca.track('job_view', { job_id: 'j9' }); ca.flush(); });
    const first = await waitForEvents(server, 'script-tag', (es) => es.length === 2,
      { what: 'the page view and the job view' });
    assert.deepEqual(first.map((e) => e.type).sort(), ['job_view', 'page_view']);
    assert.equal(first[0].context.page.path, '/script-tag/jobs', 'posted to the host tracker.js came from');
    assert.equal(new Set(first.map((e) => e.anonymous_id)).size, 1, 'one visitor within the page');
    assert.equal(new Set(first.map((e) => e.session_id)).size, 1);

    // Nothing was kept: the next page is a new visitor with a new session.
    await page.reload();
    await page.evaluate(() => ca.flush());
    const all = await waitForEvents(server, 'script-tag', (es) => es.length === 3, { what: 'a second page view' });
    const second = all.find((e) => !first.some((f) => f.event_id === e.event_id));
    assert.equal(second.type, 'page_view');
    assert.notEqual(second.anonymous_id, first[0].anonymous_id);
    assert.notEqual(second.session_id, first[0].session_id);
    assert.deepEqual(await context.cookies(), [], 'no cookies instead');
    await context.close();
  }));

test('autocapture: clicks and form submits, never input values', withDiagnostics(async () => {
  site.use('auto');
  const { context, page } = await openPage({
    opts: { flushInterval: 500, autocapture: { clicks: true, forms: true } },
  });
  await page.click('#apply');
  await page.click('#private'); // inside [data-ca-ignore]
  await page.fill('#q', 'typed-secret-query');
  await page.fill('input[name=password]', 'hunter2-typed');
  await Promise.all([page.waitForURL('**/search?from=header'), page.click('#search')]);
  // The form's page has gone (pagehide: beacon); the new page sends its own page view.
  await page.click('#job-link');
  await page.waitForURL('**/jobs/42?**');

  const events = await waitForEvents(server, 'auto',
    (es) => ofType(es, 'form_submit').length === 1 && ofType(es, 'page_view').length === 3 &&
      ofType(es, 'button_click').length === 3,
    { what: 'clicks, a form submit and 3 page views' });
  const clicks = ofType(events, 'button_click').map((e) => e.properties);
  assert.deepEqual(clicks[0], { tag: 'button', element_id: 'apply', text: 'Apply now' });
  assert.deepEqual(clicks[1], { tag: 'button', element_id: 'search', text: 'Search' });
  assert.deepEqual(clicks[2], { tag: 'a', element_id: 'job-link', text: 'Senior engineer at Acme',
    href: `${site.origin}/jobs/42` }, 'a link without its query');
  const [submit] = ofType(events, 'form_submit');
  assert.deepEqual(submit.properties, { form_id: 'search-form', action: `${site.origin}/search`, method: 'post' });
  const all = JSON.stringify(events);
  assert.ok(!all.includes('typed-secret-query') && !all.includes('hunter2'), 'input values are never captured');
  assert.ok(!all.includes('Private'), 'elements in [data-ca-ignore] are skipped');
  assert.deepEqual(await context.cookies(), []);
  await context.close();
}));

test('batching: under 10 events wait for the timer, 10 go at once', withDiagnostics(async () => {
  site.use('batch');
  // 1 page view + 4 events, flushed by the (shortened) timer only.
  const a = await openPage({ opts: { flushInterval: 4000 } });
  const openedAt = Date.now();
  await a.page.evaluate(() => { for (let i = 0; i < 4; i++) ca.track('search', { query: `q${i}` }); });
  await sleep(1500);
  assert.equal(a.posts.length, 0, 'nothing sent before the timer');
  assert.equal((await storedEvents(server, 'batch')).length, 0);
  assert.equal((await queueOf(a.page)).length, 5, 'the 5 events wait in the queue');
  await waitForEvents(server, 'batch', (es) => es.length === 5, { what: '5 events after the timer' });
  assert.equal(a.posts.length, 1, 'one request for the batch');
  assert.ok(a.posts[0].at - openedAt >= 3000, `sent ${a.posts[0].at - openedAt} ms after load`);
  assert.deepEqual(await queueOf(a.page), []);
  await a.context.close();

  // 1 page view + 9 events = 10: sent at once, long before a 60 s timer.
  const b = await openPage({ opts: { flushInterval: 60000 } });
  await b.page.evaluate(() => { for (let i = 0; i < 8; i++) ca.track('search', { query: `b${i}` }); });
  await sleep(1000);
  assert.equal(b.posts.length, 0, '9 events are not sent');
  await b.page.evaluate(() => ca.track('search', { query: 'b8' }));
  const events = await waitForEvents(server, 'batch', (es) => es.length === 15,
    { timeoutMs: 10000, what: '10 more events' });
  assert.equal(b.posts.length, 1);
  assert.equal(b.posts[0].events.length, 10);
  assert.equal(ofType(events, 'search').length, 13);
  await b.context.close();
}));

test('a hidden or closed page sends its queue with sendBeacon', withDiagnostics(async () => {
  site.use('beacon');
  const a = await openPage({ opts: { flushInterval: 60000 } });
  await a.page.evaluate(() => ca.track('job_view', { job_id: 'hidden-1' }));
  // The tab goes to the background.
  await a.page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await waitForEvents(server, 'beacon', (es) => es.length === 2, { what: 'events beaconed on visibilitychange' });
  assert.deepEqual(a.posts.map((p) => [p.type, p.events.length]), [['ping', 2]], 'one beacon');
  assert.deepEqual(await queueOf(a.page), []);
  await a.context.close();

  const b = await openPage({ opts: { flushInterval: 60000 } });
  await b.page.evaluate(() => ca.track('job_view', { job_id: 'closed-1' }));
  await b.page.close({ runBeforeUnload: true });
  const events = await waitForEvents(server, 'beacon', (es) => es.length === 4, { what: 'events beaconed on close' });
  assert.deepEqual(ofType(events, 'job_view').map((e) => e.properties.job_id).sort(), ['closed-1', 'hidden-1']);
  await b.context.close();
}));

test('offline: events stay queued in localStorage, survive a reload, arrive exactly once', withDiagnostics(async () => {
  site.use('offline');
  const dupsBefore = await metric(server, 'ca_ingest_events_total{outcome="duplicate"}');
  const { context, page } = await openPage({ opts: { flushInterval: 500 } });
  await waitForEvents(server, 'offline', (es) => es.length === 1, { what: 'the first page view' });
  await context.setOffline(true);
  await page.evaluate(() => { for (const id of ['o1', 'o2', 'o3']) ca.track('job_view', { job_id: id }); });
  await sleep(1500); // the timer fires while offline
  const queued = await queueOf(page);
  assert.deepEqual(queued.map((e) => e.properties.job_id), ['o1', 'o2', 'o3']);

  // Reload while offline: the browser serves the page and tracker.js from its "cache" (a route,
  // as the network is down); the queue is still there and a new page view joins it.
  // A page served by a route has no known address space, so chromium's Local Network Access checks
  // would treat it as public and refuse its requests to the loopback server; a real customer site and
  // analytics host are both public. Let the page reach loopback as the network-served one could.
  await context.grantPermissions(['local-network-access'], { origin: site.origin });
  await context.route(`${site.origin}/**`, (route) => route.fulfill({ contentType: 'text/html', body: site.html() }));
  await context.route('**/tracker.js', (route) => route.fulfill({ contentType: 'text/javascript', path: kTrackerFile }));
  await page.reload();
  await sleep(1000);
  const afterReload = await queueOf(page);
  assert.deepEqual(afterReload.slice(0, 3).map((e) => e.event_id), queued.map((e) => e.event_id));
  assert.equal(afterReload.length, 4);
  assert.equal((await storedEvents(server, 'offline')).length, 1, 'nothing arrived while offline');

  await context.setOffline(false); // 'online': flushed at once
  const events = await waitForEvents(server, 'offline', (es) => es.length === 5, { what: 'the offline events' });
  // (Events tracked in the same millisecond have no order.)
  assert.deepEqual(ofType(events, 'job_view').map((e) => e.properties.job_id).sort(), ['o1', 'o2', 'o3']);
  assert.deepEqual(ofType(events, 'job_view').map((e) => e.event_id).sort(), queued.map((e) => e.event_id).sort(),
    'stored under the ids they were queued with');
  await sleep(1000);
  assert.deepEqual(await queueOf(page), []);
  assert.equal(await metric(server, 'ca_ingest_events_total{outcome="duplicate"}'), dupsBefore,
    'each event was sent once');
  await context.close();
}));

test('the queue is bounded (500 events, 256 KiB, oldest dropped); sessions end after 30 idle minutes',
  withDiagnostics(async () => {
  site.use('offline');
  const { context, page } = await openPage({ opts: { flushInterval: 60000 } });
  await context.setOffline(true);
  await page.evaluate(() => { for (let i = 0; i < 520; i++) ca.track('job_view', { job_id: `b${i}` }); });
  let queue = await queueOf(page);
  assert.equal(queue.length, 500);
  assert.equal(queue[0].properties.job_id, 'b20', 'the oldest were dropped');
  assert.equal(queue[499].properties.job_id, 'b519');

  await page.evaluate(() => {
    for (let i = 0; i < 40; i++) ca.track('job_view', { job_id: `big${i}`, blob: 'x'.repeat(8000) });
  });
  queue = await queueOf(page);
  const bytes = await page.evaluate(() => localStorage.getItem('_ca_q').length);
  assert.ok(bytes <= 262144, `${bytes} bytes queued`);
  assert.equal(queue[queue.length - 1].properties.job_id, 'big39');
  assert.ok(queue.length < 40, `${queue.length} events kept`);

  // Sessions: 29 idle minutes keep the session, 31 start a new one.
  const sessionAfterIdle = (minutes) => page.evaluate((m) => {
    const s = JSON.parse(localStorage.getItem('_ca_sid'));
    localStorage.setItem('_ca_sid', JSON.stringify({ ...s, t: Date.now() - m * 60000 }));
    ca.track('search', { query: `idle ${m}` });
    const q = JSON.parse(localStorage.getItem('_ca_q'));
    return [s.id, q[q.length - 1].session_id];
  }, minutes);
  const [s1, s1After] = await sessionAfterIdle(29);
  assert.equal(s1After, s1);
  const [s2, s2After] = await sessionAfterIdle(31);
  assert.equal(s2, s1);
  assert.notEqual(s2After, s1);
  await context.close();
}));

test('consent: nothing before it is granted, nothing after it is withdrawn', withDiagnostics(async () => {
  site.use('consent');
  const { context, page, posts } = await openPage({ opts: { flushInterval: 500, requireConsent: true } });
  await page.evaluate(() => ca.track('job_view', { job_id: 'before-consent' }));
  await sleep(1500);
  assert.equal(posts.length, 0);
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), [], 'no ids stored before consent');

  await page.evaluate(() => ca.consent(true)); // the banner's "accept": a page view for this page
  await page.evaluate(() => ca.track('job_view', { job_id: 'granted' }));
  await waitForEvents(server, 'consent', (es) => es.length === 2, { what: 'events after consent' });

  // Queued but not yet sent when consent is withdrawn: never sent.
  await page.evaluate(() => {
    ca.track('job_view', { job_id: 'queued-then-withdrawn' });
    ca.consent(false);
  });
  assert.deepEqual(await page.evaluate(() => ({ ...localStorage })), { _ca_consent: '0' },
    'queue and ids are gone; only the choice is remembered');
  await page.evaluate(() => ca.track('job_view', { job_id: 'after-withdrawal' }));
  await page.evaluate(() => history.pushState({}, '', '/jobs/after'));
  await page.reload(); // the choice survives a reload
  await page.evaluate(() => ca.track('job_view', { job_id: 'after-reload' }));
  await sleep(2000);
  const events = await storedEvents(server, 'consent');
  assert.deepEqual(events.map((e) => e.properties.job_id ?? e.type), ['page_view', 'granted']);
  assert.deepEqual(await page.evaluate(() => ({ ...localStorage })), { _ca_consent: '0' });
  assert.deepEqual(await context.cookies(), []);
  await context.close();
}));

test('Do-Not-Track and Global Privacy Control: nothing is stored or sent', withDiagnostics(async () => {
  site.use('dnt');
  const signals = [
    "Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' });",
    "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });",
  ];
  for (const initScript of signals) {
    const { context, page, posts } = await openPage({ opts: { flushInterval: 300 }, initScript });
    await page.evaluate(() => {
      ca.track('job_view', { job_id: 'dnt' });
      ca.identify('user-dnt');
      ca.consent(true); // an explicit yes does not override the browser's signal
      ca.track('job_view', { job_id: 'dnt-2' });
      history.pushState({}, '', '/jobs/dnt');
    });
    await sleep(1500);
    await page.close({ runBeforeUnload: true });
    assert.equal(posts.length, 0, `no request with ${initScript}`);
    const other = await context.newPage();
    await other.route(`${site.origin}/empty`, (r) => r.fulfill({ contentType: 'text/html', body: '<p>empty</p>' }));
    await other.goto(`${site.origin}/empty`);
    assert.deepEqual(await other.evaluate(() => Object.keys(localStorage)), []);
    assert.deepEqual(await context.cookies(), []);
    await context.close();
  }
  assert.equal((await storedEvents(server, 'dnt')).length, 0);
}));

test('an origin the write key does not allow is refused (403) and not retried', withDiagnostics(async () => {
  site.use('origins');
  const otherOrigin = site.origin.replace('127.0.0.1', 'localhost'); // another origin, same server
  const { context, page, posts, consoleLines } = await openPage({ opts: { flushInterval: 300 }, origin: otherOrigin });
  await page.evaluate(() => ca.track('job_view', { job_id: 'x' }));
  await sleep(3000);
  assert.equal(posts.length, 1, 'sent once, not retried');
  assert.deepEqual(await queueOf(page), [], 'dropped');
  assert.ok(consoleLines.some((l) => /HTTP 403/.test(l)), consoleLines.join('\n'));
  assert.equal((await storedEvents(server, 'origins')).length, 0);
  await context.close();
}));

// A proxy in front of the server that answers some requests itself (to inject 503/429 answers).
async function startFaultProxy(target, decide) {
  const attempts = [];
  const proxy = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const cors = { 'access-control-allow-origin': req.headers.origin ?? '*', vary: 'Origin' };
      if (req.method === 'POST') {
        attempts.push({ at: Date.now(), events: JSON.parse(body.toString()).events ?? [] });
        const fault = decide(attempts.length);
        if (fault) {
          res.writeHead(fault.status, { ...cors, ...fault.headers, 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'unavailable', message: 'injected' } }));
          return;
        }
      }
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      const upstream = await fetch(`${target.url}${req.url}`, {
        method: req.method, headers, body: req.method === 'POST' ? body : undefined,
      });
      const out = {};
      upstream.headers.forEach((v, k) => { if (k !== 'content-encoding' && k !== 'content-length') out[k] = v; });
      res.writeHead(upstream.status, out);
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
  });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${proxy.address().port}`, attempts, close: () => proxy.close() };
}

test('503 and 429 are retried as Retry-After says; rejected events are dropped, never retried',
  withDiagnostics(async () => {
  // Attempts 2 and 3 get 503 / 429 with Retry-After: 2 (readable: the proxy exposes the header).
  const proxy = await startFaultProxy(server, (n) => {
    if (n === 2) return { status: 503, headers: { 'retry-after': '2', 'access-control-expose-headers': 'Retry-After' } };
    if (n === 3) return { status: 429, headers: { 'retry-after': '2', 'access-control-expose-headers': 'Retry-After' } };
    return null;
  });
  try {
    site.use('faults', proxy.url);
    const { context, page } = await openPage({ opts: { flushInterval: 300 } });
    await waitForEvents(server, 'faults', (es) => es.length === 1, { what: 'the page view' });
    await page.evaluate(() => ca.track('job_view', { job_id: 'retried' }));
    const events = await waitForEvents(server, 'faults', (es) => es.length === 2, { what: 'the retried event' });
    assert.equal(ofType(events, 'job_view')[0].properties.job_id, 'retried');
    assert.equal(proxy.attempts.length, 4);
    const gaps = [proxy.attempts[2].at - proxy.attempts[1].at, proxy.attempts[3].at - proxy.attempts[2].at];
    for (const gap of gaps) assert.ok(gap >= 1900 && gap < 8000, `waited ${gap} ms for Retry-After: 2`);
    assert.equal(new Set(proxy.attempts.slice(1).map((a) => a.events[0].event_id)).size, 1, 'the same event resent');

    // A batch the server refuses outright (400: every event rejected) and a batch with one bad event
    // (200 with a receipt): the rejected events are dropped and never sent again.
    const before = proxy.attempts.length;
    await page.evaluate(() => ca.track('no_such_type', { a: 1 }));
    await sleep(1500);
    await page.evaluate(() => { ca.track('job_view', {}); ca.track('job_view', { job_id: 'good' }); });
    await waitForEvents(server, 'faults', (es) => es.length === 3, { what: 'the good event' });
    await sleep(2500);
    assert.equal(proxy.attempts.length, before + 2, 'one request each, no retries');
    assert.deepEqual(await queueOf(page), []);
    await context.close();
  } finally {
    proxy.close();
  }
}));

test('server down: events are retried with backoff and arrive after a restart', withDiagnostics(async () => {
  const dataDir = makeDataDir('ca-trk-retry-');
  keys.restart = await createKey(dataDir, 'restart');
  const port = await freePort();
  let srv = new Server(dataDir, port, { label: 'tracker-restart' });
  await srv.launch();
  site.use('restart', srv.url);
  const { context, page, posts } = await openPage({ opts: { flushInterval: 300 } });
  await waitForEvents(srv, 'restart', (es) => es.length === 1, { what: 'the page view' });
  await srv.stop();
  await page.evaluate(() => { for (const id of ['r1', 'r2', 'r3']) ca.track('job_view', { job_id: id }); });
  await sleep(4000);
  assert.ok(posts.length >= 3, `retried ${posts.length - 1} times while down`);
  assert.equal((await queueOf(page)).length, 3, 'still queued');
  srv = new Server(dataDir, port, { label: 'tracker-restart-2' });
  await srv.launch();
  const events = await waitForEvents(srv, 'restart', (es) => es.length === 4,
    { timeoutMs: 40000, what: 'events after restart' });
  assert.deepEqual(ofType(events, 'job_view').map((e) => e.properties.job_id).sort(), ['r1', 'r2', 'r3']);
  const gaps = posts.slice(1).map((p, i) => p.at - posts[i].at);
  console.log(`attempts: ${posts.length}, gaps (ms): ${gaps.slice(1).join(', ')}`);
  await context.close();
  await srv.stop();
}));
