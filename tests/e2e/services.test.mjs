// The services behind dashboards, end to end against the real binary (issue 5): the job seeker's
// dashboard with their own user token (rollups, applications, responses, goal, market), widgets
// alone, external market data over HTTP and the trends it feeds with a forecast, the scheduled
// jobs, the API description.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, postEvents, request, runCli, show, sleep, stopAll,
  withDiagnostics,
} from './lib/harness.mjs';
import { signToken, tokenEnv } from './lib/tokens.mjs';

after(stopAll);

const kDay = 86400000;
// "Now" of every dashboard call: Wednesday 2025-03-12 12:00 UTC (13:00 in Berlin).
const kAt = '2025-03-12T12:00:00.000Z';
const kNow = Date.parse(kAt);

let n = 0;
const ev = (type, user, ts, properties = {}) => ({
  event_id: `svc-${++n}`, type, user_id: user, timestamp: new Date(ts).toISOString(), properties,
});

function history() {
  const e = [];
  // u1 told the platform who they are.
  e.push(ev('identify', 'u1', kNow - 20 * kDay, {
    traits: {
      timezone: 'Europe/Berlin', weekly_application_goal: 4, industry: 'Software',
      location: 'Berlin',
    },
  }));
  // Last week: four applications (goal met), two answered after 1 and 3 days, one ghosted.
  for (let i = 1; i <= 4; i++) {
    e.push(ev('job_view', 'u1', kNow - 8 * kDay + i * 1000, { job_id: `j${i}` }));
    e.push(ev('job_apply', 'u1', kNow - 8 * kDay + i * 60000, { job_id: `j${i}`, application_id: `a${i}` }));
  }
  e.push(ev('job_save', 'u1', kNow - 8 * kDay + 5000, { job_id: 'j1' }));
  e.push(ev('application_status_changed', 'u1', kNow - 7 * kDay + 60000, { application_id: 'a1', status: 'screening' }));
  e.push(ev('application_status_changed', 'u1', kNow - 5 * kDay + 120000, { application_id: 'a2', status: 'interview' }));
  e.push(ev('interview_scheduled', 'u1', kNow - 5 * kDay + 130000, { application_id: 'a2' }));
  e.push(ev('application_status_changed', 'u1', kNow - 2 * kDay, { application_id: 'a3', status: 'ghosted' }));
  // This week: two applications, without ids.
  e.push(ev('job_apply', 'u1', kNow - 2 * 3600000, { job_id: 'j5' }));
  e.push(ev('job_apply', 'u1', kNow - 26 * 3600000, { job_id: 'j6' }));
  e.push(ev('search', 'u1', kNow - 3600000, { query: 'c++ berlin' }));
  // Someone else.
  e.push(ev('job_apply', 'u2', kNow - 3600000, { job_id: 'j7' }));
  return e;
}

function marketCsv() {
  const rows = ['date,industry,location,average_salary,postings,competition'];
  for (let w = 9; w >= 0; w--) {
    const day = new Date(kNow - (w * 7 + 1) * kDay).toISOString().slice(0, 10);
    rows.push(`${day},Software,Berlin,${70000 + 500 * (9 - w)},${100 + 10 * (9 - w)},3.0`);
  }
  rows.push('2025-03-01,Software,Berlin,not-a-number,1,1');
  return `${rows.join('\n')}\n`;
}

