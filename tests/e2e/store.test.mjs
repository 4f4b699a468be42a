// The event store and the query API end to end, against the real binary: events are queryable
// within a second of their acknowledgement; queries are authorised by the secret key; the offline
// `query` command prints the same JSON as the HTTP API; `import events`, `store verify|dump`,
// `delete-user`, `compact` and `tenants retention` do what they say; a heavy query does not hold
// up ingestion; everything survives restarts without loss or doubles.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, newEventId, postEvents, query, queryEventsEach, runCli, show,
  stopAll, storeDumpEach, withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

const kDay = 86400000;
// A fixed window in the past, so that results do not depend on the clock.
const kStart = Date.parse('2025-03-03T00:00:00Z'); // a Monday
const kRange = { from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' };

/** Events of three users over ten days: user u<i> views jobs and applies on some days. */
function history() {
  const events = [];
  for (let u = 0; u < 3; u++) {
    for (let d = 0; d < 10; d++) {
      const ts = kStart + d * kDay + u * 3600000;
      events.push({
        event_id: `h-${u}-${d}-view`, type: 'job_view', user_id: `u${u}`, timestamp: ts,
        properties: { job_id: `job-${d}`, source: d % 2 ? 'search' : 'recommendations' },
      });
      events.push({
        event_id: `h-${u}-${d}-page`, type: 'page_view', user_id: `u${u}`, timestamp: ts + 1000,
        context: { page: { path: `/jobs/job-${d}` } },
      });
      if ((d + u) % 3 === 0) {
        events.push({
          event_id: `h-${u}-${d}-apply`, type: 'job_apply', user_id: `u${u}`, timestamp: ts + 60000,
          properties: { job_id: `job-${d}`, application_id: `app-${u}-${d}` },
        });
        events.push({
          event_id: `h-${u}-${d}-time`, type: 'time_spent', user_id: `u${u}`, timestamp: ts + 61000,
          properties: { seconds: 30 + d },
        });
      }
    }
  }
  return events;
}

async function cli(args) {
  const r = await runCli(args, { timeoutMs: 120000 });
  assert.equal(r.code, 0, `${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

const trendsSpec = {
  kind: 'trends', ...kRange, interval: 'week', timezone: 'Europe/Berlin',
  series: [
    { event: 'job_view' },
    { event: 'job_apply', math: 'unique_users' },
    { event: 'time_spent', math: 'sum' },
  ],
};

describe('event store and query API', { timeout: 300000 }, () => {
  let dataDir;
  let keys;
  let server;
  const events = history();

  before(async () => {
    dataDir = makeDataDir('ca-store-');
    keys = await createKey(dataDir, 'acme');
    // The history is from 2025: far older than the default late-event bound of 7 days.
    const policy = await runCli(['tenants', 'policy', '--data', dataDir, '--tenant', 'acme',
      '--late-days', '3650']);
    assert.equal(policy.code, 0, policy.stderr);
    assert.equal(JSON.parse(policy.stdout).late_days, 3650);
    server = await Server.start({ dataDir, label: 'store' });
    const res = await postEvents(server, { events }, { key: keys.write_key });
    assert.equal(res.status, 200, show(res));
    assert.equal(res.body.accepted, events.length, show(res));
  });

  test('a new event is queryable within one second of its acknowledgement', withDiagnostics(async () => {
    const marker = newEventId('visible');
    const ack = await postEvents(server, {
      events: [{ event_id: marker, type: 'search', user_id: 'u9', properties: { query: marker } }],
    }, { key: keys.write_key });
    assert.equal(ack.status, 200, show(ack));
    const acked = Date.now();
    const spec = {
      kind: 'events', from: acked - 3600000, to: acked + 3600000,
      filters: [{ property: 'query', op: 'eq', value: marker }],
    };
    let seenAfter = null;
    while (Date.now() - acked < 5000) {
      const res = await query(server, keys.secret_key, spec);
      assert.equal(res.status, 200, show(res));
      if (res.body.events.length === 1) {
        seenAfter = Date.now() - acked;
        assert.equal(res.body.events[0].event_id, marker);
        break;
      }
    }
    assert.ok(seenAfter !== null && seenAfter <= 1000, `visible after ${seenAfter} ms`);
  }));

  test('trends count, unique users and sums per week', withDiagnostics(async () => {
    const res = await query(server, keys.secret_key, trendsSpec);
    assert.equal(res.status, 200, show(res));
    const [views, appliers, seconds] = res.body.series;
    assert.equal(views.total, 30);
    assert.equal(appliers.total, 3);
    const applies = events.filter((e) => e.type === 'time_spent');
    assert.equal(seconds.total, applies.reduce((s, e) => s + e.properties.seconds, 0));
    assert.equal(res.body.buckets[0], '2025-02-24T00:00:00+01:00');
    assert.equal(views.values.reduce((a, b) => a + b, 0), 30);
  }));

  test('funnel, retention, paths and a filtered listing answer', withDiagnostics(async () => {
    const funnel = await query(server, keys.secret_key, {
      kind: 'funnel', ...kRange, window_ms: kDay, steps: [{ event: 'job_view' }, { event: 'job_apply' }],
    });
    assert.equal(funnel.status, 200, show(funnel));
    assert.equal(funnel.body.steps[0].count, 3);
    assert.equal(funnel.body.steps[1].count, 3);
    assert.equal(funnel.body.steps[1].median_ms_from_previous, 60000);

    const paths = await query(server, keys.secret_key, {
      kind: 'paths', ...kRange, event: { event: 'job_view' }, depth: 1, limit: 1,
    });
    assert.equal(paths.status, 200, show(paths));
    assert.deepEqual(paths.body.paths, [{ depth: 1, steps: ['job_view', 'page_view'], count: 30 }]);

    const retention = await query(server, keys.secret_key, {
      kind: 'retention', ...kRange, period: 'day', periods: 3,
      start_event: { event: 'job_view' }, return_event: { event: 'page_view' },
    });
    assert.equal(retention.status, 200, show(retention));
    assert.deepEqual(retention.body.cohorts[0].values, [3, 3, 3]);

    const listing = await query(server, keys.secret_key, {
      kind: 'events', ...kRange, limit: 5,
      filters: [{ field: 'user_id', op: 'eq', value: 'u1' }, { property: 'source', op: 'eq', value: 'search' }],
    });
    assert.equal(listing.status, 200, show(listing));
    assert.equal(listing.body.events.length, 5);
    assert.ok(listing.body.next_cursor);
    assert.ok(listing.body.events.every((e) => e.user_id === 'u1' && e.properties.source === 'search'));
  }));

  test('one user\'s metrics for a period against the period before', withDiagnostics(async () => {
    const end = new Date(kStart + 10 * kDay).toISOString();
    const res = await fetch(`${server.url}/analytics/metrics/week?user_id=u0&end=${end}`, {
      headers: { authorization: `Bearer ${keys.secret_key}` },
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.current.job_views, 7);
    assert.equal(body.previous.job_views, 3);
    assert.ok(Math.abs(body.change_percent.job_views - (7 - 3) / 3 * 100) < 1e-9);
    const missing = await fetch(`${server.url}/analytics/metrics/week`, {
      headers: { authorization: `Bearer ${keys.secret_key}` },
    });
    assert.equal(missing.status, 400);
  }));

  test('queries need the secret key and a valid spec', withDiagnostics(async () => {
    const none = await fetch(`${server.url}/analytics/query`, { method: 'POST', body: '{}' });
    assert.equal(none.status, 401);
    assert.equal((await query(server, keys.write_key, trendsSpec)).status, 403);
    assert.equal((await query(server, 'sk_forged', trendsSpec)).status, 401);
    const cases = [
      [{ ...trendsSpec, interval: 'fortnight' }, 'invalid_interval'],
      [{ ...trendsSpec, colour: 'red' }, 'unknown_field'],
      [{ ...trendsSpec, from: '2015-01-01T00:00:00Z' }, 'range_too_large'],
      [{ ...trendsSpec, filters: [{ field: 'user_id', op: 'gt', value: 3 }] }, 'invalid_filter'],
      [{ kind: 'events', ...kRange, cursor: '!!!' }, 'invalid_cursor'],
    ];
    for (const [spec, code] of cases) {
      const res = await query(server, keys.secret_key, spec);
      assert.equal(res.status, 400, show(res));
      assert.equal(res.body.error.code, code, show(res));
    }
  }));

  test('after a restart the offline query prints what the API printed; verify and dump agree',
    withDiagnostics(async () => {
      const before = await query(server, keys.secret_key, trendsSpec);
      assert.equal(before.status, 200, show(before));
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
      const specFile = path.join(dataDir, 'spec.json');
      fs.writeFileSync(specFile, JSON.stringify(trendsSpec));
      const offline = JSON.parse(await cli(['query', '--data', dataDir, '--tenant', 'acme', '--spec', specFile]));
      assert.deepEqual(offline, before.body);
      assert.match(await cli(['store', 'verify', '--data', dataDir]), /^ok: \d+ parts/);
      const ids = new Map();
      await storeDumpEach(dataDir, (e) => ids.set(e.event_id, (ids.get(e.event_id) ?? 0) + 1));
      for (const e of events) assert.equal(ids.get(e.event_id), 1, e.event_id);
      assert.ok([...ids.values()].every((n) => n === 1), 'no event stored twice');

      server = await Server.start({ dataDir, label: 'store restarted' });
      const again = await query(server, keys.secret_key, trendsSpec);
      assert.deepEqual(again.body, before.body);
    }));
});

describe('heavy queries', { timeout: 300000 }, () => {
  test('queries run on their own threads: ingestion is not held up by a queue of heavy queries',
    withDiagnostics(async () => {
      const dataDir = makeDataDir('ca-heavy-');
      const keys = await createKey(dataDir, 'demo');
      const file = path.join(dataDir, 'demo.jsonl');
      await cli(['bench', 'gen-events', '--users', '100', '--out', file]);
      const receipt = JSON.parse(await cli(['import', 'events', '--data', dataDir, '--tenant', 'demo', '--file', file]));
      assert.ok(receipt.accepted > 50000, JSON.stringify(receipt));
      const server = await Server.start({ dataDir, label: 'heavy', args: ['--threads', '2'] });
      const heavySpec = {
        kind: 'paths', from: '2024-09-01T00:00:00Z', to: '2025-01-02T00:00:00Z',
        event: { event: 'page_view' }, depth: 5, limit: 100,
      };
      const doneAt = [];
      const heavy = Array.from({ length: 24 }, async () => {
        const res = await query(server, keys.secret_key, heavySpec, { timeoutMs: 120000 });
        doneAt.push(Date.now());
        return res;
      });
      const latencies = [];
      for (let i = 0; i < 10; i++) {
        const t0 = Date.now();
        const res = await postEvents(server, {
          events: [{ type: 'login', user_id: 'x', event_id: newEventId('during') }],
        }, { key: keys.write_key });
        assert.equal(res.status, 200, show(res));
        latencies.push(Date.now() - t0);
      }
      const queriesDoneDuringIngest = doneAt.length;
      const results = await Promise.all(heavy);
      for (const res of results) assert.equal(res.status, 200, show(res));
      assert.ok(results[0].body.paths.length > 0);
      // 24 heavy queries queue on the query threads; the ingest requests, sent right behind
      // them, are all answered while most of that queue is still waiting. Were ingest queued
      // behind the queries, all 24 would be done first. (Counting against the whole queue, not
      // the first query, keeps this true on a loaded machine, where every query is slower.)
      assert.ok(queriesDoneDuringIngest <= 12,
        `${queriesDoneDuringIngest} of 24 heavy queries finished before 10 ingest requests were ` +
        `answered (latencies ${latencies.join(', ')} ms; queries done at ` +
        `${doneAt.map((t) => t - doneAt[0]).join(', ')} ms after the first)`);
      await server.stop();
    }));
});

describe('offline commands', { timeout: 300000 }, () => {
  test('import events: validation, dedup, line numbers; delete-user; compact; retention',
    withDiagnostics(async () => {
      const dataDir = makeDataDir('ca-import-');
      const keys = await createKey(dataDir, 'acme');
      const lines = [];
      for (let i = 0; i < 500; i++) {
        lines.push(JSON.stringify({
          event_id: `imp-${i}`, type: 'job_view', user_id: `user-${i % 5}`,
          timestamp: kStart + (i % 20) * kDay, properties: { job_id: `job-${i}` },
        }));
      }
      lines.push('');
      lines.push('{"type": "job_view", "user_id": "u", broken');
      lines.push(JSON.stringify({ event_id: 'imp-7', type: 'job_view', user_id: 'user-2', properties: { job_id: 'j' } }));
      lines.push(JSON.stringify({ event_id: 'imp-bad', type: 'no_such_type', user_id: 'u' }));
      const file = path.join(dataDir, 'events.jsonl');
      fs.writeFileSync(file, lines.join('\n') + '\n');
      // Offline commands read CA_* settings like the server: a bad one is refused.
      const bad = await runCli(['import', 'events', '--data', dataDir, '--tenant', 'acme', '--file', file],
        { env: { CA_INGEST_DEDUP_MAX_IDS: 'lots' } });
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stderr, /config_invalid/);
      const nowhere = path.join(dataDir, 'no-such-dir');
      const missing = await runCli(['import', 'events', '--data', nowhere, '--tenant', 'acme', '--file', file]);
      assert.equal(missing.code, 1, missing.stderr);
      assert.match(missing.stderr, /not_found: no data directory .*no-such-dir.*keys create --data/);
      assert.ok(!fs.existsSync(nowhere), 'nothing created');
      const receipt = JSON.parse(await cli(['import', 'events', '--data', dataDir, '--tenant', 'acme', '--file', file]));
      assert.equal(receipt.received, 503);
      assert.equal(receipt.accepted, 500);
      assert.equal(receipt.duplicates, 1);
      assert.equal(receipt.rejected, 2);
      assert.deepEqual(receipt.errors.map((e) => [e.line, e.code]).sort(),
        [[502, 'malformed_json'], [504, 'unknown_event_type']]);

      const countSpec = path.join(dataDir, 'count.json');
      fs.writeFileSync(countSpec, JSON.stringify({
        kind: 'trends', ...kRange, interval: 'month', series: [{ event: 'job_view' }],
        breakdown: { field: 'user_id', limit: 10 },
      }));
      const perUser = async () => {
        const out = JSON.parse(await cli(['query', '--data', dataDir, '--tenant', 'acme', '--spec', countSpec]));
        return Object.fromEntries(out.series.map((s) => [s.breakdown, s.total]));
      };
      assert.deepEqual(await perUser(), { 'user-0': 100, 'user-1': 100, 'user-2': 100, 'user-3': 100, 'user-4': 100 });

      const deletion = JSON.parse(await cli(['delete-user', '--data', dataDir, '--tenant', 'acme', '--user', 'user-2']));
      assert.equal(deletion.events_masked, 100);
      assert.equal(deletion.status, 'masked');
      assert.equal((await perUser())['user-2'], undefined, 'masked at once');
      await cli(['compact', '--data', dataDir]);
      const receipts = (await cli(['deletions', '--data', dataDir])).trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(receipts.length, 1);
      assert.equal(receipts[0].status, 'removed');
      let stored = 0;
      await storeDumpEach(dataDir, (e) => {
        assert.notEqual(e.user_id, 'user-2');
        stored++;
      });
      assert.equal(stored, 400);

      // Retention of 30 days relative to now drops every day of 2025-03 (whole partitions).
      await cli(['tenants', 'retention', '--data', dataDir, '--tenant', 'acme', '--days', '30']);
      await cli(['compact', '--data', dataDir]);
      const left = Object.values(await perUser()).reduce((a, b) => a + b, 0);
      assert.equal(left, 0, 'every partition older than the retention is gone');
      assert.match(await cli(['store', 'verify', '--data', dataDir]), /^ok: 0 parts/);
      assert.ok(keys.secret_key);
    }));
});
