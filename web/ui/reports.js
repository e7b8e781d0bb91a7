// Reports for supervisors and admins: pick a report, a range of days and a
// channel; the server draws the chart (an SVG image) and sends the tables,
// each downloadable as CSV.

import { h, clear, say } from './dom.js';
import { t } from './i18n.js';

const reports = ['leads', 'first_response', 'unanswered', 'triage', 'utm', 'calls', 'sla'];

function isoDay(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export class ReportsView {
  // channels() lists the channel ids the inbox knows.
  constructor({ api, channels, errorText }) {
    this.api = api;
    this.channels = channels;
    this.errorText = errorText;
    this.report = reports[0];
    this.seq = 0;
  }

  wire(dialog) {
    this.dialog = dialog;
    this.tabs = dialog.querySelector('[data-testid="report-tabs"]');
    this.body = dialog.querySelector('[data-testid="report-body"]');
    this.status = dialog.querySelector('[data-testid="report-status"]');
    this.from = dialog.querySelector('[data-testid="report-from"]');
    this.to = dialog.querySelector('[data-testid="report-to"]');
    this.channel = dialog.querySelector('[data-testid="report-channel"]');
    dialog.querySelector('[data-action="close"]').addEventListener('click', () => dialog.close());
    for (const el of [this.from, this.to, this.channel]) el.addEventListener('change', () => this.load());
  }

  open() {
    const today = new Date();
    const start = new Date(today.getTime() - 29 * 86400000);
    if (!this.to.value) this.to.value = isoDay(today);
    if (!this.from.value) this.from.value = isoDay(start);
    const current = this.channel.value;
    clear(this.channel);
    this.channel.append(h('option', { value: '', text: t('inbox.allChannels') }));
    for (const id of this.channels()) this.channel.append(h('option', { value: id, text: id }));
    this.channel.value = current;
    this.renderTabs();
    this.dialog.showModal();
    this.load();
  }

  renderTabs() {
    clear(this.tabs);
    for (const r of reports) {
      this.tabs.append(h('button', {
        type: 'button', class: 'tab', 'aria-pressed': String(r === this.report), text: t(`report.${r}`),
        dataset: { testid: `report-tab-${r}`, report: r },
        onClick: () => { this.report = r; this.renderTabs(); this.load(); },
      }));
    }
  }

  query() {
    const q = new URLSearchParams();
    if (this.from.value) q.set('from', this.from.value);
    if (this.to.value) q.set('to', this.to.value);
    if (this.channel.value) q.set('channel', this.channel.value);
    return q;
  }

  say(msg, isError) { say(this.status, msg, isError); }

  async load() {
    const seq = ++this.seq;
    const q = this.query();
    this.say('');
    let rep;
    try {
      rep = await this.api.get(`/reports/${this.report}?${q}`);
    } catch (e) {
      if (seq === this.seq && e.status !== 401) {
        clear(this.body);
        this.say(this.errorText(e), true);
      }
      return;
    }
    if (seq !== this.seq) return;
    this.render(rep, q);
  }

  render(rep, q) {
    clear(this.body);
    this.body.dataset.report = rep.name;
    this.body.append(h('p', { class: 'muted', text: t(`report.${rep.name}.help`) }));
    // The chart is an image the server draws from the same query.
    const img = h('img', { class: 'report-chart', alt: t(`report.${rep.name}`), width: 720, height: 260, dataset: { testid: 'report-chart' } });
    img.setAttribute('src', `/api/v1/reports/${encodeURIComponent(rep.name)}/chart.svg?${q}`);
    this.body.append(img);
    for (const table of rep.tables || []) {
      const csv = new URLSearchParams(q);
      csv.set('format', 'csv');
      csv.set('table', table.name);
      const link = h('a', { download: '', dataset: { testid: 'report-csv', table: table.name }, text: t('report.csv') });
      link.setAttribute('href', `/api/v1/reports/${encodeURIComponent(rep.name)}?${csv}`);
      this.body.append(
        h('h3', {}, t(`report.table.${table.name}`), ' ', link),
        table.rows && table.rows.length
          ? h('table', { class: 'admin-table', dataset: { testid: 'report-table', table: table.name } },
            h('thead', {}, h('tr', {}, table.columns.map((c) => h('th', { text: t(`report.col.${c}`) === `report.col.${c}` ? c : t(`report.col.${c}`) })))),
            h('tbody', {}, table.rows.map((row) => h('tr', {}, row.map((v) => h('td', { text: v === '' ? '—' : String(v) }))))))
          : h('p', { class: 'muted', dataset: { testid: 'report-empty' }, text: t('report.empty') }));
    }
  }
}
