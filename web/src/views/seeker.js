// The job seeker's dashboard: GET /dashboard/summary (every widget, docs/api/dashboard.md) and
// GET /analytics/metrics/{period} (KPIs against the previous period, docs/api/metrics.md), kept
// fresh by the user's live topic (GET /dashboard/live?topic=user).
import { api } from '../api.js';
import { timeChart } from '../charts.js';
import { el, replace } from '../dom.js';
import * as fmt from '../format.js';
import { eventList } from './activity.js';
import { bar, card, kpi, segmented, stat } from './widgets.js';

const kPeriods = [
  { value: 'day', label: '24 h', long: 'previous 24 h' },
  { value: 'week', label: '7 days', long: 'previous 7 days' },
  { value: 'month', label: '30 days', long: 'previous 30 days' },
  { value: 'year', label: '12 months', long: 'previous 12 months' },
];
const kStatusTone = { applied: 'neutral', screening: 'info', interview: 'info', offer: 'good', rejected: 'bad', withdrawn: 'muted', ghosted: 'muted' };
// The event types of recent_activity (the server's user_activity rows, docs/api/dashboard.md).
const kActivityTypes = new Set(['search', 'job_save', 'job_apply', 'application_status_changed', 'interview_scheduled',
  'interview_feedback', 'offer_received', 'offer_accepted', 'offer_rejected', 'follow_up']);
const kStatusOrder = ['applied', 'screening', 'interview', 'offer', 'rejected', 'withdrawn', 'ghosted'];

/**
 * Renders the view into `root`. `ctx`: {userId (for an admin viewing a user), onRendered()}.
 * Answers {liveEvent(event), refresh(), destroy()}.
 */
