// The clients page for marketers: filter the base, see the count as the
// filter changes, save the filter as a segment (private or for a team),
// load saved ones, and export the list as CSV. Supervisors and admins only,
// as the whole-base CSV export (the API refuses everyone else).

import { h, clear, append, say } from './dom.js';
import { t, fmtDateTime } from './i18n.js';

// The filter's text fields, in the order shown; their names are the API's.
const textFields = ['first_source', 'first_campaign', 'last_source', 'last_campaign', 'contacted_before', 'contacted_after'];
// The yes/no/any fields.
const boolFields = ['open', 'do_not_contact', 'consent'];
const countDelay = 300; // ms of quiet typing before the count is asked for

export class ClientsPage {
  // channels() lists the channel ids the page knows; teams() the
  // operator's teams (a segment may be shared with one of them).
  constructor({ api, channels, teams, errorText }) {
    this.api = api;
    this.channels = channels;
    this.teams = teams;
    this.errorText = errorText;
    this.segments = [];
    this.current = null; // the loaded segment
    this.seq = 0; // the latest count asked for; older answers are dropped
    this.timer = 0;
  }

  wire(dialog) {
    this.dialog = dialog;
    this.body = dialog.querySelector('[data-testid="clients-body"]');
    this.status = dialog.querySelector('[data-testid="clients-status"]');
    dialog.querySelector('[data-action="close"]').addEventListener('click', () => dialog.close());
  }

  async open() {
    this.build();
    this.dialog.showModal();
    await this.loadSegments();
    this.refresh();
  }

  say(msg, isError) { say(this.status, msg, isError); }

  field(name, input) {
    input.dataset.testid = `filter-${name}`;
    input.name = name;
    input.addEventListener('input', () => this.changed());
    input.addEventListener('change', () => this.changed());
    return h('label', { class: 'segment-field' }, h('span', { text: t(`clients.f.${name}`) }), input);
  }

  build() {
    clear(this.body);
    this.inputs = {};
    const text = (name, placeholder) => {
      this.inputs[name] = h('input', { type: 'text', autocomplete: 'off', placeholder: placeholder || '' });
      return this.field(name, this.inputs[name]);
    };
    const yesNo = (name) => {
      this.inputs[name] = h('select', {},
        h('option', { value: '', text: t('clients.any') }),
        h('option', { value: 'true', text: t('clients.yes') }),
        h('option', { value: 'false', text: t('clients.no') }));
      return this.field(name, this.inputs[name]);
    };
    this.inputs.channel = h('select', {}, h('option', { value: '', text: t('clients.any') }),
      this.channels().map((id) => h('option', { value: id, text: id })));
    this.inputs.created_from = h('input', { type: 'date' });
    this.inputs.created_to = h('input', { type: 'date' });
    const when = t('clients.whenHint');

    this.segmentSelect = h('select', { dataset: { testid: 'segment-list' }, 'aria-label': t('clients.saved'),
      onChange: (e) => this.loadSegment(Number(e.target.value)) });
    this.deleteBtn = h('button', { type: 'button', class: 'btn btn--ghost', dataset: { testid: 'segment-delete' },
      text: t('clients.delete'), disabled: true, onClick: () => this.remove() });
    this.nameInput = h('input', { type: 'text', dataset: { testid: 'segment-name' }, maxlength: '100',
      'aria-label': t('clients.name'), placeholder: t('clients.name') });
    this.shareSelect = h('select', { dataset: { testid: 'segment-share' }, 'aria-label': t('clients.share') },
      h('option', { value: '', text: t('clients.private') }),
      this.teams().map((name) => h('option', { value: name, text: t('clients.team', { team: name }) })));
    this.updateBtn = h('button', { type: 'button', class: 'btn btn--ghost', dataset: { testid: 'segment-update' },
      text: t('clients.update'), disabled: true, onClick: () => this.save(true) });
    this.countEl = h('strong', { class: 'segment-count', dataset: { testid: 'segment-count' }, 'aria-live': 'polite' });
    this.exportLink = h('a', { class: 'btn', dataset: { testid: 'segment-export' }, download: '', text: t('clients.export') });
    this.list = h('div', { dataset: { testid: 'segment-clients' } });

    this.body.append(
      h('div', { class: 'segment-bar' },
        h('label', {}, h('span', { text: `${t('clients.saved')} ` }), this.segmentSelect), this.deleteBtn),
      h('form', { class: 'segment-filter', dataset: { testid: 'segment-filter' }, onSubmit: (e) => e.preventDefault() },
        text('tags', t('clients.tagsHint')),
        this.field('channel', this.inputs.channel),
        textFields.map((name) => text(name, name.startsWith('contacted') ? when : '')),
        boolFields.map(yesNo),
        this.field('created_from', this.inputs.created_from),
        this.field('created_to', this.inputs.created_to)),
      h('div', { class: 'segment-bar' }, this.countEl, this.exportLink),
      h('div', { class: 'segment-bar' }, this.nameInput, this.shareSelect,
        h('button', { type: 'button', class: 'btn', dataset: { testid: 'segment-save' }, text: t('clients.save'),
          onClick: () => this.save(false) }),
        this.updateBtn),
      this.list);
  }

  // filter is the form as the API's filter object (only what is set).
  filter() {
    const f = {};
    const tags = this.inputs.tags.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (tags.length) f.tags = tags;
    for (const name of ['channel', ...textFields, 'created_from', 'created_to']) {
      const v = this.inputs[name].value.trim();
      if (v) f[name] = v;
    }
    for (const name of boolFields) {
      const v = this.inputs[name].value;
      if (v) f[name] = v === 'true';
    }
    return f;
  }

