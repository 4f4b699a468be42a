// The admin's dashboard end to end (docs/api/admin-dashboard.md): a known set of events of two
// tenants through the ingest API, then GET /dashboard/admin/summary with an admin token and with
// the secret key (exact figures), every widget against its part of the summary, who may call it,
// the ingest counters and dead letters, and the server's own performance from its self-telemetry.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, postEvents, query, request, runCli, show, sleep, stopAll,
  withDiagnostics,
} from './lib/harness.mjs';
import { signToken, tokenEnv } from './lib/tokens.mjs';

after(stopAll);

const kHour = 3600000;
const kDay = 24 * kHour;
const kWeek = 7 * kDay;
const kParts = ['active_users', 'events_over_time', 'top_events', 'funnel', 'retention', 'ingest',
  'system'];

let n = 0;
const ev = (type, user, ts, properties = {}) => ({
  event_id: `adm-${++n}`, type, user_id: user, timestamp: new Date(ts).toISOString(), properties,
});

// acme's users (T = when the test posts):
// u1 runs the whole funnel three hours ago and views a page; u2 views and saves a job; u3 viewed
// a job 4 days ago and searched 2 days ago; u4 searched 20 days ago; u5 viewed a page 40 days
// ago (the month before the month); u6 viewed a page 30 hours ago (the day before the day).
function acmeEvents(T) {
  return [
    ev('job_view', 'u1', T - 3 * kHour, { job_id: 'j1' }),
    ev('job_save', 'u1', T - 3 * kHour + 10 * 60000, { job_id: 'j1' }),
    ev('job_apply', 'u1', T - 3 * kHour + 20 * 60000, { job_id: 'j1', application_id: 'a1' }),
    ev('interview_scheduled', 'u1', T - 3 * kHour + 30 * 60000, { application_id: 'a1' }),
    ev('offer_received', 'u1', T - 3 * kHour + 40 * 60000, { application_id: 'a1' }),
    ev('page_view', 'u1', T - 2 * kHour, { path: '/jobs' }),
    ev('job_view', 'u2', T - 5 * kHour, { job_id: 'j2' }),
    ev('job_save', 'u2', T - 4 * kHour, { job_id: 'j2' }),
    ev('job_view', 'u3', T - 4 * kDay, { job_id: 'j3' }),
    ev('search', 'u3', T - 2 * kDay, { query: 'data' }),
    ev('search', 'u4', T - 20 * kDay, { query: 'data' }),
    ev('page_view', 'u5', T - 40 * kDay, { path: '/jobs' }),
    ev('page_view', 'u6', T - 30 * kHour, { path: '/jobs' }),
  ];
}

// What the summary must say about `events` at `now` for `days` UTC days (a model of the
// documented rules, independent of the server's code).
function expectedCharts(events, now, days) {
  const today = Math.floor(now / kDay) * kDay;
  const first = today - (days - 1) * kDay;
  const dayLabels = [];
  for (let d = 0; d < days; d++) dayLabels.push(new Date(first + d * kDay).toISOString().slice(0, 10));
  const dailyUsers = dayLabels.map(() => new Set());
  const total = dayLabels.map(() => 0);
  const byType = new Map();
  for (const e of events) {
    const ts = Date.parse(e.timestamp);
    if (ts < first || ts > now) continue;
    const d = Math.floor((ts - first) / kDay);
    dailyUsers[d].add(e.user_id);
    total[d]++;
    if (!byType.has(e.type)) byType.set(e.type, dayLabels.map(() => 0));
    byType.get(e.type)[d]++;
  }
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  const ranked = [...byType.entries()].sort((a, b) => sum(b[1]) - sum(a[1])
    || (a[0] < b[0] ? -1 : 1));
  const rows = ranked.slice(0, 5).map(([type, values]) => ({
    type, other: false, values, total: sum(values),
  }));
  if (ranked.length > 5) {
    const values = dayLabels.map((_, d) => sum(ranked.slice(5).map(([, v]) => v[d])));
    rows.push({ type: null, other: true, values, total: sum(values) });
  }
  // Retention: 8 UTC weeks, Monday first, the last one this week.
  const thisWeek = today - ((new Date(today).getUTCDay() + 6) % 7) * kDay;
  const firstWeek = thisWeek - 7 * kWeek;
  const seen = new Map();  // user -> sorted week indexes
  for (const e of [...events].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))) {
    const ts = Date.parse(e.timestamp);
    if (ts < firstWeek || ts > now) continue;
    const w = Math.floor((ts - firstWeek) / kWeek);
    if (!seen.has(e.user_id)) seen.set(e.user_id, []);
    seen.get(e.user_id).push(w);
  }
  const cohorts = [];
  for (let w = 0; w < 8; w++) {
    const users = [...seen.values()].filter((weeks) => weeks[0] === w);
    const counts = [];
    for (let k = 0; k < 8; k++) {
      counts.push(w + k > 7 ? null : users.filter((weeks) => weeks.includes(w + k)).length);
    }
    cohorts.push({
      week_start: `${new Date(firstWeek + w * kWeek).toISOString().slice(0, 19)}+00:00`,
      size: users.length,
      counts,
      fractions: counts.map((c) => (c === null || users.length === 0 ? null : c / users.length)),
    });
  }
  return {
    daily: dayLabels.map((day, d) => ({ day, users: dailyUsers[d].size })),
    events_over_time: { days: dayLabels, total, total_events: sum(total), by_type: rows },
    cohorts,
  };
}

