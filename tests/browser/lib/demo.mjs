// `career-analytics demo` for browser tests: starts the real binary's demo (tenant `demo`,
// generated history ingested through the HTTP API, sign-in links) on a free port in a fresh data
// directory and parses what it prints. Reuses the e2e harness for the binary, ports and cleanup.
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { BIN, childEnv, freePort, makeDataDir } from '../../e2e/lib/harness.mjs';

const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** What the demo printed: url, writeKey, secretKey, seekerLink, adminLink and their tokens. */
function parse(lines) {
  const text = lines.join('\n');
  const pick = (re) => text.match(re)?.[1] ?? null;
  const seekerLink = pick(/job seeker:\s+(\S+)/);
  const adminLink = pick(/admin:\s+(\S+)/);
  return {
    url: pick(/URL:\s+(\S+)/),
    writeKey: pick(/write key:\s+(\S+)/),
    secretKey: pick(/secret key:\s+(\S+)/),
    seekerLink,
    adminLink,
    seekerToken: seekerLink && new URL(seekerLink).hash.match(/token=([^&]+)/)?.[1],
    adminToken: adminLink && new URL(adminLink).hash.match(/token=([^&]+)/)?.[1],
  };
}

/**
 * Runs `career-analytics demo --users N --days D` and resolves once it printed "Stop with Ctrl-C."
 * options: dataDir (default fresh), users, days, seed, env, timeoutMs. Answers the parsed output
 * plus {dataDir, stdout, stderr(), stop()}.
 */
export async function startDemo({ dataDir = makeDataDir('ca-browser-'), users = 40, days = 60, seed = 42, env = {}, timeoutMs = 240000 } = {}) {
  const port = await freePort();
  const args = ['demo', '--data', dataDir, '--listen', `127.0.0.1:${port}`, '--users', String(users),
    '--days', String(days), '--seed', String(seed)];
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(env) });
  running.add(child);
  const lines = [];
  let stderr = '';
  child.stderr.on('data', (c) => {
    stderr = (stderr + c.toString()).slice(-32768);
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start within ${timeoutMs} ms\n${lines.join('\n')}\n${stderr}`)), timeoutMs);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.startsWith('Stop with Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`demo exited before it was ready: ${JSON.stringify(e)}\n${lines.join('\n')}\n${stderr}`));
    });
  });
  return {
    ...parse(lines),
    dataDir,
    stdout: lines,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 20000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** GET/POST JSON against the demo with a bearer credential; answers {status, body}. */
export async function apiJson(base, path, { token, method = 'GET', body, headers = {} } = {}) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}
