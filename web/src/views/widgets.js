// Building blocks shared by the views: cards with a state (loading, ready, empty, error), KPI tiles
// with a change badge, horizontal bars, segmented toggles and small tables. Everything goes through
// el(), so every label and value is text.
import { el, replace } from '../dom.js';
import * as fmt from '../format.js';

/**
 * A card: {name, title, subtitle?, wide?, tall?}. Answers {root, body, ready(...nodes), empty(text),
 * error(err), actions}; `data-testid="widget-NAME"` with `data-state`.
 */
export function card({ name, title, subtitle, span = 1 }) {
  const actions = el('div', { class: 'card-actions' });
  const body = el('div', { class: 'card-body' }, el('div', { class: 'skeleton' }));
  const root = el('section', { class: ['card', `span-${span}`], testid: `widget-${name}`, dataset: { state: 'loading' }, 'aria-busy': 'true' },
    el('header', { class: 'card-head' },
      el('div', null, el('h2', { text: title }), subtitle ? el('p', { class: 'card-sub', text: subtitle }) : null),
      actions),
    body);
  const setState = (s) => {
    root.dataset.state = s;
    root.setAttribute('aria-busy', 'false');
  };
  return {
    root,
    body,
    actions,
    ready(...nodes) {
      replace(body, ...nodes);
      setState('ready');
    },
    empty(text, ...nodes) {
      replace(body, el('p', { class: 'empty', testid: `empty-${name}`, text }), ...nodes);
      setState('empty');
    },
    error(err) {
      replace(body, el('p', { class: 'error', role: 'alert', text: `Could not load: ${err?.message ?? err}` }));
      setState('error');
    },
  };
}

/** A change badge: "+12% vs previous week", coloured up/down (`invert` when down is good). */
export function changeBadge(value, label, { testid, invert = false } = {}) {
  const t = fmt.trend(value);
  const good = t === 'flat' || t === 'none' ? t : (t === 'up') !== invert ? 'good' : 'bad';
  return el('span', { class: ['change', `change-${t}`, `change-${good}`], testid, dataset: { value: fmt.isNum(value) ? String(value) : '' } },
    el('span', { class: 'change-value', text: fmt.change(value) }),
    label ? el('span', { class: 'change-label', text: ` ${label}` }) : null);
}

/** A KPI tile: big value, a caption, optional extra line and change badge. */
export function kpi({ name, label, value, raw, extra, change, changeLabel, invert }) {
  return el('div', { class: 'kpi', testid: `kpi-${name}` },
    el('div', { class: 'kpi-label', text: label }),
    el('div', { class: 'kpi-value', testid: `kpi-${name}-value`, dataset: { value: raw == null ? '' : String(raw) }, text: value }),
    extra ? el('div', { class: 'kpi-extra' }, extra) : null,
    change !== undefined ? changeBadge(change, changeLabel, { testid: `kpi-${name}-change`, invert }) : null);
}

/** A horizontal bar with a label, a value and a fraction in [0, 1] (width set through CSSOM). */
export function bar({ label, value, fraction, note, testid, dataset, tone }) {
  const fill = el('div', { class: ['bar-fill', tone ? `tone-${tone}` : null] });
  fill.style.width = `${Math.max(0, Math.min(1, fraction || 0)) * 100}%`;
  return el('div', { class: 'bar-row', testid, dataset },
    el('div', { class: 'bar-label' }, el('span', { class: 'bar-name', text: label }), note ? el('span', { class: 'bar-note', text: note }) : null),
    el('div', { class: 'bar-track' }, fill),
    el('div', { class: 'bar-value', text: value }));
}

/** A segmented toggle: options [{value, label}], calls onChange(value); answers the element. */
export function segmented(options, selected, onChange, { label, testid } = {}) {
  const group = el('div', { class: 'segmented', role: 'group', 'aria-label': label, testid });
  const buttons = options.map((o) => el('button', {
    type: 'button',
    class: 'seg',
    dataset: { value: o.value },
    'aria-pressed': String(o.value === selected),
    text: o.label,
    on: {
      click: () => {
        for (const b of buttons) b.setAttribute('aria-pressed', String(b === buttonOf(o.value)));
        onChange(o.value);
      },
    },
  }));
  const buttonOf = (v) => buttons.find((b) => b.dataset.value === v);
  group.append(...buttons);
  return group;
}

/** A table: columns [{label, num?}], rows of cells (strings/nodes); rowAttrs(i) for each <tr>. */
export function table(columns, rows, { rowAttrs, testid, caption } = {}) {
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'table', testid },
      caption ? el('caption', { class: 'sr-only', text: caption }) : null,
      el('thead', null, el('tr', null, columns.map((c) => el('th', { class: c.num ? 'num' : null, scope: 'col', text: c.label })))),
      el('tbody', null, rows.map((cells, i) => el('tr', rowAttrs ? rowAttrs(i) : null,
        cells.map((cell, j) => el('td', { class: columns[j]?.num ? 'num' : null }, cell)))))));
}

/** A labelled figure: "Waiting 3". */
export function stat(label, value, { testid, raw, hint } = {}) {
  return el('div', { class: 'stat', title: hint },
    el('div', { class: 'stat-value', testid, dataset: { value: raw == null ? '' : String(raw) }, text: value }),
    el('div', { class: 'stat-label', text: label }));
}
