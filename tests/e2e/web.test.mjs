// The web dashboard's assets as the server serves them (src/http/static_files.*, docs/dashboard.md):
// cache headers, revalidation, gzip and the Content-Security-Policy, from a web root of the test's
// own; and a server without assets, which runs the API alone and says how to build them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';

import { Server, request, show, stopAll, withDiagnostics } from './lib/harness.mjs';

after(stopAll);

const kScript = `console.log(${JSON.stringify('x'.repeat(4000))});\n`;

function makeWebRoot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-web-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'),
    '<!doctype html><title>t</title><script type="module" src="assets/main-ABCD2345.js"></script>');
  fs.writeFileSync(path.join(dir, 'assets', 'main-ABCD2345.js'), kScript);
  fs.writeFileSync(path.join(dir, 'tracker.js'), 'window.ca = window.ca || {};\n');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('web assets', { timeout: 120000 }, () => {
  test('the page, its hashed assets and tracker.js with their cache headers and policy', withDiagnostics(async () => {
    const server = await Server.start({ env: { CA_WEB_ROOT: makeWebRoot() }, label: 'web' });

    const page = await request(server, 'GET', '/');
    assert.equal(page.status, 200, show(page));
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const etag = page.headers.get('etag');
    assert.ok(etag, 'an ETag');
    const again = await request(server, 'GET', '/', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304, show(again));
    assert.equal(again.text, '');

    // fetch asks for gzip and decodes it: the header says what travelled.
    const script = await request(server, 'GET', '/assets/main-ABCD2345.js');
    assert.equal(script.status, 200, show(script));
    assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(script.headers.get('content-encoding'), 'gzip');
    assert.match(script.headers.get('content-type'), /^text\/javascript/);
    assert.equal(script.text, kScript);
    assert.equal(script.headers.get('content-security-policy'), null, 'the policy is the page\'s');

    const tracker = await request(server, 'GET', '/tracker.js');
    assert.equal(tracker.status, 200, show(tracker));
    assert.equal(tracker.headers.get('cache-control'), 'no-cache', 'tracker.js is revalidated');

    const missing = await request(server, 'GET', '/assets/nope-ABCD2345.js');
    assert.equal(missing.status, 404, show(missing));
    assert.equal(missing.body.error.code, 'not_found');
    const head = await request(server, 'HEAD', '/');
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
  }));

  test('without assets the API runs alone and / says how to build them', withDiagnostics(async () => {
    const server = await Server.start({ env: { CA_WEB_ROOT: '/nonexistent/web' }, label: 'no-web' });
    const page = await request(server, 'GET', '/');
    assert.equal(page.status, 503, show(page));
    assert.equal(page.body.error.code, 'unavailable');
    assert.match(page.body.error.message, /scripts\/build-web\.sh/);
    assert.equal((await request(server, 'GET', '/tracker.js')).status, 503);
    assert.equal((await request(server, 'GET', '/healthz')).status, 200);
    assert.equal((await request(server, 'GET', '/openapi.json')).status, 200);
    assert.match(server.stderr.text, /serving the API only/);
  }));
});
