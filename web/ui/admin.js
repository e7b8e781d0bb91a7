// Running the hub from the page: admins manage operators, teams, channels
// and read the audit log; every operator manages their own API tokens and
// sessions. Each section reads its list when shown and again after a change.

import { h, clear, say } from './dom.js';
import { t, fmtDateTime } from './i18n.js';

const roles = ['operator', 'supervisor', 'admin'];

export class AdminPanel {
  // api: the page's API client; me(): the signed-in operator.
  constructor({ api, me, errorText }) {
    this.api = api;
    this.me = me;
    this.errorText = errorText;
    this.seq = 0;
  }

  wire(dialog) {
    this.dialog = dialog;
    this.body = dialog.querySelector('[data-testid="admin-body"]');
    this.tabs = dialog.querySelector('[data-testid="admin-tabs"]');
    this.status = dialog.querySelector('[data-testid="admin-status"]');
    dialog.querySelector('[data-action="close"]').addEventListener('click', () => dialog.close());
  }

  open() {
    const admin = this.me() && this.me().role === 'admin';
    const sections = admin ? ['operators', 'teams', 'channels', 'audit', 'tokens', 'sessions'] : ['tokens', 'sessions'];
    clear(this.tabs);
    for (const s of sections) {
      this.tabs.append(h('button', {
        type: 'button', class: 'tab', dataset: { testid: `admin-tab-${s}`, section: s }, text: t(`admin.${s}`),
        'aria-pressed': 'false', onClick: () => { this.say(''); this.show(s); },
      }));
    }
    this.dialog.showModal();
    this.say('');
    this.show(sections[0]);
  }

  say(msg, isError) { say(this.status, msg, isError); }

  // show renders a section into a box of its own: a section shown later
  // (a click while a list loads, a change's refresh) replaces the box, and
  // whatever an earlier one still appends lands in a box no longer shown.
  async show(section) {
    this.section = section;
    const seq = ++this.seq;
    for (const b of this.tabs.children) b.setAttribute('aria-pressed', String(b.dataset.section === section));
    const out = h('div', { dataset: { section } });
    clear(this.body);
    this.body.append(out);
    try {
      await this[section](out);
    } catch (e) {
      if (e.status !== 401 && seq === this.seq) this.say(this.errorText(e), true);
    }
  }

  // act runs a change, then shows the section again (or says what failed).
  async act(fn, done) {
    this.say('');
    try {
      const res = await fn();
      await this.show(this.section);
      if (done) this.say(typeof done === 'function' ? done(res) : done);
    } catch (e) {
      if (e.status !== 401) this.say(this.errorText(e), true);
    }
  }

