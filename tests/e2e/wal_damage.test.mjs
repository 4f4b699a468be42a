// Damage in the middle of the write-ahead log (not a torn tail) refuses to start, naming the file,
// the byte offset and the repair command; `wal repair` cuts the log there and the server starts again
// with every event before the damage.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';

import {
  Server, createKey, makeDataDir, pageView, postEvents, runCli, show, stopAll, walDump,
  withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

test('mid-log damage refuses to start with the repair command; wal repair recovers',
  { timeout: 120000 }, withDiagnostics(async () => {
    const dataDir = makeDataDir('ca-damage-');
    const key = (await createKey(dataDir, 'damageco')).write_key;
    let server = await Server.start({ dataDir });
    const batches = [];
    for (let i = 0; i < 10; i++) {
      const events = Array.from({ length: 20 }, () => pageView());
      const res = await postEvents(server, { events }, { key });
      assert.equal(res.status, 200, show(res));
      batches.push(events);
    }
    assert.deepEqual(await server.stop(), { code: 0, signal: null });

    // Flip one byte in the middle of the only segment: records after it are still valid.
    const walDir = path.join(dataDir, 'wal');
    const segment = fs.readdirSync(walDir).find((f) => f.endsWith('.wal'));
    const file = path.join(walDir, segment);
    const bytes = fs.readFileSync(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] ^= 0xff;
    fs.writeFileSync(file, bytes);

    let refusal = null;
    try {
      server = await Server.start({ dataDir, label: 'damaged' });
    } catch (err) {
      refusal = err;
    }
    assert.ok(refusal?.server?.exit, 'a damaged log must not start');
    assert.notEqual(refusal.server.exit.code, 0);
    const stderr = refusal.server.stderr.text;
    assert.match(stderr, new RegExp(segment.replace('.', '\\.')), 'the message names the file');
    assert.match(stderr, /offset \d+/, 'the message names the offset');
    assert.match(stderr, /career-analytics wal repair --data/, 'the message gives the repair command');

    const verify = await runCli(['wal', 'verify', '--data', dataDir]);
    assert.notEqual(verify.code, 0, 'wal verify reports the damage');
    const repair = await runCli(['wal', 'repair', '--data', dataDir]);
    assert.equal(repair.code, 0, repair.stderr);

    server = await Server.start({ dataDir, label: 'repaired' });
    // The server's own telemetry (tenant "system") shares the log: count this tenant's events.
    const stored = new Set((await walDump(dataDir)).filter((e) => e.tenant === 'damageco')
      .map((e) => e.event_id));
    assert.ok(stored.size > 0 && stored.size < 200, `the cut keeps a prefix (kept ${stored.size})`);
    // What is kept is a prefix of what was sent, in order.
    const sent = batches.flat().map((e) => e.event_id);
    for (let i = 0; i < stored.size; i++) assert.ok(stored.has(sent[i]), `event ${i} kept`);
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  }));
