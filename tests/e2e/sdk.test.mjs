// Services that already use an analytics SDK keep it: the real Segment, PostHog and RudderStack
// clients from npm, pointed at the server, store their events with the right type, user,
// timestamp and properties (docs/api/sdk-compat.md), and ids they share are stored once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { PostHog } from 'posthog-node';

import {
  Server, createKey, makeDataDir, queryEventsEach, request, runCli, show, sleep, stopAll,
  withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

/** The tenant's stored events whose event_id is in `ids`, by id, waiting until all are there. */
async function storedById(server, secretKey, ids, { timeoutMs = 15000 } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = new Map();
    const counts = new Map();
    await queryEventsEach(server, secretKey, (e) => {
      if (!ids.has(e.event_id)) return;
      found.set(e.event_id, e);
      counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
    });
    if (found.size === ids.size || Date.now() > end) return { found, counts };
    await sleep(200);
  }
}

const kHour = 3600000;

// The SDKs send sentAt, so the server corrects each timestamp by (received_at - sent_at): on one
// machine that is the few milliseconds between the SDK's send and the server's receive.
function assertCorrectedTimestamp(stored, sent, what) {
  const shift = new Date(stored).getTime() - sent.getTime();
  assert.ok(shift >= 0 && shift < 5000, `${what}: timestamp ${stored} is ${shift} ms from ${sent.toISOString()}`);
}