  async operators(out) {
    const [ops, teams] = await Promise.all([this.api.get('/operators'), this.api.get('/teams')]);
    const teamNames = ((teams && teams.items) || []).map((x) => x.name);
    const table = h('table', { class: 'admin-table', dataset: { testid: 'admin-operators' } },
      h('thead', {}, h('tr', {}, ...['admin.name', 'admin.email', 'admin.role', 'admin.teams', 'admin.state', ''].map((k) => h('th', { text: k ? t(k) : '' })))));
    const tbody = h('tbody');
    for (const op of (ops && ops.items) || []) {
      const role = h('select', { 'aria-label': t('admin.roleOf', { name: op.name || op.email }), dataset: { testid: 'admin-op-role' } },
        ...roles.map((r) => h('option', { value: r, text: t(`role.${r}`), selected: r === op.role })));
      role.addEventListener('change', () => this.act(() => this.api.patch(`/operators/${op.id}`, { role: role.value }), t('admin.saved')));
      // Teams: each with a button that takes the operator out, and a
      // choice that puts them into another.
      const mine = op.teams || [];
      const setTeams = (list) => this.act(() => this.api.patch(`/operators/${op.id}`, { teams: list }), t('admin.saved'));
      const teamsCell = h('td', { dataset: { testid: 'admin-op-teams' } },
        ...mine.map((n) => h('span', { class: 'chip' }, n, h('button', {
          type: 'button', class: 'btn btn--ghost btn--small', text: '×', 'aria-label': t('admin.leaveTeam', { team: n }),
          onClick: () => setTeams(mine.filter((x) => x !== n)),
        }))));
      const others = teamNames.filter((n) => !mine.includes(n));
      if (others.length) {
        const add = h('select', { 'aria-label': t('admin.joinTeam'), dataset: { testid: 'admin-op-join' } },
          h('option', { value: '', text: t('admin.joinTeam') }), ...others.map((n) => h('option', { value: n, text: n })));
        add.addEventListener('change', () => { if (add.value) setTeams(mine.concat(add.value)); });
        teamsCell.append(' ', add);
      }
      const toggle = h('button', {
        type: 'button', class: 'btn btn--small', dataset: { testid: 'admin-op-toggle' },
        text: op.disabled ? t('admin.enable') : t('admin.disable'),
        onClick: () => this.act(() => this.api.patch(`/operators/${op.id}`, { disabled: !op.disabled }), t('admin.saved')),
      });
      const reset = h('button', {
        type: 'button', class: 'btn btn--small btn--ghost', dataset: { testid: 'admin-op-reset' }, text: t('admin.resetPassword'),
        onClick: () => {
          const pw = generatePassword();
          this.act(() => this.api.patch(`/operators/${op.id}`, { password: pw }), t('admin.newPassword', { name: op.name || op.email, password: pw }));
        },
      });
      tbody.append(h('tr', { dataset: { testid: 'admin-op', email: op.email } },
        h('td', { text: op.name || '—' }), h('td', { text: op.email }), h('td', {}, role), teamsCell,
        h('td', { text: op.disabled ? t('admin.disabled') : t('admin.active') }), h('td', {}, toggle, ' ', reset)));
    }
    table.append(tbody);
    const email = h('input', { type: 'email', required: true, placeholder: t('admin.email'), 'aria-label': t('admin.email'), dataset: { testid: 'admin-new-email' } });
    const name = h('input', { type: 'text', placeholder: t('admin.name'), 'aria-label': t('admin.name'), dataset: { testid: 'admin-new-name' } });
    const role = h('select', { 'aria-label': t('admin.role'), dataset: { testid: 'admin-new-role' } }, ...roles.map((r) => h('option', { value: r, text: t(`role.${r}`) })));
    const team = h('select', { 'aria-label': t('admin.team'), dataset: { testid: 'admin-new-team' } },
      h('option', { value: '', text: t('admin.noTeam') }), ...teamNames.map((n) => h('option', { value: n, text: n })));
    const form = h('form', { class: 'admin-form', dataset: { testid: 'admin-new-operator' } }, email, name, role, team,
      h('button', { type: 'submit', class: 'btn btn--primary btn--small', text: t('admin.addOperator') }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = { email: email.value.trim(), name: name.value.trim(), role: role.value, teams: team.value ? [team.value] : [] };
      this.act(() => this.api.post('/operators', body), (res) => t('admin.created', { email: body.email, password: (res && res.password) || '' }));
    });
    out.append(table, h('h3', { text: t('admin.addOperator') }), form);
  }

  async teams(out) {
    const res = await this.api.get('/teams');
    const ul = h('ul', { class: 'plain admin-list', dataset: { testid: 'admin-teams' } });
    for (const team of (res && res.items) || []) {
      ul.append(h('li', { dataset: { testid: 'admin-team', name: team.name } },
        h('strong', { text: team.name }), ` · ${t('admin.members', { n: (team.members || []).length })} `,
        h('button', {
          type: 'button', class: 'btn btn--small btn--ghost', text: t('admin.delete'),
          onClick: () => this.act(() => this.api.del(`/teams/${team.id}`), t('admin.saved')),
        })));
    }
    const name = h('input', { type: 'text', required: true, placeholder: t('admin.teamName'), 'aria-label': t('admin.teamName'), dataset: { testid: 'admin-new-team-name' } });
    const form = h('form', { class: 'admin-form' }, name, h('button', { type: 'submit', class: 'btn btn--primary btn--small', text: t('admin.addTeam') }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.act(() => this.api.post('/teams', { name: name.value.trim() }), t('admin.saved'));
    });
    out.append(ul, h('p', { class: 'muted', text: t('admin.teamsHelp') }), form);
  }

