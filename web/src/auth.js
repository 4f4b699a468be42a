// The signed-in person: a user token taken from the URL fragment (never sent to the server by the
// browser), kept in sessionStorage for this tab, and removed from the address bar at once.

const kKey = 'ca.token';

/** The hash route: "#/admin?token=X" -> {path: "/admin", params}; "#token=X" -> {path: "/"}. */
export function parseHash(hash = location.hash) {
  const h = hash.replace(/^#/, '');
  if (!h.startsWith('/')) return { path: '/', params: new URLSearchParams(h) };
  const q = h.indexOf('?');
  return {
    path: q < 0 ? h : h.slice(0, q),
    params: new URLSearchParams(q < 0 ? '' : h.slice(q + 1)),
  };
}

/** Builds "#/path?params" (without the params when there are none). */
export function formatHash(path, params) {
  const q = params && [...params.keys()].length ? `?${params}` : '';
  return `#${path}${q}`;
}

/** Moves a token from the fragment into sessionStorage and cleans the address bar. */
export function adoptTokenFromUrl() {
  const { path, params } = parseHash();
  const token = params.get('token') ?? params.get('access_token');
  if (!token) return;
  params.delete('token');
  params.delete('access_token');
  setToken(token);
  history.replaceState(null, '', `${location.pathname}${location.search}${formatHash(path, params)}`);
}

export function token() {
  try {
    return sessionStorage.getItem(kKey);
  } catch {
    return null;
  }
}

export function setToken(value) {
  sessionStorage.setItem(kKey, value.trim());
}

export function signOut() {
  sessionStorage.removeItem(kKey);
}

/**
 * The token's claims as the browser can read them (unverified: for display and routing only; the
 * server checks every request). Null when the token is not a JWT.
 */
export function claims(value = token()) {
  if (!value) return null;
  const parts = value.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === 'object' ? payload : null;
  } catch {
    return null;
  }
}

/** True when the token's `exp` has passed. */
export function expired(c = claims()) {
  return Boolean(c && typeof c.exp === 'number' && c.exp * 1000 < Date.now());
}
