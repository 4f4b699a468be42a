// Helpers for the end-to-end tests: start the real binary on a free loopback port in a fresh data
// directory, talk to it over HTTP, run its CLI, stop it by pid. Every child process is killed when
// the test process ends, whatever the outcome; data directories are removed unless CA_E2E_KEEP=1.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const kRepoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Path of the binary under test: $CA_BIN, else the release build. */
export const BIN = process.env.CA_BIN
  ? path.resolve(process.env.CA_BIN)
  : ['build/release/career-analytics', 'build/release/src/app/career-analytics']
    .map((p) => path.join(kRepoRoot, p))
    .find((p) => fs.existsSync(p)) ?? path.join(kRepoRoot, 'build/release/career-analytics');

const kStderrTailBytes = 64 * 1024;
const liveChildren = new Set();
const dataDirs = new Set();
/** Every server started by this test process, in order (for diagnostics). */
const allServers = [];

function isRunning(child) {
  return child.exitCode === null && child.signalCode === null;
}

function killAllSync() {
  for (const child of liveChildren) {
    if (isRunning(child)) child.kill('SIGKILL');
  }
  liveChildren.clear();
  if (process.env.CA_E2E_KEEP === '1') {
    if (dataDirs.size > 0) console.error(`kept data dirs: ${[...dataDirs].join(' ')}`);
    return;
  }
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  dataDirs.clear();
}

process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAllSync();
    process.exit(128 + os.constants.signals[sig]);
  });
}

/**
 * The environment for a child: ours without CA_* variables (the binary reads CA_* as configuration
 * and refuses unknown ones, and the test knobs such as CA_BIN share that prefix), plus `extra`.
 */
export function childEnv(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('CA_')) env[name] = value;
  }
  return { ...env, ...extra };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Like sleep, but does not keep the process alive (for the losing side of a race). */
export const deadline = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** A port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A fresh, empty data directory, removed when the test process exits. */
export function makeDataDir(prefix = 'ca-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dataDirs.add(dir);
  return dir;
}

/** Keeps the last `limit` bytes of a stream as text. */
class TailBuffer {
  constructor(limit) {
    this.limit = limit;
    this.text = '';
  }
  push(chunk) {
    this.text += chunk.toString('utf8');
    if (this.text.length > 2 * this.limit) this.text = this.text.slice(-this.limit);
  }
  tail(lines = 60) {
    return this.text.slice(-this.limit).split('\n').slice(-lines).join('\n');
  }
}

function checkBinary() {
  if (!fs.existsSync(BIN)) {
    throw new Error(`binary not found: ${BIN} (build it, or set CA_BIN to its path)`);
  }
}

/** A running `career-analytics serve`. Start with `Server.start(...)`. */
export class Server {
  constructor(dataDir, port, options) {
    this.dataDir = dataDir;
    this.port = port;
    this.options = options;
    this.url = `http://127.0.0.1:${port}`;
    this.stdoutLines = [];
    this.stderr = new TailBuffer(kStderrTailBytes);
    this.child = null;
    this.exit = null; // {code, signal} once exited
    this.exited = null; // Promise of {code, signal}
    this.label = options.label ?? `server:${port}`;
  }

  /**
   * Starts a server and waits for its `listening on` line.
   * options: dataDir (default: fresh), walSync ('always'|'interval'|'none'), config (path),
   * args (extra CLI args), env (extra environment), startTimeoutMs (default 30000), label.
   */
  static async start(options = {}) {
    checkBinary();
    const dataDir = options.dataDir ?? makeDataDir();
    for (let attempt = 1; ; attempt++) {
      const server = new Server(dataDir, await freePort(), options);
      try {
        await server.launch();
        return server;
      } catch (err) {
        // Someone else took the port between freePort() and bind(): try another one.
        const portTaken = /address already in use|EADDRINUSE/i.test(server.stderr.text);
        if (attempt < 3 && server.exit && portTaken) continue;
        err.server = server;
        throw err;
      }
    }
  }

  get pid() {
    return this.child?.pid;
  }

  get alive() {
    return this.child !== null && isRunning(this.child);
  }

