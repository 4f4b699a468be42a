// `bench ingest --stages`, which bench/ingest-stages.sh uses to split what the ingest pipeline's
// stages cost: every variant ingests every event, and each changes the record the way it says
// (enrichment grows it; enrich-unstored takes enrichment's members off again; privacy alone
// leaves it as sent). A wrong stage name is refused with a clear message.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';

import { makeDataDir, runCli, stopAll } from './lib/harness.mjs';

after(stopAll);
const here = path.dirname(fileURLToPath(import.meta.url));

describe('bench ingest --stages', { timeout: 120000 }, () => {
  let geoDb;
  let scratch;
  before(() => {
    scratch = makeDataDir('ca-e2e-bench-');
    geoDb = path.join(scratch, 'test-geo.mmdb');
    execFileSync('perl', [path.join(here, '..', 'fixtures', 'make_test_geo_db.pl'), geoDb]);
  });

  async function bench(stages) {
    const r = await runCli(['bench', 'ingest', '--events', '2000', '--context', 'visits',
      '--stages', stages, '--geo-db', geoDb, '--dir', path.join(scratch, 'run')],
    { timeoutMs: 60000 });
    assert.equal(r.code, 0, `bench ingest --stages ${stages}: ${r.stderr}`);
    const out = JSON.parse(r.stdout);
    assert.equal(out.accepted, 2000, `--stages ${stages}: every event accepted`);
    assert.equal(out.failed_batches, 0);
    assert.equal(out.stages, stages);
    return out;
  }

  test('each variant ingests every event and shapes the record as it says', async () => {
    const base = await bench('base');
    const full = await bench('full');
    const unstored = await bench('enrich-unstored,rules,privacy');
    const noEnrichment = await bench('rules,privacy');
    const enrichOnly = await bench('enrich');

    // Enrichment appends a few hundred bytes of context to a visit's event.
    assert.ok(full.wal_bytes_per_event > base.wal_bytes_per_event + 150,
      `full ${full.wal_bytes_per_event} B against base ${base.wal_bytes_per_event} B`);
    assert.ok(enrichOnly.wal_bytes_per_event > base.wal_bytes_per_event + 150);
    // Without enrichment, or with its members taken off, the record stays about the size it was
    // sent with: enrichment's session id (the `session_id` field) is all that it keeps.
    assert.ok(Math.abs(noEnrichment.wal_bytes_per_event - base.wal_bytes_per_event) <= 8,
      `rules,privacy ${noEnrichment.wal_bytes_per_event} B against base ${base.wal_bytes_per_event} B`);
    assert.ok(unstored.wal_bytes_per_event < base.wal_bytes_per_event + 40,
      `enrich-unstored ${unstored.wal_bytes_per_event} B against base ${base.wal_bytes_per_event} B`);
    assert.ok(unstored.wal_bytes_per_event > noEnrichment.wal_bytes_per_event,
      'enrich-unstored keeps the session id that enrichment gave');
  });

  test('an unknown stage is refused', async () => {
    const r = await runCli(['bench', 'ingest', '--events', '100', '--stages', 'rules,geo',
      '--dir', path.join(scratch, 'bad')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--stages: .*not 'geo'/);
  });
});
