// A real full disk: the data directory lives on a 16 MiB tmpfs. Once a filler file has taken the
// space, ingest answers 503 with Retry-After and code disk_full, /readyz answers 503, nothing is
// acknowledged that is not stored, and when space comes back the server resumes on its own.
// Needs root (mount); skipped otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import {
  Server, createKey, newEventId, pageView, postEvents, request, show, sleep, stopAll, walDump,
  withDiagnostics,
} from './lib/harness.mjs';

const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-diskfull-'));
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountDir]);
    mounted = true;
  }
} catch {
  mounted = false;
}

after(async () => {
  await stopAll();
  if (mounted) execFileSync('umount', ['-l', mountDir]);
  fs.rmSync(mountDir, { recursive: true, force: true });
});

function batch(n) {
  return { events: Array.from({ length: n }, () => pageView({ event_id: newEventId('full') })) };
}

test('a full disk gives 503 disk_full with Retry-After, and service resumes when space is back',
  { skip: mounted ? false : 'needs root to mount a tmpfs', timeout: 120000 },
  withDiagnostics(async () => {
    const dataDir = path.join(mountDir, 'data');
    fs.mkdirSync(dataDir);
    const key = (await createKey(dataDir, 'fullco')).write_key;
    const server = await Server.start({ dataDir, walSync: 'always' });
    const acked = new Set();

    // Take the remaining space with a filler file, leaving a little for the first batches.
    const filler = path.join(mountDir, 'filler');
    const { bavail, bsize } = fs.statfsSync(mountDir);
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 256 * 1024)));

    let refused = null;
    for (let i = 0; i < 2000 && refused === null; i++) {
      const b = batch(50);
      const res = await postEvents(server, b, { key });
      if (res.status === 200) {
        for (const e of b.events) acked.add(e.event_id);
      } else {
        refused = res;
      }
    }
    assert.ok(refused, 'the disk never filled up');
    assert.equal(refused.status, 503, show(refused));
    assert.equal(refused.body?.error?.code, 'disk_full', show(refused));
    assert.ok(Number(refused.headers.get('retry-after')) > 0, 'Retry-After is missing');
    const ready = await request(server, 'GET', '/readyz');
    assert.equal(ready.status, 503, show(ready));
    assert.equal((await request(server, 'GET', '/healthz')).status, 200);

    // Space comes back: the server recovers by itself and the same batch goes through.
    fs.rmSync(filler);
    const retry = batch(50);
    let res = null;
    for (let i = 0; i < 100; i++) {
      res = await postEvents(server, retry, { key });
      if (res.status === 200) break;
      await sleep(100);
    }
    assert.equal(res.status, 200, show(res));
    assert.equal(res.body.accepted, 50, show(res));
    for (const e of retry.events) acked.add(e.event_id);
    // Ready again once no write has failed for a while (10 s, the Retry-After of disk_full).
    let readyAgain = null;
    for (let i = 0; i < 150; i++) {
      readyAgain = await request(server, 'GET', '/readyz');
      if (readyAgain.status === 200) break;
      await sleep(100);
    }
    assert.equal(readyAgain.status, 200, show(readyAgain));

    await server.stop();
    const counts = new Map();
    for (const e of await walDump(dataDir)) counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
    for (const id of acked) assert.equal(counts.get(id), 1, `acknowledged ${id} stored ${counts.get(id) ?? 0} times`);
  }));
