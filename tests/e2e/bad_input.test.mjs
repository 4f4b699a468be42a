// The bad-input suite: every kind of malformed, oversized, hostile or unauthenticated request gets
// its status and stable error code, good events of a mixed batch are kept, and the server stays up
// (and small) throughout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';

import {
  Server, createKey, pageView, postEvents, request, show, stopAll, walDump, withDiagnostics,
} from './lib/harness.mjs';
import { sampleEvent } from './lib/events.mjs';

after(stopAll);

/** Asserts a whole-request error: `status` and `{"error": {"code": code, "message": ...}}`. */
function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${show(res)}`);
  assert.equal(res.body?.error?.code, code, `expected code ${code}, got ${show(res)}`);
  assert.equal(typeof res.body.error.message, 'string', show(res));
}

/** Asserts a receipt: status, accepted count and the exact (index, code) list of rejections. */
function assertReceipt(res, status, accepted, rejected) {
  assert.equal(res.status, status, show(res));
  assert.equal(res.body?.accepted, accepted, show(res));
  assert.equal(res.body.duplicates, 0, show(res));
  assert.deepEqual(res.body.rejected.map((r) => ({ index: r.index, code: r.code })), rejected,
    show(res));
  for (const r of res.body.rejected) assert.equal(typeof r.message, 'string', show(res));
}

/** An object nested `depth` levels deep: {"a":{"a":...{}}}. */
function nested(depth) {
  let value = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

/** A valid event, then a change: `mutate` edits a copy in place. */
function bad(mutate, base = pageView()) {
  const event = structuredClone(base);
  mutate(event);
  return event;
}

/** Per-event problems: [description, event, expected code]. Each is rejected on its own. */
const kBadEvents = [
  ['event is a number', 42, 'event_not_object'],
  ['event is a string', 'page_view', 'event_not_object'],
  ['event is null', null, 'event_not_object'],
  ['event is an array', [pageView()], 'event_not_object'],
  ['type missing', bad((e) => delete e.type), 'missing_field'],
  ['no user_id and no anonymous_id', bad((e) => delete e.user_id), 'missing_field'],
  ['type is a number', bad((e) => { e.type = 5; }), 'wrong_type'],
  ['user_id is an object', bad((e) => { e.user_id = { id: 1 }; }), 'wrong_type'],
  ['session_id is a boolean', bad((e) => { e.session_id = true; }), 'wrong_type'],
  ['properties is a string', bad((e) => { e.properties = 'path=/jobs'; }), 'wrong_type'],
  ['context is a number', bad((e) => { e.context = 7; }), 'wrong_type'],
  ['timestamp is a boolean', bad((e) => { e.timestamp = true; }), 'wrong_type'],
  ['unknown type', bad((e) => { e.type = 'teleport'; }), 'unknown_event_type'],
  ['timestamp is prose', bad((e) => { e.timestamp = 'yesterday'; }), 'invalid_timestamp'],
  ['timestamp month 13', bad((e) => { e.timestamp = '2026-13-45T00:00:00Z'; }), 'invalid_timestamp'],
  ['timestamp without zone', bad((e) => { e.timestamp = '2026-01-01T00:00:00'; }), 'invalid_timestamp'],
  ['timestamp negative epoch', bad((e) => { e.timestamp = -5; }), 'invalid_timestamp'],
  ['timestamp fractional epoch', bad((e) => { e.timestamp = 1.5e12 + 0.5; }), 'invalid_timestamp'],
  ['event_id empty', bad((e) => { e.event_id = ''; }), 'invalid_event_id'],
  ['event_id of 65 chars', bad((e) => { e.event_id = 'x'.repeat(65); }), 'invalid_event_id'],
  ['event_id is a number', bad((e) => { e.event_id = 12345; }), 'invalid_event_id'],
  ['user_id of 300 chars', bad((e) => { e.user_id = 'u'.repeat(300); }), 'field_too_long'],
  ['form_submit without form_id',
    bad((e) => { e.properties = {}; }, sampleEvent('form_submit')), 'missing_property'],
  ['search without query',
    bad((e) => { delete e.properties; }, sampleEvent('search')), 'missing_property'],
  ['job_apply without job_id',
    bad((e) => { delete e.properties.job_id; }, sampleEvent('job_apply')), 'missing_property'],
  ['time_spent with seconds as text',
    bad((e) => { e.properties.seconds = 'ten'; }, sampleEvent('time_spent')), 'invalid_property'],
  ['application status "hired"',
    bad((e) => { e.properties.status = 'hired'; }, sampleEvent('application_status_changed')),
    'invalid_property'],
  ['perf_metric value as text',
    bad((e) => { e.properties.value = 'fast'; }, sampleEvent('perf_metric')), 'invalid_property'],
  ['properties nested 40 levels', bad((e) => { e.properties = nested(40); }), 'nesting_too_deep'],
];

describe('bad input', { timeout: 180000 }, () => {
  let server;
  let key;
  let dataDir;
  const post = (payload, options = {}) => postEvents(server, payload, { key, ...options });

  before(async () => {
    const s = await Server.start({ label: 'bad-input' });
    dataDir = s.dataDir;
    key = (await createKey(dataDir, 'acme')).write_key;
    server = s;
  });

  test('malformed JSON bodies get 400 malformed_json', withDiagnostics(async () => {
    for (const body of ['{"events": [', 'not json', '{"events": [}]}', '{"events": [1,]}', '\xff\xfe']) {
      assertError(await post(body), 400, 'malformed_json');
    }
  }));

  test('an empty body gets 400 malformed_json', withDiagnostics(async () => {
    assertError(await post(''), 400, 'malformed_json');
  }));

  test('a body of the wrong shape gets 400 bad_request', withDiagnostics(async () => {
    for (const body of ['{}', '{"events": {}}', '{"events": "page_view"}', '"events"', '42']) {
      assertError(await post(body), 400, 'bad_request');
    }
  }));

  for (const [what, event, code] of kBadEvents) {
    test(`per-event: ${what} -> ${code}`, withDiagnostics(async () => {
      const res = await post({ events: [event] });
      assertReceipt(res, 400, 0, [{ index: 0, code }]);
    }));
  }

  test('an event of 33 KB gets event_too_large (413 when alone)', withDiagnostics(async () => {
    const big = pageView({ properties: { blob: 'x'.repeat(33 * 1024) } });
    assertReceipt(await post({ events: [big] }), 413, 0, [{ index: 0, code: 'event_too_large' }]);
    const good = pageView();
    assertReceipt(await post({ events: [good, big] }), 200, 1, [{ index: 1, code: 'event_too_large' }]);
  }));

  test('events nested just under the limit are accepted', withDiagnostics(async () => {
    assertReceipt(await post({ events: [pageView({ properties: nested(20) })] }), 200, 1, []);
  }));

  test('a mixed batch keeps its good events', withDiagnostics(async () => {
    const events = [];
    const good = [];
    const badIds = [];
    const expected = [];
    kBadEvents.forEach(([, event, code], i) => {
      const g = pageView({ user_id: `mixed-${i}` });
      good.push(g);
      events.push(g);
      const copy = structuredClone(event);
      if (copy && typeof copy === 'object' && !Array.isArray(copy) && typeof copy.event_id === 'string' &&
          code !== 'invalid_event_id') {
        copy.event_id = `${copy.event_id.slice(0, 50)}-m${i}`;
        badIds.push(copy.event_id);
      }
      expected.push({ index: events.length, code });
      events.push(copy);
    });
    const res = await post({ events, sent_at: new Date().toISOString() });
    assertReceipt(res, 200, good.length, expected);
    const dumped = new Set((await walDump(dataDir)).map((e) => e.event_id));
    for (const g of good) assert.ok(dumped.has(g.event_id), `good event ${g.event_id} missing`);
    for (const id of badIds) assert.ok(!dumped.has(id), `rejected event ${id} was stored`);
  }));

  test('a 2 MB body gets 413 body_too_large', withDiagnostics(async () => {
    const padding = 'y'.repeat(2 * 1024 * 1024);
    const body = JSON.stringify({ events: [pageView()], padding });
    assertError(await post(body), 413, 'body_too_large');
  }));

  test('1001 events get 413 too_many_events', withDiagnostics(async () => {
    const events = Array.from({ length: 1001 }, () => ({ type: 'login', user_id: 'u' }));
    assertError(await post({ events }), 413, 'too_many_events');
  }));

  test('a body nested 100000 levels gets 400 nesting_too_deep', withDiagnostics(async () => {
    const depth = 100000;
    const body = `{"events":[{"type":"page_view","user_id":"u","properties":{"p":${'['.repeat(depth)}` +
      `${']'.repeat(depth)}}}]}`;
    assertError(await post(body), 400, 'nesting_too_deep');
    const deepObject = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    assertError(await post(deepObject), 400, 'nesting_too_deep');
  }));

  test('a gzip bomb gets 413 and the server stays small', withDiagnostics(async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 });
    assert.ok(bomb.length < 200 * 1024, `bomb is ${bomb.length} bytes`);
    const hwmBefore = server.procStatusKb('VmHWM');
    const headers = { 'content-encoding': 'gzip', 'x-write-key': key, 'content-type': 'application/json' };
    const answers = await Promise.all(Array.from({ length: 4 }, () => request(server, 'POST',
      '/api/analytics/events', { body: bomb, headers })));
    for (const res of answers) assertError(res, 413, 'body_too_large');
    const hwmAfter = server.procStatusKb('VmHWM');
    if (hwmBefore !== null && hwmAfter !== null) {
      const growthMb = (hwmAfter - hwmBefore) / 1024;
      assert.ok(growthMb < 40, `peak RSS grew by ${growthMb.toFixed(1)} MB (${hwmBefore} -> ${hwmAfter} kB)`);
    }
    const health = await request(server, 'GET', '/healthz');
    assert.equal(health.status, 200, show(health));
  }));

  test('a corrupt gzip body gets 400 bad_request', withDiagnostics(async () => {
    const good = zlib.gzipSync(JSON.stringify({ events: [pageView()] }));
    const truncated = good.subarray(0, good.length - 10);
    const garbage = Buffer.from('this is not gzip at all, just text');
    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)] ^= 0xff;
    for (const body of [truncated, garbage, flipped]) {
      const res = await request(server, 'POST', '/api/analytics/events', {
        body, headers: { 'content-encoding': 'gzip', 'x-write-key': key, 'content-type': 'application/json' },
      });
      assertError(res, 400, 'bad_request');
    }
  }));

  test('an unknown Content-Encoding gets 415 unsupported_encoding', withDiagnostics(async () => {
    const res = await post(JSON.stringify({ events: [pageView()] }), { headers: { 'content-encoding': 'br' } });
    assertError(res, 415, 'unsupported_encoding');
  }));

  test('a wrong Content-Type gets 415 unsupported_media_type', withDiagnostics(async () => {
    for (const contentType of ['application/xml', 'multipart/form-data; boundary=x', 'image/png']) {
      const res = await post({ events: [pageView()] }, { contentType });
      assertError(res, 415, 'unsupported_media_type');
    }
  }));

  test('a missing or wrong write key gets 401 unauthorized', withDiagnostics(async () => {
    const payload = { events: [pageView()] };
    assertError(await postEvents(server, payload, { placement: 'none' }), 401, 'unauthorized');
    assertError(await postEvents(server, payload, { key: 'wk_wrong' }), 401, 'unauthorized');
    assertError(await postEvents(server, payload, { key: 'wk_wrong', placement: 'bearer' }), 401,
      'unauthorized');
    assertError(await postEvents(server, payload, { key: 'wk_wrong', placement: 'body' }), 401,
      'unauthorized');
    assertError(await postEvents(server, payload, { key: `${key}x` }), 401, 'unauthorized');
  }));

  test('after the whole suite the server is up and healthy', withDiagnostics(async () => {
    assert.ok(server.alive, 'server process still running');
    const health = await request(server, 'GET', '/healthz');
    assert.equal(health.status, 200, show(health));
    assertReceipt(await post({ events: [pageView()] }), 200, 1, []);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  }));
});
