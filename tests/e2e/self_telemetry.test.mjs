// The server records its own API requests (perf_metric), background task runs (task_run) and
// failures as events of the tenant "system", through the ingest pipeline; they can be queried
// like any tenant's events (docs/self-telemetry.md).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';

import {
  Server, createKey, makeDataDir, pageView, postEvents, queryEventsEach, request, show, sleep,
  stopAll, withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

test('API requests and store flushes become events of the system tenant', { timeout: 60000 },
  withDiagnostics(async () => {
    const dataDir = makeDataDir();
    const acme = await createKey(dataDir, 'acme');
    const system = await createKey(dataDir, 'system');
    const server = await Server.start({ dataDir, env: { CA_STORE_FLUSH_INTERVAL_S: '1' },
      label: 'self-telemetry' });
    const res = await postEvents(server, { events: [pageView()] }, { key: acme.write_key });
    assert.equal(res.status, 200, show(res));
    const unauthorized = await postEvents(server, { events: [pageView()] }, { key: 'caw_nope' });
    assert.equal(unauthorized.status, 401);
    await request(server, 'GET', '/healthz');  // not recorded

    let requests = [];
    let flushes = [];
    for (const end = Date.now() + 15000; Date.now() < end; await sleep(200)) {
      requests = [];
      flushes = [];
      await queryEventsEach(server, system.secret_key, (e) => {
        if (e.type === 'perf_metric' && e.properties.route === '/api/analytics/events') requests.push(e);
        if (e.type === 'task_run' && e.properties.task === 'store.flush') flushes.push(e);
      });
      if (requests.length >= 2 && flushes.length >= 1) break;
    }
    const statuses = requests.map((e) => e.properties.status).sort();
    assert.deepEqual(statuses, [200, 401]);
    for (const e of requests) {
      assert.equal(e.properties.name, 'http_request');
      assert.equal(e.properties.method, 'POST');
      assert.ok(e.properties.value >= 0 && e.properties.value < 10000, `latency ${e.properties.value}`);
      assert.equal(e.user_id, 'career-analytics');
    }
    assert.ok(flushes.length >= 1, 'a store flush was recorded');
    assert.equal(flushes[0].properties.status, 'success');
    // The health check was not recorded, and acme's events are not mixed with the system's.
    let healthz = 0;
    await queryEventsEach(server, system.secret_key, (e) => {
      if (e.properties?.route === '/healthz') healthz++;
    });
    assert.equal(healthz, 0);
    let acmeSystem = 0;
    await queryEventsEach(server, acme.secret_key, (e) => { if (e.type === 'perf_metric') acmeSystem++; });
    assert.equal(acmeSystem, 0);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  }));