export function seekerView(root, ctx) {
  const q = ctx.userId ? `user_id=${encodeURIComponent(ctx.userId)}` : '';
  const withQ = (path) => (q ? `${path}${path.includes('?') ? '&' : '?'}${q}` : path);
  let period = 'week';
  let summary = null;
  const metrics = {};
  const cards = {
    kpis: card({ name: 'kpis', title: 'This week at a glance', span: 3 }),
    applications: card({ name: 'applications', title: 'Applications over time', subtitle: 'Drag across the chart to zoom, double-click to reset', span: 2 }),
    goal: card({ name: 'goal_progress', title: 'Weekly goal' }),
    funnel: card({ name: 'funnel', title: 'Funnel', subtitle: 'Last 30 days' }),
    status: card({ name: 'status_breakdown', title: 'Applications by status', subtitle: 'Sent in the last 90 days' }),
    response: card({ name: 'response', title: 'Employer responses', subtitle: 'Last 90 days' }),
    market: card({ name: 'market_trends', title: 'Market trends', span: 2 }),
    search: card({ name: 'search_activity', title: 'Searches', subtitle: 'Last 14 days' }),
    activity: card({ name: 'recent_activity', title: 'Recent activity', subtitle: 'Searches, saves, applications and what followed', span: 2 }),
    notifications: card({ name: 'notifications', title: 'Notifications' }),
  };
  const activity = eventList({ max: 20, testid: 'activity-list', itemTestid: 'activity-item', emptyText: 'No searches, saves or applications yet.' });
  replace(root, el('div', { class: 'grid', testid: 'view-seeker' }, Object.values(cards).map((c) => c.root)));
  cards.kpis.actions.append(segmented(kPeriods, period, (p) => {
    period = p;
    loadMetrics(p).then(renderKpis, (err) => cards.kpis.error(err));
  }, { label: 'Period', testid: 'period-toggle' }));

  async function loadMetrics(p) {
    metrics[p] = await api(withQ(`/analytics/metrics/${p}`));
    return metrics[p];
  }

  function renderKpis() {
    const m = metrics[period];
    const a = summary.applications_this_week;
    const p = kPeriods.find((x) => x.value === period);
    const meter = el('div', { class: 'meter', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(Math.min(1, a.progress ?? 0) * 100)) }, el('div', { class: 'meter-fill' }));
    meter.firstChild.style.width = `${Math.min(1, a.progress ?? 0) * 100}%`;
    cards.kpis.ready(el('div', { class: 'kpis' },
      kpi({
        name: 'applications',
        label: 'Applications this week',
        value: fmt.count(a.total),
        raw: a.total,
        extra: [
          el('span', { testid: 'kpi-applications-goal', dataset: { value: a.goal ?? '' }, text: a.goal ? `of ${fmt.count(a.goal)} goal · ${fmt.rate(a.progress)}` : 'no weekly goal set' }),
          a.goal ? meter : null,
          el('div', { class: 'kpi-period', testid: 'kpi-applications-period', dataset: { value: m.current.applications } , text: `${fmt.count(m.current.applications)} in the last ${p.label}` }),
        ],
        change: m.change_percent.applications,
        changeLabel: `vs ${p.long}`,
      }),
      kpi({ name: 'response-rate', label: 'Response rate', value: fmt.rate(m.current.response_rate), raw: m.current.response_rate, change: m.change_percent.response_rate, changeLabel: `vs ${p.long}`, extra: `applications sent in the last ${p.label}` }),
      kpi({ name: 'interviews', label: 'Interviews', value: fmt.count(m.current.interviews), raw: m.current.interviews, change: m.change_percent.interviews, changeLabel: `vs ${p.long}`, extra: `scheduled in the last ${p.label}` }),
      kpi({ name: 'offers', label: 'Offers', value: fmt.count(m.current.offers), raw: m.current.offers, change: m.change_percent.offers, changeLabel: `vs ${p.long}`, extra: `received in the last ${p.label}` }),
    ));
  }

  let appChart = null;
  let appMode = 'weeks';
  function renderApplications() {
    const a = summary.applications_this_week;
    const g = summary.goal_progress;
    const host = el('div', { class: 'chart', testid: 'chart-applications' });
    const total = el('p', { class: 'card-note' });
    cards.applications.ready(host, total);
    const specFor = (mode) => {
      if (mode === 'days') {
        total.textContent = `${fmt.count(a.total)} this week (${a.timezone ?? 'UTC'})`;
        return {
          x: a.days.map((d) => fmt.daySeconds(d.day)),
          series: [
            { label: 'Applications', values: a.days.map((d) => d.applications), bars: true },
            ...(a.goal ? [{ label: 'Daily pace for the goal', values: a.days.map(() => a.goal / 7), dash: [6, 4], color: 3 }] : []),
          ],
        };
      }
      total.textContent = `${fmt.count(g.weeks.reduce((s, w) => s + w.applications, 0))} in the last ${g.weeks.length} weeks`;
      return {
        x: g.weeks.map((w) => fmt.daySeconds(w.week_start)),
        series: [
          { label: 'Applications', values: g.weeks.map((w) => w.applications), bars: true },
          ...(g.weekly_goal ? [{ label: 'Weekly goal', values: g.weeks.map(() => g.weekly_goal), dash: [6, 4], color: 3 }] : []),
        ],
      };
    };
    if (!cards.applications.actions.firstChild) {
      cards.applications.actions.append(segmented([{ value: 'weeks', label: 'Weeks' }, { value: 'days', label: 'This week' }], appMode, (m) => {
        appMode = m;
        appChart.setData(specFor(m));
      }, { label: 'Applications range', testid: 'applications-toggle' }));
    }
    appChart?.destroy();
    appChart = timeChart(host, { ...specFor(appMode), height: 200, format: (v) => fmt.num1(v) });
  }

  function renderGoal() {
    const g = summary.goal_progress;
    if (!g.weekly_goal) {
      cards.goal.empty('No weekly application goal set yet.');
      return;
    }
    const max = Math.max(g.weekly_goal, ...g.weeks.map((w) => w.applications));
    cards.goal.ready(
      el('div', { class: 'stats' },
        stat('this week', fmt.count(g.this_week), { testid: 'goal-this-week', raw: g.this_week }),
        stat('to go', fmt.count(g.remaining), { testid: 'goal-remaining', raw: g.remaining }),
        stat(g.streak_weeks === 1 ? 'week streak' : 'weeks streak', fmt.count(g.streak_weeks), { testid: 'goal-streak', raw: g.streak_weeks, hint: 'Finished weeks in a row that met the goal' })),
      el('div', { class: 'bars' }, g.weeks.map((w, i) => bar({
        label: i === g.weeks.length - 1 ? 'This week' : `Week of ${fmt.shortDate(w.week_start)}`,
        note: w.met ? '✓ met' : i === g.weeks.length - 1 ? '' : 'missed',
        value: `${fmt.count(w.applications)} / ${fmt.count(g.weekly_goal)}`,
        fraction: w.applications / max,
        tone: w.met ? 'good' : 'neutral',
        testid: 'goal-week',
        dataset: { applications: String(w.applications), met: String(w.met) },
      }))));
  }

  function renderFunnel() {
    const steps = summary.funnel.steps;
    const first = steps[0]?.count ?? 0;
    if (!first && steps.every((s) => !s.count)) {
      cards.funnel.empty('No job views in the last 30 days.');
      return;
    }
    cards.funnel.ready(el('div', { class: 'bars' }, steps.map((s) => bar({
      label: fmt.humanize(s.step),
      note: s.rate_from_previous == null ? '' : `${fmt.rate(s.rate_from_previous)} of previous`,
      value: fmt.count(s.count),
      fraction: first ? s.count / first : 0,
      testid: 'funnel-step',
      dataset: { step: s.step, count: String(s.count) },
    }))));
  }

  function renderStatus() {
    const b = summary.status_breakdown ?? {};
    const names = [...kStatusOrder.filter((s) => s in b), ...Object.keys(b).filter((s) => !kStatusOrder.includes(s))];
    const total = names.reduce((s, n) => s + b[n], 0);
    if (!total) {
      cards.status.empty('No applications in the last 90 days.');
      return;
    }
    cards.status.ready(el('div', { class: 'bars' }, names.map((n) => bar({
      label: fmt.humanize(n),
      value: fmt.count(b[n]),
      note: fmt.rate(b[n] / total),
      fraction: b[n] / total,
      tone: kStatusTone[n] ?? 'neutral',
      testid: `status-${n}`,
      dataset: { status: n, count: String(b[n]) },
    }))));
  }

  function renderResponse() {
    const r = summary.response;
    if (!r.applications) {
      cards.response.empty('No applications in the last 90 days.');
      return;
    }
    cards.response.ready(el('div', { class: 'stats' },
      stat('response rate', fmt.rate(r.response_rate), { testid: 'response-rate', raw: r.response_rate, hint: 'Answered / (answered + no answer); waiting applications do not count' }),
      stat('median days to first response', r.median_days_to_first_response == null ? 'not yet' : fmt.num1(r.median_days_to_first_response), { testid: 'response-median', raw: r.median_days_to_first_response }),
      stat('responded', fmt.count(r.responded), { testid: 'response-responded', raw: r.responded }),
      stat('no answer', fmt.count(r.no_answer), { testid: 'response-no-answer', raw: r.no_answer }),
      stat('waiting', fmt.count(r.waiting), { testid: 'response-waiting', raw: r.waiting })));
  }

  let marketChart = null;
  let marketMetric = 'average_salary';
  function renderMarket() {
    const m = summary.market_trends;
    const where = [m.industry, m.location ?? 'all locations'].filter(Boolean).join(' · ');
    if (!m.available) {
      cards.market.empty(m.reason ? `No market data: ${m.reason}.` : 'No market data yet.');
      return;
    }
    const metricsList = [
      { value: 'average_salary', label: 'Salary', format: (v) => fmt.money(v) },
      { value: 'postings', label: 'Postings', format: (v) => fmt.count(v) },
      { value: 'competition', label: 'Competition', format: (v) => fmt.num1(v) },
    ];
    const host = el('div', { class: 'chart', testid: 'chart-market' });
    const specFor = (metric) => {
      const def = metricsList.find((x) => x.value === metric);
      return { x: m.series.map((p) => fmt.daySeconds(p.day)), series: [{ label: def.label, values: m.series.map((p) => p[metric]), fill: true }], height: 200, format: def.format, zero: false };
    };
    const ranges = el('div', { class: 'ranges' }, [30, 60, 90].map((d) => el('button', {
      type: 'button', class: 'link', text: `${d} d`,
      on: { click: () => { const last = fmt.daySeconds(m.latest.day); marketChart.setRange(last - d * 86400, last); } },
    })));
    cards.market.ready(
      el('p', { class: 'card-note', testid: 'market-where', text: where }),
      el('div', { class: 'stats' }, metricsList.map((d) => stat(`${d.label.toLowerCase()} · ${fmt.change(m.change_percent?.[d.value])} in 90 days`, d.format(m.latest[d.value]), { testid: `market-${d.value}`, raw: m.latest[d.value] }))),
      host, ranges);
    if (!cards.market.actions.firstChild) {
      cards.market.actions.append(segmented(metricsList, marketMetric, (v) => {
        marketMetric = v;
        marketChart.setData(specFor(v));
      }, { label: 'Market metric', testid: 'market-toggle' }));
    }
    marketChart?.destroy();
    marketChart = timeChart(host, specFor(marketMetric));
  }

  let searchChart = null;
  function renderSearch() {
    const s = summary.search_activity;
    const host = el('div', { class: 'chart', testid: 'chart-search' });
    cards.search.ready(
      el('div', { class: 'stats' },
        stat('searches in 14 days', fmt.count(s.total), { testid: 'search-total', raw: s.total }),
        stat(`vs ${fmt.count(s.previous_total)} before`, fmt.change(s.change_percent), { testid: 'search-change', raw: s.change_percent })),
      host);
    searchChart?.destroy();
    searchChart = timeChart(host, { x: s.days.map((d) => fmt.daySeconds(d.day)), series: [{ label: 'Searches', values: s.days.map((d) => d.searches), bars: true, color: 1 }], height: 150, format: (v) => fmt.num1(v) });
  }

  function renderActivity(data) {
    if (!data) {
      cards.activity.empty('Recent activity is not available from this server yet.', activity.root);
      return;
    }
    activity.set(data.events ?? []);
    cards.activity.ready(activity.root);
  }

  function renderNotifications(data) {
    const list = data?.notifications ?? [];
    const unread = data?.unread ?? 0;
    cards.notifications.actions.replaceChildren(el('span', { class: ['badge', unread ? 'badge-on' : null], testid: 'notifications-unread', dataset: { value: String(unread) }, text: `${unread} unread` }));
    if (!list.length) {
      cards.notifications.empty('You are all caught up. Alerts about your applications and the market will appear here.');
      return;
    }
    cards.notifications.ready(el('ul', { class: 'notes' }, list.map((n) => el('li', { class: ['note', n.read ? null : 'note-unread'], testid: 'notification', dataset: { id: String(n.id) } },
      el('div', { class: 'note-title', text: n.title ?? fmt.humanize(n.kind) }),
      n.body ? el('div', { class: 'note-body', text: n.body }) : null,
      el('time', { class: 'event-time', datetime: String(n.created_at ?? ''), text: fmt.ago(n.created_at) })))));
  }

  async function optionalWidget(name) {
    if (summary && name in summary) return summary[name];
    try {
      return await api(withQ(`/dashboard/widgets/${name}`));
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  function safely(c, fn, ...args) {
    try {
      fn(...args);
    } catch (err) {
      console.warn(err);
      c.error(err);
    }
  }

  async function load() {
    const [s] = await Promise.all([api(withQ('/dashboard/summary')), loadMetrics(period)]);
    summary = s;
    const [recent, notes] = await Promise.all([
      optionalWidget('recent_activity').catch(() => null),
      optionalWidget('notifications').catch(() => null),
    ]);
    safely(cards.kpis, renderKpis);
    safely(cards.applications, renderApplications);
    safely(cards.goal, renderGoal);
    safely(cards.funnel, renderFunnel);
    safely(cards.status, renderStatus);
    safely(cards.response, renderResponse);
    safely(cards.market, renderMarket);
    safely(cards.search, renderSearch);
    safely(cards.activity, renderActivity, recent);
    safely(cards.notifications, renderNotifications, notes);
    root.dataset.generatedAt = summary.generated_at ?? '';
  }

  const first = load().then(() => ctx.onRendered?.(), (err) => {
    for (const c of Object.values(cards)) if (c.root.dataset.state === 'loading') c.error(err);
    ctx.onRendered?.(err);
  });

  // New events: shown at once in the activity list; the widgets follow once the server has rolled
  // them up (about a second; the server drops its cached answers then).
  let refreshTimer = 0;
  let lastRefresh = 0;
  const scheduleRefresh = () => {
    if (refreshTimer) return;
    const wait = Math.max(1500, 5000 - (Date.now() - lastRefresh));
    refreshTimer = setTimeout(() => {
      refreshTimer = 0;
      lastRefresh = Date.now();
      for (const p of Object.keys(metrics)) if (p !== period) delete metrics[p];
      load().catch((err) => console.warn('refresh failed', err));
    }, wait);
  };

  return {
    ready: first,
    liveEvent(event) {
      if (kActivityTypes.has(event.type)) {
        activity.add(event);
        if (cards.activity.root.dataset.state !== 'ready') cards.activity.ready(activity.root);
      }
      scheduleRefresh();
    },
    destroy() {
      clearTimeout(refreshTimer);
      appChart?.destroy();
      marketChart?.destroy();
      searchChart?.destroy();
    },
  };
}
