// tracker.js: Career Analytics in the browser (docs/tracker.md). window.ca = {init, track, identify,
// page, consent, reset, flush}. First-party localStorage only, never cookies; nothing at all under
// Do-Not-Track or Global Privacy Control; events go to POST {host}/api/analytics/events.
import { autocapture } from './autocapture.js';
import { createQueue } from './queue.js';
import { del, get, getJSON, set } from './storage.js';
import { uuid } from './uuid.js';

const kVersion = '1.0.0';
const kSessionMs = 30 * 60 * 1000;
const kAnon = '_ca_aid';
const kUser = '_ca_uid';
const kSession = '_ca_sid';
const kConsent = '_ca_consent';

const W = window;
const D = document;
const N = navigator;
const L = location;
const script = D.currentScript;

let cfg = null;
let queue = null;
let early = []; // calls made before init
let lastUrl = '';
let referrer = D.referrer;

/** The browser asks not to be tracked: Do-Not-Track or Global Privacy Control. */
const optedOut = () =>
  /^(1|yes)$/.test(N.doNotTrack || W.doNotTrack || N.msDoNotTrack) || N.globalPrivacyControl === true;

function active() {
  if (!cfg || optedOut()) return false;
  const c = get(kConsent);
  return c == '1' || (c != '0' && !cfg.requireConsent);
}

/** Forgets everything stored about this browser (queue, ids, session); keeps the consent choice. */
function wipe() {
  if (queue) queue.clear();
  else del('_ca_q');
  del(kAnon);
  del(kUser);
  del(kSession);
}

function anonymousId() {
  let id = get(kAnon);
  if (!id) set(kAnon, (id = uuid()));
  return id;
}

// A session ends after 30 minutes without an event (shared by the site's tabs).
function sessionId() {
  const now = Date.now();
  let s = getJSON(kSession, null);
  if (!s || !s.id || !(now - s.t < kSessionMs)) s = { id: uuid() };
  s.t = now;
  set(kSession, JSON.stringify(s));
  return s.id;
}

function record(type, props) {
  if (!active()) return;
  if (typeof type != 'string' || !type) return console.warn('ca: track(type) needs a type');
  let tz;
  try {
    tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {}
  const e = {
    event_id: uuid(),
    type,
    anonymous_id: anonymousId(),
    session_id: sessionId(),
    timestamp: new Date().toISOString(),
    properties: props && typeof props == 'object' && !Array.isArray(props) ? props : {},
    // The browser sends the user agent itself (User-Agent header); the server reads it from there.
    context: {
      page: { url: L.href, path: L.pathname, referrer, title: D.title },
      screen: { width: screen.width, height: screen.height },
      locale: N.language,
      timezone: tz,
      library: { name: 'ca-tracker', version: kVersion },
    },
  };
  const user = get(kUser);
  if (user) e.user_id = user;
  queue.push(e);
}

function page(props) {
  lastUrl = L.href;
  record('page_view', props);
}

// Single-page apps: a page view whenever the address changes (pushState, replaceState, back/forward,
// hash links); the previous address becomes the referrer.
function navigated() {
  setTimeout(() => {
    if (L.href == lastUrl) return;
    referrer = lastUrl || referrer;
    page();
  }, 0);
}

function init(o) {
  if (cfg) return;
  o = o || {};
  if (!o.writeKey) return console.warn('ca: init needs a writeKey');
  const host = (o.host || (script && script.src ? new URL(script.src).origin : '')).replace(/\/+$/, '');
  cfg = { requireConsent: !!o.requireConsent, pageViews: o.pageViews !== false };
  if (optedOut()) return wipe();
  queue = createQueue({
    url: `${host}/api/analytics/events`,
    writeKey: o.writeKey,
    flushAt: o.flushAt || 10,
    flushInterval: o.flushInterval || 30000,
    maxEvents: o.maxQueueEvents || 500,
    maxBytes: o.maxQueueBytes || 262144,
    backoff: o.retryBackoff || 1000,
    maxBackoff: o.maxRetryBackoff || 60000,
    active,
  });
  const leftover = active() && queue.size();
  D.addEventListener('visibilitychange', () => D.visibilityState == 'hidden' && queue.beacon());
  W.addEventListener('pagehide', queue.beacon);
  W.addEventListener('online', queue.online);
  W.addEventListener('offline', queue.offline);
  if (cfg.pageViews) {
    for (const m of ['pushState', 'replaceState']) {
      const orig = history[m];
      history[m] = function () {
        const r = orig.apply(this, arguments);
        navigated();
        return r;
      };
    }
    W.addEventListener('popstate', navigated);
    W.addEventListener('hashchange', navigated);
    page();
  }
  autocapture(o.autocapture, record);
  if (leftover) queue.flush(); // events an earlier page could not send
  const calls = early;
  early = [];
  for (const [m, a] of calls) api[m].apply(null, a);
}

function identify(userId, traits) {
  if (!active()) return;
  if (userId == null || userId === '') return console.warn('ca: identify needs a user id');
  set(kUser, String(userId));
  record('identify', { traits: traits || {} });
}

/** Records the visitor's choice. false: stop sending, drop the queue and forget the ids. */
function consent(granted) {
  if (!granted || optedOut()) {
    if (!granted) set(kConsent, '0');
    return wipe();
  }
  const was = active();
  set(kConsent, '1');
  if (!was && cfg && cfg.pageViews && active()) page();
}

/** Logging out: forget the user id and start a new anonymous id and session. */
function reset() {
  del(kUser);
  del(kAnon);
  del(kSession);
}

const api = {
  init,
  track: record,
  identify,
  page: (props) => active() && page(props),
  consent,
  reset,
  flush: () => queue && queue.flush(),
  version: kVersion,
};

// Calls other than init/consent/reset made before init wait for it.
for (const m of ['track', 'identify', 'page', 'flush']) {
  const f = api[m];
  api[m] = (...a) => (cfg ? f(...a) : early.push([m, a]));
}

// Replay the calls of the loading snippet (window.ca = {q: [[method, args], ...]}).
const stub = W.ca;
W.ca = api;
if (stub && stub.q) for (const [m, a] of stub.q) if (api[m]) api[m].apply(null, a);
if (script && script.dataset.writeKey) init({ writeKey: script.dataset.writeKey });
