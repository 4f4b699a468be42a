// First-party storage: localStorage when the browser allows it, else memory for this page only.
// Values are strings; nothing here ever touches cookies.
const mem = {};
let ls = null;
try {
  ls = window.localStorage;
  ls.setItem('_ca_t', '1');
  ls.removeItem('_ca_t');
} catch (e) {
  ls = null;
}

export function get(key) {
  try {
    if (ls) return ls.getItem(key);
  } catch (e) {}
  return key in mem ? mem[key] : null;
}

/** Stores a value; false when the browser refused it (quota exceeded). */
export function set(key, value) {
  if (!ls) {
    mem[key] = value;
    return true;
  }
  try {
    ls.setItem(key, value);
    return true;
  } catch (e) {
    return false;
  }
}

export function del(key) {
  delete mem[key];
  try {
    if (ls) ls.removeItem(key);
  } catch (e) {}
}

export function getJSON(key, fallback) {
  try {
    const s = get(key);
    return s ? JSON.parse(s) : fallback;
  } catch (e) {
    return fallback;
  }
}
