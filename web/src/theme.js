// Light and dark: the system's preference (prefers-color-scheme) unless the person picked one with
// the toggle (kept in localStorage). The choice is `data-theme` on <html>; style.css does the rest.
// Charts read their colours from CSS variables and are redrawn on every change ('ca-theme' event).

const kKey = 'ca.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

/** 'light' | 'dark' | null (follow the system). */
function stored() {
  try {
    const v = localStorage.getItem(kKey);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

/** The theme in effect. */
export function current() {
  return stored() ?? (media.matches ? 'dark' : 'light');
}

function apply() {
  document.documentElement.dataset.theme = current();
  window.dispatchEvent(new Event('ca-theme'));
}

/** Applies the theme now and follows the system's changes. */
export function initTheme() {
  document.documentElement.dataset.theme = current();
  media.addEventListener('change', () => {
    if (!stored()) apply();
  });
}

/** Switches to the other theme and remembers it. */
export function toggleTheme() {
  const next = current() === 'dark' ? 'light' : 'dark';
  try {
    localStorage.setItem(kKey, next);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  document.documentElement.dataset.theme = next;
  window.dispatchEvent(new Event('ca-theme'));
}
