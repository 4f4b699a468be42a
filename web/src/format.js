// Number, percent and date formatting, locale-aware but deterministic enough for tests that read the
// raw value from `data-value` and only compare whole numbers as text.

const kInt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const kOne = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const kCompact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/** A count: "1,234"; "–" for null. */
export function count(v) {
  return isNum(v) ? kInt.format(v) : '–';
}

/** A number with at most one decimal. */
export function num1(v) {
  return isNum(v) ? kOne.format(v) : '–';
}

/** A large number in compact form: "12.3K". */
export function compact(v) {
  return isNum(v) ? (Math.abs(v) < 10000 ? kInt.format(v) : kCompact.format(v)) : '–';
}

/** A rate in [0, 1] as a percentage: "25%" (one decimal below 10%). */
export function rate(v) {
  if (!isNum(v)) return '–';
  const p = v * 100;
  return `${p !== 0 && Math.abs(p) < 10 ? kOne.format(p) : kInt.format(p)}%`;
}

/** A change in percent: "+12%", "−3.5%", "no change"; "–" when there is nothing to compare. */
export function change(v) {
  if (!isNum(v)) return '–';
  if (Math.abs(v) < 0.05) return '±0%';
  const s = Math.abs(v) < 10 ? kOne.format(Math.abs(v)) : kInt.format(Math.abs(v));
  return `${v > 0 ? '+' : '−'}${s}%`;
}

/** "up" / "down" / "flat" / "none", for the colour of a change. */
export function trend(v) {
  if (!isNum(v)) return 'none';
  if (Math.abs(v) < 0.05) return 'flat';
  return v > 0 ? 'up' : 'down';
}

/** Money without cents: "$74,500" (the demo's salaries are USD). */
export function money(v, currency = 'USD') {
  if (!isNum(v)) return '–';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, maximumFractionDigits: 0 }).format(v);
  } catch {
    return kInt.format(v);
  }
}

/** Milliseconds: "12 ms", "1.2 s". */
export function ms(v) {
  if (!isNum(v)) return '–';
  return v >= 1000 ? `${kOne.format(v / 1000)} s` : `${kOne.format(v)} ms`;
}

/** "2025-03-10" (a UTC day label) to seconds since the epoch at its UTC midnight. */
export function daySeconds(day) {
  return Date.parse(`${String(day).slice(0, 10)}T00:00:00Z`) / 1000;
}

/** "Mon 10 Mar" for a day label, in UTC (labels are already local days). */
export function dayLabel(day) {
  const d = new Date(daySeconds(day) * 1000);
  return d.toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/** "10 Mar" for a day or an ISO time. */
export function shortDate(value) {
  const d = new Date(String(value).length <= 10 ? daySeconds(value) * 1000 : Date.parse(value));
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/** "3 min ago", "yesterday 14:03", or a date, for an ISO timestamp. */
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return String(iso ?? '');
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleString(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** "HH:MM:SS" local time of an ISO timestamp. */
export function clock(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '' : new Date(t).toLocaleTimeString(undefined, { hour12: false });
}

/** "job_apply" -> "Job apply". */
export function humanize(name) {
  const s = String(name ?? '').replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