  launch() {
    const o = this.options;
    const args = ['serve', '--data', this.dataDir, '--listen', `127.0.0.1:${this.port}`];
    if (o.walSync) args.push('--wal-sync', o.walSync);
    if (o.config) args.push('--config', o.config);
    if (o.args) args.push(...o.args);
    const child = spawn(BIN, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(o.env),
    });
    this.child = child;
    liveChildren.add(child);
    allServers.push(this);
    child.stderr.on('data', (chunk) => this.stderr.push(chunk));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        liveChildren.delete(child);
        resolve(this.exit);
      });
      child.on('error', (err) => {
        this.stderr.push(`spawn error: ${err.message}\n`);
        this.exit = { code: null, signal: null, error: err };
        liveChildren.delete(child);
        resolve(this.exit);
      });
    });
    const expected = `listening on ${this.url}`;
    const timeoutMs = o.startTimeoutMs ?? 30000;
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        if (isRunning(child)) child.kill('SIGKILL');
        settle(new Error(`${this.describe()}: no "${expected}" line within ${timeoutMs} ms\n` +
          `stdout: ${JSON.stringify(this.stdoutLines)}\n${this.stderrTail()}`));
      }, timeoutMs);
      readline.createInterface({ input: child.stdout }).on('line', (line) => {
        this.stdoutLines.push(line);
        if (line.trim() === expected) settle();
      });
      this.exited.then((exit) => settle(new Error(
        `${this.describe()} exited before listening: ${JSON.stringify(exit)}\n` +
        `stdout: ${JSON.stringify(this.stdoutLines)}\n${this.stderrTail()}`)));
    });
  }

  describe() {
    return `${this.label} (pid ${this.pid}, data ${this.dataDir})`;
  }

  /** The last lines of the server's stderr, with a header. */
  stderrTail(lines = 60) {
    return `---- stderr tail of ${this.describe()} ----\n${this.stderr.tail(lines)}\n---- end ----`;
  }

  /** Sends `signal` to the server's pid and waits for it to exit; SIGKILL after timeoutMs. */
  async stop({ signal = 'SIGTERM', timeoutMs = 20000 } = {}) {
    if (!this.alive) return this.exit ?? (await this.exited);
    process.kill(this.pid, signal);
    const result = await Promise.race([this.exited, deadline(timeoutMs).then(() => null)]);
    if (result === null) {
      process.kill(this.pid, 'SIGKILL');
      await this.exited;
      throw new Error(`${this.describe()} did not exit within ${timeoutMs} ms of ${signal}\n` +
        this.stderrTail());
    }
    return result;
  }

  /** SIGKILL by pid, then wait for the exit. */
  async kill() {
    return this.stop({ signal: 'SIGKILL', timeoutMs: 10000 });
  }

  /** A field of /proc/PID/status in kB (VmRSS, VmHWM), or null if unavailable. */
  procStatusKb(field) {
    try {
      const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const match = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
      return match ? Number(match[1]) : null;
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
  }
}

/** Stops every server still running (SIGTERM, then SIGKILL if needed). */
export async function stopAll() {
  await Promise.all(allServers.filter((s) => s.alive).map((s) => s.stop().catch(() => s.kill())));
}

/**
 * Wraps a test body so that a failure also prints the stderr tail of every server that was
 * running during the test or started by it.
 */
export function withDiagnostics(fn, { maxServers = 3 } = {}) {
  return async (t) => {
    const mark = allServers.length;
    const alive = allServers.filter((s) => s.alive);
    try {
      return await fn(t);
    } catch (err) {
      // The most recent few only: a crash test starts dozens of servers.
      const involved = [...new Set([...alive, ...allServers.slice(mark)])].slice(-maxServers);
      for (const server of involved) console.error(server.stderrTail());
      throw err;
    }
  };
}

/**
 * Runs the binary with `args`, tracked so that stopAll() can kill it; kills it after timeoutMs.
 * Streams stdout line by line to `onStdoutLine` when given, else collects it.
 * Resolves {code, signal, stdout, stderr, stderrTail(lines)}.
 */
function runBinary(args, { timeoutMs, env = {}, onStdoutLine = null }) {
  checkBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv(env),
    });
    liveChildren.add(child);
    const out = [];
    const err = new TailBuffer(kStderrTailBytes);
    if (onStdoutLine) {
      readline.createInterface({ input: child.stdout }).on('line', onStdoutLine);
    } else {
      child.stdout.on('data', (c) => out.push(c));
    }
    child.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolve({
        code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: err.text,
        stderrTail: (lines) => err.tail(lines),
      });
    });
  });
}

/**
 * Runs the binary with `args` and collects its output.
 * Resolves {code, signal, stdout, stderr}; kills the process after timeoutMs.
 */
export async function runCli(args, { timeoutMs = 60000, env = {} } = {}) {
  const { code, signal, stdout, stderr } = await runBinary(args, { timeoutMs, env });
  return { code, signal, stdout, stderr };
}

/** `keys create`: returns {tenant, write_key, secret_key, ...}. */
export async function createKey(dataDir, tenant) {
  const r = await runCli(['keys', 'create', '--data', dataDir, '--tenant', tenant]);
  if (r.code !== 0) {
    throw new Error(`keys create exited ${r.code} (signal ${r.signal})\nstdout: ${r.stdout}\n` +
      `stderr: ${r.stderr}`);
  }
  let key;
  try {
    key = JSON.parse(r.stdout.trim());
  } catch (e) {
    throw new Error(`keys create printed no JSON object: ${JSON.stringify(r.stdout)} (${e.message})`);
  }
  if (typeof key.write_key !== 'string' || key.write_key.length === 0) {
    throw new Error(`keys create printed no write_key: ${r.stdout}`);
  }
  return key;
}

