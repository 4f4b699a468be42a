// Who may call what (docs/auth.md), for every route the server describes in /openapi.json (the
// openapi_test unit test keeps that list complete): each route is called with no credentials, a
// forged key, an expired token, a token signed with another secret, another tenant's key, a write
// key and another user's token, and must answer 401 or 403 as its `x-auth` class says.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  Server, createKey, makeDataDir, request, stopAll, withDiagnostics,
} from './lib/harness.mjs';
import { signToken, tokenEnv } from './lib/tokens.mjs';

after(stopAll);

// A concrete value for each path parameter.
const kParams = { period: 'week', name: 'funnel', id: 'u1' };
const concrete = (path) => path
  .replace('/analytics/jobs/{name}', '/analytics/jobs/rollups.recompute')
  .replace(/\{(\w+)\}/g, (_, p) => kParams[p] ?? 'x');

describe('route authorisation matrix', { timeout: 300000 }, () => {
  let server;
  let acme;
  let other;
  let routes;

  before(async () => {
    const dataDir = makeDataDir('ca-auth-');
    acme = await createKey(dataDir, 'acme');
    other = await createKey(dataDir, 'other');
    server = await Server.start({ dataDir, env: tokenEnv, label: 'auth' });
    const doc = await request(server, 'GET', '/openapi.json');
    assert.equal(doc.status, 200);
    routes = [];
    for (const [path, ops] of Object.entries(doc.body.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        routes.push({ method: method.toUpperCase(), path, url: concrete(path), auth: op['x-auth'] });
      }
    }
    assert.ok(routes.length > 30, `${routes.length} routes described`);
  });

  // A body each POST route can read. The SDK routes read the body before the key (their clients
  // may put the key in it), so theirs must be well-formed for the key check to be what answers.
  const bodyFor = (route) => {
    if (/^\/v1\/(batch|b|import)$/.test(route.path)) return '{"batch":[]}';
    if (/^\/(batch|capture|e|i\/v0\/e|track)\/?$/.test(route.path)) return '{"batch":[]}';
    return '{}';
  };

  // Calls a route with `authorization` (or none) and optional extra query; a JSON body for POST.
  async function call(route, authorization, query = '') {
    const sep = route.url.includes('?') ? '&' : '?';
    const headers = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    return request(server, route.method, `${route.url}${query ? sep + query : ''}`, {
      headers, body: route.method === 'POST' ? bodyFor(route) : undefined,
    });
  }

  const expired = () => signToken({ tenant: 'acme', sub: 'u1', role: 'admin', exp: Math.floor(Date.now() / 1000) - 3600 });
  const forgedToken = () => signToken({ tenant: 'acme', sub: 'u1', role: 'admin', secret: 'not-the-platform-secret-but-long-enough' });
  const noneAlg = () => signToken({ tenant: 'acme', sub: 'u1', role: 'admin', alg: 'none' });
  const user = (sub) => signToken({ tenant: 'acme', sub });

  test('public routes need no credentials', withDiagnostics(async () => {
    for (const route of routes.filter((r) => r.auth === 'public')) {
      const res = await call(route, null);
      // The web assets' route is called with a made-up file name: not found, but not refused.
      const want = route.path === '/assets/{file}' ? 404 : 200;
      assert.equal(res.status, want, `${route.method} ${route.path}: ${res.status} ${res.text.slice(0, 200)}`);
    }
  }));

  test('every other route refuses missing, forged, expired and mis-signed credentials with 401', withDiagnostics(async () => {
    const cases = [
      ['no credentials', null],
      ['a forged secret key', 'Bearer cas_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['a forged write key', 'Bearer caw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
      ['garbage', 'Bearer !!!'],
      ['an expired token', `Bearer ${expired()}`],
      ['a token signed with another secret', `Bearer ${forgedToken()}`],
      ['an unsigned token (alg none)', `Bearer ${noneAlg()}`],
    ];
    for (const route of routes.filter((r) => r.auth !== 'public')) {
      for (const [what, authorization] of cases) {
        const res = await call(route, authorization);
        assert.equal(res.status, 401, `${route.method} ${route.path} with ${what}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
  }));

  test('reads refuse write keys, other tenants and users who are not theirs with 403', withDiagnostics(async () => {
    for (const route of routes.filter((r) => ['tenant', 'user', 'reader'].includes(r.auth))) {
      const label = `${route.method} ${route.path}`;
      const writeKey = await call(route, `Bearer ${acme.write_key}`);
      assert.equal(writeKey.status, 403, `${label} with a write key: ${writeKey.text.slice(0, 200)}`);
      const otherTenant = await call(route, `Bearer ${other.secret_key}`, 'tenant=acme');
      assert.equal(otherTenant.status, 403, `${label} with another tenant's key: ${otherTenant.text.slice(0, 200)}`);
      const otherAdmin = signToken({ tenant: 'other', sub: 'x', role: 'admin' });
      const otherToken = await call(route, `Bearer ${otherAdmin}`, 'tenant=acme');
      assert.equal(otherToken.status, 403, `${label} with another tenant's admin: ${otherToken.text.slice(0, 200)}`);
      if (route.auth === 'tenant') {
        const asUser = await call(route, `Bearer ${user('u1')}`);
        assert.equal(asUser.status, 403, `${label} with a user token: ${asUser.text.slice(0, 200)}`);
      }
      if (route.auth === 'user') {
        const asOther = await call(route, `Bearer ${user('u2')}`, 'user_id=u1');
        assert.equal(asOther.status, 403, `${label} with another user's token: ${asOther.text.slice(0, 200)}`);
      }
    }
  }));

  test('the right credential gets past authorisation', withDiagnostics(async () => {
    const good = { tenant: `Bearer ${acme.secret_key}`, user: `Bearer ${user('u1')}`, reader: `Bearer ${user('u1')}` };
    for (const route of routes.filter((r) => good[r.auth])) {
      const res = await call(route, good[route.auth], route.auth === 'tenant' ? 'tenant=acme' : '');
      assert.ok(![401, 403].includes(res.status), `${route.method} ${route.path}: ${res.status} ${res.text.slice(0, 200)}`);
    }
    const admin = signToken({ tenant: 'acme', sub: 'boss', role: 'admin' });
    const res = await call(routes.find((r) => r.path === '/analytics/query'), `Bearer ${admin}`);
    assert.ok(![401, 403].includes(res.status), `an admin token may query: ${res.text.slice(0, 200)}`);
  }));
});