describe('analytics SDKs', { timeout: 180000 }, () => {
  let server;
  let key;
  let dataDir;

  before(async () => {
    dataDir = makeDataDir();
    key = await createKey(dataDir, 'acme');
    server = await Server.start({ dataDir, label: 'sdk' });
  });

  test('@segment/analytics-node: track, page, identify, alias, group, screen',
    withDiagnostics(async () => {
      const segment = new SegmentAnalytics({ writeKey: key.write_key, host: server.url, flushInterval: 50 });
      const at = new Date(Date.now() - 2 * kHour);
      const id = (n) => `seg-${n}-${randomUUID()}`;
      const ids = [id(0), id(1), id(2), id(3), id(4), id(5)];
      segment.track({ messageId: ids[0], userId: 'seg-user', event: 'job_apply', timestamp: at,
        properties: { job_id: 'job-7', source: 'search' } });
      segment.page({ messageId: ids[1], anonymousId: 'seg-anon', name: 'Jobs',
        properties: { path: '/jobs', url: 'https://copilot.test/jobs', title: 'Jobs' } });
      segment.identify({ messageId: ids[2], userId: 'seg-user', traits: { seniority: 'senior' } });
      segment.alias({ messageId: ids[3], userId: 'seg-user', previousId: 'seg-anon' });
      segment.group({ messageId: ids[4], userId: 'seg-user', groupId: 'acme-corp', traits: { size: 50 } });
      segment.screen({ messageId: ids[5], userId: 'seg-user', name: 'Home' });
      const errors = [];
      segment.on('error', (e) => errors.push(e));
      await segment.closeAndFlush({ timeout: 10000 });
      assert.deepEqual(errors, []);

      const { found, counts } = await storedById(server, key.secret_key, new Set(ids));
      assert.equal(found.size, ids.length, `stored: ${[...found.keys()]}`);
      const track = found.get(ids[0]);
      assert.equal(track.type, 'job_apply');
      assert.equal(track.user_id, 'seg-user');
      assertCorrectedTimestamp(track.timestamp, at, 'segment track');
      assert.equal(track.properties.job_id, 'job-7');
      assert.equal(track.properties.source, 'search');
      assert.equal(track.context.library.name, '@segment/analytics-node');
      const page = found.get(ids[1]);
      assert.equal(page.type, 'page_view');
      assert.equal(page.anonymous_id, 'seg-anon');
      assert.equal(page.context.page.path, '/jobs');
      assert.equal(found.get(ids[2]).type, 'identify');
      assert.equal(found.get(ids[2]).properties.traits.seniority, 'senior');
      assert.equal(found.get(ids[3]).type, 'alias');
      assert.equal(found.get(ids[3]).properties.previous_id, 'seg-anon');
      assert.equal(found.get(ids[4]).type, 'group');
      assert.equal(found.get(ids[4]).properties.group_id, 'acme-corp');
      assert.equal(found.get(ids[5]).type, 'screen_view');
      for (const n of counts.values()) assert.equal(n, 1);
    }));

  test('posthog-node: capture and identify (gzip batches)', withDiagnostics(async () => {
    const posthog = new PostHog(key.write_key, { host: server.url, flushAt: 1, flushInterval: 0 });
    const apply = randomUUID();
    const identify = randomUUID();
    const at = new Date(Date.now() - 3 * kHour);
    posthog.capture({ distinctId: 'ph-user', event: 'job_save', uuid: apply, timestamp: at,
      properties: { job_id: 'job-3', $session_id: 'ph-session' } });
    posthog.capture({ distinctId: 'ph-user', event: '$identify', uuid: identify,
      properties: { $set: { seniority: 'mid' }, $anon_distinct_id: 'ph-anon' } });
    await posthog.shutdown(10000);

    const { found, counts } = await storedById(server, key.secret_key, new Set([apply, identify]));
    assert.equal(found.size, 2, `stored: ${[...found.keys()]}`);
    const save = found.get(apply);
    assert.equal(save.type, 'job_save');
    assert.equal(save.user_id, 'ph-user');
    assert.equal(save.session_id, 'ph-session');
    assertCorrectedTimestamp(save.timestamp, at, 'posthog capture');
    assert.deepEqual(save.properties, { job_id: 'job-3' });
    assert.equal(save.context.posthog.$lib, 'posthog-node');
    const who = found.get(identify);
    assert.equal(who.type, 'identify');
    assert.equal(who.anonymous_id, 'ph-anon');
    assert.equal(who.properties.traits.seniority, 'mid');
    for (const n of counts.values()) assert.equal(n, 1);
  }));

  test('@rudderstack/rudder-sdk-node: gzip labelled as a form, originalTimestamp',
    withDiagnostics(async () => {
      const rudder = new RudderAnalytics(key.write_key, { dataPlaneUrl: server.url, flushAt: 1,
        flushInterval: 50, logLevel: 'error' });
      const messageId = `rudder-${randomUUID()}`;
      const at = new Date(Date.now() - 4 * kHour);
      rudder.track({ messageId, userId: 'rs-user', event: 'job_view', timestamp: at,
        properties: { job_id: 'job-4' } });
      await rudder.flush();

      const { found } = await storedById(server, key.secret_key, new Set([messageId]));
      const view = found.get(messageId);
      assert.ok(view, 'the RudderStack event was stored');
      assert.equal(view.type, 'job_view');
      assert.equal(view.user_id, 'rs-user');
      assertCorrectedTimestamp(view.timestamp, at, 'rudderstack track');
      assert.equal(view.properties.job_id, 'job-4');
    }));

  test('a batch sent twice, or through two formats with the same ids, is stored once',
    withDiagnostics(async () => {
      const ids = [randomUUID(), randomUUID()];
      const segmentBody = JSON.stringify({ batch: ids.map((messageId) => (
        { type: 'track', event: 'login', userId: 'dup-user', messageId })) });
      const auth = `Basic ${Buffer.from(`${key.write_key}:`).toString('base64')}`;
      const first = await request(server, 'POST', '/v1/batch',
        { body: segmentBody, headers: { authorization: auth, 'content-type': 'application/json' } });
      assert.equal(first.status, 200, show(first));
      assert.deepEqual(first.body, { accepted: 2, duplicates: 0, rejected: [] });
      const again = await request(server, 'POST', '/v1/batch',
        { body: segmentBody, headers: { authorization: auth, 'content-type': 'application/json' } });
      assert.deepEqual(again.body, { accepted: 0, duplicates: 2, rejected: [] }, show(again));
      const posthogBody = JSON.stringify({ api_key: key.write_key,
        batch: ids.map((uuid) => ({ event: 'login', distinct_id: 'dup-user', uuid })) });
      const other = await request(server, 'POST', '/batch/',
        { body: posthogBody, headers: { 'content-type': 'application/json' } });
      assert.deepEqual(other.body, { accepted: 0, duplicates: 2, rejected: [] }, show(other));

      const { counts } = await storedById(server, key.secret_key, new Set(ids));
      assert.deepEqual([...counts.values()], [1, 1]);
    }));

  test('bad SDK requests get clear errors and store nothing else', withDiagnostics(async () => {
    const json = { 'content-type': 'application/json' };
    const noKey = await request(server, 'POST', '/v1/track',
      { body: JSON.stringify({ event: 'login', userId: 'u' }), headers: json });
    assert.equal(noKey.status, 401, show(noKey));
    assert.equal(noKey.body.error.code, 'unauthorized');
    const badKey = await request(server, 'POST', '/batch/',
      { body: JSON.stringify({ api_key: 'nope', batch: [] }), headers: json });
    assert.equal(badKey.status, 401, show(badKey));
    const notJson = await request(server, 'POST', '/v1/batch', { body: '{"batch": [', headers: json });
    assert.equal(notJson.status, 400, show(notJson));
    assert.equal(notJson.body.error.code, 'malformed_json');
    const unknownType = await request(server, 'POST', '/v1/track', { headers: json,
      body: JSON.stringify({ writeKey: key.write_key, event: 'Viewed Something', userId: 'u' }) });
    assert.equal(unknownType.status, 400, show(unknownType));
    assert.equal(unknownType.body.rejected[0].code, 'unknown_event_type');
  }));

  test('browsers: CORS preflight, and the allowed origins of each write key',
    withDiagnostics(async () => {
      const preflight = await request(server, 'OPTIONS', '/api/analytics/events', { headers: {
        origin: 'https://jobs.test', 'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-write-key' } });
      assert.equal(preflight.status, 204, show(preflight));
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://jobs.test');
      assert.match(preflight.headers.get('access-control-allow-methods'), /POST/);
      assert.match(preflight.headers.get('access-control-allow-headers').toLowerCase(), /x-write-key/);
      for (const path of ['/v1/t', '/v1/batch', '/e/', '/i/v0/e/']) {
        const r = await request(server, 'OPTIONS', path, { headers: { origin: 'https://jobs.test' } });
        assert.equal(r.status, 204, `${path}: ${show(r)}`);
      }

      const body = (id) => JSON.stringify({ events: [{ type: 'login', user_id: 'cors-user', event_id: id }] });
      const post = (writeKey, origin, id) => request(server, 'POST', '/api/analytics/events', {
        body: body(id), headers: { 'x-write-key': writeKey, 'content-type': 'text/plain',
          ...(origin ? { origin } : {}) } });
      // A key without a list accepts every origin, and the answer is readable by the page.
      const open = await post(key.write_key, 'https://anywhere.test', randomUUID());
      assert.equal(open.status, 200, show(open));
      assert.equal(open.headers.get('access-control-allow-origin'), 'https://anywhere.test');

      // A new key (not cached by the server yet) limited to one origin.
      const limited = await createKey(dataDir, 'acme');
      const set = await runCli(['keys', 'origins', '--data', dataDir, '--key', limited.write_key,
        '--allow', 'https://jobs.test']);
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual(JSON.parse(set.stdout), { allowed_origins: ['https://jobs.test'] });
      const bad = await runCli(['keys', 'origins', '--data', dataDir, '--key', limited.write_key,
        '--allow', 'https://jobs.test/path']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /invalid_argument/);

      const denied = await post(limited.write_key, 'https://evil.test', randomUUID());
      assert.equal(denied.status, 403, show(denied));
      assert.equal(denied.body.error.code, 'origin_not_allowed');
      const allowed = await post(limited.write_key, 'https://jobs.test', randomUUID());
      assert.equal(allowed.status, 200, show(allowed));
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://jobs.test');
      assert.equal(allowed.headers.get('access-control-expose-headers'), 'Retry-After',
        'pages may read Retry-After');
      // Servers send no Origin: the list does not apply to them.
      const server2server = await post(limited.write_key, null, randomUUID());
      assert.equal(server2server.status, 200, show(server2server));
      assert.equal(server2server.headers.get('access-control-allow-origin'), null);
    }));
});
