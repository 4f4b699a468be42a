// The dashboard's entry point: theme, sign-in, hash routes ("#/" the job seeker, "#/admin" the
// admin, "#/?user=ID" an admin looking at one job seeker) and the live connection.
import './style.css';
import { onUnauthorized } from './api.js';
import { adoptTokenFromUrl, claims, expired, formatHash, parseHash, setToken, signOut, token } from './auth.js';
import { pruneCharts } from './charts.js';
import { el, replace } from './dom.js';
import { connectLive } from './live.js';
import { initTheme, toggleTheme, current as currentTheme } from './theme.js';
import { adminView } from './views/admin.js';
import { seekerView } from './views/seeker.js';
import { signinView } from './views/signin.js';

initTheme();
adoptTokenFromUrl();

const app = document.getElementById('app');
let view = null;
let live = null;
let rendered = false;
let signinMessage = '';
let generation = 0; // route() calls: a torn-down view's late answers must not mark the page

function markRendered(name, err) {
  document.body.dataset.rendered = err ? `${name}-error` : name;
  if (!rendered && !err) {
    rendered = true;
    performance.mark('ca-rendered', { detail: { view: name } });
  }
}

function teardown() {
  view?.destroy();
  view = null;
  live?.close();
  live = null;
  pruneCharts();
}

function header(c, route) {
  const isAdmin = c?.role === 'admin';
  const status = el('span', { class: 'live-status', testid: 'live-status', dataset: { state: 'connecting' }, title: 'Live updates' },
    el('span', { class: 'dot' }), el('span', { class: 'live-text', text: 'connecting' }));
  const themeButton = el('button', { type: 'button', class: 'button icon-button', testid: 'theme-toggle', 'aria-label': 'Switch light and dark', text: currentTheme() === 'dark' ? '☀' : '☾' });
  themeButton.addEventListener('click', () => {
    toggleTheme();
    themeButton.textContent = currentTheme() === 'dark' ? '☀' : '☾';
  });
  const out = el('button', { type: 'button', class: 'button', testid: 'sign-out', text: 'Sign out' });
  out.addEventListener('click', () => {
    signOut();
    teardown();
    location.hash = '#/';
    route();
  });
  const nav = isAdmin
    ? el('nav', { class: 'nav', 'aria-label': 'Views' },
      el('a', { href: '#/admin', class: 'nav-link', 'aria-current': parseHash().path === '/admin' ? 'page' : null, text: 'Platform' }))
    : null;
  const who = el('span', { class: 'who', testid: 'who' },
    el('span', { class: 'who-name', text: String(c?.sub ?? 'signed in') }),
    el('span', { class: 'who-role', text: isAdmin ? `admin · ${c?.tenant ?? ''}` : String(c?.tenant ?? '') }));
  const bar = el('header', { class: 'topbar' },
    el('a', { class: 'brand', href: '#/', text: 'Career Analytics' }), nav,
    el('div', { class: 'topbar-right' }, status, who, themeButton, out));
  return { bar, status };
}

function setLiveStatus(node, state, transport) {
  node.dataset.state = state;
  node.dataset.transport = transport ?? '';
  node.lastChild.textContent = state === 'live' ? `live (${transport === 'sse' ? 'SSE' : 'WebSocket'})` : state;
}

function route() {
  teardown();
  const mine = ++generation;
  const t = token();
  const c = claims(t);
  if (!t || expired(c)) {
    if (t) signOut();
    signinView(app, {
      message: signinMessage || (t ? 'Your token has expired; sign in again.' : ''),
      onToken(value) {
        setToken(value);
        signinMessage = '';
        route();
      },
    });
    document.body.dataset.rendered = 'signin';
    return;
  }
  const { path, params } = parseHash();
  const isAdmin = c?.role === 'admin';
  const userId = params.get('user');
  const wantAdmin = isAdmin && (path === '/admin' || !userId);
  if (isAdmin && wantAdmin && path !== '/admin') {
    history.replaceState(null, '', `${location.pathname}${location.search}#/admin`);
  }
  const { bar, status } = header(c, route);
  const main = el('main', { class: 'content', testid: 'content' });
  const title = wantAdmin ? 'Platform overview' : userId && isAdmin ? `Job seeker ${userId}` : 'My job search';
  replace(app, bar, el('div', { class: 'page-head' }, el('h1', { testid: 'page-title', text: title })), main);
  document.title = `${title} · Career Analytics`;
  const name = wantAdmin ? 'admin' : 'seeker';
  const ctx = {
    userId: isAdmin ? userId : null,
    onRendered: (err) => {
      if (mine === generation) markRendered(name, err);
    },
    openUser: (id) => {
      location.hash = formatHash('/', new URLSearchParams({ user: id }));
    },
  };
  view = wantAdmin ? adminView(main, ctx) : seekerView(main, ctx);
  // An admin looking at one job seeker has no live topic of theirs: the view refreshes on demand.
  if (!wantAdmin && isAdmin) {
    setLiveStatus(status, 'off');
    return;
  }
  // Live updates start once the first answers came (so a rejected token never opens a stream).
  const current = view;
  current.ready.then(() => {
    if (view !== current || document.body.dataset.rendered !== name) return;
    live = connectLive({
      topic: wantAdmin ? 'admin' : 'user',
      token: t,
      onState: (state, transport) => setLiveStatus(status, state, transport),
      onMessage: (m) => {
        if (view !== current) return;
        if (wantAdmin) current.liveMessage(m);
        else if (m.kind === 'event' && m.event) current.liveEvent(m.event);
      },
    });
  });
}

onUnauthorized((message) => {
  signOut();
  signinMessage = `Signed out: ${message}`;
  route();
});
window.addEventListener('hashchange', () => {
  adoptTokenFromUrl();
  route();
});
route();