  setFilter(f) {
    this.inputs.tags.value = (f.tags || []).join(', ');
    for (const name of ['channel', ...textFields, 'created_from', 'created_to']) {
      let v = f[name] || '';
      // A saved time (not a date) cannot go into a date input; the date
      // part is what it shows.
      if (name.startsWith('created_') && v.length > 10) v = v.slice(0, 10);
      if (name === 'channel' && v && ![...this.inputs.channel.options].some((o) => o.value === v)) {
        this.inputs.channel.append(h('option', { value: v, text: v }));
      }
      this.inputs[name].value = v;
    }
    for (const name of boolFields) this.inputs[name].value = typeof f[name] === 'boolean' ? String(f[name]) : '';
  }

  // query is the filter as query parameters.
  query() {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(this.filter())) q.set(k, Array.isArray(v) ? v.join(',') : String(v));
    return q.toString();
  }

  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), countDelay);
    this.setExport();
  }

  // setExport points the export at the loaded segment while the form shows
  // its filter, else at the filter as it is.
  setExport() {
    const q = this.query();
    if (this.current && q === this.savedQuery) {
      this.exportLink.setAttribute('href', `/api/v1/segments/${this.current.id}/clients.csv`);
    } else {
      this.exportLink.setAttribute('href', `/api/v1/clients/filter.csv${q ? `?${q}` : ''}`);
    }
  }

  // refresh asks for the count and the first page of the filter as it is.
  async refresh() {
    const seq = ++this.seq;
    const q = this.query();
    const sep = q ? '&' : '';
    this.setExport();
    this.countEl.classList.add('segment-count--busy');
    try {
      const [count, page] = await Promise.all([
        this.api.get(`/clients/count${q ? `?${q}` : ''}`),
        this.api.get(`/clients/filter?${q}${sep}limit=50`),
      ]);
      if (seq !== this.seq) return;
      this.say('');
      this.countEl.textContent = t('clients.count', { n: count.count });
      this.countEl.dataset.count = String(count.count);
      this.renderList(page.items || [], Boolean(page.next));
    } catch (e) {
      if (seq !== this.seq || e.status === 401) return;
      this.countEl.textContent = '—';
      delete this.countEl.dataset.count;
      this.say(this.errorText(e), true);
    } finally {
      if (seq === this.seq) this.countEl.classList.remove('segment-count--busy');
    }
  }

  renderList(items, more) {
    clear(this.list);
    if (!items.length) {
      this.list.append(h('p', { class: 'muted', text: t('clients.none') }));
      return;
    }
    const touch = (source, campaign) => [source, campaign].filter(Boolean).join(' / ') || '—';
    this.list.append(h('table', { class: 'admin-table' },
      h('thead', {}, h('tr', {}, ['name', 'contacts', 'first', 'last', 'contact'].map((k) => h('th', { text: t(`clients.col.${k}`) })))),
      h('tbody', {}, items.map((c) => {
        const a = c.activity || {};
        return h('tr', { dataset: { testid: 'segment-client', clientId: c.id } },
          h('td', { text: c.name || `#${c.id}` }),
          h('td', { text: (c.identities || []).filter((i) => i.kind === 'phone' || i.kind === 'email').map((i) => i.value).join(', ') }),
          h('td', { text: touch(a.first_source, a.first_campaign) }),
          h('td', { text: touch(a.last_source, a.last_campaign) }),
          h('td', { text: a.last_contact_at ? fmtDateTime(a.last_contact_at) : t('clients.never') }));
      }))));
    if (more) this.list.append(h('p', { class: 'muted', text: t('clients.more') }));
  }

  async loadSegments() {
    try {
      const res = await this.api.get('/segments');
      this.segments = (res && res.items) || [];
    } catch (e) {
      if (e.status !== 401) this.say(this.errorText(e), true);
      this.segments = [];
    }
    this.renderSegments();
  }

  renderSegments() {
    clear(this.segmentSelect);
    append(this.segmentSelect, [h('option', { value: '', text: t('clients.unsaved') }),
      this.segments.map((g) => h('option', {
        value: String(g.id), selected: this.current && this.current.id === g.id,
        text: g.team ? `${g.name} (${g.team})` : g.name,
      }))]);
    this.deleteBtn.disabled = !this.current;
    this.updateBtn.disabled = !this.current;
  }

  loadSegment(id) {
    this.current = this.segments.find((g) => g.id === id) || null;
    if (this.current) {
      this.setFilter(this.current.filter || {});
      this.nameInput.value = this.current.name;
      this.shareSelect.value = this.current.team || '';
      this.savedQuery = this.query();
    }
    this.renderSegments();
    this.refresh();
  }

  // save saves the form as a new segment, or (update) into the loaded one:
  // its name, filter and sharing.
  async save(update) {
    const body = { name: this.nameInput.value, filter: this.filter(), team: this.shareSelect.value };
    try {
      const g = update && this.current
        ? await this.api.patch(`/segments/${this.current.id}`, body)
        : await this.api.post('/segments', body);
      this.current = g;
      this.savedQuery = this.query();
      await this.loadSegments();
      this.setExport();
      this.say(t('clients.saved.done', { name: g.name }));
    } catch (e) {
      if (e.status !== 401) this.say(this.errorText(e), true);
    }
  }

  async remove() {
    if (!this.current) return;
    const name = this.current.name;
    try {
      await this.api.del(`/segments/${this.current.id}`);
      this.current = null;
      await this.loadSegments();
      this.setExport();
      this.say(t('clients.deleted', { name }));
    } catch (e) {
      if (e.status !== 401) this.say(this.errorText(e), true);
    }
  }
}
