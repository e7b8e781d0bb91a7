// Canned replies: typing "/" and a template's name in the reply box offers
// the operator's templates; Enter or Tab inserts one with its placeholders
// filled in. The Templates dialog adds and deletes them. Template text is
// the business's own, but it is still only ever set as text.

import { h, clear } from './dom.js';
import { t } from './i18n.js';

// fill replaces a template's placeholders for the open conversation.
export function fill(text, ctx) {
  const name = String(ctx.clientName || '').trim();
  const values = {
    'client.name': name,
    'client.first_name': name.split(/\s+/)[0] || '',
    'operator.name': String(ctx.operatorName || '').trim(),
  };
  return String(text).replace(/\{\{\s*([a-z_.]+)\s*\}\}/g, (all, key) => (key in values ? values[key] : all));
}

// slashQuery returns the "/word" being typed before the caret: its start
// and the word, or null.
function slashQuery(ta) {
  const before = ta.value.slice(0, ta.selectionStart);
  const m = /(^|\s)\/([^\s/]*)$/.exec(before);
  if (!m) return null;
  return { start: before.length - m[2].length - 1, word: m[2].toLowerCase() };
}

export class Canned {
  // api: the page's API client; context(): {clientName, operatorName,
  // teams, role}; onInsert(): called after the reply box changed.
  constructor({ api, context, onInsert }) {
    this.api = api;
    this.context = context;
    this.onInsert = onInsert;
    this.items = null;
    this.loadedAt = 0;
    this.matches = [];
    this.active = 0;
    this.query = null;
    this.supported = true;
    this.swallowEnter = false;
  }

  wire(ta, picker, dialog) {
    this.ta = ta;
    this.picker = picker;
    this.dialog = dialog;
    ta.addEventListener('input', () => this.update());
    ta.addEventListener('click', () => this.update());
    ta.addEventListener('blur', () => setTimeout(() => this.hide(), 150));
    // Capture: the picker's keys must not reach the reply box's own
    // (Ctrl+Enter sends) or the page's (Escape leaves the conversation).
    ta.addEventListener('keydown', (e) => this.onKey(e), true);
    // The Enter that inserted a template must not also break the line,
    // even where the key's text arrives as its own event.
    ta.addEventListener('beforeinput', (e) => {
      if (this.swallowEnter && (e.inputType === 'insertLineBreak' || e.inputType === 'insertParagraph')) e.preventDefault();
    });
    ta.addEventListener('keyup', (e) => { if (e.key === 'Enter') this.swallowEnter = false; });
    dialog.querySelector('form').addEventListener('submit', (e) => this.onAdd(e));
    dialog.querySelector('[data-action="close"]').addEventListener('click', () => dialog.close());
  }

  async load(force) {
    if (!this.supported) return [];
    if (this.items && !force && Date.now() - this.loadedAt < 60000) return this.items;
    try {
      const res = await this.api.get('/canned-replies');
      this.items = (res && res.items) || [];
      this.loadedAt = Date.now();
    } catch (e) {
      if (e.missingRoute) this.supported = false;
      this.items = this.items || [];
    }
    return this.items;
  }

  async update() {
    const q = slashQuery(this.ta);
    this.query = q;
    if (!q) { this.hide(); return; }
    const items = await this.load(false);
    if (this.query !== q) return; // typed on meanwhile
    const starts = items.filter((c) => c.title.toLowerCase().startsWith(q.word));
    const rest = items.filter((c) => !starts.includes(c) && c.title.toLowerCase().includes(q.word));
    this.matches = starts.concat(rest).slice(0, 8);
    this.active = 0;
    this.render();
  }

  render() {
    clear(this.picker);
    if (!this.matches.length) { this.hide(); return; }
    this.matches.forEach((c, i) => {
      const li = h('li', {
        role: 'option', class: ['canned__item', i === this.active && 'canned__item--active'],
        'aria-selected': String(i === this.active), dataset: { testid: 'canned-option', title: c.title },
        onmousedown: (e) => { e.preventDefault(); this.insert(c); },
      }, h('span', { class: 'canned__title', text: `/${c.title}` }),
      h('span', { class: 'canned__text muted', text: c.text.replace(/\s+/g, ' ').slice(0, 80) }));
      this.picker.append(li);
    });
    this.picker.hidden = false;
  }

