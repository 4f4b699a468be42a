// The only way the dashboard builds DOM: elements from a tag, attributes and children, where every
// string child becomes a text node. Nothing here parses HTML, so data (event names, properties, job
// titles, referrers) can never become markup, and the CSP needs no 'unsafe-inline'.

const kForbiddenAttr = /^(on|style$|srcdoc$)/i;
const kUrlAttr = /^(href|src|action|formaction|xlink:href)$/i;
const kSafeUrl = /^(#|\/(?!\/)|https?:|data:,$)/i;

/**
 * el('div', {class: 'card', testid: 'kpi-offers', title: 'x'}, 'text', otherNode, [more, nodes])
 * Attributes: `class`, `testid` (data-testid), `dataset` (object), `text` (textContent), `on`
 * (object of event listeners), anything else through setAttribute (never event handlers or style;
 * URLs only same-origin paths, fragments or http(s)).
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs) setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (name === 'testid') node.setAttribute('data-testid', value);
    else if (name === 'text') node.textContent = String(value);
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'on') for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else if (kForbiddenAttr.test(name)) throw new Error(`el: attribute ${name} is not allowed`);
    else if (kUrlAttr.test(name) && !kSafeUrl.test(String(value))) throw new Error(`el: unsafe URL in ${name}`);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

/** Appends children: nodes as they are, strings and numbers as text nodes, arrays flattened. */
export function append(node, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces every child of `node` with `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}