describe('the admin dashboard', { timeout: 300000 }, () => {
  let server;
  let acme;
  let other;
  let system;
  let events;
  let posted;  // what the test sent: events, and their outcomes
  const admin = (tenant = 'acme') => signToken({ tenant, sub: 'boss', role: 'admin' });
  const get = (path, credential) => request(server, 'GET', path, {
    headers: credential ? { authorization: `Bearer ${credential}` } : {},
  });

  before(async () => {
    const dataDir = makeDataDir('ca-admin-');
    acme = await createKey(dataDir, 'acme');
    other = await createKey(dataDir, 'other');
    system = await createKey(dataDir, 'system');
    const policy = await runCli(['tenants', 'policy', '--data', dataDir, '--tenant', 'acme',
      '--late-days', '3650']);
    assert.equal(policy.code, 0, policy.stderr);
    server = await Server.start({
      dataDir, env: { ...tokenEnv, CA_STORE_FLUSH_INTERVAL_S: '1' }, label: 'admin-dashboard',
    });
    const T = Date.now();
    events = acmeEvents(T);
    const rejected = ev('interview_prep', 'u1', T - kHour, {});
    const first = await postEvents(server, { events: [...events, rejected] },
      { key: acme.write_key });
    assert.equal(first.status, 200, show(first));
    assert.equal(first.body.accepted, events.length, show(first));
    assert.equal(first.body.rejected.length, 1, show(first));
    const again = await postEvents(server, { events: events.slice(0, 2) }, { key: acme.write_key });
    assert.equal(again.status, 200, show(again));
    assert.equal(again.body.duplicates, 2, show(again));
    const others = [];
    for (const u of ['x1', 'x2', 'x3', 'x4']) {
      others.push(ev('job_view', u, T - kHour, { job_id: 'j9' }));
      others.push(ev('job_save', u, T - kHour + 60000, { job_id: 'j9' }));
    }
    const third = await postEvents(server, { events: others }, { key: other.write_key });
    assert.equal(third.status, 200, show(third));
    assert.equal(third.body.accepted, others.length, show(third));
    posted = {
      requests: 3,
      received: events.length + 1 + 2 + others.length,
      accepted: events.length + others.length,
      duplicate: 2,
      rejected: 1,
    };

    // Queryable: acme's events in the store, and the three ingest requests and a store flush in
    // the system tenant's telemetry. Only then the first summary (it is cached for a minute).
    const countOf = async (key, spec) => {
      const res = await query(server, key, {
        kind: 'trends', from: T - 60 * kDay, to: T + kDay, interval: 'month', ...spec,
      });
      assert.equal(res.status, 200, show(res));
      return res.body.series.reduce((s, row) => s + row.total, 0);
    };
    for (const end = Date.now() + 30000; ; await sleep(200)) {
      const stored = await countOf(acme.secret_key, { series: [{ event: '*', math: 'count' }] });
      const ingests = await countOf(system.secret_key, {
        series: [{
          event: 'perf_metric', math: 'count',
          filters: [{ property: 'route', op: 'eq', value: '/api/analytics/events' }],
        }],
      });
      // A flush in particular: the retention pass at start is a task run too.
      const flushes = await countOf(system.secret_key, {
        series: [{
          event: 'task_run', math: 'count',
          filters: [{ property: 'task', op: 'eq', value: 'store.flush' }],
        }],
      });
      if (stored === events.length && ingests === posted.requests && flushes > 0) break;
      assert.ok(Date.now() < end, `not queryable: ${stored} events, ${ingests} ingest requests, `
        + `${flushes} store flushes`);
    }
  });

  let summary;  // the admin's answer, for the widgets

  test('an admin reads exact figures of their tenant', withDiagnostics(async () => {
    const res = await get('/dashboard/admin/summary', admin());
    assert.equal(res.status, 200, show(res));
    summary = res.body;
    const now = Date.parse(summary.generated_at);
    assert.ok(Math.abs(now - Date.now()) < 60000, summary.generated_at);
    assert.deepEqual(Object.keys(summary),
      ['tenant', 'generated_at', 'days', 'timezone', ...kParts]);
    assert.equal(summary.tenant, 'acme');
    assert.equal(summary.days, 30);
    assert.equal(summary.timezone, 'UTC');

    const a = summary.active_users;
    assert.deepEqual(a.dau, { window_days: 1, value: 2, previous: 1, change_percent: 100 });
    assert.deepEqual(a.wau, { window_days: 7, value: 4, previous: 0, change_percent: null });
    assert.deepEqual(a.mau, { window_days: 30, value: 5, previous: 1, change_percent: 400 });
    const want = expectedCharts(events, now, 30);
    assert.deepEqual(a.daily, want.daily);

    assert.deepEqual(summary.events_over_time, want.events_over_time);

    assert.deepEqual(summary.top_events.events, [
      { type: 'job_view', count: 3, users: 3 },
      { type: 'job_save', count: 2, users: 2 },
      { type: 'page_view', count: 2, users: 2 },
      { type: 'interview_scheduled', count: 1, users: 1 },
      { type: 'job_apply', count: 1, users: 1 },
      { type: 'offer_received', count: 1, users: 1 },
      { type: 'search', count: 1, users: 1 },
    ]);

    const f = summary.funnel;
    assert.equal(f.window_days, 30);
    assert.deepEqual(f.steps.map((s) => s.event),
      ['job_view', 'job_save', 'job_apply', 'interview_scheduled', 'offer_received']);
    assert.deepEqual(f.steps.map((s) => s.users), [3, 2, 1, 1, 1]);
    assert.deepEqual(f.steps.map((s) => s.conversion_from_previous), [null, 2 / 3, 0.5, 1, 1]);
    assert.deepEqual(f.steps.map((s) => s.conversion_from_first), [1, 2 / 3, 1 / 3, 1 / 3, 1 / 3]);

    assert.equal(summary.retention.period, 'week');
    assert.deepEqual(summary.retention.cohorts, want.cohorts);
  }));

  test('ingest outcomes add up and the dead letters are listed without their events',
    withDiagnostics(async () => {
      const i = summary.ingest;
      assert.equal(i.scope, 'server');
      assert.ok(i.received > 0 && i.accepted > 0, JSON.stringify(i));
      assert.equal(i.accepted + i.duplicate + i.rejected, i.received, JSON.stringify(i));
      // The server's counters also hold its own telemetry (all accepted), nothing else.
      assert.equal(i.duplicate, posted.duplicate);
      assert.equal(i.rejected, posted.rejected);
      assert.ok(i.accepted >= posted.accepted, JSON.stringify(i));
      assert.ok(i.received >= posted.received, JSON.stringify(i));
      assert.equal(i.failed_writes, 0);
      const d = i.dead_letters;
      assert.equal(d.total, 1);
      assert.deepEqual(d.by_code, [{ code: 'unknown_event_type', count: 1 }]);
      assert.equal(d.recent.length, 1);
      assert.deepEqual(Object.keys(d.recent[0]), ['id', 'code', 'format', 'received_at']);
      assert.equal(d.recent[0].code, 'unknown_event_type');
      assert.equal(d.recent[0].format, 'native');
      assert.ok(!JSON.stringify(summary).includes('interview_prep'), 'no raw event in the answer');
    }));

  test('the server\'s own performance comes from its telemetry', withDiagnostics(async () => {
    const s = summary.system;
    assert.equal(s.tenant, 'system');
    assert.equal(s.available, true);
    for (const window of ['last_hour', 'last_day']) {
      const w = s[window];
      const ingest = w.routes.find((r) => r.route === '/api/analytics/events');
      assert.ok(ingest, `${window}: ${JSON.stringify(w.routes)}`);
      assert.equal(ingest.count, posted.requests);
      assert.equal(ingest.server_errors, 0);
      assert.ok(ingest.p50_ms <= ingest.p95_ms && ingest.p95_ms <= ingest.p99_ms, JSON.stringify(ingest));
      assert.ok(w.requests.count >= posted.requests);
      assert.ok(w.routes.length <= 10);
      const flush = w.tasks.find((t) => t.task === 'store.flush');
      assert.ok(flush && flush.runs >= 1 && flush.failures === 0, JSON.stringify(w.tasks));
      assert.ok(flush.mean_ms >= 0);
    }
    assert.deepEqual(s.recent_errors, []);
  }));

  test('each widget equals its part of the summary', withDiagnostics(async () => {
    for (const name of kParts) {
      const res = await get(`/dashboard/admin/widgets/${name}`, admin());
      assert.equal(res.status, 200, `${name}: ${show(res)}`);
      assert.deepEqual(res.body, summary[name], name);
    }
    const unknown = await get('/dashboard/admin/widgets/nope', admin());
    assert.equal(unknown.status, 404, show(unknown));
    assert.equal(unknown.body.error.code, 'not_found', show(unknown));
  }));

  test('the secret key reads the same; users, write keys and other tenants are refused',
    withDiagnostics(async () => {
      const secret = await get('/dashboard/admin/summary', acme.secret_key);
      assert.equal(secret.status, 200, show(secret));
      assert.deepEqual(secret.body, summary);
      const user = await get('/dashboard/admin/summary', signToken({ tenant: 'acme', sub: 'u1' }));
      assert.equal(user.status, 403, show(user));
      const userWidget = await get('/dashboard/admin/widgets/funnel',
        signToken({ tenant: 'acme', sub: 'u1' }));
      assert.equal(userWidget.status, 403, show(userWidget));
      assert.equal((await get('/dashboard/admin/summary', acme.write_key)).status, 403);
      assert.equal((await get('/dashboard/admin/summary', null)).status, 401);
      const cross = await get('/dashboard/admin/summary?tenant=acme', admin('other'));
      assert.equal(cross.status, 403, show(cross));
      // The other tenant's admin sees only theirs.
      const theirs = await get('/dashboard/admin/summary', admin('other'));
      assert.equal(theirs.status, 200, show(theirs));
      assert.equal(theirs.body.tenant, 'other');
      assert.equal(theirs.body.active_users.dau.value, 4);
      assert.equal(theirs.body.active_users.mau.value, 4);
      assert.deepEqual(theirs.body.funnel.steps.map((s) => s.users), [4, 4, 0, 0, 0]);
      assert.deepEqual(theirs.body.top_events.events, [
        { type: 'job_save', count: 4, users: 4 }, { type: 'job_view', count: 4, users: 4 },
      ]);
      assert.equal(theirs.body.ingest.dead_letters.total, 0);
    }));

  test('days and timezone are parameters, and are validated', withDiagnostics(async () => {
    const res = await get('/dashboard/admin/summary?days=7&timezone=Europe/Berlin', admin());
    assert.equal(res.status, 200, show(res));
    assert.equal(res.body.days, 7);
    assert.equal(res.body.timezone, 'Europe/Berlin');
    assert.equal(res.body.active_users.daily.length, 7);
    assert.equal(res.body.events_over_time.days.length, 7);
    assert.equal(res.body.retention.cohorts.length, 8);
    assert.match(res.body.retention.cohorts[7].week_start, /T00:00:00\+0[12]:00$/);
    assert.deepEqual(res.body.active_users.dau, summary.active_users.dau);
    const widget = await get('/dashboard/admin/widgets/funnel?days=7&timezone=Europe/Berlin',
      admin());
    assert.equal(widget.status, 200, show(widget));
    assert.equal(widget.body.window_days, 7);
    for (const bad of ['days=0', 'days=366', 'days=abc', 'days=7.5', 'timezone=Mars/Olympus',
      'timezone=..%2Fetc%2Fpasswd', 'timezone=Europe%2FBerlin%0A']) {
      const r = await get(`/dashboard/admin/summary?${bad}`, admin());
      assert.equal(r.status, 400, `${bad}: ${show(r)}`);
      assert.equal(r.body.error.code, 'invalid_argument', `${bad}: ${show(r)}`);
    }
  }));
});
