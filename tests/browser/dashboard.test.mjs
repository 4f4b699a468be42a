// The web dashboard in Debian's chromium against the real binary's `demo`: sign-in links, the job
// seeker's and the admin's widgets against their APIs, live updates within 2 seconds (WebSocket and
// the SSE fallback), hostile strings rendered as text under the strict CSP, first-render time,
// screenshots (desktop and phone, light and dark).
//   CA_BIN=build/h-web-rel/career-analytics node --test dashboard.test.mjs
// Knobs: CA_BROWSER_DEMO_USERS (default 40), CA_BROWSER_DEMO_DAYS (default 60).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, outPath } from './lib/browser.mjs';
import { apiJson, startDemo } from './lib/demo.mjs';

const kUsers = Number(process.env.CA_BROWSER_DEMO_USERS ?? 40);
const kDays = Number(process.env.CA_BROWSER_DEMO_DAYS ?? 60);
const kHostile = '<img src=x onerror=alert(1)>';
const kDesktop = { width: 1366, height: 900 };
const kPhone = { width: 390, height: 844 };

let demo;
let browser;
const seekerSub = () => JSON.parse(Buffer.from(demo.seekerToken.split('.')[1], 'base64url')).sub;

/**
 * A page in a fresh context that records what must never happen: dialogs, CSP violations
 * (securitypolicyviolation events, from an init script that runs before the app), console errors
 * and uncaught exceptions. `noWebSocket` removes window.WebSocket (the app falls back to SSE).
 */
async function openPage({ viewport = kDesktop, colorScheme = 'light', noWebSocket = false } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, timezoneId: 'UTC', locale: 'en-US', isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
    });
  });
  if (noWebSocket) await context.addInitScript(() => { delete window.WebSocket; });
  const page = await context.newPage();
  const report = { dialogs: [], consoleErrors: [], pageErrors: [] };
  page.on('dialog', (d) => {
    report.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    if (m.type() === 'error') report.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));
  return { context, page, report };
}

/** Fails on any dialog, CSP violation, console error or page error seen so far. */
async function assertClean(page, report) {
  const csp = await page.evaluate(() => window.__csp);
  assert.deepEqual(csp, [], `CSP violations: ${JSON.stringify(csp)}`);
  assert.deepEqual(report.dialogs, [], 'a dialog fired');
  assert.deepEqual(report.pageErrors, [], 'uncaught exceptions');
  assert.deepEqual(report.consoleErrors, [], 'console errors');
}

async function waitRendered(page, view) {
  await page.waitForFunction((v) => document.body.dataset.rendered === v || document.body.dataset.rendered === `${v}-error`, view, { timeout: 20000 });
  assert.equal(await page.evaluate(() => document.body.dataset.rendered), view);
}

/** `data-value` of the element with `testid` ('' for null). */
const valueOf = (page, testid) => page.getAttribute(`[data-testid="${testid}"]`, 'data-value');
const str = (v) => (v === null || v === undefined ? '' : String(v));

/** Widget states by name: {kpis: 'ready', ...}. */
const widgetStates = (page) => page.$$eval('[data-testid^="widget-"]', (nodes) => Object.fromEntries(nodes.map((n) => [n.dataset.testid.slice(7), n.dataset.state])));