  hide() {
    this.picker.hidden = true;
    this.matches = [];
  }

  onKey(e) {
    if (this.picker.hidden || !this.matches.length) return;
    switch (e.key) {
      case 'ArrowDown': this.active = (this.active + 1) % this.matches.length; this.render(); break;
      case 'ArrowUp': this.active = (this.active + this.matches.length - 1) % this.matches.length; this.render(); break;
      case 'Enter':
      case 'Tab':
        if (e.ctrlKey || e.metaKey) return;
        this.swallowEnter = e.key === 'Enter';
        this.insert(this.matches[this.active]);
        break;
      case 'Escape': this.hide(); break;
      default: return;
    }
    e.preventDefault();
    e.stopPropagation();
  }

  insert(c) {
    const q = slashQuery(this.ta);
    if (!q) return;
    const text = fill(c.text, this.context());
    const ta = this.ta;
    const after = ta.value.slice(ta.selectionStart);
    ta.value = ta.value.slice(0, q.start) + text + after;
    const caret = q.start + text.length;
    ta.setSelectionRange(caret, caret);
    this.hide();
    ta.focus();
    this.onInsert();
  }

  // open shows the Templates dialog.
  async open() {
    const ctx = this.context();
    const sel = this.dialog.querySelector('[data-testid="canned-scope"]');
    clear(sel);
    sel.append(h('option', { value: 'personal', text: t('canned.scope.personal') }));
    for (const team of ctx.teams || []) sel.append(h('option', { value: `team:${team}`, text: t('canned.scope.team', { team }) }));
    if (ctx.role === 'supervisor' || ctx.role === 'admin') sel.append(h('option', { value: 'everyone', text: t('canned.scope.everyone') }));
    this.setError('');
    this.dialog.showModal();
    await this.load(true);
    this.renderList();
  }

  renderList() {
    const ul = this.dialog.querySelector('[data-testid="canned-list"]');
    clear(ul);
    for (const c of this.items || []) {
      const scope = c.scope === 'team' ? t('canned.scope.team', { team: c.team }) : t(`canned.scope.${c.scope}`);
      ul.append(h('li', { class: 'canned-list__item', dataset: { testid: 'canned-entry', title: c.title } },
        h('div', {}, h('strong', { text: `/${c.title}` }), ' ', h('span', { class: 'muted', text: scope })),
        h('div', { class: 'canned-list__text', text: c.text }),
        h('button', {
          type: 'button', class: 'btn btn--ghost btn--small', text: t('canned.delete'),
          'aria-label': t('canned.deleteNamed', { title: c.title }), dataset: { testid: 'canned-delete' },
          onclick: () => this.remove(c),
        })));
    }
    if (!(this.items || []).length) ul.append(h('li', { class: 'muted', text: t('canned.none') }));
  }

  async onAdd(e) {
    e.preventDefault();
    const f = e.currentTarget;
    const scope = f.querySelector('[data-testid="canned-scope"]').value;
    const body = {
      title: f.querySelector('[data-testid="canned-title"]').value,
      text: f.querySelector('[data-testid="canned-text"]').value,
      scope: scope.startsWith('team:') ? 'team' : scope,
    };
    if (scope.startsWith('team:')) body.team = scope.slice(5);
    try {
      await this.api.post('/canned-replies', body);
      f.reset();
      this.setError('');
      await this.load(true);
      this.renderList();
    } catch (ex) {
      this.setError(t('canned.error', { error: ex.message }));
    }
  }

  async remove(c) {
    try {
      await this.api.del(`/canned-replies/${c.id}`);
      await this.load(true);
      this.renderList();
    } catch (ex) {
      this.setError(t('canned.error', { error: ex.message }));
    }
  }

  setError(msg) {
    const el = this.dialog.querySelector('[data-testid="canned-error"]');
    el.textContent = msg;
    el.hidden = !msg;
  }
}
