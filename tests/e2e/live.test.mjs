// Live updates (docs/api/live.md), end to end against the real binary: SSE and WebSocket streams
// of `GET /dashboard/live`, a posted event reaching every viewer of its topic within 2 s, the
// admin topic's stats, isolation between users, refused credentials answered before any upgrade,
// and streams closed promptly when the server stops.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';

import {
  Server, createKey, makeDataDir, newEventId, postEvents, request, show, sleep, stopAll,
  withDiagnostics,
} from './lib/harness.mjs';
import { signToken, tokenEnv } from './lib/tokens.mjs';

after(stopAll);

const kArrivalMs = 2000;

// Collects a stream's JSON messages; waitFor resolves with the first one matching `pred`.
class Inbox {
  constructor(label) {
    this.label = label;
    this.messages = [];
    this.waiters = [];
  }

  push(message) {
    message.receivedAt = Date.now();
    this.messages.push(message);
    this.waiters = this.waiters.filter(({ pred, resolve }) => {
      if (!pred(message)) return true;
      resolve(message);
      return false;
    });
  }

  waitFor(pred, timeoutMs = 5000, what = 'a message') {
    const found = this.messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
        `${this.label}: no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 1500)}`,
      )), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }
}

// Opens an SSE stream with fetch; resolves {status, headers, inbox, close} once the headers are
// in (for a refused request: the status and the JSON error body).
async function openSse(server, query, headers = {}) {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/dashboard/live?${query}`, {
    headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal,
  });
  if (res.status !== 200) {
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  }
  const inbox = new Inbox(`sse ${query.replace(/access_token=[^&]*/, 'access_token=…')}`);
  const decoder = new TextDecoder();
  let pending = '';
  (async () => {
    try {
      for await (const chunk of res.body) {
        pending += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const frame = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6));
          if (data.length > 0) inbox.push(JSON.parse(data.join('\n')));
        }
      }
      inbox.ended = true;
    } catch {
      inbox.ended = true; // aborted or closed
    }
  })();
  return { status: res.status, headers: res.headers, inbox, close: () => controller.abort() };
}

// Opens a WebSocket; resolves {ws, inbox} once open, or {status, text} when the server refused
// the upgrade with a plain HTTP response.
function openWs(server, query, headers = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/dashboard/live?${query}`, { headers });
    const inbox = new Inbox(`ws ${query.replace(/access_token=[^&]*/, 'access_token=…')}`);
    ws.on('message', (data) => inbox.push(JSON.parse(data.toString())));
    ws.on('close', (code) => { inbox.closeCode = code; inbox.ended = true; });
    ws.on('open', () => resolve({ ws, inbox, close: () => ws.close() }));
    ws.on('unexpected-response', (req, res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode, text });
      });
    });
    ws.on('error', (err) => reject(err));
  });
}

