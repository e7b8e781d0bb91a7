// Supervision in the page: the alert bell every operator has (reminders,
// SLA warnings, and for supervisors breaches and overdue tasks), and the
// supervisor's view of everything open, who is online and what is overdue,
// with reassignment in place.

import { h, clear, say } from './dom.js';
import { t, fmtDateTime, fmtAgo } from './i18n.js';


// lateText says how late (or how soon) an alert's deadline is.
function lateText(a) {
  const s = Number(a.late_seconds) || 0;
  const total = Math.max(1, Math.round(Math.abs(s) / 60));
  if (s < 0) return t('alert.dueIn', { min: total });
  if (total < 60) return t('alert.lateBy', { min: total });
  return t('alert.lateByHours', { h: Math.floor(total / 60), min: total % 60 });
}

// alertTitle is what an alert says, without markup: the Notification API
// and the list both take it as text.
export function alertTitle(a) {
  return t(`alert.${a.kind}`, { name: a.client_name || `#${a.client_id}`, task: a.task_title || '' });
}

export class AlertBell {
  // open(conversationId) opens a conversation; notifier shows a browser
  // notification when the operator allowed them.
  constructor({ api, open, notifier, errorText }) {
    this.api = api;
    this.openConversation = open;
    this.notifier = notifier;
    this.errorText = errorText;
    this.items = [];
    this.unread = 0;
  }

  wire(button, panel) {
    this.button = button;
    this.panel = panel;
    this.count = button.querySelector('[data-testid="alert-count"]');
    this.list = panel.querySelector('[data-testid="alert-list"]');
    button.addEventListener('click', () => (this.panel.hidden ? this.show() : this.hide()));
    panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') { this.hide(); button.focus(); } });
  }

  async load() {
    try {
      const res = await this.api.get('/alerts?limit=50');
      this.items = (res && res.items) || [];
      this.unread = Number(res && res.unread) || 0;
    } catch (e) {
      if (e.status !== 401) this.items = [];
    }
    this.render();
  }

  // add takes an alert that arrived live.
  add(a) {
    if (!a || !a.id || this.items.some((x) => x.id === a.id)) return;
    this.items.unshift(a);
    this.unread += 1;
    this.render();
    if (this.notifier) this.notifier.alert(t('alert.notifyTitle'), `${alertTitle(a)} · ${lateText(a)}`, () => this.follow(a));
  }

  async show() {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    const first = this.list.querySelector('button');
    if (first) first.focus();
    // Seen: everything up to the newest is read.
    if (this.unread > 0 && this.items.length) {
      const upto = this.items[0].id;
      try {
        await this.api.post('/alerts/read', { upto });
        this.unread = 0;
        for (const a of this.items) a.read = true;
        this.renderCount();
      } catch (_) { /* stays unread; the next opening tries again */ }
    }
  }

  hide() {
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }

  follow(a) {
    this.hide();
    if (a.conversation_id) this.openConversation(a.conversation_id);
  }

  renderCount() {
    this.count.textContent = this.unread > 99 ? '99+' : String(this.unread);
    this.count.hidden = this.unread === 0;
    this.button.setAttribute('aria-label', t('alert.bell', { n: this.unread }));
    this.button.classList.toggle('bell--unread', this.unread > 0);
  }

  render() {
    this.renderCount();
    clear(this.list);
    if (!this.items.length) {
      this.list.append(h('li', { class: 'muted', dataset: { testid: 'alert-empty' }, text: t('alert.none') }));
      return;
    }
    for (const a of this.items) {
      this.list.append(h('li', { class: ['alert', !a.read && 'alert--unread', `alert--${a.kind.replace('.', '-')}`] },
        h('button', {
          type: 'button', class: 'alert__btn', dataset: { testid: 'alert-item', kind: a.kind, conversationId: a.conversation_id || '' },
          onClick: () => this.follow(a),
        },
        h('span', { class: 'alert__title', text: alertTitle(a) }),
        h('span', { class: 'alert__meta muted', text: `${lateText(a)} · ${fmtDateTime(a.created_at)}` }))));
    }
  }
}

export class SupervisorView {
  constructor({ api, open, errorText }) {
    this.api = api;
    this.openConversation = open;
    this.errorText = errorText;
  }

  wire(dialog) {
    this.dialog = dialog;
    this.body = dialog.querySelector('[data-testid="supervise-body"]');
    this.status = dialog.querySelector('[data-testid="supervise-status"]');
    dialog.querySelector('[data-action="close"]').addEventListener('click', () => dialog.close());
    dialog.querySelector('[data-action="refresh"]').addEventListener('click', () => this.load());
  }

  open() {
    this.dialog.showModal();
    this.load();
  }

