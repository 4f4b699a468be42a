// Interactive time charts on uPlot: hover shows the values in the legend, dragging across the plot
// selects a range (double-click resets it), clicking a legend entry toggles that series. Colours come
// from CSS variables, so charts follow the theme; they resize with their container.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { dayLabel } from './format.js';

const charts = new Set();

window.addEventListener('ca-theme', () => {
  for (const c of [...charts]) {
    if (c.container.isConnected) c.rebuild();
    else c.destroy();
  }
});

function palette() {
  const cs = getComputedStyle(document.documentElement);
  const v = (name) => cs.getPropertyValue(name).trim();
  return {
    axis: v('--muted') || '#666',
    grid: v('--grid') || 'rgba(128,128,128,0.2)',
    series: [1, 2, 3, 4, 5, 6, 7, 8].map((i) => v(`--c${i}`) || '#3b82f6'),
  };
}

function withAlpha(color, alpha) {
  return /^#[0-9a-f]{6}$/i.test(color) ? color + alpha : color;
}

function options(spec, width, p, container) {
  const fmt = spec.format ?? ((v) => (v == null ? '–' : String(Math.round(v * 100) / 100)));
  const axis = { stroke: p.axis, grid: { stroke: p.grid, width: 1 }, ticks: { stroke: p.grid, width: 1 } };
  return {
    width,
    height: spec.height ?? 220,
    // x values are UTC midnights of day labels that are already local days: show them as such
    // (live charts have real times: `local`).
    ...(spec.local ? {} : { tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') }),
    cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
    legend: { live: true },
    hooks: {
      // The visible x range, for people (title) and tests (data-range).
      setScale: [(u, key) => {
        if (key !== 'x' || u.scales.x.min == null) return;
        container.dataset.range = `${u.scales.x.min}-${u.scales.x.max}`;
      }],
    },
    scales: {
      x: { time: true },
      // Counts start at zero; levels (salaries) use the span of the data (`zero: false`).
      y: {
        range: spec.zero === false
          ? (u, min, max) => (min === max ? [min - 1, max + 1] : [min - (max - min) * 0.1, max + (max - min) * 0.1])
          : (u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.08 : 1],
      },
    },
    axes: [
      { ...axis, space: 60 },
      { ...axis, size: 56, values: (u, vals) => vals.map((v) => fmt(v)) },
    ],
    series: [
      {
        label: spec.local ? 'Time' : 'Day',
        value: (u, ts) => (ts == null ? '–' : spec.local ? new Date(ts * 1000).toLocaleTimeString(undefined, { hour12: false }) : dayLabel(new Date(ts * 1000).toISOString())),
      },
      ...spec.series.map((s, i) => {
        const color = p.series[(s.color ?? i) % p.series.length];
        return {
          label: s.label,
          show: s.show !== false,
          stroke: color,
          width: s.bars ? 0 : 2,
          fill: s.bars ? withAlpha(color, 'cc') : s.fill ? withAlpha(color, '22') : undefined,
          dash: s.dash,
          points: { show: !s.bars && !spec.local && spec.x.length <= 31 },
          paths: s.bars ? uPlot.paths.bars({ size: [0.7, 48], align: 0 }) : undefined,
          value: (u, v) => fmt(v),
        };
      }),
    ],
  };
}

/**
 * A chart of day-labelled series inside `container`:
 *   spec = {x: [day seconds], series: [{label, values, bars?, fill?, dash?, color?, show?}],
 *           height?, format?(v), zero? (false: the y axis spans the data), local? (real times)}
 * Answers a handle: setRange(fromSeconds, toSeconds), resetRange(), setData(spec), destroy().
 */
export function timeChart(container, spec) {
  let u = null;
  let current = spec;
  const handle = {
    get plot() {
      return u;
    },
    container,
    rebuild() {
      const keep = u ? { min: u.scales.x.min, max: u.scales.x.max, show: u.series.slice(1).map((s) => s.show) } : null;
      u?.destroy();
      const p = palette();
      const spec2 = keep ? { ...current, series: current.series.map((s, i) => ({ ...s, show: keep.show[i] ?? s.show })) } : current;
      u = new uPlot(options(spec2, Math.max(220, container.clientWidth || 320), p, container), [current.x, ...current.series.map((s) => s.values)], container);
      if (keep && keep.min != null) u.setScale('x', { min: keep.min, max: keep.max });
    },
    setData(next) {
      current = next;
      u?.destroy();
      u = null;
      handle.rebuild();
    },
    /** New values for the same series (no rebuild; the zoom resets to the data). */
    update(next) {
      current = next;
      if (u) u.setData([next.x, ...next.series.map((s) => s.values)]);
      else handle.rebuild();
    },
    setRange(from, to) {
      u?.setScale('x', { min: from, max: to });
    },
    resetRange() {
      if (!u || current.x.length === 0) return;
      u.setScale('x', { min: current.x[0], max: current.x[current.x.length - 1] });
    },
    destroy() {
      observer.disconnect();
      charts.delete(handle);
      u?.destroy();
      u = null;
    },
  };
  const observer = new ResizeObserver(() => {
    if (!container.isConnected) return;
    const w = Math.max(220, container.clientWidth);
    if (u && Math.abs(u.width - w) > 1) u.setSize({ width: w, height: u.height });
  });
  observer.observe(container);
  charts.add(handle);
  handle.rebuild();
  return handle;
}

/** Destroys every chart whose container left the document (call after replacing a view). */
export function pruneCharts() {
  for (const c of [...charts]) if (!c.container.isConnected) c.destroy();
}
