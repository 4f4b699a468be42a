// Every rejected event is kept as a dead letter with its raw event, code, tenant and time;
// GET /analytics/dead-letters lists them and POST /analytics/dead-letters/replay ingests them
// again after a schema change (docs/api/dead-letters.md).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, newEventId, postEvents, queryEventsEach, request, runCli, show,
  sleep, stopAll, withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

describe('dead letters', { timeout: 120000 }, () => {
  let dataDir;
  let key;
  let server;
  const secret = () => ({ authorization: `Bearer ${key.secret_key}` });

  before(async () => {
    dataDir = makeDataDir();
    key = await createKey(dataDir, 'acme');
    server = await Server.start({ dataDir, label: 'dead-letters' });
  });

  test('rejected events are kept, listed, and replayed after a custom type is added',
    withDiagnostics(async () => {
      const good = { event_id: newEventId('good'), type: 'login', user_id: 'u1' };
      const prep = { event_id: newEventId('prep'), type: 'interview_prep', user_id: 'u1',
        properties: { minutes: 30 } };
      const noJob = { event_id: newEventId('nojob'), type: 'job_view', user_id: 'u1' };
      const res = await postEvents(server, { events: [good, prep, noJob] }, { key: key.write_key });
      assert.equal(res.status, 200, show(res));
      assert.equal(res.body.accepted, 1);
      // A Segment call with an event name the catalogue lacks.
      const segment = await request(server, 'POST', '/v1/track', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ writeKey: key.write_key, event: 'Resume Uploaded', userId: 'u1',
          messageId: newEventId('seg') }),
      });
      assert.equal(segment.status, 400, show(segment));

      const listed = await request(server, 'GET', '/analytics/dead-letters', { headers: secret() });
      assert.equal(listed.status, 200, show(listed));
      assert.equal(listed.body.total, 3);
      assert.equal(listed.body.next_after, null);
      const [first, second, third] = listed.body.dead_letters;
      assert.equal(first.code, 'unknown_event_type');
      assert.equal(first.format, 'native');
      assert.deepEqual(first.event, prep);
      assert.equal(second.code, 'missing_property');
      assert.deepEqual(second.event, noJob);
      assert.equal(third.format, 'segment:track');
      assert.equal(third.event.event, 'Resume Uploaded');
      assert.ok(Date.parse(first.received_at) > Date.now() - 60000);
      const page = await request(server, 'GET', `/analytics/dead-letters?limit=1&after=${first.id}`,
        { headers: secret() });
      assert.deepEqual(page.body.dead_letters.map((d) => d.id), [second.id]);
      assert.equal(page.body.next_after, second.id);

      for (const name of ['interview_prep', 'resume_uploaded']) {
        const added = await runCli(['types', 'add', '--data', dataDir, '--tenant', 'acme',
          '--name', name]);
        assert.equal(added.code, 0, added.stderr);
      }
      await sleep(1500);  // the server's catalogue cache
      const replay = await request(server, 'POST', '/analytics/dead-letters/replay',
        { headers: secret() });
      assert.equal(replay.status, 200, show(replay));
      assert.deepEqual(replay.body,
        { replayed: 3, accepted: 2, duplicates: 0, still_rejected: 1, failed: 0 });
      const left = await request(server, 'GET', '/analytics/dead-letters', { headers: secret() });
      assert.equal(left.body.total, 1);
      assert.equal(left.body.dead_letters[0].id, second.id);

      // The login stored at first is there too; the two replayed events are committed apart
      // (one per format), so wait for both.
      const stored = new Map();
      const replayedVisible = () => stored.has('interview_prep') && stored.has('resume_uploaded');
      for (const end = Date.now() + 5000; !replayedVisible() && Date.now() < end; await sleep(50)) {
        await queryEventsEach(server, key.secret_key, (e) => stored.set(e.type, e));
      }
      assert.equal(stored.get('interview_prep')?.event_id, prep.event_id);
      assert.equal(stored.get('resume_uploaded')?.user_id, 'u1');
      // Replaying again finds the stored ones gone and the bad one still bad.
      const again = await request(server, 'POST', '/analytics/dead-letters/replay',
        { headers: secret(), body: JSON.stringify({ ids: [second.id] }) });
      assert.deepEqual(again.body,
        { replayed: 1, accepted: 0, duplicates: 0, still_rejected: 1, failed: 0 });
    }));

  test('dead letters need the secret key and valid parameters', withDiagnostics(async () => {
    const none = await request(server, 'GET', '/analytics/dead-letters');
    assert.equal(none.status, 401, show(none));
    const write = await request(server, 'GET', '/analytics/dead-letters',
      { headers: { authorization: `Bearer ${key.write_key}` } });
    assert.equal(write.status, 403, show(write));
    const limit = await request(server, 'GET', '/analytics/dead-letters?limit=0', { headers: secret() });
    assert.equal(limit.status, 400, show(limit));
    const ids = await request(server, 'POST', '/analytics/dead-letters/replay',
      { headers: secret(), body: '{"ids": ["x"]}' });
    assert.equal(ids.status, 400, show(ids));
  }));
});