  say(msg, isError) { say(this.status, msg, isError); }

  async load() {
    this.say('');
    let v;
    try {
      v = await this.api.get('/supervision');
    } catch (e) {
      if (e.status !== 401) this.say(this.errorText(e), true);
      return;
    }
    this.render(v);
  }

  async reassign(convId, value) {
    this.say('');
    try {
      await this.api.patch(`/conversations/${convId}`, { assignee_id: value ? Number(value) : null });
      await this.load();
      this.say(t('supervise.reassigned'));
    } catch (e) {
      if (e.status !== 401) this.say(this.errorText(e), true);
    }
  }

  render(v) {
    const ops = v.operators || [];
    const names = new Map(ops.map((o) => [o.id, o.name || o.email]));
    const now = Date.now();
    clear(this.body);

    const convRows = (v.conversations || []).map((c) => {
      const due = c.sla_due_at ? Date.parse(c.sla_due_at) : null;
      let sla = h('span', { class: 'muted', text: '—' });
      if (c.sla_breached) sla = h('span', { class: 'chip chip--late', dataset: { testid: 'sla-breached' }, text: t('sla.breached') });
      else if (due) sla = h('span', { class: due - now < 5 * 60 * 1000 ? 'chip chip--soon' : 'chip', title: fmtDateTime(c.sla_due_at), text: t('sla.dueAt', { time: fmtDateTime(c.sla_due_at) }) });
      const select = h('select', {
        dataset: { testid: 'supervise-assignee' }, 'aria-label': t('supervise.assignee'),
        onChange: (e) => this.reassign(c.id, e.target.value),
      }, h('option', { value: '', text: t('supervise.nobody') }),
      ops.map((o) => h('option', { value: String(o.id), selected: c.assignee_id === o.id, text: `${o.name || o.email}${o.online ? '' : ` (${t('supervise.offline')})`}` })));
      return h('tr', { dataset: { testid: 'supervise-conversation', conversationId: c.id } },
        h('td', {}, h('button', { type: 'button', class: 'link', text: c.client_name || `#${c.client_id}`, onClick: () => { this.dialog.close(); this.openConversation(c.id); } })),
        h('td', { text: c.channel }),
        h('td', { text: t(`status.${c.status}`) }),
        h('td', {}, select),
        h('td', { dataset: { testid: 'supervise-waiting' }, text: c.waiting_since ? fmtAgo(c.waiting_since, now) : '—', title: c.waiting_since ? fmtDateTime(c.waiting_since) : '' }),
        h('td', {}, sla));
    });
    this.body.append(
      h('h3', { text: t('supervise.conversations', { n: (v.conversations || []).length }) }),
      convRows.length ? h('table', { class: 'admin-table', dataset: { testid: 'supervise-conversations' } },
        h('thead', {}, h('tr', {}, ['client', 'channel', 'status', 'assignee', 'waiting', 'sla'].map((k) => h('th', { text: t(`supervise.col.${k}`) })))),
        h('tbody', {}, convRows)) : h('p', { class: 'muted', text: t('supervise.noConversations') }));

    this.body.append(
      h('h3', { text: t('supervise.operators') }),
      h('table', { class: 'admin-table', dataset: { testid: 'supervise-operators' } },
        h('thead', {}, h('tr', {}, ['name', 'online', 'open'].map((k) => h('th', { text: t(`supervise.col.${k}`) })))),
        h('tbody', {}, ops.map((o) => h('tr', { dataset: { testid: 'supervise-operator', online: String(o.online) } },
          h('td', { text: o.name || o.email }),
          h('td', {}, h('span', { class: o.online ? 'dot dot--on' : 'dot', 'aria-hidden': 'true' }), ` ${t(o.online ? 'supervise.online' : 'supervise.offline')}`),
          h('td', { text: String(o.open) }))))));

    const tasks = v.overdue_tasks || [];
    this.body.append(
      h('h3', { text: t('supervise.overdue', { n: tasks.length }) }),
      tasks.length ? h('table', { class: 'admin-table', dataset: { testid: 'supervise-tasks' } },
        h('thead', {}, h('tr', {}, ['task', 'assignee', 'due'].map((k) => h('th', { text: t(`supervise.col.${k}`) })))),
        h('tbody', {}, tasks.map((x) => h('tr', { dataset: { testid: 'supervise-task' } },
          h('td', { text: x.title }),
          h('td', { text: x.assignee_id ? (names.get(x.assignee_id) || `#${x.assignee_id}`) : t('supervise.nobody') }),
          h('td', { class: 'error', text: fmtDateTime(x.due_at) }))))) : h('p', { class: 'muted', text: t('supervise.noOverdue') }));
  }
}
