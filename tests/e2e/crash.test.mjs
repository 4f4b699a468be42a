// The crash test: parallel clients send batches with globally unique event ids while the server
// (sync=always) is SIGKILLed at a random moment, again and again. A client whose request failed
// resends the same batch after the restart until it gets a 200. The store flushes every 2000 events,
// so kills also land during flushes and merges. Invariant, checked through the query API while the
// server runs and with `store dump` after it stopped: every acknowledged event is stored exactly
// once, and no event is stored twice.
//
// Environment: CA_CRASH_CYCLES (default 30), CA_CRASH_CLIENTS (8), CA_CRASH_BATCH (50),
// CA_CRASH_CHECK_EVERY (check the dump after every Nth restart, default 5; always at the end),
// CA_CRASH_MIN_MS / CA_CRASH_MAX_MS (kill delay range, default 100..1500), CA_CRASH_THINK_MS
// (pause between a client's batches, default 0).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';

import {
  Server, createKey, deadline, makeDataDir, postEvents, queryEventsEach, sleep, stopAll, storeDumpEach,
  withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

const kCycles = envInt('CA_CRASH_CYCLES', 30);
const kClients = envInt('CA_CRASH_CLIENTS', 8);
const kBatch = envInt('CA_CRASH_BATCH', 50);
const kCheckEvery = Math.max(1, envInt('CA_CRASH_CHECK_EVERY', 5));
const kMinKillMs = envInt('CA_CRASH_MIN_MS', 100);
const kMaxKillMs = Math.max(kMinKillMs, envInt('CA_CRASH_MAX_MS', 1500));
const kThinkMs = envInt('CA_CRASH_THINK_MS', 0);
const kTenant = 'crashco';
// Small memtables: many flushes, and merges of the day's parts, while the kills happen.
const kServerEnv = { CA_STORE_MEMTABLE_ROWS: '2000' };

test(`crash test: ${kCycles} SIGKILL cycles, ${kClients} clients, batches of ${kBatch}`,
  { timeout: 120000 + kCycles * 30000 }, withDiagnostics(async (t) => {
    const started = Date.now();
    const runId = randomBytes(4).toString('hex');
    const dataDir = makeDataDir('ca-crash-');
    const keys = await createKey(dataDir, kTenant);
    const key = keys.write_key;

    const sent = new Set(); // every event id ever put in a batch
    const acked = new Set(); // ids whose batch got a 200
    const pending = new Array(kClients).fill(null); // batch per client awaiting its 200
    const seq = new Array(kClients).fill(0);
    const history = []; // per-cycle stats, printed on failure
    const stats = { requests: 0, connectionErrors: 0, resends: 0, unavailable: 0, checks: 0 };

    function newBatch(client) {
      const n = seq[client]++;
      const events = [];
      for (let j = 0; j < kBatch; j++) {
        const id = `${runId}-${client}-${n}-${j}`;
        sent.add(id);
        events.push({
          event_id: id,
          type: 'page_view',
          user_id: `crash-user-${client}`,
          session_id: `crash-session-${client}-${Math.floor(n / 20)}`,
          timestamp: Date.now(),
          properties: { path: `/jobs/${n}`, j },
        });
      }
      return { events, attempts: 0 };
    }

    /**
     * Checks what is stored (through the query API of `server`, or with `store dump` when it is
     * null): every acknowledged id exactly once, no id twice, no unknown id.
     */
    async function checkDump(when, server) {
      const counts = new Map();
      const count = (e) => counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
      if (server) {
        await queryEventsEach(server, keys.secret_key, count, { from: started - 3600000 });
      } else {
        await storeDumpEach(dataDir, (e) => {
          if (e.tenant === kTenant) count(e);
        });
      }
      stats.checks++;
      const twice = [...counts].filter(([, n]) => n > 1);
      const missing = [...acked].filter((id) => !counts.has(id));
      const unknown = [...counts.keys()].filter((id) => !sent.has(id));
      const context = `${when}: dump has ${counts.size} ids, ${acked.size} acknowledged; ` +
        `last cycles: ${JSON.stringify(history.slice(-5))}`;
      assert.deepEqual(twice.slice(0, 10), [], `events stored more than once (${twice.length}); ${context}`);
      assert.deepEqual(missing.slice(0, 10), [],
        `acknowledged events missing from the store (${missing.length}); ${context}`);
      assert.deepEqual(unknown.slice(0, 10), [], `events nobody sent (${unknown.length}); ${context}`);
      // Progress on stderr, so that a long stress run that is stopped early still shows how far
      // it got with every check passing.
      process.stderr.write(`# ${when}: ${acked.size} acknowledged events all stored exactly once ` +
        `(${Math.round((Date.now() - started) / 1000)} s)\n`);
      return counts;
    }

    /**
     * One client: sends its pending batch (a resend) or a new one, until the server dies or
     * `shouldStop()`. Returns normally in both cases; protocol violations throw.
     */
    async function client(i, server, shouldStop) {
      while (!shouldStop()) {
        if (pending[i] === null) pending[i] = newBatch(i);
        const batch = pending[i];
        if (batch.attempts++ > 0) stats.resends++;
        let res;
        stats.requests++;
        try {
          res = await postEvents(server, { events: batch.events }, { key, timeoutMs: 20000 });
        } catch {
          stats.connectionErrors++;
          return; // the server is gone: keep the batch, resend it after the restart
        }
        if (res.status === 503) {
          stats.unavailable++;
          await sleep(20);
          continue;
        }
        const ids = `${batch.events[0].event_id}..${batch.events.length}`;
        assert.equal(res.status, 200, `batch ${ids}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
        const { accepted, duplicates, rejected } = res.body;
        assert.deepEqual(rejected, [], `batch ${ids}: rejected events ${res.text.slice(0, 300)}`);
        assert.equal(accepted + duplicates, batch.events.length, `batch ${ids}: ${res.text}`);
        if (batch.attempts === 1) assert.equal(duplicates, 0, `first send of ${ids} had duplicates`);
        for (const e of batch.events) acked.add(e.event_id);
        pending[i] = null;
        if (kThinkMs > 0) await sleep(kThinkMs);
      }
    }

    for (let cycle = 1; cycle <= kCycles; cycle++) {
      const server = await Server.start({
        dataDir, walSync: 'always', env: kServerEnv, label: `crash cycle ${cycle}`,
      });
      if (cycle > 1 && (cycle % kCheckEvery === 0)) await checkDump(`after restart ${cycle}`, server);
      const ackedBefore = acked.size;
      let killed = false;
      const clients = Array.from({ length: kClients }, (_, i) => client(i, server, () => killed));
      const killAfterMs = kMinKillMs + Math.floor(Math.random() * (kMaxKillMs - kMinKillMs + 1));
      // A client that throws (protocol violation) fails the test at once.
      const failure = Promise.all(clients).then(() => null, (err) => err);
      const first = await Promise.race([deadline(killAfterMs).then(() => null), failure]);
      if (first) throw first;
      assert.ok(server.alive, `the server died before it was killed (cycle ${cycle}): ` +
        `${JSON.stringify(server.exit)}`);
      const exit = await server.kill();
      killed = true;
      assert.equal(exit.signal, 'SIGKILL', `cycle ${cycle}: server exit ${JSON.stringify(exit)}`);
      const err = await failure;
      if (err) throw err;
      history.push({
        cycle, killAfterMs, acked: acked.size - ackedBefore,
        pending: pending.filter((b) => b !== null).length,
      });
    }

    // Final round: restart, resend whatever is still pending, stop cleanly, check everything.
    const server = await Server.start({
      dataDir, walSync: 'always', env: kServerEnv, label: 'crash final',
    });
    await checkDump('after the last restart', server);
    await Promise.all(pending.map((batch, i) => client(i, server, () => pending[i] === null)));
    assert.deepEqual(pending.filter((b) => b !== null).map((b) => b.events[0].event_id), [],
      'batches still unacknowledged after the final restart');
    assert.deepEqual(await server.stop(), { code: 0, signal: null }, 'clean exit after SIGTERM');
    const counts = await checkDump('at the end', null);
    assert.equal(counts.size, sent.size, 'every event sent is stored');
    assert.equal(acked.size, sent.size, 'every event sent was acknowledged');

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const summary = `crash test: ${kCycles} cycles, ${acked.size} events acknowledged, ` +
      `${stats.requests} requests, ${stats.connectionErrors} cut by the kill, ${stats.resends} resends, ` +
      `${stats.unavailable} 503s, ${stats.checks} dump checks, ${seconds} s`;
    t.diagnostic(summary);
    console.log(summary);
  }, { maxServers: 2 }));
