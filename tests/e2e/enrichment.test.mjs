// The stages between decoding and the write (docs/enrichment.md, docs/privacy.md): enrichment
// (geo from a small test database, user agent, campaign and channel, sessions, user profiles),
// consent and Do-Not-Track by tenant policy, the suppression list of deleted users, and the
// late-event bound. Checked in what the query API and the state database hold.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, newEventId, postEvents, queryEventsEach, request, runCli, show,
  sleep, stopAll, withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

const here = path.dirname(fileURLToPath(import.meta.url));
const kDay = 86400000;
const kChrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/120.0.6099.109 Safari/537.36';

async function storedEvent(server, secret, eventId) {
  for (const end = Date.now() + 5000; Date.now() < end; await sleep(50)) {
    let found = null;
    await queryEventsEach(server, secret, (e) => { if (e.event_id === eventId) found = e; });
    if (found) return found;
  }
  assert.fail(`event ${eventId} is not queryable`);
}

describe('enrichment, consent, suppression and late events', { timeout: 180000 }, () => {
  let dataDir;
  let key;
  let server;
  let geoDb;

  before(async () => {
    dataDir = makeDataDir('ca-enrich-');
    geoDb = path.join(dataDir, 'test-geo.mmdb');
    execFileSync('perl', [path.join(here, '..', 'fixtures', 'make_test_geo_db.pl'), geoDb]);
    key = await createKey(dataDir, 'acme');
    server = await Server.start({ dataDir, env: { CA_ENRICH_GEO_DB: geoDb }, label: 'enrich' });
  });

  test('events get geo, browser, campaign, channel, session and profile; the IP is truncated after',
    withDiagnostics(async () => {
      const user = `enrich-${newEventId('u')}`;
      const now = Date.now();
      const identify = {
        event_id: newEventId('identify'), type: 'identify', user_id: user, timestamp: now - 120000,
        properties: { traits: { industry: 'software', seniority: 'senior', location: 'Berlin',
          created_at: '2026-11-26T10:00:00Z' } },
      };
      const landing = {
        event_id: newEventId('landing'), type: 'page_view', user_id: user, timestamp: now - 60000,
        context: {
          ip: '203.0.113.77', user_agent: kChrome,
          page: { url: 'https://jobs.example/jobs/42?utm_source=google&utm_medium=cpc&utm_campaign=fall&email=jane%40doe.io',
            path: '/jobs/42', referrer: 'https://www.google.com/search?q=jobs' },
        },
      };
      const next = {
        event_id: newEventId('next'), type: 'job_view', user_id: user, timestamp: now - 30000,
        properties: { job_id: 'job-43' },
        context: { page: { url: 'https://jobs.example/jobs/43', referrer: 'https://jobs.example/jobs/42' } },
      };
      const res = await postEvents(server, { events: [identify, landing, next] }, { key: key.write_key });
      assert.equal(res.body.accepted, 3, show(res));

      const a = await storedEvent(server, key.secret_key, landing.event_id);
      assert.equal(a.context.country, 'DE');
      assert.equal(a.context.region, 'BE');
      assert.equal(a.context.ip, '203.0.113.0', 'truncated after the geo lookup');
      assert.deepEqual(a.context.browser, { name: 'Chrome', version: '120.0' });
      assert.equal(a.context.os.name, 'Windows');
      assert.equal(a.context.device, 'desktop');
      assert.deepEqual(a.context.campaign, { source: 'google', medium: 'cpc', name: 'fall' });
      assert.equal(a.context.referrer_host, 'google.com');
      assert.equal(a.context.channel, 'search');
      assert.ok(!a.context.page.url.includes('jane'), `PII left in ${a.context.page.url}`);
      assert.match(a.session_id, /^s_[a-p]{16}$/);
      assert.deepEqual(a.context.profile,
        { industry: 'software', seniority: 'senior', location: 'Berlin', signup_week: '2026-W48' });

      const b = await storedEvent(server, key.secret_key, next.event_id);
      assert.equal(b.session_id, a.session_id, 'one session: 30 s apart');
      assert.equal(b.context.channel, 'direct');
      assert.equal(b.context.session.entry_path, '/jobs/42');
      assert.equal(b.context.session.channel, 'search');
      assert.equal(b.context.session.utm_campaign, 'fall');
      assert.equal(b.context.profile.industry, 'software');
    }));

  test('without consent events are dropped, or kept anonymised when the tenant says so',
    withDiagnostics(async () => {
      const withheld = {
        event_id: newEventId('noconsent'), type: 'page_view', user_id: 'consent-user',
        context: { consent: { categoryPreferences: { Analytics: false } }, ip: '203.0.113.9' },
      };
      let res = await postEvents(server, { events: [withheld] }, { key: key.write_key });
      assert.equal(res.status, 400, show(res));
      assert.equal(res.body.rejected[0].code, 'consent_withheld');
      const tracked = { event_id: newEventId('dnt'), type: 'page_view', user_id: 'consent-user' };
      res = await postEvents(server, { events: [tracked] }, { key: key.write_key, headers: { dnt: '1' } });
      assert.equal(res.body.rejected[0]?.code, 'consent_withheld', show(res));
      // Refused to protect the sender: not kept as dead letters either.
      const letters = await request(server, 'GET', '/analytics/dead-letters',
        { headers: { authorization: `Bearer ${key.secret_key}` } });
      assert.equal(letters.status, 200, show(letters));
      assert.ok(!JSON.stringify(letters.body).includes('consent-user'), show(letters));

      const policy = await runCli(['tenants', 'policy', '--data', dataDir, '--tenant', 'acme',
        '--consent', 'anonymize']);
      assert.equal(policy.code, 0, policy.stderr);
      await sleep(1100); // the server reads policies again after a second
      const again = { ...withheld, event_id: newEventId('anon') };
      res = await postEvents(server, { events: [again] }, { key: key.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      const stored = await storedEvent(server, key.secret_key, again.event_id);
      assert.ok(!stored.user_id, 'no user id');
      assert.equal(stored.anonymous_id, 'anonymized');
      assert.ok(!stored.session_id, 'no session');
      assert.equal(stored.context.ip, undefined, 'no IP');
      assert.equal(stored.context.country, 'DE', 'the country is not personal');
      await runCli(['tenants', 'policy', '--data', dataDir, '--tenant', 'acme', '--consent', 'drop']);
    }));

  test('late events within the bound mark their days; older ones are dead letters',
    withDiagnostics(async () => {
      const now = Date.now();
      const late = { event_id: newEventId('late'), type: 'login', user_id: 'late-user', timestamp: now - 3 * kDay };
      const tooOld = { event_id: newEventId('old'), type: 'login', user_id: 'late-user', timestamp: now - 8 * kDay };
      const res = await postEvents(server, { events: [late, tooOld] }, { key: key.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      assert.equal(res.body.rejected[0].code, 'event_too_old');
      const letters = await request(server, 'GET', '/analytics/dead-letters',
        { headers: { authorization: `Bearer ${key.secret_key}` } });
      assert.ok(JSON.stringify(letters.body).includes(tooOld.event_id), show(letters));
      const days = execFileSync('sqlite3', [path.join(dataDir, 'state.db'),
        'SELECT day FROM recompute_days ORDER BY day']).toString().trim().split('\n').map(Number);
      assert.ok(days.includes(Math.floor((now - 3 * kDay) / kDay)), `marked days: ${days}`);
    }));

  test('a deleted user is suppressed: their events are not taken in again',
    withDiagnostics(async () => {
      const user = 'deleted-user';
      let res = await postEvents(server, { events: [{ type: 'login', user_id: user }] }, { key: key.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      await server.stop();
      const deleted = await runCli(['delete-user', '--data', dataDir, '--tenant', 'acme', '--user', user]);
      assert.equal(deleted.code, 0, deleted.stderr);
      server = await Server.start({ dataDir, env: { CA_ENRICH_GEO_DB: geoDb }, label: 'enrich-2' });
      res = await postEvents(server, { events: [{ type: 'login', user_id: user }, { type: 'login', user_id: 'kept' }] },
        { key: key.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      assert.equal(res.body.rejected[0].code, 'user_suppressed');
      assert.equal(res.body.rejected[0].index, 0);
    }));

  test('a visit going on across a restart stays one session; after a crash a new one starts',
    withDiagnostics(async () => {
      const user = `restart-${newEventId('u')}`;
      const now = Date.now();
      const page = (id, ts, url) => ({ event_id: newEventId(id), type: 'page_view', user_id: user,
        timestamp: ts, context: { page: { url, referrer: 'https://www.google.com/' } } });
      const first = page('before', now - 120000, 'https://jobs.example/jobs/7');
      let res = await postEvents(server, { events: [first] }, { key: key.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      const a = await storedEvent(server, key.secret_key, first.event_id);

      await server.stop();  // SIGTERM: the open sessions are kept
      server = await Server.start({ dataDir, env: { CA_ENRICH_GEO_DB: geoDb }, label: 'enrich-3' });
      const second = page('after', now - 60000, 'https://jobs.example/jobs/8');
      res = await postEvents(server, { events: [second] }, { key: key.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      const b = await storedEvent(server, key.secret_key, second.event_id);
      assert.equal(b.session_id, a.session_id, 'the same visit, a minute later, across the restart');
      assert.equal(b.context.session.entry_path, '/jobs/7');
      assert.equal(b.context.session.channel, 'search');

      await server.kill();  // a crash keeps nothing: the next event starts a session
      server = await Server.start({ dataDir, env: { CA_ENRICH_GEO_DB: geoDb }, label: 'enrich-4' });
      const third = page('crash', now - 30000, 'https://jobs.example/jobs/9');
      res = await postEvents(server, { events: [third] }, { key: key.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      const c = await storedEvent(server, key.secret_key, third.event_id);
      assert.notEqual(c.session_id, a.session_id);
      assert.equal(c.context.session.entry_path, '/jobs/9');
    }));

  test('the real DB-IP database from npm gives countries (scripts/geo-db.sh)',
    { skip: process.env.CA_E2E_GEO_DB ? false : 'CA_E2E_GEO_DB is not set (./scripts/test sets it)' },
    withDiagnostics(async () => {
      const dir = makeDataDir('ca-geo-real-');
      const k = await createKey(dir, 'acme');
      const real = await Server.start({ dataDir: dir, env: { CA_ENRICH_GEO_DB: process.env.CA_E2E_GEO_DB },
        label: 'geo-real' });
      const event = { event_id: newEventId('geo'), type: 'login', user_id: 'geo-user',
        context: { ip: '8.8.8.8' } };
      const res = await postEvents(real, { events: [event] }, { key: k.write_key });
      assert.equal(res.body.accepted, 1, show(res));
      const stored = await storedEvent(real, k.secret_key, event.event_id);
      assert.equal(stored.context.country, 'US');
      assert.equal(stored.context.ip, '8.8.8.0');
      await real.stop();
    }));
});
