// User tokens as the platform mints them: HS256 JWTs signed with node's own crypto (an
// implementation independent of the server's), with the claims docs/auth.md lists.
import { createHmac } from 'node:crypto';

/** The shared secret the e2e servers are started with (CA_AUTH_JWT_SECRET). */
export const kJwtSecret = 'e2e-shared-secret-of-at-least-32-bytes!';
export const kIssuer = 'career-copilot';
export const kAudience = 'career-analytics';

const b64url = (data) => Buffer.from(data).toString('base64url');

/**
 * A signed token. Claims default to a valid one-hour user token; pass `exp` (seconds) to expire
 * it, `secret` to sign with another key, `alg` to lie about the algorithm.
 */
export function signToken({
  tenant, sub, role = 'user', exp = Math.floor(Date.now() / 1000) + 3600, iss = kIssuer,
  aud = kAudience, secret = kJwtSecret, alg = 'HS256',
} = {}) {
  const header = b64url(JSON.stringify({ alg, typ: 'JWT' }));
  const payload = b64url(JSON.stringify({ tenant, sub, role, exp, iss, aud }));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Environment that turns user tokens on for a server. */
export const tokenEnv = { CA_AUTH_JWT_SECRET: kJwtSecret };
