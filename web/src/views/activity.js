// A list of events (the job seeker's recent activity, the admin's live feed). Event types,
// properties and user ids are user-supplied: they are only ever text nodes.
import { el } from '../dom.js';
import * as fmt from '../format.js';

// Properties worth a glance, in order of preference; others follow when there is room.
const kPreferred = ['job_title', 'title', 'company', 'query', 'status', 'previous_status', 'job_id',
  'application_id', 'interview_type', 'round', 'salary', 'currency', 'channel', 'source', 'method',
  'filter', 'value', 'seconds', 'path', 'referrer', 'message', 'task', 'name'];

function propertyPairs(properties, max) {
  if (!properties || typeof properties !== 'object' || Array.isArray(properties)) return [];
  const keys = Object.keys(properties);
  const ordered = [...kPreferred.filter((k) => keys.includes(k)), ...keys.filter((k) => !kPreferred.includes(k))];
  const pairs = [];
  for (const k of ordered) {
    const v = properties[k];
    if (v === null || v === undefined || v === '') continue;
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    pairs.push([k, text.length > 120 ? `${text.slice(0, 117)}…` : text]);
    if (pairs.length >= max) break;
  }
  return pairs;
}

/** One event as a list item: type, time, user (when `showUser`), a few properties. */
export function eventItem(event, { showUser = false, live = false, testid = 'activity-item' } = {}) {
  const pairs = propertyPairs(event.properties, 4);
  return el('li', { class: ['event', live ? 'event-live' : null], testid, dataset: { eventId: String(event.event_id ?? ''), type: String(event.type ?? '') } },
    el('div', { class: 'event-head' },
      el('span', { class: 'event-type', text: fmt.humanize(event.type) }),
      showUser && event.user_id ? el('span', { class: 'event-user', text: String(event.user_id) }) : null,
      el('time', { class: 'event-time', datetime: String(event.timestamp ?? ''), title: String(event.timestamp ?? ''), text: fmt.ago(event.timestamp) })),
    pairs.length ? el('dl', { class: 'event-props' }, pairs.map(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })])) : null);
}

/**
 * A list that keeps at most `max` events, newest first, without duplicates (by event_id).
 * Answers {root, set(events), add(event)}.
 */
export function eventList({ max = 20, showUser = false, testid, itemTestid, emptyText }) {
  const root = el('ol', { class: 'events', testid });
  const empty = el('p', { class: 'empty', text: emptyText });
  const wrap = el('div', { class: 'events-wrap' }, empty, root);
  const seen = new Set();
  const sync = () => {
    while (root.children.length > max) {
      const last = root.lastElementChild;
      seen.delete(last.dataset.eventId);
      last.remove();
    }
    empty.hidden = root.children.length > 0;
  };
  return {
    root: wrap,
    /**
     * Replaces the list with `events` (newest first), keeping live events newer than all of them
     * that the server's answer does not hold yet.
     */
    set(events) {
      const newest = events.length ? Date.parse(events[0].timestamp) || 0 : 0;
      const ids = new Set(events.map((e) => e.event_id));
      const keep = [...root.children].filter((li) => li._event && !ids.has(li._event.event_id) && (Date.parse(li._event.timestamp) || 0) >= newest);
      root.replaceChildren(...keep);
      seen.clear();
      for (const li of keep) seen.add(li._event.event_id);
      for (const e of events) {
        if (e.event_id && seen.has(e.event_id)) continue;
        seen.add(e.event_id);
        root.append(eventItem(e, { showUser, testid: itemTestid }));
      }
      sync();
    },
    add(event) {
      if (event.event_id && seen.has(event.event_id)) return;
      seen.add(event.event_id);
      const li = eventItem(event, { showUser, live: true, testid: itemTestid });
      li._event = event;
      root.prepend(li);
      sync();
    },
  };
}
