// JSON over fetch with the user's token. A 401 signs the person out (the app shows the sign-in form
// with the server's message) unless they signed in again meanwhile; other errors reject with an
// ApiError carrying the status and code.
import { token } from './auth.js';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let unauthorizedHandler = () => {};

/** Called with the server's message when a request answers 401. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/** GET (or `init.method`) `path`, answering the parsed JSON body. */
export async function api(path, init = {}) {
  const headers = { Accept: 'application/json', ...(init.headers ?? {}) };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(path, { ...init, headers, cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'network', `cannot reach the server (${err.message})`);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const code = body?.error?.code ?? body?.code ?? `http_${res.status}`;
    const message = body?.error?.message ?? body?.message ?? `${res.status} ${res.statusText}`;
    const err = new ApiError(res.status, code, message);
    // Only for the token still in use: a late 401 to a request made with a token already
    // rejected (its view's other requests) must not sign out the person who signed in since.
    if (res.status === 401 && token() === t) unauthorizedHandler(message);
    throw err;
  }
  return body;
}