/**
 * Runs a command that prints one JSON object per line (`wal dump`, `store dump`) and calls
 * onEvent(object) for each, streaming (the output can be large). Throws if the command fails or
 * prints a line that is not a JSON object.
 */
async function dumpEach(args, onEvent, { timeoutMs = 300000 } = {}) {
  const name = args.slice(0, 2).join(' ');
  let lines = 0;
  let failure = null;
  const onStdoutLine = (line) => {
    if (failure || line.trim() === '') return;
    lines++;
    try {
      const event = JSON.parse(line);
      if (event === null || typeof event !== 'object' || Array.isArray(event)) {
        throw new Error('not a JSON object');
      }
      onEvent(event);
    } catch (e) {
      failure = new Error(`${name} line ${lines} is bad (${e.message}): ${line.slice(0, 300)}`);
    }
  };
  const r = await runBinary(args, { timeoutMs, onStdoutLine });
  if (failure) throw failure;
  if (r.code !== 0) {
    throw new Error(`${args.join(' ')} exited ${r.code} (signal ${r.signal})\n` +
      `stderr: ${r.stderrTail(40)}`);
  }
  return lines;
}

/** `wal dump`: every event still in the write-ahead log. */
export async function walDumpEach(dataDir, onEvent, options) {
  return dumpEach(['wal', 'dump', '--data', dataDir], onEvent, options);
}

/** `store dump`: every stored event (parts and WAL); the server must be stopped. */
export async function storeDumpEach(dataDir, onEvent, options) {
  return dumpEach(['store', 'dump', '--data', dataDir], onEvent, options);
}

/** POST /analytics/query with the tenant's secret key; returns the response. */
export async function query(server, secretKey, spec, { timeoutMs = 60000 } = {}) {
  return request(server, 'POST', '/analytics/query', {
    body: JSON.stringify(spec),
    headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
    timeoutMs,
  });
}

/**
 * Every event of the tenant in [from, to) through the query API's `events` listing, page by page
 * (newest first); calls onEvent(object) for each. Throws on any non-200 answer.
 */
export async function queryEventsEach(server, secretKey, onEvent,
  { from = Date.now() - 30 * 86400000, to = Date.now() + 86400000, pageSize = 1000 } = {}) {
  let cursor = null;
  let total = 0;
  for (;;) {
    const spec = { kind: 'events', from, to, limit: pageSize };
    if (cursor) spec.cursor = cursor;
    const res = await query(server, secretKey, spec);
    if (res.status !== 200) throw new Error(`events query: ${show(res)}`);
    for (const e of res.body.events) onEvent(e);
    total += res.body.events.length;
    cursor = res.body.next_cursor;
    if (!cursor) return total;
  }
}

/** `wal dump` collected into an array of event objects. */
export async function walDump(dataDir, options) {
  const events = [];
  await walDumpEach(dataDir, (e) => events.push(e), options);
  return events;
}

/** A globally unique event id (<= 64 chars). */
export function newEventId(prefix = 'e2e') {
  return `${prefix}-${randomUUID()}`;
}

/** A valid page_view event; `overrides` replace or add fields. */
export function pageView(overrides = {}) {
  return {
    event_id: newEventId(),
    type: 'page_view',
    user_id: 'user-1',
    session_id: 'session-1',
    timestamp: new Date(Date.now() - 60000).toISOString(),
    properties: { path: '/jobs', title: 'Jobs' },
    ...overrides,
  };
}

/**
 * POSTs to /api/analytics/events and returns {status, headers, body (parsed JSON or null), text}.
 * options: key, placement ('header' | 'bearer' | 'body' | 'none'), gzip (bool), contentType,
 * headers (extra), timeoutMs. `payload` is an object (serialised, write_key added for 'body'),
 * a string or a Buffer (sent as is).
 */
export async function postEvents(server, payload, options = {}) {
  const {
    key,
    placement = 'header',
    gzip = false,
    contentType = 'application/json',
    headers: extraHeaders = {},
    timeoutMs = 30000,
  } = options;
  const headers = { ...extraHeaders };
  if (contentType !== null) headers['content-type'] = contentType;
  if (key && placement === 'header') headers['x-write-key'] = key;
  if (key && placement === 'bearer') headers.authorization = `Bearer ${key}`;
  let body;
  if (Buffer.isBuffer(payload) || typeof payload === 'string') {
    body = payload;
  } else {
    const withKey = key && placement === 'body' ? { ...payload, write_key: key } : payload;
    body = JSON.stringify(withKey);
  }
  if (gzip) {
    body = zlib.gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  return request(server, 'POST', '/api/analytics/events', { body, headers, timeoutMs });
}

/** Any HTTP request to the server; returns {status, headers, body, text}. */
export async function request(server, method, urlPath, { body, headers = {}, timeoutMs = 30000 } = {}) {
  const res = await fetch(`${server.url}${urlPath}`, {
    method,
    body,
    headers,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** A one-line description of a response, for assertion messages. */
export function show(res) {
  return `HTTP ${res.status} ${res.text.slice(0, 500)}`;
}
