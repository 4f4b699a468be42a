// The admin's view of the tenant: GET /dashboard/admin/summary (docs/api/admin-dashboard.md) for
// active users, events, funnel, retention, ingest and the server's own telemetry, and the admin
// live topic (GET /dashboard/live?topic=admin) for events per second, users active now and a feed.
import { api } from '../api.js';
import { timeChart } from '../charts.js';
import { el, replace } from '../dom.js';
import * as fmt from '../format.js';
import { eventList } from './activity.js';
import { bar, card, kpi, segmented, stat, table } from './widgets.js';

const kRefreshMs = 60000;

/** Renders into `root`; ctx {onRendered(err?), openUser(id)}. Answers {liveMessage(msg), destroy()}. */
export function adminView(root, ctx) {
  const timezone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  let days = 30;
  let data = null;
  const cards = {
    live: card({ name: 'live', title: 'Right now', subtitle: 'Events per second over the last minute', span: 2 }),
    feed: card({ name: 'live_feed', title: 'Live events' }),
    active: card({ name: 'active_users', title: 'Active users', span: 3 }),
    events: card({ name: 'events_over_time', title: 'Events over time', subtitle: 'Drag to zoom, double-click to reset; click a legend entry to hide it', span: 2 }),
    top: card({ name: 'top_events', title: 'Top events', subtitle: 'Last 7 days' }),
    funnel: card({ name: 'funnel', title: 'Job funnel', subtitle: 'Users' }),
    retention: card({ name: 'retention', title: 'Weekly retention', subtitle: 'Share of each week\'s new users who came back', span: 2 }),
    ingest: card({ name: 'ingest', title: 'Ingest', subtitle: 'Since the server started' }),
    system: card({ name: 'system', title: 'System performance', subtitle: 'The server\'s own telemetry', span: 2 }),
  };
  const feed = eventList({ max: 30, showUser: true, testid: 'live-feed', itemTestid: 'live-feed-item', emptyText: 'Waiting for events…' });
  let skipped = 0;
  const skippedNote = el('p', { class: 'card-note', testid: 'live-feed-skipped', hidden: true });
  cards.feed.ready(skippedNote, feed.root);
  const userForm = el('form', { class: 'inline-form', testid: 'open-user-form' },
    el('label', { for: 'open-user', class: 'sr-only', text: 'User id' }),
    el('input', { id: 'open-user', name: 'user', placeholder: 'user id, e.g. user-0001', autocomplete: 'off', required: true }),
    el('button', { type: 'submit', class: 'button', text: 'Open job seeker view' }));
  userForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = userForm.elements.user.value.trim();
    if (id) ctx.openUser(id);
  });
  const toolbar = el('div', { class: 'toolbar' },
    segmented([{ value: '7', label: '7 days' }, { value: '30', label: '30 days' }, { value: '90', label: '90 days' }], String(days), (v) => {
      days = Number(v);
      load().catch((err) => console.warn(err));
    }, { label: 'Days', testid: 'days-toggle' }),
    userForm);
  replace(root, toolbar, el('div', { class: 'grid', testid: 'view-admin' }, Object.values(cards).map((c) => c.root)));

  // ---- live ----
  const liveTiles = {
    eps: el('div', { class: 'kpi-value', testid: 'admin-live-eps', text: '–' }),
    minute: el('div', { class: 'kpi-value', testid: 'admin-live-minute', text: '–' }),
    active: el('div', { class: 'kpi-value', testid: 'admin-live-active', text: '–' }),
  };
  const liveHost = el('div', { class: 'chart', testid: 'chart-live' });
  cards.live.ready(
    el('div', { class: 'kpis kpis-3' },
      el('div', { class: 'kpi' }, el('div', { class: 'kpi-label', text: 'Events per second' }), liveTiles.eps),
      el('div', { class: 'kpi' }, el('div', { class: 'kpi-label', text: 'Events in the last minute' }), liveTiles.minute),
      el('div', { class: 'kpi' }, el('div', { class: 'kpi-label', text: 'Users active now' }), liveTiles.active)),
    liveHost);
  let liveChart = null;
  function onStats(m) {
    const setTile = (node, v, text) => {
      node.dataset.value = String(v ?? '');
      node.textContent = text;
    };
    setTile(liveTiles.eps, m.events_per_second, fmt.num1(m.events_per_second));
    setTile(liveTiles.minute, m.events_last_minute, fmt.count(m.events_last_minute));
    setTile(liveTiles.active, m.active_users, `${fmt.count(m.active_users)}${m.active_users_capped ? '+' : ''}`);
    const per = Array.isArray(m.per_second) ? m.per_second : null;
    if (!per) return;
    const end = Math.floor((Date.parse(m.ts) || Date.now()) / 1000);
    const spec = { x: per.map((_, i) => end - per.length + 1 + i), series: [{ label: 'Events/s', values: per, fill: true }], height: 140, local: true, format: (v) => fmt.num1(v) };
    if (liveChart) liveChart.update(spec);
    else liveChart = timeChart(liveHost, spec);
  }

  // ---- summary parts ----
  function renderActive() {
    const a = data.active_users;
    const host = el('div', { class: 'chart', testid: 'chart-active-users' });
    const tile = (key, label) => kpi({ name: `admin-${key}`, label, value: fmt.count(a[key].value), raw: a[key].value, change: a[key].change_percent, changeLabel: `vs previous ${a[key].window_days === 1 ? 'day' : `${a[key].window_days} days`}`, extra: `${fmt.count(a[key].previous)} before` });
    cards.active.ready(
      el('div', { class: 'split' },
        el('div', { class: 'kpis kpis-col' }, tile('dau', 'Daily active users'), tile('wau', 'Weekly active users'), tile('mau', 'Monthly active users')),
        host));
    timeChart(host, { x: a.daily.map((d) => fmt.daySeconds(d.day)), series: [{ label: 'Active users', values: a.daily.map((d) => d.users), fill: true }], height: 220, format: (v) => fmt.num1(v) });
  }

  let eventsChart = null;
  let eventsMode = 'types';
  function renderEvents() {
    const e = data.events_over_time;
    const host = el('div', { class: 'chart', testid: 'chart-events' });
    cards.events.ready(el('p', { class: 'card-note', testid: 'admin-events-total', dataset: { value: String(e.total_events) }, text: `${fmt.count(e.total_events)} events in ${e.days.length} days` }), host);
    const x = e.days.map((d) => fmt.daySeconds(d));
    const specFor = (mode) => ({
      x,
      height: 240,
      format: (v) => fmt.compact(v),
      series: mode === 'total'
        ? [{ label: 'All events', values: e.total, fill: true }]
        : e.by_type.map((t, i) => ({ label: t.other ? 'Other types' : String(t.type), values: t.values, color: i, show: i < 6 || t.other })),
    });
    if (!cards.events.actions.firstChild) {
      cards.events.actions.append(segmented([{ value: 'types', label: 'By type' }, { value: 'total', label: 'Total' }], eventsMode, (m) => {
        eventsMode = m;
        eventsChart.setData(specFor(m));
      }, { label: 'Breakdown', testid: 'events-toggle' }));
    }
    eventsChart?.destroy();
    eventsChart = timeChart(host, specFor(eventsMode));
  }

  function renderTop() {
    const list = data.top_events.events;
    if (!list.length) {
      cards.top.empty('No events in the last 7 days.');
      return;
    }
    cards.top.ready(table([{ label: 'Event' }, { label: 'Events', num: true }, { label: 'Users', num: true }],
      list.map((t) => [String(t.type), fmt.count(t.count), fmt.count(t.users)]),
      { testid: 'admin-top-events', caption: 'Top events', rowAttrs: (i) => ({ testid: 'admin-top-event', dataset: { type: String(list[i].type), count: String(list[i].count), users: String(list[i].users) } }) }));
  }

  function renderFunnel() {
    const steps = data.funnel.steps;
    const first = steps[0]?.users ?? 0;
    if (!first) {
      cards.funnel.empty('No users entered the funnel in this range.');
      return;
    }
    cards.funnel.ready(el('div', { class: 'bars' }, steps.map((s) => bar({
      label: fmt.humanize(s.event),
      note: s.conversion_from_previous == null ? '' : `${fmt.rate(s.conversion_from_previous)} of previous`,
      value: fmt.count(s.users),
      fraction: s.users / first,
      testid: 'admin-funnel-step',
      dataset: { event: String(s.event), users: String(s.users) },
    }))));
  }

  function renderRetention() {
    const r = data.retention;
    const cohorts = r.cohorts ?? [];
    if (!cohorts.some((c) => c.size)) {
      cards.retention.empty('No cohorts yet.');
      return;
    }
    const cols = r.weeks ?? cohorts[0]?.fractions.length ?? 0;
    const head = el('tr', null, el('th', { scope: 'col', text: 'Cohort' }), el('th', { scope: 'col', class: 'num', text: 'Users' }),
      Array.from({ length: cols }, (_, n) => el('th', { scope: 'col', class: 'num', text: n === 0 ? 'Week 0' : `+${n}` })));
    const rows = cohorts.map((c) => el('tr', { testid: 'admin-retention-row', dataset: { week: c.week_start, size: String(c.size) } },
      el('th', { scope: 'row', text: fmt.shortDate(c.week_start) }),
      el('td', { class: 'num', text: fmt.count(c.size) }),
      c.counts.map((count, n) => {
        if (count == null) return el('td', { class: 'heat heat-none' }); // a week still to come
        const f = c.fractions[n];
        const td = el('td', { class: 'heat num', testid: 'admin-retention-cell', dataset: { count: String(count), fraction: String(f ?? '') }, title: `${fmt.count(count)} of ${fmt.count(c.size)} users`, text: f == null ? '–' : fmt.rate(f) });
        td.style.setProperty('--heat', String(Math.max(0, Math.min(1, f ?? 0))));
        if (f > 0.55) td.classList.add('heat-strong');
        return td;
      })));
    cards.retention.ready(el('div', { class: 'table-wrap' }, el('table', { class: 'table heatmap', testid: 'admin-retention' }, el('thead', null, head), el('tbody', null, rows))));
  }

  function renderIngest() {
    const g = data.ingest;
    const d = g.dead_letters ?? { total: 0, by_code: [], recent: [] };
    const outcomes = [['received', 'received'], ['accepted', 'accepted'], ['duplicate', 'duplicates'], ['rejected', 'rejected'], ['failed_writes', 'failed writes']];
    cards.ingest.ready(
      el('div', { class: 'stats stats-wrap' }, outcomes.map(([k, label]) => stat(label, fmt.count(g[k]), { testid: `admin-ingest-${k}`, raw: g[k] }))),
      el('h3', { class: 'sub-head' }, 'Dead letters ', el('span', { class: ['badge', d.total ? 'badge-on' : null], testid: 'admin-dead-letters-total', dataset: { value: String(d.total) }, text: fmt.count(d.total) })),
      d.by_code.length
        ? el('div', { class: 'bars' }, d.by_code.map((c) => bar({ label: String(c.code), value: fmt.count(c.count), fraction: c.count / Math.max(1, d.total), tone: 'bad', testid: 'admin-dead-letter-code', dataset: { code: String(c.code), count: String(c.count) } })))
        : el('p', { class: 'empty', text: 'None: every event was accepted.' }),
      d.recent.length
        ? el('ul', { class: 'mini-list', testid: 'admin-dead-letters-recent' }, d.recent.map((r) => el('li', null,
          el('span', { class: 'mono', text: String(r.code) }), ' ', el('span', { class: 'muted', text: `${r.format ?? ''} · ${fmt.ago(r.received_at)}` }))))
        : null);
  }

  let systemWindow = 'last_hour';
  function renderSystem() {
    const s = data.system;
    if (!s.available) {
      cards.system.empty(s.reason ? `Not available: ${s.reason}.` : 'Not available.');
      return;
    }
    const w = s[systemWindow];
    const r = w.requests;
    if (!cards.system.actions.firstChild) {
      cards.system.actions.append(segmented([{ value: 'last_hour', label: 'Hour' }, { value: 'last_day', label: 'Day' }], systemWindow, (v) => {
        systemWindow = v;
        renderSystem();
      }, { label: 'Window', testid: 'system-toggle' }));
    }
    cards.system.ready(
      el('div', { class: 'stats stats-wrap' },
        stat('requests', fmt.count(r.count), { testid: 'admin-system-requests', raw: r.count }),
        stat('p50 latency', fmt.ms(r.p50_ms), { testid: 'admin-system-p50', raw: r.p50_ms }),
        stat('p95 latency', fmt.ms(r.p95_ms), { testid: 'admin-system-p95', raw: r.p95_ms }),
        stat('p99 latency', fmt.ms(r.p99_ms), { testid: 'admin-system-p99', raw: r.p99_ms }),
        stat('server errors', fmt.count(r.server_errors), { testid: 'admin-system-errors', raw: r.server_errors })),
      el('div', { class: 'split split-even' },
        el('div', null, el('h3', { class: 'sub-head', text: 'Busiest routes' }),
          w.routes.length ? table([{ label: 'Route' }, { label: 'Requests', num: true }, { label: 'p95', num: true }, { label: '5xx', num: true }],
            w.routes.map((x) => [el('span', { class: 'mono', text: String(x.route) }), fmt.count(x.count), fmt.ms(x.p95_ms), fmt.count(x.server_errors)]),
            { testid: 'admin-system-routes', rowAttrs: (i) => ({ testid: 'admin-system-route', dataset: { route: String(w.routes[i].route), count: String(w.routes[i].count) } }) })
            : el('p', { class: 'empty', text: 'No requests in this window.' })),
        el('div', null, el('h3', { class: 'sub-head', text: 'Task runs' }),
          w.tasks.length ? table([{ label: 'Task' }, { label: 'Runs', num: true }, { label: 'Failed', num: true }, { label: 'Mean', num: true }],
            w.tasks.map((t) => [String(t.task), fmt.count(t.runs), fmt.count(t.failures), fmt.ms(t.mean_ms)]),
            { testid: 'admin-system-tasks', rowAttrs: (i) => ({ testid: 'admin-system-task', dataset: { task: String(w.tasks[i].task), runs: String(w.tasks[i].runs) } }) })
            : el('p', { class: 'empty', text: 'No task runs in this window.' }))),
      el('h3', { class: 'sub-head', text: 'Recent errors' }),
      s.recent_errors?.length
        ? el('ul', { class: 'mini-list', testid: 'admin-system-recent-errors' }, s.recent_errors.map((x) => el('li', null,
          el('span', { class: 'muted', text: fmt.ago(x.time) }), ' ', el('span', { class: 'mono', text: String(x.task ?? '') }), ' ', el('span', { text: String(x.message ?? '') }))))
        : el('p', { class: 'empty', text: 'No errors recorded.' }));
  }

  function safely(c, fn) {
    try {
      fn();
    } catch (err) {
      console.warn(err);
      c.error(err);
    }
  }

  async function load() {
    data = await api(`/dashboard/admin/summary?days=${days}&timezone=${encodeURIComponent(timezone)}`);
    safely(cards.active, renderActive);
    safely(cards.events, renderEvents);
    safely(cards.top, renderTop);
    safely(cards.funnel, renderFunnel);
    safely(cards.retention, renderRetention);
    safely(cards.ingest, renderIngest);
    safely(cards.system, renderSystem);
    root.dataset.generatedAt = data.generated_at ?? '';
  }

  const first = load().then(() => ctx.onRendered?.(), (err) => {
    for (const c of Object.values(cards)) if (c.root.dataset.state === 'loading') c.error(err);
    ctx.onRendered?.(err);
  });
  const timer = setInterval(() => load().catch((err) => console.warn('refresh failed', err)), kRefreshMs);

  return {
    ready: first,
    liveMessage(m) {
      if (m.skipped > 0) {
        // The server dropped events for this slow client; say so rather than pretend.
        skipped += m.skipped;
        skippedNote.hidden = false;
        skippedNote.textContent = `${fmt.count(skipped)} events not shown (the feed was too fast)`;
      }
      if (m.kind === 'stats') onStats(m);
      else if (m.kind === 'event' && m.event) feed.add(m.event);
    },
    destroy() {
      clearInterval(timer);
      liveChart?.destroy();
      eventsChart?.destroy();
    },
  };
}
