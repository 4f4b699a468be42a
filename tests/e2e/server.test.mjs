// Server lifecycle: health endpoints, graceful shutdown with a request in flight, the data directory
// lock, and keys created while the server runs.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, describe, test } from 'node:test';

import {
  Server, createKey, deadline, makeDataDir, pageView, postEvents, request, show, sleep, stopAll, walDump,
  withDiagnostics,
} from './lib/harness.mjs';

after(stopAll);

/** Parses a raw HTTP/1.1 response (Content-Length or chunked). */
function parseRawResponse(raw) {
  const split = raw.indexOf('\r\n\r\n');
  assert.ok(split > 0, `no header/body separator in response: ${JSON.stringify(raw.slice(0, 300))}`);
  const head = raw.slice(0, split).split('\r\n');
  const status = Number(head[0].split(' ')[1]);
  const headers = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let decoded = '';
    let rest = body;
    for (;;) {
      const eol = rest.indexOf('\r\n');
      const size = parseInt(rest.slice(0, eol), 16);
      if (!size) break;
      decoded += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    body = decoded;
  }
  return { status, headers, body };
}

describe('server lifecycle', { timeout: 120000 }, () => {
  test('GET /healthz and /readyz answer 200', withDiagnostics(async () => {
    const server = await Server.start();
    const health = await request(server, 'GET', '/healthz');
    assert.equal(health.status, 200, show(health));
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await request(server, 'GET', '/readyz');
    assert.equal(ready.status, 200, show(ready));
    const exit = await server.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, 'SIGTERM on an idle server exits 0');
  }));

  test('SIGTERM finishes the request in flight, then exits 0',
    withDiagnostics(async () => {
      const dataDir = makeDataDir();
      const key = await createKey(dataDir, 'acme');
      const server = await Server.start({ dataDir });
      const events = Array.from({ length: 20 }, (_, i) => pageView({ user_id: `u${i}` }));
      const body = JSON.stringify({ events, sent_at: new Date().toISOString() });
      const head = [
        'POST /api/analytics/events HTTP/1.1',
        `Host: 127.0.0.1:${server.port}`,
        'Content-Type: application/json',
        `X-Write-Key: ${key.write_key}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        '',
        '',
      ].join('\r\n');

      const socket = net.connect(server.port, '127.0.0.1');
      await once(socket, 'connect');
      let raw = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => { raw += chunk; });
      const closed = Promise.race([
        once(socket, 'close'),
        deadline(15000).then(() => { throw new Error(`no answer; got so far: ${JSON.stringify(raw)}`); }),
      ]);
      // Headers and half of the body: the request is now in flight.
      const half = Math.floor(body.length / 2);
      socket.write(head + body.slice(0, half));
      await sleep(300);
      const stopping = server.stop({ signal: 'SIGTERM', timeoutMs: 20000 });
      await sleep(300);
      assert.ok(server.alive, 'the server must wait for the request in flight before exiting');
      socket.end(body.slice(half));
      await closed;

      const res = parseRawResponse(raw);
      assert.equal(res.status, 200, `in-flight request answer: ${raw.slice(0, 500)}`);
      const receipt = JSON.parse(res.body);
      assert.equal(receipt.accepted, events.length, res.body);
      assert.deepEqual(await stopping, { code: 0, signal: null }, 'exit status after SIGTERM');

      const dumped = new Set((await walDump(dataDir)).map((e) => e.event_id));
      for (const e of events) assert.ok(dumped.has(e.event_id), `event ${e.event_id} not in wal dump`);
    }));

  test('a second server on the same data directory is refused', withDiagnostics(async () => {
    const first = await Server.start({ label: 'first' });
    let refusal = null;
    try {
      const second = await Server.start({ dataDir: first.dataDir, label: 'second' });
      await second.kill();
    } catch (err) {
      refusal = err;
    }
    assert.ok(refusal?.server?.exit, `the second server must exit without listening (${refusal})`);
    assert.notEqual(refusal.server.exit.code, 0, 'the refused server exits non-zero');
    const health = await request(first, 'GET', '/healthz');
    assert.equal(health.status, 200, 'the first server still answers');
    assert.deepEqual(await first.stop(), { code: 0, signal: null });
  }));

  test('a key created while the server runs is accepted within ~2 s',
    withDiagnostics(async () => {
      const dataDir = makeDataDir();
      const oldKey = await createKey(dataDir, 'acme');
      const server = await Server.start({ dataDir });
      const bogus = await postEvents(server, { events: [pageView()] }, { key: 'wk_not_a_key' });
      assert.equal(bogus.status, 401, show(bogus));

      const newKey = await createKey(dataDir, 'globex');
      assert.equal(newKey.tenant, 'globex');
      assert.notEqual(newKey.write_key, oldKey.write_key);
      const created = Date.now();
      const event = pageView();
      let res;
      while (Date.now() - created < 2500) {
        res = await postEvents(server, { events: [event] }, { key: newKey.write_key });
        if (res.status === 200) break;
        assert.equal(res.status, 401, `unexpected answer while waiting for the new key: ${show(res)}`);
        await sleep(100);
      }
      assert.equal(res.status, 200, `new key still refused after 2.5 s: ${show(res)}`);
      const old = await postEvents(server, { events: [pageView()] }, { key: oldKey.write_key });
      assert.equal(old.status, 200, `the old key keeps working: ${show(old)}`);

      assert.deepEqual(await server.stop(), { code: 0, signal: null });
      const dumped = (await walDump(dataDir)).filter((e) => e.event_id === event.event_id);
      assert.equal(dumped.length, 1);
      assert.equal(dumped[0].tenant, 'globex', 'the event belongs to the new key\'s tenant');
    }));

  test('connections past http.max_connections get 503 overloaded; the open ones are still served',
    withDiagnostics(async () => {
      const server = await Server.start({ env: { CA_HTTP_MAX_CONNECTIONS: '4' } });
      // Four idle connections fill the server.
      const idle = [];
      for (let i = 0; i < 4; i++) {
        const socket = net.connect(server.port, '127.0.0.1');
        await once(socket, 'connect');
        idle.push(socket);
      }
      await sleep(200);  // accepted by now
      const refused = net.connect(server.port, '127.0.0.1');
      let raw = '';
      refused.setEncoding('utf8');
      refused.on('data', (d) => { raw += d; });
      await once(refused, 'end');
      const answer = parseRawResponse(raw);
      assert.equal(answer.status, 503, raw);
      assert.equal(answer.headers['retry-after'], '1');
      assert.equal(JSON.parse(answer.body).error.code, 'overloaded');
      refused.destroy();

      // An open connection still gets answers.
      idle[0].write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
      let health = '';
      idle[0].setEncoding('utf8');
      await new Promise((resolve) => idle[0].on('data', (d) => { health += d; if (health.includes('"ok"')) resolve(); }));
      assert.match(health, /^HTTP\/1\.1 200/);
      // Once two close, requests on new connections are served and the refusal is counted.
      idle.pop().destroy();
      idle.pop().destroy();
      let metrics;
      for (let attempt = 0; attempt < 50; attempt++) {  // until the server has seen them close
        metrics = await request(server, 'GET', '/metrics').catch((e) => ({ status: 0, text: String(e) }));
        if (metrics.status === 200) break;
        await sleep(100);
      }
      assert.equal(metrics.status, 200, metrics.text);
      // At least the one above (a scrape tried before the server saw the closes counts too).
      assert.match(metrics.text, /^ca_http_refused_connections_total [1-9]\d*$/m, metrics.text);
      assert.match(metrics.text, /^ca_http_open_connections [1-4]$/m);
      for (const socket of idle) socket.destroy();
      assert.deepEqual(await server.stop(), { code: 0, signal: null });
    }));
});