  async channels(out) {
    const res = await this.api.get('/channels');
    const table = h('table', { class: 'admin-table', dataset: { testid: 'admin-channels' } },
      h('thead', {}, h('tr', {}, ...['admin.channel', 'admin.type', 'admin.team', 'admin.replies', 'admin.health'].map((k) => h('th', { text: t(k) })))));
    const tbody = h('tbody');
    for (const ch of (res && res.items) || []) {
      const health = ch.health || {};
      tbody.append(h('tr', { dataset: { testid: 'admin-channel', channel: ch.id, state: health.state || 'unknown' } },
        h('td', { text: ch.id }), h('td', { text: ch.type }), h('td', { text: ch.team || '—' }),
        h('td', { text: ch.can_send ? t('admin.yes') : t('admin.no') }),
        h('td', { text: t(`admin.health.${health.state || 'unknown'}`) + (health.error ? ` — ${health.error}` : '') })));
      if (ch.details) {
        // The provider is asked now, while the admin looks, and each
        // answer fills its own row when it comes.
        const cell = h('td', { colspan: '5', class: 'channel-details', dataset: { testid: 'admin-channel-details', channel: ch.id, state: 'loading' } },
          h('span', { class: 'muted', text: t('admin.details.loading') }));
        tbody.append(h('tr', {}, cell));
        this.channelDetails(ch, cell);
      }
    }
    table.append(tbody);
    out.append(table, h('p', { class: 'muted', text: t('admin.channelsHelp') }));
  }

  // channelDetails shows what the channel's provider says of it: for
  // Telegram the webhook it has, the updates it keeps and its last error.
  async channelDetails(ch, cell) {
    const provider = t(`channel.${ch.type}`);
    let res;
    try {
      res = await this.api.get(`/channels/${encodeURIComponent(ch.id)}/details`);
    } catch (e) {
      if (e.status === 401) return;
      res = { error: this.errorText(e) };
    }
    clear(cell);
    if (!res || res.error || !res.details) {
      cell.dataset.state = 'error';
      cell.append(h('span', { class: 'error', text: t('admin.details.failed', { provider, reason: (res && res.error) || '—' }) }));
      return;
    }
    cell.dataset.state = 'ok';
    const d = res.details;
    const dl = h('dl', { class: 'details-list' });
    const row = (key, value, props) => dl.append(h('dt', { text: t(key) }), h('dd', Object.assign({ text: value }, props)));
    if ('webhook_url' in d || ch.type === 'telegram') {
      row('admin.details.webhook', d.webhook_url || t('admin.details.noWebhook'),
        { class: 'url', title: d.webhook_url || null, dataset: { testid: 'details-webhook' } });
    }
    if (d.callback_url) row('admin.details.callback', d.callback_url, { class: 'url', title: d.callback_url, dataset: { testid: 'details-callback' } });
    if (d.bot_username) row('admin.details.bot', `@${d.bot_username}`);
    if (d.group_id) row('admin.details.group', String(d.group_id));
    if ('pending_update_count' in d) row('admin.details.pending', String(d.pending_update_count), { dataset: { testid: 'details-pending' } });
    if (d.last_error_message) {
      const when = d.last_error_date ? ` (${fmtDateTime(d.last_error_date)})` : '';
      row('admin.details.lastError', d.last_error_message + when, { class: 'error', dataset: { testid: 'details-error' } });
    } else if (ch.type === 'telegram') {
      row('admin.details.lastError', t('admin.details.noError'), { dataset: { testid: 'details-error' } });
    }
    if (d.warning) row('admin.details.warning', d.warning, { class: 'error', dataset: { testid: 'details-warning' } });
    cell.append(dl);
  }

