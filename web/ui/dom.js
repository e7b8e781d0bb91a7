// DOM helpers. Everything the page shows is built with createElement,
// text nodes and setAttribute on a fixed set of attributes: customer text
// can never become markup. URLs from data pass safeURL first.

const boolProps = new Set(['hidden', 'disabled', 'checked', 'selected', 'required', 'readOnly', 'open', 'multiple']);
const blockedAttrs = new Set(['style', 'formaction', 'action']);

// h builds an element. props: class, text, dataset, on<Event> handlers,
// href/src (checked with safeURL; dropped when unsafe), boolean properties,
// value, and plain attributes. Children are nodes or strings (as text).
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') {
        el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      } else if (k === 'text') {
        el.textContent = String(v);
      } else if (k === 'dataset') {
        for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv);
      } else if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2).toLowerCase(), v);
      } else if (k === 'href' || k === 'src') {
        const u = safeURL(v);
        if (u) el.setAttribute(k, u);
      } else if (boolProps.has(k)) {
        el[k] = Boolean(v);
      } else if (k === 'value') {
        el.value = String(v);
      } else {
        if (k.toLowerCase().startsWith('on') || blockedAttrs.has(k.toLowerCase())) {
          throw new Error(`h: attribute ${k} is not allowed`);
        }
        el.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// say shows msg in a dialog's status line (an error in red), or hides the
// line when msg is empty.
export function say(el, msg, isError) {
  el.textContent = msg || '';
  el.className = isError ? 'error' : 'muted';
  el.hidden = !msg;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replaceChildren(el, ...children) {
  clear(el);
  return append(el, children);
}

// safeURL returns a URL that is safe to put into href or src: an absolute
// http(s) URL, or a path of our own file store (/files/...). Anything else
// (javascript:, data:, protocol-relative //host, other local paths) gives
// null.
export function safeURL(raw) {
  if (typeof raw !== 'string') return null;
  const s = raw.trim();
  if (s === '') return null;
  if (s.startsWith('/')) {
    if (s.startsWith('//') || s.startsWith('/\\')) return null;
    let u;
    try { u = new URL(s, window.location.origin); } catch (_) { return null; }
    if (u.origin !== window.location.origin || !u.pathname.startsWith('/files/')) return null;
    return u.pathname + u.search + u.hash;
  }
  let u;
  try { u = new URL(s); } catch (_) { return null; }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  return u.href;
}

// isOwnFile says whether a safe URL points at our own file store, so the
// page may embed it (img, audio) under its Content-Security-Policy.
export function isOwnFile(url) {
  return typeof url === 'string' && url.startsWith('/files/');
}

// icon is a channel icon image; its meaning is given by the label next to
// it, so the image itself is decorative.
export function channelIcon(type) {
  const known = ['api', 'form', 'email', 'telegram', 'vk', 'telephony'];
  const name = known.includes(type) ? type : 'chat';
  const img = h('img', { class: 'icon', alt: '', width: 20, height: 20, 'aria-hidden': 'true', dataset: { icon: name } });
  // A constant path of our own, chosen from the list above.
  img.setAttribute('src', `/ui/icons/${name}.svg`);
  return img;
}
