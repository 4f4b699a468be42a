// The privacy stage: personal data in properties and context is replaced before anything is
// written, the IP is truncated, and the `privacy.*` settings turn each part off
// (docs/privacy.md). Checked in what the query API and `wal dump` return.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, newEventId, postEvents, queryEventsEach, show, sleep, stopAll,
  walDump,
  withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

const kPersonal = {
  type: 'form_submit',
  user_id: 'privacy-user',
  properties: {
    form_id: 'contact',
    message: 'reach me at jane.doe@example.com or +44 20 7946 0958',
    card: '4111 1111 1111 1111',
    password: 'hunter2',
    nested: { api_key: 'k-123', list: ['call (030) 123-4567'] },
    contact_email: 'hr@acme.example',
    job_id: 'job-1234567890',
  },
  context: { ip: '203.0.113.77', page: { url: 'https://copilot.example/jobs?ref=mail' } },
};

async function storedOnce(dataDir, env) {
  const key = await createKey(dataDir, 'acme');
  const server = await Server.start({ dataDir, env, label: 'privacy' });
  const event = { ...structuredClone(kPersonal), event_id: newEventId('privacy') };
  const res = await postEvents(server, { events: [event] }, { key: key.write_key });
  assert.equal(res.status, 200, show(res));
  let stored = null;
  for (const end = Date.now() + 5000; !stored && Date.now() < end; await sleep(50)) {
    await queryEventsEach(server, key.secret_key, (e) => {
      if (e.event_id === event.event_id) stored = e;
    });
  }
  assert.ok(stored, 'the event is queryable');
  await server.stop();
  const logged = (await walDump(dataDir)).find((e) => e.event_id === event.event_id);
  assert.deepEqual(logged.properties, stored.properties, 'the WAL holds the scrubbed event too');
  return stored;
}

describe('privacy', { timeout: 120000 }, () => {
  test('by default PII is replaced and the IP truncated before anything is written',
    withDiagnostics(async () => {
      const stored = await storedOnce(makeDataDir(), { CA_PRIVACY_PII_ALLOWED_KEYS: 'contact_email' });
      assert.deepEqual(stored.properties, {
        form_id: 'contact',
        message: 'reach me at [email] or [phone]',
        card: '[card]',
        password: '[redacted]',
        nested: { api_key: '[redacted]', list: ['call [phone]'] },
        contact_email: 'hr@acme.example',  // allowed by the setting
        job_id: 'job-1234567890',
      });
      assert.equal(stored.context.ip, '203.0.113.0');
      assert.equal(stored.context.page.url, 'https://copilot.example/jobs?ref=mail');
    }));

  test('privacy.scrub_pii = off and privacy.ip = keep store the event as sent',
    withDiagnostics(async () => {
      const stored = await storedOnce(makeDataDir(),
        { CA_PRIVACY_SCRUB_PII: 'off', CA_PRIVACY_IP: 'keep' });
      assert.deepEqual(stored.properties, kPersonal.properties);
      assert.equal(stored.context.ip, '203.0.113.77');
    }));

  test('a bad privacy setting is refused at start', withDiagnostics(async () => {
    await assert.rejects(Server.start({ dataDir: makeDataDir(), env: { CA_PRIVACY_IP: 'hash' },
      startTimeoutMs: 10000, label: 'privacy-bad' }), /privacy\.ip/);
  }));
});