  async audit(out) {
    const action = h('input', { type: 'search', placeholder: t('admin.action'), 'aria-label': t('admin.action'), dataset: { testid: 'admin-audit-action' } });
    const list = h('ol', { class: 'plain admin-list', dataset: { testid: 'admin-audit' } });
    const load = async () => {
      const q = action.value.trim();
      const res = await this.api.get(`/audit${q ? `?action=${encodeURIComponent(q)}` : ''}`);
      clear(list);
      for (const e of (res && res.items) || []) {
        list.append(h('li', { dataset: { testid: 'admin-audit-entry', action: e.action } },
          h('time', { class: 'muted', text: fmtDateTime(e.created_at) }), ' ',
          h('strong', { text: e.action }), ` ${e.entity} #${e.entity_id}`,
          e.operator_id ? h('span', { class: 'muted', text: ` · ${t('admin.by', { id: e.operator_id })}` }) : null));
      }
      if (!list.children.length) list.append(h('li', { class: 'muted', text: t('admin.none') }));
    };
    const form = h('form', { class: 'admin-form' }, action, h('button', { type: 'submit', class: 'btn btn--small', text: t('admin.filter') }));
    form.addEventListener('submit', (e) => { e.preventDefault(); load().catch((ex) => this.say(this.errorText(ex), true)); });
    out.append(form, list);
    await load();
  }

  async tokens(out) {
    const res = await this.api.get('/tokens');
    const ul = h('ul', { class: 'plain admin-list', dataset: { testid: 'admin-tokens' } });
    for (const tok of (res && res.items) || []) {
      ul.append(h('li', { dataset: { testid: 'admin-token', name: tok.name } },
        h('strong', { text: tok.name || `#${tok.id}` }), ` · ${tok.scope} · `,
        h('span', { class: 'muted', text: tok.last_used_at ? t('admin.lastUsed', { when: fmtDateTime(tok.last_used_at) }) : t('admin.neverUsed') }), ' ',
        h('button', {
          type: 'button', class: 'btn btn--small btn--ghost', text: t('admin.revoke'), dataset: { testid: 'admin-token-revoke' },
          onClick: () => this.act(() => this.api.del(`/tokens/${tok.id}`), t('admin.saved')),
        })));
    }
    const name = h('input', { type: 'text', required: true, placeholder: t('admin.tokenName'), 'aria-label': t('admin.tokenName'), dataset: { testid: 'admin-new-token-name' } });
    const scope = h('select', { 'aria-label': t('admin.scope') }, ...['read', 'write'].map((s) => h('option', { value: s, text: s })));
    const form = h('form', { class: 'admin-form' }, name, scope, h('button', { type: 'submit', class: 'btn btn--primary btn--small', text: t('admin.createToken'), dataset: { testid: 'admin-new-token' } }));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.act(() => this.api.post('/tokens', { name: name.value.trim(), scope: scope.value }), (res) => t('admin.tokenCreated', { token: (res && res.token) || '' }));
    });
    out.append(ul, form);
  }

  async sessions(out) {
    const res = await this.api.get('/sessions');
    const ul = h('ul', { class: 'plain admin-list', dataset: { testid: 'admin-sessions' } });
    for (const s of (res && res.items) || []) {
      ul.append(h('li', { dataset: { testid: 'admin-session' } },
        h('span', { text: `${s.ip || '—'} · ${s.user_agent || '—'}` }), ' ',
        h('span', { class: 'muted', text: t('admin.lastSeen', { when: fmtDateTime(s.last_seen_at) }) }), ' ',
        h('button', {
          type: 'button', class: 'btn btn--small btn--ghost', text: t('admin.endSession'),
          onClick: () => this.act(() => this.api.del(`/sessions/${s.id}`), t('admin.saved')),
        })));
    }
    out.append(ul);
  }
}

// generatePassword makes a password for a reset, shown once to the admin.
function generatePassword() {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = new Uint8Array(14);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
