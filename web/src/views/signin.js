// The sign-in form: paste a user token (the platform's sign-in service issues them; `career-analytics
// demo` prints links that carry one). The token stays in this tab (sessionStorage).
import { el, replace } from '../dom.js';

export function signinView(root, { message, onToken }) {
  const input = el('textarea', { id: 'token', name: 'token', rows: '4', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'eyJhbGciOiJIUzI1NiIs…', testid: 'signin-token' });
  const form = el('form', { class: 'signin-form', testid: 'signin-form' },
    el('label', { for: 'token', text: 'User token' }),
    input,
    el('button', { type: 'submit', class: 'button button-primary', testid: 'signin-submit', text: 'Sign in' }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = input.value.trim();
    if (value) onToken(value);
  });
  replace(root, el('section', { class: 'signin card', testid: 'view-signin' },
    el('h1', { text: 'Sign in to Career Analytics' }),
    el('p', { class: 'muted', text: 'Paste the user token your platform issued, or open a sign-in link (the demo prints one for a job seeker and one for an admin).' }),
    message ? el('p', { class: 'error', role: 'alert', testid: 'signin-message', text: message }) : null,
    form));
  input.focus();
}
