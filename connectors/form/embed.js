/* leadhub: renders <div data-leadhub-form> or binds <form data-leadhub> and
 * posts it with the page's campaign marks. DOM via createElement/textContent,
 * styles via CSSOM only, so a strict Content-Security-Policy is fine. */
(function () {
  'use strict';
  var C = __LEADHUB_CONFIG__;
  var d = document, w = window, me = d.currentScript, seq = 0;
  var KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'yclid', 'gclid'];
  var STORE = 'leadhub_touch', TTL = 30 * 864e5;

  // Where to post: the hub's configured URL, else next to this script.
  function target() {
    if (C.post) return C.post;
    var src = me && me.src, i, s;
    for (i = 0; !src && i < d.scripts.length; i++) {
      s = d.scripts[i].src || '';
      if (s.indexOf('/hooks/form/' + C.channel + '/embed.js') >= 0) src = s;
    }
    return src ? src.replace(/\/embed\.js([?#].*)?$/, '') : '';
  }

  // pick keeps the known marks of v, which may be anything storage held.
  function pick(v, get) {
    var out = {}, i, x;
    for (i = 0; v && i < KEYS.length; i++) {
      x = get ? v.get(KEYS[i]) : v[KEYS[i]];
      if (typeof x === 'string' && x) out[KEYS[i]] = x.slice(0, 300);
    }
    return out;
  }

  function fresh(t, now) { return !!t && typeof t.t === 'number' && now - t.t < TTL; }

  // First and last touch live 30 days in localStorage; storage may be
  // disabled, full or hold garbage, and then only this visit counts.
  function touches() {
    var now = Date.now(), cur = pick(new URLSearchParams(w.location.search), 1), st = null;
    try { st = JSON.parse(w.localStorage.getItem(STORE)); } catch (e) { st = null; }
    if (!st || typeof st !== 'object') st = {};
    if (!fresh(st.first, now)) st.first = null;
    if (!fresh(st.last, now)) st.last = null;
    if (Object.keys(cur).length) {
      if (!st.first) st.first = { t: now, v: cur };
      st.last = { t: now, v: cur };
    }
    try { w.localStorage.setItem(STORE, JSON.stringify(st)); } catch (e) { /* private mode */ }
    return { cur: cur, first: pick(st.first && st.first.v), last: pick(st.last && st.last.v) };
  }

  function put(fd, k, v) { if (v && !fd.has(k)) fd.append(k, String(v).slice(0, 2000)); }

  function extras(fd, ts) {
    var t = touches(), k, utm = Object.keys(t.cur).length ? t.cur : t.last;
    for (k in utm) put(fd, k, utm[k]);
    for (k in t.first) put(fd, 'utm_first_' + k.replace(/^utm_/, ''), t.first[k]);
    for (k in t.last) put(fd, 'utm_last_' + k.replace(/^utm_/, ''), t.last[k]);
    put(fd, 'page_url', w.location.href);
    put(fd, 'referrer', d.referrer);
    fd.set('_ts', String(ts));
    fd.set('_fill', String(Date.now() - ts));
  }

  function el(tag, attrs, text) {
    var e = d.createElement(tag), k;
    for (k in attrs) if (attrs[k] !== false && attrs[k] != null) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    if (text) e.textContent = text;
    return e;
  }

  function labels(node) {
    var lang = node.getAttribute('data-lang') || C.lang;
    return C.labels[lang] ? [lang, C.labels[lang]] : [C.lang, C.labels[C.lang]];
  }

  function prefix() { return 'leadhub-' + C.channel + '-' + (++seq) + '-'; }

  // The honeypot is hidden by CSSOM (allowed under CSP), not type=hidden:
  // bots fill what they can see in the markup.
  function honeypot(form, L) {
    if (form.querySelector('[name="_hp"]')) return;
    var id = prefix() + 'hp', box = el('div', { 'aria-hidden': 'true', 'class': 'leadhub-hp' }), s = box.style;
    s.position = 'absolute'; s.left = '-10000px'; s.top = 'auto'; s.width = '1px'; s.height = '1px'; s.overflow = 'hidden';
    box.appendChild(el('label', { 'for': id }, L.hp));
    box.appendChild(el('input', { id: id, name: '_hp', type: 'text', tabindex: '-1', autocomplete: 'off', value: '' }));
    form.appendChild(box);
  }

  function show(status, state, text) {
    status.setAttribute('data-state', state);
    status.textContent = text;
  }

  function bind(form, L, ours) {
    if (form.hasAttribute('data-leadhub-bound')) return;
    form.setAttribute('data-leadhub-bound', '');
    var ts = Date.now(), busy = false, status = form.querySelector('[data-leadhub-status]');
    if (!status) {
      status = el('p', { 'data-leadhub-status': true, role: 'status', 'aria-live': 'polite', 'class': 'leadhub-status' });
      form.appendChild(status);
    }
    honeypot(form, L);
    var phone = ours && form.querySelector('[name="phone"]'), email = ours && form.querySelector('[name="email"]');
    form.addEventListener('input', function () { if (phone) phone.setCustomValidity(''); });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (busy) return;
      if (phone && email && !phone.value.trim() && !email.value.trim()) {
        phone.setCustomValidity(L.need);
        phone.reportValidity();
        return;
      }
      var fd = new FormData(form), buttons = form.querySelectorAll('button, [type="submit"]'), i;
      extras(fd, ts);
      busy = true;
      for (i = 0; i < buttons.length; i++) buttons[i].disabled = true;
      show(status, 'sending', L.sending);
      fetch(target(), { method: 'POST', body: fd, mode: 'cors', credentials: 'omit', headers: { Accept: 'application/json' } })
        .then(function (res) {
          if (!res.ok) throw res.status;
          show(status, 'success', L.success);
          form.reset();
          ts = Date.now();
        })
        .catch(function (code) { show(status, 'error', code === 429 ? L.busy : L.error); })
        .then(function () {
          busy = false;
          for (i = 0; i < buttons.length; i++) buttons[i].disabled = false;
        });
    });
  }

  // A clean default look for rendered forms. The rules sit in :where(), so
  // they weigh nothing: any rule of the page's own about these classes
  // wins. A constructed stylesheet, not a <style> element, so a strict
  // style-src lets it in; a browser without one shows the page's styles.
  var CSS = ':where(.leadhub-form){display:grid;gap:12px;max-width:420px;font:inherit}' +
    ':where(.leadhub-field){display:grid;gap:4px}' +
    ':where(.leadhub-field>label){font-size:.9em}' +
    ':where(.leadhub-field>input:not([type=checkbox]),.leadhub-field>textarea){box-sizing:border-box;width:100%;padding:9px 11px;' +
    'border:1px solid #c7ccd4;border-radius:6px;font:inherit;background:#fff;color:inherit}' +
    ':where(.leadhub-field>input:focus,.leadhub-field>textarea:focus){outline:2px solid #2563eb;outline-offset:1px}' +
    ':where(.leadhub-consent){grid-template-columns:auto 1fr;align-items:start;gap:8px}' +
    ':where(.leadhub-submit){justify-self:start;padding:10px 18px;border:0;border-radius:6px;background-color:#2563eb;color:#fff;' +
    'font:inherit;cursor:pointer}' +
    ':where(.leadhub-submit:disabled){opacity:.6;cursor:default}' +
    ':where(.leadhub-status){margin:4px 0 0}';
  function styles() {
    if (H.styled || !w.CSSStyleSheet || !('adoptedStyleSheets' in d)) return;
    try {
      var sheet = new w.CSSStyleSheet();
      sheet.replaceSync(CSS);
      d.adoptedStyleSheets = [sheet].concat(Array.prototype.slice.call(d.adoptedStyleSheets));
      H.styled = true;
    } catch (e) { /* the page's styles alone */ }
  }

  function render(box) {
    styles();
    var l = labels(box), L = l[1], id = prefix(), i, f, row, input;
    var form = el('form', { 'data-leadhub-rendered': true, 'class': 'leadhub-form', lang: l[0] });
    for (i = 0; i < C.fields.length; i++) {
      f = C.fields[i];
      row = el('div', { 'class': 'leadhub-field leadhub-' + f.n });
      row.appendChild(el('label', { 'for': id + f.n }, L[f.n]));
      input = f.t === 'textarea'
        ? el('textarea', { id: id + f.n, name: f.n, rows: '4', maxlength: '5000' })
        : el('input', { id: id + f.n, name: f.n, type: f.t, autocomplete: f.a, required: !!f.r, maxlength: '300' });
      row.appendChild(input);
      form.appendChild(row);
    }
    if (C.consent) {
      row = el('div', { 'class': 'leadhub-field leadhub-consent' });
      row.appendChild(el('input', { id: id + 'consent', name: 'consent', type: 'checkbox', value: 'on', required: true }));
      row.appendChild(el('label', { 'for': id + 'consent' }, C.consent));
      form.appendChild(row);
    }
    form.appendChild(el('button', { type: 'submit', 'class': 'leadhub-submit' }, L.submit));
    box.textContent = '';
    box.appendChild(form);
    bind(form, L, true);
  }

  // A page with several channels marks each place with data-channel (or
  // data-leadhub="<channel>" on its own form); unmarked ones go to the first.
  function mine(node, attr) {
    var c = node.getAttribute('data-channel') || node.getAttribute(attr);
    return !c || c === C.channel;
  }

  function scan() {
    var i, n, list = d.querySelectorAll('[data-leadhub-form]');
    for (i = 0; i < list.length; i++) {
      n = list[i];
      if (!n.hasAttribute('data-leadhub-done') && mine(n, 'data-leadhub-form')) {
        n.setAttribute('data-leadhub-done', '');
        render(n);
      }
    }
    list = d.querySelectorAll('form[data-leadhub]');
    for (i = 0; i < list.length; i++) if (mine(list[i], 'data-leadhub')) bind(list[i], labels(list[i])[1], false);
  }

  touches();
  // Pages that add forms later (single-page apps) call LeadHub.scan().
  var H = w.LeadHub = w.LeadHub || {}, prev = H.scan;
  H.scan = function () { if (prev) prev(); scan(); };
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', scan); else scan();
})();
