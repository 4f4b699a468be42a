// The ingest endpoint accepts valid events in every supported way and deduplicates by
// (tenant, event_id), across batches and across restarts; `wal dump` shows what was stored.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, newEventId, pageView, postEvents, request, runCli, show, sleep, stopAll,
  walDump, withDiagnostics,
} from './lib/harness.mjs';
import { oneOfEachType } from './lib/events.mjs';

after(stopAll);

/** Asserts that every key of `expected` deep-equals the same key of `actual`. */
function assertSubset(actual, expected, what) {
  assert.ok(actual && typeof actual === 'object', `${what}: expected an object, got ${JSON.stringify(actual)}`);
  for (const [k, v] of Object.entries(expected)) {
    assert.deepEqual(actual[k], v, `${what}.${k}`);
  }
}

function assertAllAccepted(res, n) {
  assert.equal(res.status, 200, show(res));
  assert.deepEqual(res.body, { accepted: n, duplicates: 0, rejected: [] }, show(res));
}

/** `ms` as ISO-8601 local time at UTC+offsetMinutes, e.g. 2025-06-01T14:30:00.250+02:00. */
function isoWithOffset(ms, offsetMinutes) {
  const local = new Date(ms + offsetMinutes * 60000).toISOString().slice(0, -1);
  const sign = offsetMinutes >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

/** Number of times each event_id of `tenant` appears in the dump. */
function countIds(events, tenant) {
  const counts = new Map();
  for (const e of events) {
    if (e.tenant === tenant) counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
  }
  return counts;
}

describe('ingest', { timeout: 120000 }, () => {
  let dataDir;
  let key;
  let server;

  before(async () => {
    dataDir = makeDataDir();
    key = await createKey(dataDir, 'acme');
    server = await Server.start({ dataDir, label: 'ingest' });
  });

  test('a valid batch of every event type is stored with the right fields',
    withDiagnostics(async () => {
      const events = oneOfEachType();
      // Variants: anonymous only, both ids, epoch-ms timestamp, timestamp with an offset.
      events.push(pageView({ user_id: undefined, anonymous_id: 'anon-7', session_id: 's-anon' }));
      events.push(pageView({ user_id: 'user-2', anonymous_id: 'anon-8' }));
      const epochMs = Date.now() - 3600 * 1000;
      events.push(pageView({ timestamp: epochMs }));
      events.push(pageView({ timestamp: isoWithOffset(Date.now() - 2 * 86400 * 1000 + 250, 120) }));
      const sentAt = new Date().toISOString();
      const startMs = Date.now();
      const res = await postEvents(server, { events, sent_at: sentAt }, { key: key.write_key });
      const afterMs = Date.now();
      assertAllAccepted(res, events.length);

      const dumped = new Map((await walDump(dataDir)).map((e) => [e.event_id, e]));
      for (const sent of events) {
        const got = dumped.get(sent.event_id);
        assert.ok(got, `event ${sent.event_id} (${sent.type}) missing from wal dump`);
        const what = `${sent.type} ${sent.event_id}`;
        assert.equal(got.tenant, 'acme', what);
        assert.equal(got.type, sent.type, what);
        if (sent.user_id === undefined) assert.ok(!got.user_id, `${what}: no user_id was sent`);
        else assert.equal(got.user_id, sent.user_id, what);
        if (sent.anonymous_id !== undefined) assert.equal(got.anonymous_id, sent.anonymous_id, what);
        if (sent.session_id === undefined) {
          assert.match(got.session_id, /^s_[a-p]{16}$/, `${what}: sessionised by the server`);
        } else {
          assert.equal(got.session_id, sent.session_id, what);
        }
        assert.match(got.received_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$/, what);
        const received = Date.parse(got.received_at);
        // sent_at corrects the client's clock: timestamp + (received_at - sent_at).
        const sentTs = typeof sent.timestamp === 'number' ? sent.timestamp : Date.parse(sent.timestamp);
        const wantTs = sentTs + (received - Date.parse(sentAt));
        assert.equal(typeof got.timestamp, 'string', `${what}: timestamp is ISO-8601 text`);
        assert.equal(Date.parse(got.timestamp), wantTs, `${what}: timestamp ${got.timestamp}`);
        assert.ok(received >= startMs - 1000 && received <= afterMs + 1000,
          `${what}: received_at ${got.received_at} outside the request window`);
        assertSubset(got.properties, sent.properties, `${what} properties`);
        if (sent.context) assertSubset(got.context, sent.context, `${what} context`);
      }
    }));

  test('an event without event_id gets a generated one', withDiagnostics(async () => {
    const marker = newEventId('marker');
    const event = pageView({ properties: { path: '/x', marker } });
    delete event.event_id;
    assertAllAccepted(await postEvents(server, { events: [event] }, { key: key.write_key }), 1);
    const found = (await walDump(dataDir)).filter((e) => e.properties?.marker === marker);
    assert.equal(found.length, 1, 'stored exactly once');
    assert.equal(typeof found[0].event_id, 'string');
    assert.ok(found[0].event_id.length > 0 && found[0].event_id.length <= 64, found[0].event_id);
  }));

  test('the write key is accepted in X-Write-Key, Authorization: Bearer and the body',
    withDiagnostics(async () => {
      const ids = [];
      for (const placement of ['header', 'bearer', 'body']) {
        const event = pageView();
        ids.push(event.event_id);
        const res = await postEvents(server, { events: [event] }, { key: key.write_key, placement });
        assert.equal(res.status, 200, `${placement}: ${show(res)}`);
        assert.equal(res.body.accepted, 1, `${placement}: ${show(res)}`);
      }
      const counts = countIds(await walDump(dataDir), 'acme');
      for (const id of ids) assert.equal(counts.get(id), 1, id);
    }));

  test('a gzip body is accepted', withDiagnostics(async () => {
    const events = Array.from({ length: 100 }, (_, i) => pageView({ user_id: `gz-${i}` }));
    const res = await postEvents(server, { events }, { key: key.write_key, gzip: true });
    assertAllAccepted(res, events.length);
    const counts = countIds(await walDump(dataDir), 'acme');
    for (const e of events) assert.equal(counts.get(e.event_id), 1, e.event_id);
  }));

  test('a text/plain body with the key inside (navigator.sendBeacon) is accepted',
    withDiagnostics(async () => {
      const events = [pageView(), pageView({ type: 'time_spent', properties: { seconds: 12 } })];
      const res = await postEvents(server, { events }, {
        key: key.write_key, placement: 'body', contentType: 'text/plain;charset=UTF-8',
      });
      assertAllAccepted(res, 2);
    }));

  test('duplicates within one batch are reported and stored once', withDiagnostics(async () => {
    const a = pageView();
    const copy = { ...a, properties: { path: '/other' } };
    const b = pageView();
    const res = await postEvents(server, { events: [a, copy, b] }, { key: key.write_key });
    assert.equal(res.status, 200, show(res));
    assert.deepEqual(res.body, { accepted: 2, duplicates: 1, rejected: [] }, show(res));
    const counts = countIds(await walDump(dataDir), 'acme');
    assert.equal(counts.get(a.event_id), 1);
    assert.equal(counts.get(b.event_id), 1);
  }));

  test('duplicates across batches are reported and stored once', withDiagnostics(async () => {
    const [c, d, e] = [pageView(), pageView(), pageView()];
    assertAllAccepted(await postEvents(server, { events: [c, d] }, { key: key.write_key }), 2);
    let res = await postEvents(server, { events: [c, d, e] }, { key: key.write_key });
    assert.equal(res.status, 200, show(res));
    assert.deepEqual(res.body, { accepted: 1, duplicates: 2, rejected: [] }, show(res));
    // A batch made only of duplicates is a success for the client (a retry after a lost answer).
    res = await postEvents(server, { events: [c, d] }, { key: key.write_key });
    assert.equal(res.status, 200, show(res));
    assert.deepEqual(res.body, { accepted: 0, duplicates: 2, rejected: [] }, show(res));
    const counts = countIds(await walDump(dataDir), 'acme');
    for (const x of [c, d, e]) assert.equal(counts.get(x.event_id), 1, x.event_id);
  }));

  test('the same event_id in another tenant is not a duplicate', withDiagnostics(async () => {
    const other = await createKey(dataDir, 'initech');
    const event = pageView();
    assertAllAccepted(await postEvents(server, { events: [event] }, { key: key.write_key }), 1);
    const res = await postEvents(server, { events: [event] }, { key: other.write_key, placement: 'bearer' });
    assertAllAccepted(res, 1);
    const dump = await walDump(dataDir);
    assert.equal(countIds(dump, 'acme').get(event.event_id), 1);
    assert.equal(countIds(dump, 'initech').get(event.event_id), 1);
  }));

  test('duplicates are recognised after a clean restart and after a crash',
    withDiagnostics(async () => {
      const [f, g, h] = [pageView(), pageView(), pageView()];
      assertAllAccepted(await postEvents(server, { events: [f, g] }, { key: key.write_key }), 2);

      assert.deepEqual(await server.stop(), { code: 0, signal: null });
      server = await Server.start({ dataDir, label: 'ingest after SIGTERM' });
      let res = await postEvents(server, { events: [f, g] }, { key: key.write_key });
      assert.equal(res.status, 200, show(res));
      assert.deepEqual(res.body, { accepted: 0, duplicates: 2, rejected: [] }, `after SIGTERM: ${show(res)}`);

      await server.kill();
      server = await Server.start({ dataDir, label: 'ingest after SIGKILL' });
      res = await postEvents(server, { events: [f, g, h] }, { key: key.write_key });
      assert.equal(res.status, 200, show(res));
      assert.deepEqual(res.body, { accepted: 1, duplicates: 2, rejected: [] }, `after SIGKILL: ${show(res)}`);

      const counts = countIds(await walDump(dataDir), 'acme');
      for (const x of [f, g, h]) assert.equal(counts.get(x.event_id), 1, x.event_id);
      for (const [id, n] of counts) assert.equal(n, 1, `event ${id} stored ${n} times`);
    }));

  test('a custom event type added while the server runs is accepted with its required properties',
    withDiagnostics(async () => {
      const custom = (props) => ({ ...pageView(), type: 'plan_upgraded', properties: props });
      let res = await postEvents(server, { events: [custom({ plan: 'pro' })] }, { key: key.write_key });
      assert.equal(res.status, 400, show(res));
      assert.equal(res.body.rejected[0].code, 'unknown_event_type', show(res));

      const added = await runCli(['types', 'add', '--data', dataDir, '--tenant', 'acme',
        '--name', 'plan_upgraded', '--require', 'plan:string', '--require', 'seats:number']);
      assert.equal(added.code, 0, added.stderr);

      const good = custom({ plan: 'pro', seats: 5 });
      for (let i = 0; i < 30; i++) {
        res = await postEvents(server, { events: [good] }, { key: key.write_key });
        if (res.status === 200) break;
        await sleep(100);
      }
      assertAllAccepted(res, 1);
      res = await postEvents(server, { events: [custom({ plan: 'pro' }), custom({ plan: 1, seats: 2 })] },
        { key: key.write_key });
      assert.equal(res.status, 400, show(res));
      assert.deepEqual(res.body.rejected.map((r) => r.code), ['missing_property', 'invalid_property']);
      const stored = (await walDump(dataDir)).find((e) => e.event_id === good.event_id);
      assert.deepEqual(stored?.properties, { plan: 'pro', seats: 5 });
    }));

  test('GET /metrics counts every received event once: accepted + duplicate + rejected = received',
    withDiagnostics(async () => {
      const metrics = async () => {
        const res = await request(server, 'GET', '/metrics');
        assert.equal(res.status, 200);
        const value = (name) => Number(res.text.match(new RegExp(`^${name} (\\d+)$`, 'm'))?.[1]);
        return {
          received: value('ca_ingest_received_events_total'),
          accepted: value('ca_ingest_events_total\\{outcome="accepted"\\}'),
          duplicate: value('ca_ingest_events_total\\{outcome="duplicate"\\}'),
          rejected: value('ca_ingest_events_total\\{outcome="rejected"\\}'),
        };
      };
      const before = await metrics();
      const a = pageView();
      const res = await postEvents(server, { events: [a, a, { type: 'nope', user_id: 'u' }, pageView()] },
        { key: key.write_key });
      assert.equal(res.status, 200, show(res));
      const after = await metrics();
      assert.equal(after.received - before.received, 4);
      assert.equal(after.accepted - before.accepted, 2);
      assert.equal(after.duplicate - before.duplicate, 1);
      assert.equal(after.rejected - before.rejected, 1);
      assert.equal(after.accepted + after.duplicate + after.rejected, after.received);
    }));
});