describe('dashboards, market data and jobs', { timeout: 300000 }, () => {
  let dataDir;
  let keys;
  let server;
  const u1 = () => signToken({ tenant: 'acme', sub: 'u1' });
  const admin = () => signToken({ tenant: 'acme', sub: 'boss', role: 'admin' });
  const get = (path, token) => request(server, 'GET', path, {
    headers: { authorization: `Bearer ${token}` },
  });

  before(async () => {
    dataDir = makeDataDir('ca-services-');
    keys = await createKey(dataDir, 'acme');
    const policy = await runCli(['tenants', 'policy', '--data', dataDir, '--tenant', 'acme',
      '--late-days', '3650']);
    assert.equal(policy.code, 0, policy.stderr);
    server = await Server.start({ dataDir, env: tokenEnv, label: 'services' });
    const events = history();
    const res = await postEvents(server, { events }, { key: keys.write_key });
    assert.equal(res.status, 200, show(res));
    assert.equal(res.body.accepted, events.length, show(res));
    const imported = await request(server, 'POST', '/analytics/external?dataset=market', {
      body: marketCsv(),
      headers: { authorization: `Bearer ${keys.secret_key}`, 'content-type': 'text/csv' },
    });
    assert.equal(imported.status, 200, show(imported));
    assert.equal(imported.body.stored, 10, show(imported));
    assert.equal(imported.body.rejected, 1, show(imported));
    assert.equal(imported.body.rejections[0].code, 'invalid_number', show(imported));
    assert.equal(imported.body.rejections[0].line, 12, show(imported));
  });

  // The funnel comes from the rollups, which follow the log within about a second.
  async function summary(token, query = '') {
    let res;
    for (const started = Date.now(); Date.now() - started < 10000; await sleep(200)) {
      res = await get(`/dashboard/summary?at=${kAt}${query}`, token);
      if (res.status === 200 && res.body.funnel.steps[2].count === 6) return res;
    }
    return res;
  }

  test('a job seeker reads their own dashboard with their token', withDiagnostics(async () => {
    const res = await summary(u1());
    assert.equal(res.status, 200, show(res));
    const d = res.body;
    assert.equal(d.user_id, 'u1');
    assert.equal(d.applications_this_week.timezone, 'Europe/Berlin');
    assert.equal(d.applications_this_week.week_start, '2025-03-10T00:00:00+01:00');
    assert.equal(d.applications_this_week.total, 2);
    assert.equal(d.applications_this_week.goal, 4);
    assert.equal(d.goal_progress.streak_weeks, 1);
    assert.deepEqual(d.funnel.steps.map((s) => s.count), [4, 1, 6, 1, 0]);
    assert.equal(d.response.applications, 4);
    assert.equal(d.response.responded, 2);
    assert.equal(d.response.no_answer, 1);
    assert.equal(d.response.waiting, 1, 'the open application waits; it is not "no answer"');
    assert.equal(d.response.response_rate, 2 / 3);
    assert.deepEqual(d.status_breakdown, { applied: 1, ghosted: 1, interview: 1, screening: 1 });
    assert.equal(d.search_activity.total, 1);
    assert.equal(d.market_trends.available, true);
    assert.equal(d.market_trends.series.length, 10);
    // Recent activity: searches, saves, applications and what followed, newest first; no views.
    const recent = d.recent_activity.events;
    assert.ok(recent.length > 0 && recent.length <= 20, show(res));
    assert.ok(recent.every((e) => e.type !== 'job_view' && e.type !== 'page_view'), show(res));
    const times = recent.map((e) => Date.parse(e.timestamp));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
    assert.deepEqual(d.notifications, { notifications: [], unread: 0 });
  }));

  test('each widget alone equals its part of the summary', withDiagnostics(async () => {
    const whole = (await summary(u1())).body;
    for (const name of ['applications_this_week', 'goal_progress', 'funnel', 'response',
      'status_breakdown', 'search_activity', 'market_trends', 'recent_activity', 'notifications']) {
      const res = await get(`/dashboard/widgets/${name}?at=${kAt}`, u1());
      assert.equal(res.status, 200, `${name}: ${show(res)}`);
      assert.deepEqual(res.body, whole[name], name);
    }
    const unknown = await get(`/dashboard/widgets/nope?at=${kAt}`, u1());
    assert.equal(unknown.status, 404, show(unknown));
  }));

  test('a user reads only their own data; an admin and the secret key name the user', withDiagnostics(async () => {
    const other = await get(`/dashboard/summary?at=${kAt}&user_id=u2`, u1());
    assert.equal(other.status, 403, show(other));
    const asAdmin = await get(`/dashboard/summary?at=${kAt}&user_id=u2`, admin());
    assert.equal(asAdmin.status, 200, show(asAdmin));
    assert.equal(asAdmin.body.user_id, 'u2');
    assert.equal(asAdmin.body.applications_this_week.total, 1);
    const noUser = await get(`/dashboard/summary?at=${kAt}`, keys.secret_key);
    assert.equal(noUser.status, 400, show(noUser));
    const metrics = await get('/analytics/metrics/week?end=2025-03-12T12:00:00Z', u1());
    assert.equal(metrics.status, 200, show(metrics));
    assert.equal(metrics.body.user_id, 'u1');
    assert.equal(metrics.body.current.applications, 2);
    const badPeriod = await get('/analytics/metrics/decade?user_id=u1', keys.secret_key);
    assert.equal(badPeriod.status, 404, show(badPeriod));
  }));

  test('imported market data gives trends with change and a forecast', withDiagnostics(async () => {
    // Trends are computed up to today; the imported weeks lie before kNow, so ask for years.
    const res = await get('/analytics/trends?industry=software&location=BERLIN&days=3650&horizon=14', u1());
    assert.equal(res.status, 200, show(res));
    const t = res.body;
    assert.equal(t.series.length, 10);
    assert.ok(Math.abs(t.change_percent.average_salary - (4500 / 70000) * 100) < 1e-9, show(res));
    assert.equal(t.forecast.method, 'holt');
    const first = t.forecast.average_salary[0];
    assert.ok(first.lower <= first.value && first.value <= first.upper, JSON.stringify(first));
    assert.ok(first.value > 74000, JSON.stringify(first));
    const bad = await get('/analytics/trends?horizon=500', u1());
    assert.equal(bad.status, 400, show(bad));
  }));

  test('market data imported with the command line shows in trends', withDiagnostics(async () => {
    const file = path.join(dataDir, 'nursing.csv');
    fs.writeFileSync(file, 'date,industry,location,salary,job_postings,applicants_per_posting\n' +
      '2025-02-01,Nursing,Leeds,31000,40,2\n2025-02-08,Nursing,Leeds,31500,44,2.2\n' +
      '2025-02-15,Nursing,Leeds,32000,50,2.5\n2025-02-22,Nursing,Leeds,,50,2.5\n');
    // The server keeps running: the state store takes writes from both.
    const r = await runCli(['import', 'market', '--data', dataDir, '--file', file]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const receipt = JSON.parse(r.stdout);
    assert.equal(receipt.tenant, 'acme', 'the only tenant besides the server\'s own');
    assert.equal(receipt.stored, 3, r.stdout);
    assert.equal(receipt.rejections[0].line, 5, r.stdout);
    assert.equal(receipt.rejections[0].code, 'missing_field', r.stdout);
    const res = await get('/analytics/trends?industry=nursing&location=leeds&days=3650', u1());
    assert.equal(res.status, 200, show(res));
    assert.equal(res.body.series.length, 3, show(res));
    const none = await runCli(['import', 'market', '--data', dataDir, '--file', path.join(dataDir, 'missing.csv')]);
    assert.notEqual(none.code, 0);
  }));

  test('scheduled jobs are listed and can be run now', withDiagnostics(async () => {
    const list = await get('/analytics/jobs', keys.secret_key);
    assert.equal(list.status, 200, show(list));
    const job = list.body.jobs.find((j) => j.name === 'rollups.recompute');
    assert.ok(job, show(list));
    assert.equal(job.schedule, '30 2 * * *');
    assert.ok(Date.parse(job.next_run) > Date.now(), show(list));
    const run = await request(server, 'POST', '/analytics/jobs/rollups.recompute/run', {
      headers: { authorization: `Bearer ${keys.secret_key}` },
    });
    assert.equal(run.status, 202, show(run));
    let last = null;
    for (const started = Date.now(); Date.now() - started < 10000 && !last; await sleep(100)) {
      const again = await get('/analytics/jobs', keys.secret_key);
      last = again.body.jobs.find((j) => j.name === 'rollups.recompute').last_run;
    }
    assert.ok(last && last.ok, JSON.stringify(last));
    const missing = await request(server, 'POST', '/analytics/jobs/nope/run', {
      headers: { authorization: `Bearer ${keys.secret_key}` },
    });
    assert.equal(missing.status, 404, show(missing));
  }));

  test('/metrics passes promtool and has what operators watch', withDiagnostics(async () => {
    // One query, so that its latency has a sample.
    const q = await request(server, 'POST', '/analytics/query', {
      headers: { authorization: `Bearer ${keys.secret_key}` },
      body: JSON.stringify({ kind: 'trends', from: '2025-01-01T00:00:00Z', to: '2025-04-01T00:00:00Z', interval: 'month', series: [{ event: 'job_apply' }] }),
    });
    assert.equal(q.status, 200, show(q));
    const res = await request(server, 'GET', '/metrics');
    assert.equal(res.status, 200);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    assert.equal(check.error, undefined, 'promtool is missing: scripts/packages.sh installs prometheus');
    assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
    assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'promtool has no complaints');
    for (const family of [
      'ca_ingest_events_total{outcome="accepted"}', 'ca_wal_sync_duration_seconds_bucket',
      'ca_consumer_lag_bytes{consumer="store"}', 'ca_consumer_lag_bytes{consumer="rollups"}',
      'ca_query_duration_seconds_count{kind="trends"}', 'ca_cache_hit_ratio',
      'ca_http_requests_total{route="/dashboard/summary",method="GET",status="200"}',
    ]) {
      assert.ok(res.text.includes(family), `${family} missing from /metrics`);
    }
  }));

  test('an export runs in the background and streams its file', withDiagnostics(async () => {
    const auth = { authorization: `Bearer ${keys.secret_key}` };
    const submitted = await request(server, 'POST', '/analytics/export', {
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'events', format: 'csv', gzip: true, user_id: 'u1',
        from: '2025-01-01T00:00:00Z', to: '2025-04-01T00:00:00Z' }),
    });
    assert.equal(submitted.status, 202, show(submitted));
    const id = submitted.body.id;
    let job;
    for (const started = Date.now(); Date.now() - started < 20000; await sleep(100)) {
      job = (await request(server, 'GET', `/analytics/exports/${id}`, { headers: auth })).body;
      if (job.status === 'done' || job.status === 'failed') break;
    }
    assert.equal(job.status, 'done', JSON.stringify(job));
    const u1Events = history().filter((e) => e.user_id === 'u1').length;
    assert.equal(job.rows, u1Events, JSON.stringify(job));
    const res = await fetch(`${server.url}${job.download}`, { headers: auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/gzip');
    const csv = zlib.gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
    const lines = csv.trimEnd().split(/\r?\n/);
    assert.equal(lines.length, u1Events + 1, 'a header and one line per event');
    assert.match(lines[0], /event_id/);
    const otherTenant = await request(server, 'GET', `/analytics/exports/${id}`, {
      headers: { authorization: `Bearer ${u1()}` },
    });
    assert.equal(otherTenant.status, 403, show(otherTenant));
    const bad = await request(server, 'POST', '/analytics/export', {
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ dataset: 'nope' }),
    });
    assert.equal(bad.status, 400, show(bad));
  }));

  test('a person can have everything held on them, and have it deleted', withDiagnostics(async () => {
    const mine = await get('/analytics/users/u1/export', u1());
    assert.equal(mine.status, 200, show(mine));
    assert.equal(mine.body.user_id, 'u1');
    assert.equal(mine.body.traits.timezone, 'Europe/Berlin');
    assert.equal(mine.body.events.length, history().filter((e) => e.user_id === 'u1').length);
    assert.ok(mine.body.daily_metrics.length > 0, 'rollups exported');
    assert.ok(mine.body.weekly_metrics.length > 0, 'weekly summaries exported');
    const notMine = await get('/analytics/users/u2/export', u1());
    assert.equal(notMine.status, 403, show(notMine));

    // A rejected event of u2 is kept as a dead letter; deleting u2 removes it too.
    const rejected = await postEvents(server, {
      events: [{ event_id: 'svc-dead-u2', type: 'no_such_type', user_id: 'u2', timestamp: new Date(kNow).toISOString() }],
    }, { key: keys.write_key });
    assert.equal(rejected.status, 400, show(rejected));  // every event of the batch rejected
    assert.equal(rejected.body.rejected[0].code, 'unknown_event_type', show(rejected));
    const asUser = await request(server, 'DELETE', '/analytics/users/u2', {
      headers: { authorization: `Bearer ${u1()}` },
    });
    assert.equal(asUser.status, 403, show(asUser));
    const deleted = await request(server, 'DELETE', '/analytics/users/u2', {
      headers: { authorization: `Bearer ${keys.secret_key}` },
    });
    assert.equal(deleted.status, 200, show(deleted));
    assert.equal(deleted.body.user_id, 'u2');
    assert.equal(deleted.body.events_masked, 1, show(deleted));
    assert.equal(deleted.body.dead_letters_deleted, 1, show(deleted));
    assert.equal(deleted.body.suppressed, true);

    const after = await get('/analytics/users/u2/export', keys.secret_key);
    assert.equal(after.status, 200, show(after));
    assert.deepEqual(after.body.events, []);
    assert.deepEqual(after.body.daily_metrics, []);
    assert.deepEqual(after.body.dead_letters, []);
    assert.equal(after.body.suppressed, true);
    assert.equal(after.body.deletions.length, 1);
    const dashboard = await get(`/dashboard/summary?at=${kAt}&user_id=u2`, admin());
    assert.equal(dashboard.status, 200, show(dashboard));
    assert.equal(dashboard.body.applications_this_week.total, 0, 'deleted events are gone from dashboards');
    const again = await postEvents(server, {
      events: [{ event_id: 'svc-after-delete', type: 'job_apply', user_id: 'u2', timestamp: new Date(kNow).toISOString(), properties: { job_id: 'j1' } }],
    }, { key: keys.write_key });
    assert.equal(again.body.accepted, 0, show(again));
    assert.equal(again.body.rejected[0].code, 'user_suppressed', show(again));
  }));

  test('a user id with a slash is reached by its encoded form, to export and to delete', withDiagnostics(async () => {
    const user = 'org/7';
    const sent = await postEvents(server, {
      events: [{ event_id: 'svc-slash', type: 'job_apply', user_id: user, timestamp: new Date(kNow).toISOString(), properties: { job_id: 'j1' } }],
    }, { key: keys.write_key });
    assert.equal(sent.body.accepted, 1, show(sent));
    const route = `/analytics/users/${encodeURIComponent(user)}`;
    assert.equal(route, '/analytics/users/org%2F7');
    let mine;
    for (let i = 0; i < 40; i++) {  // the store shows it within a second of the acknowledgement
      mine = await get(`${route}/export`, keys.secret_key);
      if (mine.status !== 200 || mine.body.events.length > 0) break;
      await sleep(100);
    }
    assert.equal(mine.status, 200, show(mine));
    assert.equal(mine.body.user_id, user);
    assert.deepEqual(mine.body.events.map((e) => e.event_id), ['svc-slash']);
    const deleted = await request(server, 'DELETE', route, {
      headers: { authorization: `Bearer ${keys.secret_key}` },
    });
    assert.equal(deleted.status, 200, show(deleted));
    assert.equal(deleted.body.user_id, user);
    assert.equal(deleted.body.events_masked, 1, show(deleted));
    const after = await get(`${route}/export`, keys.secret_key);
    assert.deepEqual(after.body.events, []);
    assert.equal(after.body.suppressed, true);
  }));

  test('a person deleted while their events keep arriving leaves none behind', withDiagnostics(async () => {
    // Four senders post this person's events without pause while the deletion runs: whatever
    // was accepted before it must go with the rest, and nothing is accepted after it.
    const user = 'u-live';
    let deletedAt = 0;
    let sent = 0;
    const accepted = [];
    const sender = async (n) => {
      let suppressedAnswers = 0;
      for (let round = 0; suppressedAnswers < 3 && round < 2000; round++) {
        const events = [];
        for (let i = 0; i < 20; i++) {
          events.push({
            event_id: `live-${n}-${round}-${i}`, type: 'job_apply', user_id: user,
            timestamp: new Date(kNow).toISOString(), properties: { job_id: `j${i}` },
          });
        }
        const sentAfterDeletion = deletedAt !== 0;
        const res = await postEvents(server, { events }, { key: keys.write_key });
        sent += events.length;
        assert.ok(res.status === 200 || res.status === 400, show(res));
        if (res.body.accepted > 0) {
          assert.ok(!sentAfterDeletion, 'events sent after the deletion had answered were accepted');
          accepted.push(res.body.accepted);
        }
        if (res.body.rejected?.some((r) => r.code === 'user_suppressed')) suppressedAnswers++;
      }
      assert.equal(suppressedAnswers, 3, `sender ${n} was never refused`);
    };
    const senders = [0, 1, 2, 3].map(sender);
    while (sent < 400) await sleep(5);  // some are in the store, more on their way
    const deleted = await request(server, 'DELETE', `/analytics/users/${user}`, {
      headers: { authorization: `Bearer ${keys.secret_key}` },
    });
    assert.equal(deleted.status, 200, show(deleted));
    deletedAt = Date.now();
    await Promise.all(senders);
    assert.ok(accepted.length > 0, 'some events were accepted before the deletion');

    const after = await get(`/analytics/users/${user}/export`, keys.secret_key);
    assert.equal(after.status, 200, show(after));
    assert.equal(after.body.events.length, 0, `events left behind: ${JSON.stringify(after.body.events.slice(0, 3))}`);
    assert.deepEqual(after.body.daily_metrics, []);
    assert.equal(after.body.suppressed, true);
    // Still none once the rollups and the store have read everything that was sent.
    await sleep(1500);
    const later = await get(`/analytics/users/${user}/export`, keys.secret_key);
    assert.equal(later.body.events.length, 0, show(later));
    assert.deepEqual(later.body.daily_metrics, [], show(later));
  }));

  test('the API description lists the routes', withDiagnostics(async () => {
    const res = await request(server, 'GET', '/openapi.json');
    assert.equal(res.status, 200, show(res));
    assert.equal(res.body.openapi, '3.1.0');
    assert.ok(res.body.paths['/dashboard/summary'].get, 'dashboard described');
    assert.equal(res.body.paths['/dashboard/summary'].get['x-auth'], 'user');
  }));
});
