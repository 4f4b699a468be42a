// Valid sample events for every type of the catalogue, with the properties each type requires.
import { newEventId } from './harness.mjs';

/** Required (and typical) properties per event type. */
export const kCatalogue = {
  page_view: { path: '/jobs', title: 'Jobs' },
  button_click: { button: 'apply-now' },
  form_submit: { form_id: 'profile' },
  search: { query: 'c++ engineer berlin' },
  filter_change: { filter: 'remote', value: 'true' },
  time_spent: { seconds: 42.5, path: '/jobs/123' },
  job_view: { job_id: 'job-1' },
  job_save: { job_id: 'job-1' },
  job_share: { job_id: 'job-1', channel: 'email' },
  job_apply: { job_id: 'job-1' },
  application_status_changed: { application_id: 'app-1', status: 'interview' },
  interview_scheduled: { application_id: 'app-1' },
  interview_feedback: { application_id: 'app-1', rating: 4 },
  offer_received: { application_id: 'app-1' },
  offer_accepted: { application_id: 'app-1' },
  offer_rejected: { application_id: 'app-1' },
  follow_up: { application_id: 'app-1' },
  login: {},
  logout: {},
  error: { message: 'TypeError: x is undefined' },
  perf_metric: { name: 'lcp_ms', value: 1234.5 },
  task_run: { task: 'daily_rollup', status: 'success' },
  screen_view: { name: 'Home' },
  identify: { traits: { seniority: 'senior' } },
  alias: { previous_id: 'anon-1' },
  group: { group_id: 'company-1', traits: { size: 50 } },
};

/** One valid event of `type` for `user`, timestamped `agoMs` before now. */
export function sampleEvent(type, { user = 'user-1', agoMs = 60000, extra = {} } = {}) {
  return {
    event_id: newEventId(type),
    type,
    user_id: user,
    session_id: `sess-${user}`,
    timestamp: new Date(Date.now() - agoMs).toISOString(),
    properties: { ...kCatalogue[type] },
    context: { page: { url: 'https://copilot.example/jobs' }, locale: 'en-GB' },
    ...extra,
  };
}

/** One valid event of every catalogue type. */
export function oneOfEachType(options) {
  return Object.keys(kCatalogue).map((type) => sampleEvent(type, options));
}