async function postEvents(events) {
  const res = await apiJson(demo.url, '/api/analytics/events', { method: 'POST', body: { events }, headers: { 'X-Write-Key': demo.writeKey } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.accepted, events.length, JSON.stringify(res.body));
}

before(async () => {
  demo = await startDemo({ users: kUsers, days: kDays });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

describe('dashboard', () => {
  test('the demo prints sign-in links the server accepts, with the token only in the fragment', async () => {
    assert.ok(demo.seekerLink?.startsWith(`${demo.url}/#token=`), demo.stdout.join('\n'));
    assert.ok(demo.adminLink?.startsWith(`${demo.url}/#/admin?token=`), demo.stdout.join('\n'));
    const seeker = await apiJson(demo.url, '/dashboard/summary', { token: demo.seekerToken });
    assert.equal(seeker.status, 200, JSON.stringify(seeker.body));
    const claims = JSON.parse(Buffer.from(demo.adminToken.split('.')[1], 'base64url'));
    assert.equal(claims.role, 'admin');
    assert.equal(claims.tenant, 'demo');
    const page = await apiJson(demo.url, '/');
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(String(page.body), /<script>|<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in index.html');
  });

  test('job seeker: first render under 1 s, every widget with data, numbers equal the API', async () => {
    const { context, page, report } = await openPage();
    try {
      await page.goto(demo.seekerLink);
      await waitRendered(page, 'seeker');
      const renderedMs = await page.evaluate(() => performance.getEntriesByName('ca-rendered')[0]?.startTime);
      console.log(`job seeker first render: ${renderedMs?.toFixed(0)} ms after navigation start (${kUsers} demo users, ${kDays} days)`);
      assert.ok(renderedMs > 0 && renderedMs < 1000, `first render took ${renderedMs} ms`);
      // The token left the address bar and lives in this tab's sessionStorage.
      assert.doesNotMatch(page.url(), /token=/);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('ca.token')), demo.seekerToken);

      const states = await widgetStates(page);
      for (const name of ['kpis', 'applications', 'goal_progress', 'funnel', 'status_breakdown', 'response', 'market_trends', 'search_activity', 'recent_activity']) {
        assert.equal(states[name], 'ready', `widget ${name}: ${states[name]} (${JSON.stringify(states)})`);
      }
      assert.ok(['ready', 'empty'].includes(states.notifications), `notifications: ${states.notifications}`);

      let summary = (await apiJson(demo.url, '/dashboard/summary', { token: demo.seekerToken })).body;
      const generatedAt = await page.getAttribute('[data-testid="content"]', 'data-generated-at');
      if (summary.generated_at !== generatedAt) {
        // The cached answer expired between the page and the test: read both again.
        await page.reload();
        await waitRendered(page, 'seeker');
        summary = (await apiJson(demo.url, '/dashboard/summary', { token: demo.seekerToken })).body;
      }
      const metrics = (await apiJson(demo.url, '/analytics/metrics/week', { token: demo.seekerToken })).body;

      const a = summary.applications_this_week;
      assert.equal(await valueOf(page, 'kpi-applications-value'), str(a.total));
      assert.equal(await page.textContent('[data-testid="kpi-applications-value"]'), String(a.total));
      assert.equal(await valueOf(page, 'kpi-applications-goal'), str(a.goal));
      assert.equal(await valueOf(page, 'kpi-applications-period'), str(metrics.current.applications));
      assert.equal(await valueOf(page, 'kpi-applications-change'), str(metrics.change_percent.applications));
      assert.equal(await valueOf(page, 'kpi-response-rate-value'), str(metrics.current.response_rate));
      assert.equal(await valueOf(page, 'kpi-response-rate-change'), str(metrics.change_percent.response_rate));
      for (const k of ['interviews', 'offers']) {
        assert.equal(await valueOf(page, `kpi-${k}-value`), str(metrics.current[k]), k);
        assert.equal(await page.textContent(`[data-testid="kpi-${k}-value"]`), String(metrics.current[k]), k);
        assert.equal(await valueOf(page, `kpi-${k}-change`), str(metrics.change_percent[k]), k);
      }

      const g = summary.goal_progress;
      assert.equal(await valueOf(page, 'goal-this-week'), str(g.this_week));
      assert.equal(await valueOf(page, 'goal-remaining'), str(g.remaining));
      assert.equal(await valueOf(page, 'goal-streak'), str(g.streak_weeks));
      assert.deepEqual(await page.$$eval('[data-testid="goal-week"]', (n) => n.map((x) => Number(x.dataset.applications))), g.weeks.map((w) => w.applications));

      assert.deepEqual(await page.$$eval('[data-testid="funnel-step"]', (n) => n.map((x) => [x.dataset.step, Number(x.dataset.count)])),
        summary.funnel.steps.map((s) => [s.step, s.count]));
      const shownStatus = Object.fromEntries(await page.$$eval('[data-testid^="status-"]', (n) => n.map((x) => [x.dataset.status, Number(x.dataset.count)])));
      assert.deepEqual(shownStatus, summary.status_breakdown);

      const r = summary.response;
      assert.equal(await valueOf(page, 'response-rate'), str(r.response_rate));
      assert.equal(await valueOf(page, 'response-median'), str(r.median_days_to_first_response));
      assert.equal(await valueOf(page, 'response-responded'), str(r.responded));
      assert.equal(await valueOf(page, 'response-no-answer'), str(r.no_answer));
      assert.equal(await valueOf(page, 'response-waiting'), str(r.waiting));

      const m = summary.market_trends;
      assert.equal(m.available, true, `market trends: ${JSON.stringify(m)}`);
      for (const k of ['average_salary', 'postings', 'competition']) assert.equal(await valueOf(page, `market-${k}`), str(m.latest[k]), k);
      assert.equal(await valueOf(page, 'search-total'), str(summary.search_activity.total));

      const recent = summary.recent_activity ?? (await apiJson(demo.url, '/dashboard/widgets/recent_activity', { token: demo.seekerToken })).body;
      assert.ok(Array.isArray(recent?.events), `recent_activity: ${JSON.stringify(recent)}`);
      assert.deepEqual(await page.$$eval('[data-testid="activity-item"]', (n) => n.map((x) => x.dataset.eventId)), recent.events.map((e) => e.event_id));
      const notes = summary.notifications ?? (await apiJson(demo.url, '/dashboard/widgets/notifications', { token: demo.seekerToken })).body;
      assert.equal(await valueOf(page, 'notifications-unread'), str(notes?.unread ?? 0));

      // Interactions: the period toggle reloads the KPIs from /analytics/metrics/month.
      await page.click('[data-testid="period-toggle"] button[data-value="month"]');
      const month = (await apiJson(demo.url, '/analytics/metrics/month', { token: demo.seekerToken })).body;
      await page.waitForFunction((v) => document.querySelector('[data-testid="kpi-interviews-value"]')?.dataset.value === v, str(month.current.interviews));
      assert.equal(await valueOf(page, 'kpi-offers-value'), str(month.current.offers));
      // Charts are uPlot canvases with a legend that follows the cursor.
      assert.ok(await page.$('[data-testid="chart-market"] .uplot canvas'));
      await page.locator('[data-testid="chart-market"]').scrollIntoViewIfNeeded();
      const box = await page.locator('[data-testid="chart-market"] .u-over').boundingBox();
      await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
      assert.match(await page.textContent('[data-testid="chart-market"] .u-legend'), /\$[\d,]+/, 'the legend shows the hovered salary');
      // Range selection: dragging across the plot zooms the x scale.
      const full = await page.getAttribute('[data-testid="chart-market"]', 'data-range');
      await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      const zoomed = await page.getAttribute('[data-testid="chart-market"]', 'data-range');
      const span = (r) => r.split('-').map(Number).reduce((lo, hi) => hi - lo);
      assert.ok(span(zoomed) < span(full) * 0.6, `zoom: ${full} -> ${zoomed}`);
      await page.dblclick('[data-testid="chart-market"] .u-over');
      assert.equal(await page.getAttribute('[data-testid="chart-market"]', 'data-range'), full);
      await assertClean(page, report);
    } finally {
      await context.close();
    }
  });

  test('admin: every widget renders and the numbers equal the admin API', async () => {
    const { context, page, report } = await openPage();
    try {
      await page.goto(demo.adminLink);
      await waitRendered(page, 'admin');
      const renderedMs = await page.evaluate(() => performance.getEntriesByName('ca-rendered')[0]?.startTime);
      console.log(`admin first render: ${renderedMs?.toFixed(0)} ms`);
      const states = await widgetStates(page);
      for (const name of ['active_users', 'events_over_time', 'top_events', 'funnel', 'retention', 'ingest', 'system', 'live', 'live_feed']) {
        assert.equal(states[name], 'ready', `widget ${name}: ${states[name]} (${JSON.stringify(states)})`);
      }
      const path = '/dashboard/admin/summary?days=30&timezone=UTC';
      let s = (await apiJson(demo.url, path, { token: demo.adminToken })).body;
      if (s.generated_at !== (await page.getAttribute('[data-testid="content"]', 'data-generated-at'))) {
        await page.reload();
        await waitRendered(page, 'admin');
        s = (await apiJson(demo.url, path, { token: demo.adminToken })).body;
      }
      assert.equal(await page.getAttribute('[data-testid="content"]', 'data-generated-at'), s.generated_at);
      for (const k of ['dau', 'wau', 'mau']) {
        assert.equal(await valueOf(page, `kpi-admin-${k}-value`), str(s.active_users[k].value), k);
        assert.equal(await valueOf(page, `kpi-admin-${k}-change`), str(s.active_users[k].change_percent), k);
      }
      assert.equal(await valueOf(page, 'admin-events-total'), str(s.events_over_time.total_events));
      assert.deepEqual(await page.$$eval('[data-testid="admin-top-event"]', (n) => n.map((x) => [x.dataset.type, Number(x.dataset.count), Number(x.dataset.users)])),
        s.top_events.events.map((e) => [e.type, e.count, e.users]));
      assert.deepEqual(await page.$$eval('[data-testid="admin-funnel-step"]', (n) => n.map((x) => [x.dataset.event, Number(x.dataset.users)])),
        s.funnel.steps.map((e) => [e.event, e.users]));
      assert.deepEqual(await page.$$eval('[data-testid="admin-retention-row"]', (n) => n.map((x) => [x.dataset.week, Number(x.dataset.size)])),
        s.retention.cohorts.map((c) => [c.week_start, c.size]));
      assert.deepEqual(await page.$$eval('[data-testid="admin-retention-cell"]', (n) => n.map((x) => Number(x.dataset.count))),
        s.retention.cohorts.flatMap((c) => c.counts.filter((v) => v !== null)));
      for (const k of ['received', 'accepted', 'duplicate', 'rejected', 'failed_writes']) assert.equal(await valueOf(page, `admin-ingest-${k}`), str(s.ingest[k]), k);
      assert.equal(await valueOf(page, 'admin-dead-letters-total'), str(s.ingest.dead_letters.total));
      assert.equal(s.system.available, true, JSON.stringify(s.system));
      const h = s.system.last_hour.requests;
      assert.equal(await valueOf(page, 'admin-system-requests'), str(h.count));
      assert.equal(await valueOf(page, 'admin-system-p95'), str(h.p95_ms));
      assert.equal(await valueOf(page, 'admin-system-errors'), str(h.server_errors));
      assert.deepEqual(await page.$$eval('[data-testid="admin-system-route"]', (n) => n.map((x) => [x.dataset.route, Number(x.dataset.count)])),
        s.system.last_hour.routes.map((x) => [x.route, x.count]));
      // The live topic reports once a second.
      await page.waitForFunction(() => document.querySelector('[data-testid="admin-live-eps"]')?.dataset.value, null, { timeout: 5000 });
      assert.equal(await page.getAttribute('[data-testid="live-status"]', 'data-state'), 'live');
      // Breakdown toggle: total vs by type.
      const typeSeries = await page.$$eval('[data-testid="chart-events"] .u-legend .u-series', (n) => n.length);
      await page.click('[data-testid="events-toggle"] button[data-value="total"]');
      assert.equal(await page.$$eval('[data-testid="chart-events"] .u-legend .u-series', (n) => n.length), 2);
      assert.ok(typeSeries > 2);
      // An admin opens one job seeker's view (user_id on every request).
      await page.fill('#open-user', seekerSub());
      await page.click('[data-testid="open-user-form"] button[type="submit"]');
      await waitRendered(page, 'seeker');
      assert.match(page.url(), /#\/\?user=/);
      const asAdmin = (await apiJson(demo.url, `/dashboard/summary?user_id=${encodeURIComponent(seekerSub())}`, { token: demo.adminToken })).body;
      assert.equal(await valueOf(page, 'kpi-applications-value'), str(asAdmin.applications_this_week.total));
      assert.equal(await valueOf(page, 'goal-this-week'), str(asAdmin.goal_progress.this_week));
      await assertClean(page, report);
    } finally {
      await context.close();
    }
  });

  for (const transport of ['websocket', 'sse']) {
    test(`live over ${transport}: a new event shows within 2 s on both views, hostile strings as text`, async () => {
      const seeker = await openPage({ noWebSocket: transport === 'sse' });
      const admin = await openPage({ noWebSocket: transport === 'sse' });
      try {
        await seeker.page.goto(demo.seekerLink);
        await admin.page.goto(demo.adminLink);
        await waitRendered(seeker.page, 'seeker');
        await waitRendered(admin.page, 'admin');
        for (const p of [seeker.page, admin.page]) {
          await p.waitForFunction(() => document.querySelector('[data-testid="live-status"]')?.dataset.state === 'live', null, { timeout: 5000 });
          assert.equal(await p.getAttribute('[data-testid="live-status"]', 'data-transport'), transport);
        }
        const id = `browser-${transport}-${randomUUID()}`;
        const started = Date.now();
        await postEvents([{
          event_id: id,
          // A save: recent_activity holds searches, saves, applications and what followed them.
          type: 'job_save',
          user_id: seekerSub(),
          properties: { job_id: 'job-xss-1', job_title: kHostile, company: `"'><script>alert(2)</script>`, source: 'search' },
          context: { page: { path: '/jobs/job-xss-1', referrer: 'javascript:alert(3)', title: kHostile } },
        }]);
        const seen = await Promise.all([seeker.page, admin.page].map(async (p, i) => {
          const testid = i === 0 ? 'activity-item' : 'live-feed-item';
          await p.waitForSelector(`[data-testid="${testid}"][data-event-id="${id}"]`, { timeout: 2000 });
          return Date.now() - started;
        }));
        console.log(`live (${transport}): event shown on the job seeker's view after ${seen[0]} ms, on the admin's after ${seen[1]} ms (from the ingest request)`);
        for (const [p, report, testid] of [[seeker.page, seeker.report, 'activity-item'], [admin.page, admin.report, 'live-feed-item']]) {
          const item = p.locator(`[data-testid="${testid}"][data-event-id="${id}"]`);
          assert.match(await item.innerText(), new RegExp(kHostile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
          assert.equal(await item.locator('img, script').count(), 0);
          assert.equal(await p.locator('img[src="x"], img[onerror]').count(), 0);
          await p.waitForTimeout(200);
          await assertClean(p, report);
        }
        // Once the API holds it (the rollups follow within about a second), a fresh page shows the
        // same event from recent_activity, still as text.
        for (let i = 0; ; i++) {
          const recent = (await apiJson(demo.url, '/dashboard/widgets/recent_activity', { token: demo.seekerToken })).body;
          if (recent.events?.some((e) => e.event_id === id)) break;
          assert.ok(i < 50, 'recent_activity did not show the event within 5 s');
          await seeker.page.waitForTimeout(100);
        }
        await seeker.page.reload();
        await waitRendered(seeker.page, 'seeker');
        const item = seeker.page.locator(`[data-testid="activity-item"][data-event-id="${id}"]`);
        await item.waitFor({ timeout: 5000 });
        assert.match(await item.innerText(), /<img src=x onerror=alert\(1\)>/);
        assert.equal(await seeker.page.locator('img').count(), 0);
        await assertClean(seeker.page, seeker.report);
      } finally {
        await seeker.context.close();
        await admin.context.close();
      }
    });
  }

  test('screenshots: both views on a desktop, the job seeker on a phone, light and dark', async () => {
    const shots = [];
    for (const colorScheme of ['light', 'dark']) {
      for (const [name, link, view, viewport] of [['seeker-desktop', demo.seekerLink, 'seeker', kDesktop], ['admin-desktop', demo.adminLink, 'admin', kDesktop], ['seeker-phone', demo.seekerLink, 'seeker', kPhone]]) {
        const { context, page, report } = await openPage({ viewport, colorScheme });
        try {
          await page.goto(link);
          await waitRendered(page, view);
          assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), colorScheme);
          if (view === 'admin') await page.waitForFunction(() => document.querySelector('[data-testid="admin-live-eps"]')?.dataset.value, null, { timeout: 5000 });
          // Nothing wider than the screen: the grid reflows to one column on a phone.
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `${name}: the page is ${overflow}px wider than the viewport`);
          const file = outPath(`dashboard-${name}-${colorScheme}.png`);
          await page.screenshot({ path: file, fullPage: true });
          shots.push(file);
          await assertClean(page, report);
        } finally {
          await context.close();
        }
      }
    }
    // The toggle switches the theme and remembers it.
    const { context, page } = await openPage({ colorScheme: 'light' });
    try {
      await page.goto(demo.seekerLink);
      await waitRendered(page, 'seeker');
      await page.click('[data-testid="theme-toggle"]');
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
      await page.reload();
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    } finally {
      await context.close();
    }
    console.log(`screenshots:\n  ${shots.join('\n  ')}`);
  });

  test('sign-in: the form without a token, a rejected token back to the form, sign-out', async () => {
    const { context, page, report } = await openPage();
    try {
      await page.goto(`${demo.url}/`);
      await page.waitForSelector('[data-testid="signin-form"]');
      // A token the server rejects (signed with another secret): 401, back to the form with the reason.
      const [h, p] = demo.seekerToken.split('.');
      const rejected = `${h}.${p}.${'A'.repeat(43)}`;
      // The rejected view's other requests answer late, after the next sign-in: their 401s must
      // not sign that one out.
      let rejectedRequests = 0;
      await page.route('**/*', async (route) => {
        const auth = route.request().headers().authorization ?? '';
        if (auth === `Bearer ${rejected}` && rejectedRequests++ > 0) {
          await new Promise((resolve) => setTimeout(resolve, 1500));
        }
        await route.continue();
      });
      await page.fill('[data-testid="signin-token"]', rejected);
      await page.click('[data-testid="signin-submit"]');
      await page.waitForSelector('[data-testid="signin-message"]');
      assert.match(await page.textContent('[data-testid="signin-message"]'), /signature/i);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('ca.token')), null);
      await page.fill('[data-testid="signin-token"]', demo.seekerToken);
      await page.click('[data-testid="signin-submit"]');
      await waitRendered(page, 'seeker');
      assert.ok(rejectedRequests > 1, `the rejected view made ${rejectedRequests} requests`);
      await page.waitForTimeout(2000); // the late 401s arrive
      assert.equal(await page.evaluate(() => document.body.dataset.rendered), 'seeker');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('ca.token')), demo.seekerToken);
      await page.click('[data-testid="sign-out"]');
      await page.waitForSelector('[data-testid="signin-form"]');
      assert.equal(await page.evaluate(() => sessionStorage.getItem('ca.token')), null);
      report.consoleErrors = report.consoleErrors.filter((e) => !/401/.test(e));
      await assertClean(page, report);
    } finally {
      await context.close();
    }
  });

  test('a restarted demo keeps its secret: earlier sign-in links still work', async () => {
    const old = demo;
    await old.stop();
    demo = await startDemo({ dataDir: old.dataDir, users: kUsers, days: kDays });
    for (const [token, path] of [[old.seekerToken, '/dashboard/summary'], [old.adminToken, '/analytics/dead-letters']]) {
      const res = await apiJson(demo.url, path, { token });
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    }
    assert.equal(seekerSub(), JSON.parse(Buffer.from(old.seekerToken.split('.')[1], 'base64url')).sub);
  });
});
