// Per-key rate limits (ingest.rate_limit_rps): past the burst, 429 `rate_limited` with
// Retry-After; other keys are not affected, and the key is served again once tokens refill.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, pageView, postEvents, show, sleep, stopAll, withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

describe('rate limits', { timeout: 60000 }, () => {
  test('a key past its rate gets 429 with Retry-After; another key does not',
    withDiagnostics(async () => {
      const dataDir = makeDataDir('ca-rate-');
      const busy = await createKey(dataDir, 'acme');
      const calm = await createKey(dataDir, 'beta');
      const server = await Server.start({ dataDir, env: { CA_INGEST_RATE_LIMIT_RPS: '2' }, label: 'rate' });
      const statuses = [];
      for (let i = 0; i < 8; ++i) {
        const res = await postEvents(server, { events: [pageView()] }, { key: busy.write_key });
        statuses.push(res.status);
        if (res.status === 429) {
          assert.equal(res.body.error.code, 'rate_limited', show(res));
          assert.ok(Number(res.headers.get('retry-after')) >= 1, show(res));
        }
      }
      // A burst of twice the rate goes through; the rest of a quick run is turned away.
      assert.ok(statuses.slice(0, 4).every((s) => s === 200), `statuses ${statuses}`);
      assert.ok(statuses.filter((s) => s === 429).length >= 3, `statuses ${statuses}`);
      const other = await postEvents(server, { events: [pageView()] }, { key: calm.write_key });
      assert.equal(other.status, 200, show(other));
      await sleep(1100);
      const later = await postEvents(server, { events: [pageView()] }, { key: busy.write_key });
      assert.equal(later.status, 200, show(later));
      await server.stop();
    }));
});
