// Opt-in click and form tracking. Never reads what people type: no input values, only the element's
// tag, id, a short text snippet (not for inputs), a link's address without its query, and a form's
// id/name, action (without query) and method. Elements inside [data-ca-ignore] are skipped.

/** origin + path of a URL (no query or fragment, which may carry personal data). */
function bare(href) {
  try {
    const u = new URL(href, location.href);
    return /^https?:$/.test(u.protocol) ? u.origin + u.pathname : u.protocol;
  } catch (e) {
    return '';
  }
}

const kClickable = 'a,button,[role=button],input[type=submit],input[type=button],[data-ca-event]';

/** opt: true (clicks and forms) or {clicks, forms}; track(type, props) records an event. */
export function autocapture(opt, track) {
  if (!opt) return;
  const d = document;
  if (opt === true || opt.clicks) {
    d.addEventListener('click', (ev) => {
      const t = ev.target;
      const el = t && t.closest && t.closest(kClickable);
      if (!el || el.closest('[data-ca-ignore]')) return;
      const p = { tag: el.tagName.toLowerCase() };
      const id = el.getAttribute('id');
      if (id) p.element_id = id;
      if (el.tagName != 'INPUT') {
        const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 64);
        if (text) p.text = text;
      }
      const href = el.getAttribute('href');
      if (href) p.href = bare(href);
      track('button_click', p);
    }, true);
  }
  if (opt === true || opt.forms) {
    d.addEventListener('submit', (ev) => {
      const f = ev.target;
      if (!f || f.tagName != 'FORM' || f.closest('[data-ca-ignore]')) return;
      // getAttribute: form.id / form.action are shadowed by inputs named "id" / "action".
      const action = bare(f.getAttribute('action') || location.href);
      track('form_submit', {
        form_id: f.getAttribute('id') || f.getAttribute('name') || action || 'form',
        action,
        method: (f.getAttribute('method') || 'get').toLowerCase(),
      });
    }, true);
  }
}