describe('live updates', { timeout: 120000 }, () => {
  let server;
  let keys;
  const user = (sub) => signToken({ tenant: 'acme', sub });
  const admin = () => signToken({ tenant: 'acme', sub: 'boss', role: 'admin' });
  const streams = [];
  const track = (s) => { if (s.close) streams.push(s); return s; };

  before(async () => {
    const dataDir = makeDataDir('ca-live-');
    keys = await createKey(dataDir, 'acme');
    server = await Server.start({ dataDir, env: tokenEnv, label: 'live' });
  });

  after(() => { for (const s of streams) s.close(); });

  async function post(events) {
    const res = await postEvents(server, { events }, { key: keys.write_key });
    assert.equal(res.status, 200, show(res));
  }

  const event = (type, userId, properties = {}) => ({
    event_id: newEventId('live'), type, user_id: userId,
    timestamp: new Date().toISOString(), properties,
  });

  test('an event reaches every viewer of its user over SSE and WebSocket within 2 s, and no one else', withDiagnostics(async () => {
    const sse = track(await openSse(server, `topic=user&access_token=${user('u1')}`));
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(sse.headers.get('cache-control'), 'no-store');
    const ws = track(await openWs(server, 'topic=user', { authorization: `Bearer ${user('u1')}` }));
    assert.ok(ws.ws, `upgrade refused: ${ws.status} ${ws.text}`);
    const ws2 = track(await openWs(server, `topic=user&access_token=${user('u1')}`));
    assert.ok(ws2.ws, `upgrade refused: ${ws2.status} ${ws2.text}`);
    const other = track(await openSse(server, `topic=user&access_token=${user('u2')}`));
    for (const s of [sse, ws, ws2, other]) {
      const hello = await s.inbox.waitFor((m) => m.kind === 'hello', 5000, 'hello');
      assert.equal(hello.tenant, 'acme');
    }

    const mine = event('job_apply', 'u1', { job_id: 'j1' });
    const theirs = event('job_view', 'u2', { job_id: 'j2' });
    const start = Date.now();
    await post([mine, theirs]);
    for (const s of [sse, ws, ws2]) {
      const got = await s.inbox.waitFor((m) => m.kind === 'event' && m.event.event_id === mine.event_id,
        kArrivalMs + 1000, `event ${mine.event_id}`);
      assert.ok(got.receivedAt - start <= kArrivalMs, `${s.inbox.label}: arrived after ${got.receivedAt - start} ms`);
      assert.equal(got.event.type, 'job_apply');
      assert.equal(got.event.user_id, 'u1');
      assert.equal(got.event.properties.job_id, 'j1');
      assert.match(got.event.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    await other.inbox.waitFor((m) => m.kind === 'event' && m.event.event_id === theirs.event_id,
      kArrivalMs + 1000, 'u2 own event');
    await sleep(300);
    for (const s of [sse, ws, ws2]) {
      assert.ok(!s.inbox.messages.some((m) => m.kind === 'event' && m.event.user_id !== 'u1'),
        `${s.inbox.label} got another user's event`);
    }
    assert.ok(!other.inbox.messages.some((m) => m.kind === 'event' && m.event.user_id !== 'u2'));

    // All viewers of u1 share one subscription: three connections, topics for u1 and u2.
    const metrics = await request(server, 'GET', '/metrics');
    assert.match(metrics.text, /^ca_live_connections [4-9]/m, metrics.text.slice(0, 300));
    assert.match(metrics.text, /^ca_live_messages_sent_total \d+/m);
  }));

  test('an admin sees every event and stats with events per second', withDiagnostics(async () => {
    const ws = track(await openWs(server, `topic=admin&access_token=${admin()}`));
    assert.ok(ws.ws, `upgrade refused: ${ws.status} ${ws.text}`);
    const sse = track(await openSse(server, 'topic=admin', { authorization: `Bearer ${keys.secret_key}` }));
    assert.equal(sse.status, 200);
    for (const s of [ws, sse]) {
      await s.inbox.waitFor((m) => m.kind === 'hello' && m.topic === 'admin', 5000, 'hello');
      await s.inbox.waitFor((m) => m.kind === 'stats', 3000, 'first stats');
    }
    const events = [event('login', 'u7'), event('page_view', 'u8', { path: '/jobs' })];
    const start = Date.now();
    await post(events);
    for (const s of [ws, sse]) {
      for (const e of events) {
        const got = await s.inbox.waitFor((m) => m.kind === 'event' && m.event.event_id === e.event_id,
          kArrivalMs + 1000, `event ${e.event_id}`);
        assert.ok(got.receivedAt - start <= kArrivalMs, `arrived after ${got.receivedAt - start} ms`);
      }
      const stats = await s.inbox.waitFor((m) => m.kind === 'stats' && m.events_per_second > 0 &&
        m.receivedAt > start, 5000, 'stats with events_per_second > 0');
      assert.ok(stats.events_last_minute >= 2, JSON.stringify(stats));
      assert.ok(stats.active_users >= 2, JSON.stringify(stats));
      assert.equal(stats.per_second.length, 60);
      assert.ok(!Number.isNaN(Date.parse(stats.ts)));
    }
    // Stats keep coming, once a second.
    const n = ws.inbox.messages.filter((m) => m.kind === 'stats').length;
    await ws.inbox.waitFor((m) => m.kind === 'stats' && ws.inbox.messages.filter((x) => x.kind === 'stats').length > n + 1, 4000, 'two more stats');
  }));

  test('refused credentials get a plain 401/403/400 and no stream', withDiagnostics(async () => {
    const cases = [
      ['no credential', 'topic=user', {}, 401],
      ['a garbage token', 'topic=user&access_token=a.b.c', {}, 401],
      ['an expired token', `topic=user&access_token=${signToken({ tenant: 'acme', sub: 'u1', exp: Math.floor(Date.now() / 1000) - 3600 })}`, {}, 401],
      ['a write key', `topic=admin&access_token=${keys.write_key}`, {}, 403],
      ['a user token on the admin topic', `topic=admin&access_token=${user('u1')}`, {}, 403],
      ["another user's topic", `topic=user&user_id=u2&access_token=${user('u1')}`, {}, 403],
      ['another tenant', `topic=admin&tenant=other&access_token=${admin()}`, {}, 403],
      ['no topic', `access_token=${user('u1')}`, {}, 400],
      ['an unknown topic', `topic=everything&access_token=${user('u1')}`, {}, 400],
      ['a secret key without user_id', `topic=user&access_token=${keys.secret_key}`, {}, 400],
    ];
    for (const [what, query, headers, status] of cases) {
      const ws = await openWs(server, query, headers);
      if (ws.ws) ws.ws.close();
      assert.equal(ws.status, status, `WebSocket with ${what}: ${ws.status} ${ws.text}`);
      assert.ok(JSON.parse(ws.text).error.code, ws.text);
      const sse = await openSse(server, query, headers);
      if (sse.close) sse.close();
      assert.equal(sse.status, status, `SSE with ${what}`);
      assert.ok(JSON.parse(sse.text).error.code, sse.text);
    }
    // The admin may watch any user of the tenant.
    const watched = track(await openSse(server, `topic=user&user_id=u3&access_token=${admin()}`));
    assert.equal(watched.status, 200);
    const hello = await watched.inbox.waitFor((m) => m.kind === 'hello');
    assert.equal(hello.user_id, 'u3');
  }));

  test('the server stops promptly with streams open', withDiagnostics(async () => {
    const ws = track(await openWs(server, `topic=admin&access_token=${admin()}`));
    const sse = track(await openSse(server, `topic=user&access_token=${user('u1')}`));
    await ws.inbox.waitFor((m) => m.kind === 'hello');
    await sse.inbox.waitFor((m) => m.kind === 'hello');
    const start = Date.now();
    const exit = await server.stop({ timeoutMs: 10000 });
    assert.equal(exit.code, 0, JSON.stringify(exit));
    assert.ok(Date.now() - start < 5000, `stopped after ${Date.now() - start} ms`);
    for (let i = 0; i < 50 && !(ws.inbox.ended && sse.inbox.ended); i++) await sleep(20);
    assert.ok(ws.inbox.ended && sse.inbox.ended, 'both streams ended');
    assert.equal(ws.inbox.closeCode, 1001);
  }));
});
