// leadhub operators' page: login, the inbox of every channel, the client's
// cross-channel timeline with the reply box, the client card, and live
// updates over the websocket. Vanilla ES modules, no build step.
//
// Safety rule for this whole directory: data reaches the DOM only through
// textContent, text nodes and setAttribute on plain attributes (see dom.js);
// a Go test fails the build if an HTML-parsing sink appears in these files.

import { createAPI, query } from './api.js';
import { h, clear, channelIcon } from './dom.js';
import { t, getLang, setLang, applyStatic, fmtAgo, fmtDateTime } from './i18n.js';
import { Live } from './live.js';
import { renderMessage, preview, channelName } from './messages.js';
import { renderCard } from './card.js';
import { Notifier } from './notify.js';
import { Canned } from './canned.js';
import { AdminPanel } from './admin.js';
import { ScreenPop } from './screenpop.js';
import { AlertBell, SupervisorView } from './supervise.js';
import { ReportsView } from './reports.js';
import { ClientsPage } from './clients.js';

const $ = (id) => document.getElementById(id);
const statuses = ['new', 'open', 'pending', 'closed'];
const freshLead = 5 * 60 * 1000;

const state = {
  me: null,
  tab: 'all',
  channel: '',
  q: '',
  convs: new Map(), // every conversation seen, by id
  order: [], // ids shown in the list, newest activity first
  next: '',
  listSeq: 0,
  channels: new Map(), // channel id -> channel type
  selectedId: null,
  viewSeq: 0,
  client: null, // the open conversation's client detail
  clientConvIds: new Set(),
  messages: new Map(), // the open client's timeline, by id
  msgEls: new Map(),
  previews: new Map(), // conversation id -> one-line preview
  retried: new Set(),
  replyFiles: [], // File objects to send with the next reply
  health: new Map(), // channel id -> its health, from /channels/health
  colleagues: new Map(), // operator id -> name, from /directory
  teams: [], // the operator's teams, from the session
  hitSeq: 0,
  routes: [], // ways to answer the open conversation's client
  routesLoaded: false,
  focusMessage: null, // a message to show once the timeline is loaded (a search hit)
  // What this server can do; each turns false when its route is missing.
  support: { messageNotes: true, cardNotes: true, triage: true, edit: true, reads: true, counts: true, search: true, routes: true },
  cardFocus: '',
  cardStale: false,
  names: new Map(), // client id -> name, for duplicate suggestions
};

const api = createAPI({ onUnauthorized: () => showLogin() });
const admin = new AdminPanel({ api, me: () => state.me, errorText: (e) => errorText(e) });
const canned = new Canned({
  api,
  context: () => {
    const c = state.convs.get(state.selectedId);
    return {
      clientName: (state.client && state.client.name) || (c && c.client_name) || '',
      operatorName: (state.me && (state.me.name || state.me.email)) || '',
      teams: state.teams,
      role: state.me && state.me.role,
    };
  },
  onInsert: () => { if (state.selectedId) saveDraft(state.selectedId, $('reply-text').value); },
});
const notifier = new Notifier();
// The screen-pop opens the ringing caller's conversation with its card.
const screenPop = new ScreenPop((id) => openConversation(id));
const bell = new AlertBell({ api, open: (id) => openConversation(id), notifier, errorText: (e) => errorText(e) });
const supervision = new SupervisorView({ api, open: (id) => openConversation(id), errorText: (e) => errorText(e) });
const reportsView = new ReportsView({ api, channels: () => Array.from(state.channels.keys()).sort(), errorText: (e) => errorText(e) });
const clientsPage = new ClientsPage({
  api, channels: () => Array.from(state.channels.keys()).sort(), teams: () => state.teams, errorText: (e) => errorText(e),
});
const live = new Live({
  onEvent: queueEvent,
  onState: setWSState,
  checkSession: async () => {
    try {
      await api.get('/session');
      return true;
    } catch (e) {
      return e.status !== 401;
    }
  },
});

// ---- start, login, logout ----

async function boot() {
  applyStatic(document);
  syncLangSelects();
  wire();
  try {
    const s = await api.get('/session');
    startApp(s);
  } catch (_) {
    showLogin();
  }
}

function showLogin(message) {
  live.stop();
  api.setCSRF('');
  resetData();
  document.body.dataset.view = 'login';
  $('app-view').hidden = true;
  $('login-view').hidden = false;
  $('banner').hidden = true;
  const err = $('login-error');
  err.textContent = message || '';
  err.hidden = !message;
  document.title = 'leadhub';
  $('login-email').focus();
}

function resetData() {
  state.me = null;
  state.convs.clear();
  state.order = [];
  state.next = '';
  state.selectedId = null;
  state.client = null;
  state.clientConvIds.clear();
  state.messages.clear();
  state.msgEls.clear();
  state.previews.clear();
  state.retried.clear();
  state.listSeq++;
  state.viewSeq++;
  clear($('conversation-list'));
  clear($('timeline'));
  clear($('card'));
  $('reply-text').value = '';
  setReplyFiles([]);
  $('conv-body').hidden = true;
  $('conv-placeholder').hidden = false;
}

function startApp(session) {
  if (!session || !session.operator) { showLogin(); return; }
  state.me = session.operator;
  state.teams = Array.isArray(session.teams) ? session.teams : [];
  // Call buttons on phones only for operators with an extension.
  state.support.call = session.can_call === true;
  api.setCSRF(session.csrf_token);
  document.body.dataset.view = 'app';
  $('login-view').hidden = true;
  $('app-view').hidden = false;
  $('me').textContent = state.me.name || state.me.email || '';
  $('notify-toggle').checked = notifier.enabled;
  applyNoteSupport();
  loadList();
  // last_event_id, when the server sends it, is where live updates start;
  // everything up to it is in the lists the page loads now. Without it the
  // server replays all events, which converges on the same state.
  live.start(Number(session.last_event_id) || 0);
  loadHealth();
  loadColleagues();
  const supervisor = state.me.role === 'supervisor' || state.me.role === 'admin';
  $('csv-open').hidden = !supervisor;
  $('supervise-open').hidden = !supervisor;
  $('reports-open').hidden = !supervisor;
  $('clients-open').hidden = !supervisor;
  bell.load();
  const id = hashConversation();
  if (id) openConversation(id);
}

async function onLogin(e) {
  e.preventDefault();
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  const err = $('login-error');
  if (!email || !password) {
    err.textContent = t('login.missing');
    err.hidden = false;
    return;
  }
  const btn = $('login-form').querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const s = await api.post('/session', { email, password });
    $('login-password').value = '';
    err.hidden = true;
    startApp(s);
  } catch (ex) {
    let msg = ex.message;
    if (ex.status === 401) msg = t('login.wrong');
    else if (ex.status === 429) msg = t('login.limited');
    else if (ex.missingRoute) msg = t('login.unavailable');
    else if (ex.status === 0) msg = t('error.network');
    err.textContent = msg;
    err.hidden = false;
    $('login-password').focus();
  } finally {
    btn.disabled = false;
  }
}

async function onLogout() {
  try { await api.del('/session'); } catch (_) { /* signed out locally anyway */ }
  showLogin();
}

// ---- inbox list ----

function listParams(cursor) {
  const p = { q: state.q, channel: state.channel, cursor };
  if (statuses.includes(state.tab)) p.status = state.tab;
  if (state.tab === 'mine') p.assignee = 'me';
  if (state.tab === 'unassigned') p.assignee = 'none';
  return p;
}

async function loadList(more = false) {
  const seq = ++state.listSeq;
  const errEl = $('list-error');
  if (!more) loadCounts();
  try {
    const res = await api.get(`/conversations${query(listParams(more ? state.next : ''))}`);
    if (seq !== state.listSeq) return;
    if (!more) state.order = [];
    for (const c of (res && res.items) || []) {
      upsertConv(c);
      if (!state.order.includes(c.id)) state.order.push(c.id);
    }
    state.next = (res && res.next) || '';
    errEl.hidden = true;
    renderList();
  } catch (e) {
    if (seq !== state.listSeq || e.status === 401) return;
    errEl.textContent = errorText(e);
    errEl.hidden = false;
  }
}

function upsertConv(c) {
  const old = state.convs.get(c.id);
  const merged = old ? { ...old, ...c } : { ...c };
  state.convs.set(c.id, merged);
  if (merged.channel) state.channels.set(merged.channel, merged.channel_type);
  if (merged.last_message && typeof merged.last_message === 'object') state.previews.set(c.id, preview(merged.last_message));
  else if (typeof merged.preview === 'string') state.previews.set(c.id, merged.preview);
  return merged;
}

// matches says whether c belongs in the current list: true, false, or
// null when the page cannot tell (a search runs on the server).
function matches(c) {
  if (statuses.includes(state.tab) && c.status !== state.tab) return false;
  if (state.tab === 'mine' && (!state.me || c.assignee_id !== state.me.id)) return false;
  if (state.tab === 'unassigned' && c.assignee_id !== null && c.assignee_id !== undefined) return false;
  if (state.channel && c.channel !== state.channel) return false;
  if (state.q) {
    const name = String(c.client_name || '').toLowerCase();
    return name.includes(state.q.toLowerCase()) ? true : null;
  }
  return true;
}

function sortOrder() {
  const at = (id) => Date.parse((state.convs.get(id) || {}).last_message_at || '') || 0;
  state.order.sort((a, b) => at(b) - at(a) || b - a);
}

function clientName(c) {
  return (c && c.client_name) || t('client.unnamed', { id: c ? c.client_id : '?' });
}

function renderList() {
  const ul = $('conversation-list');
  const active = document.activeElement;
  const focusedId = ul.contains(active) && active.dataset ? active.dataset.conversationId : null;
  clear(ul);
  let tabbable = null;
  for (const id of state.order) {
    const c = state.convs.get(id);
    if (!c) continue;
    const row = renderRow(c);
    ul.append(row);
    if (id === state.selectedId) tabbable = row;
  }
  if (!tabbable) tabbable = ul.firstElementChild;
  if (tabbable) tabbable.tabIndex = 0;
  if (focusedId) {
    const el = ul.querySelector(`[data-conversation-id="${CSS.escape(focusedId)}"]`);
    if (el) { ul.querySelectorAll('[tabindex="0"]').forEach((r) => { r.tabIndex = -1; }); el.tabIndex = 0; el.focus(); }
  }
  $('list-empty').hidden = state.order.length > 0;
  $('load-more').hidden = !state.next;
  renderChannelFilter();
  updateTitle();
}

function renderRow(c) {
  const selected = c.id === state.selectedId;
  const mine = state.me && c.assignee_id === state.me.id;
  const unread = Number(c.unread) || 0;
  const pv = state.previews.get(c.id) || '';
  return h('li', {
    id: `conv-row-${c.id}`,
    role: 'option',
    tabindex: '-1',
    'aria-selected': String(selected),
    class: ['row', selected && 'row--selected', unread > 0 && 'row--unread', `row--${c.status}`],
    dataset: { testid: 'conversation-row', conversationId: c.id, status: c.status, unread },
    onclick: () => openConversation(c.id),
  },
  channelIcon(c.channel_type),
  h('div', { class: 'row__main' },
    h('div', { class: 'row__top' },
      h('span', { class: 'row__name', dataset: { testid: 'row-name' }, text: clientName(c) }),
      h('span', { class: 'sr-only', text: `, ${channelName(c.channel_type)}, ${t(`status.${c.status}`)}` }),
      c.last_message_at ? h('time', {
        class: 'row__wait', datetime: c.last_message_at, title: fmtDateTime(c.last_message_at),
        dataset: { at: c.last_message_at }, text: fmtAgo(c.last_message_at),
      }) : null),
    h('div', { class: 'row__bottom' },
      h('span', { class: pv ? 'row__preview' : 'row__preview muted', dataset: { testid: 'row-preview' }, text: pv || `${channelName(c.channel_type)} · ${c.channel || ''}` }),
      c.status === 'new' ? h('span', { class: 'chip chip--new', text: t('status.new') }) : null,
      slaChip(c),
      mine ? h('span', { class: 'chip', title: t('row.mine'), text: '★' }) : null,
      mine ? h('span', { class: 'sr-only', text: t('row.mine') }) : null,
      unread > 0 ? h('span', { class: 'badge', dataset: { testid: 'unread' } },
        h('span', { 'aria-hidden': 'true', text: String(unread) }),
        h('span', { class: 'sr-only', text: t('row.unread', { n: unread }) })) : null)));
}

// slaChip says that the client's answer is late, or when it is due.
function slaChip(c) {
  if (c.sla_breached) return h('span', { class: 'chip chip--late', dataset: { testid: 'row-sla' }, title: c.sla_due_at ? fmtDateTime(c.sla_due_at) : '', text: t('sla.breached') });
  if (!c.sla_due_at) return null;
  const soon = Date.parse(c.sla_due_at) - Date.now() < 5 * 60 * 1000;
  return h('span', { class: soon ? 'chip chip--soon' : 'chip', dataset: { testid: 'row-sla' }, title: fmtDateTime(c.sla_due_at), text: t('sla.dueAt', { time: fmtTimeShort(c.sla_due_at) }) });
}

function fmtTimeShort(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : new Intl.DateTimeFormat(getLang(), { timeStyle: 'short' }).format(d);
}

function renderChannelFilter() {
  const sel = $('channel-filter');
  const have = Array.from(sel.options).map((o) => o.value).filter(Boolean).join('\n');
  const ids = Array.from(state.channels.keys()).sort();
  if (state.channel && !ids.includes(state.channel)) ids.push(state.channel);
  if (have === ids.join('\n')) return;
  const first = sel.options[0];
  clear(sel);
  sel.append(first);
  for (const id of ids) {
    const type = state.channels.get(id);
    sel.append(h('option', { value: id, text: type ? `${channelName(type)} · ${id}` : id }));
  }
  sel.value = state.channel;
}

function updateTitle() {
  let unread = 0;
  for (const id of state.order) unread += Number((state.convs.get(id) || {}).unread) || 0;
  document.title = unread ? `(${unread}) leadhub` : 'leadhub';
}

function refreshTimes() {
  for (const el of document.querySelectorAll('.row__wait[data-at]')) el.textContent = fmtAgo(el.dataset.at);
}

function setTab(tab) {
  state.tab = tab;
  for (const b of $('tabs').querySelectorAll('[data-tab]')) b.setAttribute('aria-pressed', String(b.dataset.tab === tab));
  loadList();
}

function rows() {
  return Array.from($('conversation-list').querySelectorAll('[data-conversation-id]'));
}

function focusRow(el) {
  if (!el) return;
  for (const r of rows()) r.tabIndex = -1;
  el.tabIndex = 0;
  el.focus();
}

function focusList() {
  const ul = $('conversation-list');
  focusRow(ul.querySelector('[tabindex="0"]') || ul.firstElementChild);
}

// moveSelection opens the next (+1) or previous (-1) conversation.
function moveSelection(delta) {
  const ids = state.order;
  if (!ids.length) return;
  let i = ids.indexOf(state.selectedId);
  i = i < 0 ? (delta > 0 ? 0 : ids.length - 1) : Math.min(ids.length - 1, Math.max(0, i + delta));
  openConversation(ids[i]);
  focusRow($(`conv-row-${ids[i]}`));
}

function onListKey(e) {
  const all = rows();
  const i = all.indexOf(document.activeElement);
  let target = null;
  switch (e.key) {
    case 'ArrowDown': target = all[Math.min(all.length - 1, i + 1)]; break;
    case 'ArrowUp': target = all[Math.max(0, i - 1)]; break;
    case 'Home': target = all[0]; break;
    case 'End': target = all[all.length - 1]; break;
    case 'Enter':
    case ' ':
      if (i >= 0) {
        e.preventDefault();
        openConversation(Number(all[i].dataset.conversationId));
      }
      return;
    default: return;
  }
  e.preventDefault();
  focusRow(target);
}

// ---- conversation view ----

function hashConversation() {
  const m = /^#c=(\d+)$/.exec(window.location.hash);
  return m ? Number(m[1]) : 0;
}

async function openConversation(id) {
  if (!id) return;
  const seq = ++state.viewSeq;
  const changed = state.selectedId !== id;
  state.selectedId = id;
  if (hashConversation() !== id) window.history.replaceState(null, '', `#c=${id}`);
  if (changed) {
    state.client = null;
    state.clientConvIds = new Set([id]);
    state.messages.clear();
    state.msgEls.clear();
    clear($('timeline'));
    clear($('card'));
    $('reply-error').hidden = true;
    // The reply box holds this conversation's own draft, never the last
    // one's; files cannot be kept, so they go.
    $('reply-text').value = loadDraft(id);
    setReplyFiles([]);
  }
  $('conv-placeholder').hidden = true;
  $('conv-body').hidden = false;
  $('conv-error').hidden = true;
  renderList();
  if (state.convs.has(id)) renderHead();
  $('timeline').setAttribute('aria-busy', 'true');
  try {
    const conv = upsertConv(await api.get(`/conversations/${id}`));
    if (seq !== state.viewSeq) return;
    renderHead();
    const [client, msgs] = await Promise.all([
      api.get(`/clients/${conv.client_id}`).catch((e) => { cardError(e); return null; }),
      loadMessages(id),
    ]);
    if (seq !== state.viewSeq) return;
    if (client) setClient(client);
    for (const m of msgs) state.messages.set(m.id, m);
    renderTimeline(true);
    showFocusMessage();
    renderHead();
    renderCardPanel();
    const last = msgs[msgs.length - 1];
    if (last) { state.previews.set(id, preview(last)); renderList(); }
    if (conv.unread > 0) markRead(id, false);
    loadRoutes(id);
  } catch (e) {
    if (seq !== state.viewSeq || e.status === 401) return;
    convError(t('conv.loadError', { error: errorText(e) }));
  } finally {
    if (seq === state.viewSeq) $('timeline').setAttribute('aria-busy', 'false');
  }
}

// loadMessages reads the whole conversation, oldest first, page by page.
async function loadMessages(id) {
  const out = [];
  let cursor = '';
  for (let page = 0; page < 20; page++) {
    const res = await api.get(`/conversations/${id}/messages${query({ limit: 200, cursor })}`);
    out.push(...((res && res.items) || []));
    cursor = (res && res.next) || '';
    if (!cursor) break;
  }
  return out;
}

function setClient(client) {
  state.client = client;
  if (client.name) state.names.set(client.id, client.name);
  state.clientConvIds = new Set([state.selectedId]);
  for (const c of client.conversations || []) {
    upsertConv(c);
    state.clientConvIds.add(c.id);
  }
  for (const m of client.messages || []) state.messages.set(m.id, m);
  for (const n of Array.isArray(client.notes) ? client.notes : []) {
    const m = noteMessage(n);
    state.messages.set(m.id, m);
  }
  applyNoteSupport();
}

// noteMessage shows a note of the client card in the timeline, among the
// messages, as a private note.
function noteMessage(n) {
  return {
    id: `note-${n.id}`, noteId: n.id, kind: 'note', direction: 'out', text: n.text,
    author_id: n.author_id, created_at: n.created_at, conversation_id: null,
  };
}

function renderHead() {
  const c = state.convs.get(state.selectedId);
  if (!c) return;
  const name = (state.client && state.client.name) || clientName(c);
  $('conv-title').textContent = name;
  const sub = $('conv-sub');
  clear(sub);
  let assigned = t('conv.assignedNone');
  if (c.assignee_id && state.me && c.assignee_id === state.me.id) assigned = t('conv.assignedMe');
  else if (c.assignee_id) assigned = t('conv.assignedOther', { name: colleagueName(c.assignee_id) });
  sub.append(channelIcon(c.channel_type), ` ${t('conv.sinceChannel', { channel: channelName(c.channel_type), channelId: c.channel || '' })} · `,
    h('span', { class: `status status--${c.status}`, dataset: { testid: 'conv-status' }, text: t(`status.${c.status}`) }),
    ` · ${assigned}`);

  const triage = c.status === 'new' && state.support.triage;
  $('btn-accept').hidden = !triage;
  $('btn-reject').hidden = !triage;
  const mine = state.me && c.assignee_id === state.me.id;
  const assign = $('btn-assign');
  assign.textContent = mine ? t('conv.unassign') : t('conv.assignMe');
  assign.dataset.action = mine ? 'unassign' : 'assign';
  const sel = $('status-select');
  for (const o of sel.options) o.hidden = o.value === 'new' && c.status !== 'new';
  sel.value = c.status;

  renderChannelWarning(c);
  const dnc = $('dnc-warning');
  const cl = state.client;
  const denied = vkDenied(c, cl);
  if (cl && cl.do_not_contact) {
    dnc.textContent = t('reply.dnc') + (cl.do_not_contact_reason ? ` (${cl.do_not_contact_reason})` : '');
    dnc.hidden = false;
    showOverride(true);
  } else if (denied) {
    // VK refuses the send whatever the operator ticks: no override.
    dnc.textContent = t('reply.vkDenied', { reason: denied });
    dnc.hidden = false;
    showOverride(false);
  } else {
    dnc.hidden = true;
    showOverride(false);
  }
}

// ---- channel health ----

// loadHealth reads how every channel reaches its provider; the top bar
// names the channels in trouble and the reply box warns before a reply
// goes into a channel that is down. Health is polled: it changes rarely
// and is not an event.
async function loadHealth() {
  if (!state.me) return;
  try {
    const res = await api.get('/channels/health');
    state.health = new Map(((res && res.items) || []).map((x) => [x.channel, x]));
  } catch (e) {
    if (e.status === 401 || e.missingRoute) return;
    return; // the next round tries again
  }
  renderHealth();
  const c = state.convs.get(state.selectedId);
  if (c) renderChannelWarning(c);
}

function troubled(x) {
  return x && (x.state === 'down' || x.state === 'degraded');
}

function renderHealth() {
  const el = $('channel-health');
  const bad = Array.from(state.health.values()).filter(troubled);
  el.hidden = bad.length === 0;
  el.dataset.state = bad.some((x) => x.state === 'down') ? 'down' : (bad.length ? 'degraded' : 'ok');
  el.textContent = bad.length ? t('health.problems', {
    list: bad.map((x) => t('health.item', { channel: x.channel, state: t(`health.state.${x.state}`), error: x.error || '—' })).join(', '),
  }) : '';
}

function renderChannelWarning(c) {
  const el = $('channel-warning');
  const x = state.health.get(c.channel);
  el.hidden = !troubled(x);
  if (!troubled(x)) return;
  el.dataset.state = x.state;
  el.textContent = t(x.state === 'down' ? 'reply.channelDown' : 'reply.channelDegraded', { channel: x.channel, error: x.error || '—' });
}

// refetchConversation reads a conversation again after it moved: still
// visible, it is updated like any event; gone to a colleague, it leaves
// the list (and the view, if it was open).
async function refetchConversation(id) {
  if (!state.convs.has(id)) return;
  try {
    const c = await api.get(`/conversations/${id}`);
    applyConversation(c);
    render();
  } catch (e) {
    if (e.status !== 404) return;
    state.convs.delete(id);
    const i = state.order.indexOf(id);
    if (i >= 0) state.order.splice(i, 1);
    if (state.selectedId === id) {
      closeConversation();
      announce(t('conv.movedAway'));
    } else {
      renderList();
    }
  }
}

// ---- reply routes ----

// loadRoutes reads the ways to answer the client: the conversation's own
// channel when it can send, then the client's other channels that can.
// The box offers a choice only when there is one, and says so when there
// is no way at all (a form lead with only a phone).
async function loadRoutes(id) {
  state.routes = [];
  state.routesLoaded = false;
  renderRoutes(id);
  if (!state.support.routes) return;
  try {
    const res = await api.get(`/conversations/${id}/routes`);
    if (state.selectedId !== id) return;
    state.routes = (res && res.items) || [];
    state.routesLoaded = true;
    renderRoutes(id);
    if (state.routes.some((r) => r.type === 'email')) renderCardPanel();
  } catch (e) {
    if (e.missingRoute) state.support.routes = false;
  }
}

function renderRoutes(id) {
  const sel = $('reply-via');
  const label = $('reply-via-label');
  const none = $('reply-noroute');
  clear(sel);
  const routes = state.routes;
  for (const r of routes) {
    sel.append(h('option', { value: r.channel, text: t('reply.route', { channel: channelName(r.type), id: r.channel, to: r.to }) }));
  }
  const current = routes.some((r) => r.current);
  label.hidden = routes.length === 0 || (routes.length === 1 && current);
  none.hidden = !state.support.routes || routes.length > 0 || id !== state.selectedId || !state.routesLoaded;
  clear(none);
  none.append(h('span', { text: t('reply.noRoute') }));
  if (none.hidden) return;
  // What can be done instead: call the client, or plan a callback.
  const client = state.client;
  const phone = client && (client.identities || []).find((x) => x.kind === 'phone');
  const err = $('reply-error');
  if (phone && state.support.call) {
    none.append(' ', h('button', {
      type: 'button', class: 'btn btn--small', dataset: { testid: 'noroute-call' }, text: t('card.callNumber', { number: phone.value }),
      onClick: async () => {
        try {
          await api.post(`/clients/${client.id}/call`, { phone: phone.value });
          announce(t('card.calling'));
          err.hidden = true;
        } catch (ex) {
          if (ex.status === 401) return;
          err.textContent = t('card.callError', { error: errorText(ex) });
          err.hidden = false;
        }
      },
    }));
  }
  none.append(' ', h('button', {
    type: 'button', class: 'btn btn--small', dataset: { testid: 'noroute-task' }, text: t('reply.planCallback'),
    onClick: () => {
      const title = document.querySelector('#card [data-testid="task-title"]');
      if (!title) return;
      $('card').classList.add('card--shown');
      if (!title.value) title.value = t('reply.callbackTitle');
      title.focus();
    },
  }));
}

// chosenVia is the channel the operator picked for the reply, "" for the
// conversation's own.
function chosenVia(convId) {
  if (convId !== state.selectedId || $('reply-via-label').hidden) return '';
  const r = state.routes.find((x) => x.channel === $('reply-via').value);
  return r && !r.current ? r.channel : '';
}

// ---- search inside messages ----

// searchMessages shows, under the conversations the search box matched by
// name, phone or email, the messages that hold its words.
async function searchMessages() {
  const seq = ++state.hitSeq;
  const section = $('message-hits');
  const ul = $('hit-list');
  const q = state.q;
  if (!q || q.replace(/[^\p{L}\p{N}]/gu, '').length < 2 || !state.support.search) {
    section.hidden = true;
    clear(ul);
    return;
  }
  let res;
  try {
    res = await api.get(`/messages/search${query({ q, limit: 20 })}`);
  } catch (e) {
    if (e.missingRoute) state.support.search = false;
    if (seq === state.hitSeq) section.hidden = true;
    return;
  }
  if (seq !== state.hitSeq) return;
  clear(ul);
  const hits = (res && res.items) || [];
  for (const hit of hits) {
    const m = hit.message;
    const c = hit.conversation || {};
    ul.append(h('li', {},
      h('button', {
        type: 'button', class: 'hit', dataset: { testid: 'message-hit', messageId: m.id, conversationId: m.conversation_id },
        onclick: () => { state.focusMessage = m.id; upsertConv(c); openConversation(m.conversation_id); },
      },
      h('span', { class: 'hit__who' }, channelIcon(c.channel_type), ` ${clientName(c)}`),
      h('span', { class: 'hit__text', text: snippet(m.subject ? `${m.subject} — ${m.text}` : m.text, q) }),
      h('time', { class: 'hit__at muted', datetime: m.created_at, text: fmtDateTime(m.created_at) }))));
  }
  if (!hits.length) ul.append(h('li', { class: 'muted', text: t('hits.none') }));
  section.hidden = false;
}

// snippet is the part of text around the first word of q it holds.
function snippet(text, q) {
  const flat = String(text || '').replace(/\s+/g, ' ').trim();
  const words = q.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const lower = flat.toLowerCase();
  let at = -1;
  for (const w of words) {
    at = lower.indexOf(w.slice(0, Math.max(3, w.length - 2)));
    if (at >= 0) break;
  }
  const start = Math.max(0, at - 40);
  const cut = flat.slice(start, start + 140);
  return (start > 0 ? '…' : '') + cut + (start + 140 < flat.length ? '…' : '');
}

// showFocusMessage scrolls to and marks the message a search hit pointed to.
function showFocusMessage() {
  const id = state.focusMessage;
  if (!id) return;
  state.focusMessage = null;
  const el = state.msgEls.get(id);
  if (!el) return;
  el.classList.add('msg--hit');
  el.dataset.hit = 'true';
  el.scrollIntoView({ block: 'center' });
}

// ---- clients CSV ----

// importCSV uploads the chosen file; the import runs on the server and the
// dialog follows it with a progress bar, then sums it up and offers the
// rejected rows as a file.
async function importCSV(e) {
  e.preventDefault();
  const file = $('csv-file').files && $('csv-file').files[0];
  if (!file) return;
  const status = $('csv-status');
  const bar = $('csv-bar');
  $('csv-progress').hidden = false;
  $('csv-rejected').hidden = true;
  $('csv-import').disabled = true;
  status.textContent = t('csv.reading');
  bar.removeAttribute('value');
  try {
    let job = await api.post('/imports', file);
    while (job && job.state === 'running') {
      if (job.total > 0) {
        bar.max = job.total;
        bar.value = job.done;
        status.textContent = t('csv.running', { done: job.done, total: job.total });
      }
      await new Promise((r) => setTimeout(r, 400));
      job = await api.get(`/imports/${job.id}`);
    }
    bar.max = 1;
    bar.value = 1;
    if (job.state === 'done') {
      status.textContent = t('csv.done', { imported: job.imported, merged: job.merged, rejected: job.rejected });
      if (job.rejected > 0) {
        const a = $('csv-rejected');
        a.setAttribute('href', `/api/v1/imports/${job.id}/rejected.csv`);
        a.hidden = false;
      }
      loadList();
    } else {
      status.textContent = t('csv.failed', { error: job.error || '' });
    }
  } catch (ex) {
    status.textContent = t('csv.failed', { error: errorText(ex) });
  } finally {
    $('csv-import').disabled = false;
  }
}

// ---- tab counts ----

// loadCounts shows on the tabs how many conversations that are not closed
// each holds for this operator (in the chosen channel). Live events only
// say that something changed, so the counts are read again, at most once a
// second.
async function loadCounts() {
  if (!state.me || !state.support.counts) return;
  try {
    const n = await api.get(`/conversations/counts${query({ channel: state.channel })}`);
    for (const tab of ['new', 'mine', 'unassigned', 'open', 'pending']) {
      const el = document.querySelector(`[data-testid="tab-count-${tab}"]`);
      const v = (n && n[tab]) || 0;
      el.textContent = String(v);
      el.hidden = v === 0;
    }
  } catch (e) {
    if (e.missingRoute) state.support.counts = false;
  }
}

let countsTimer = null;
function loadCountsSoon() {
  if (countsTimer) return;
  countsTimer = setTimeout(() => { countsTimer = null; loadCounts(); }, 1000);
}

// ---- read marks ----

// markRead tells the server this operator read the conversation (or marks
// it unread) and shows the count it answers with.
async function markRead(id, unread) {
  if (!state.support.reads) return;
  try {
    const r = await api.post(`/conversations/${id}/${unread ? 'unread' : 'read'}`);
    const c = state.convs.get(id);
    if (c && r && typeof r.unread === 'number') {
      c.unread = r.unread;
      renderList();
    }
  } catch (e) {
    if (e.missingRoute) state.support.reads = false;
  }
}

let readTimer = null;
function markReadSoon(id) {
  const c = state.convs.get(id);
  if (c) { c.unread = 0; dirty.list = true; }
  clearTimeout(readTimer);
  readTimer = setTimeout(() => { if (state.selectedId === id) markRead(id, false); }, 300);
}

// closeConversation leaves the open conversation for the list.
function closeConversation() {
  state.selectedId = null;
  state.viewSeq++;
  window.history.replaceState(null, '', window.location.pathname + window.location.search);
  $('conv-body').hidden = true;
  $('conv-placeholder').hidden = false;
  renderList();
  focusList();
}

function convError(msg) {
  const el = $('conv-error');
  el.textContent = msg;
  el.hidden = !msg;
}

function sortedMessages() {
  const at = (m) => Date.parse(m.created_at || '') || 0;
  const byID = (a, b) => (typeof a.id === 'number' && typeof b.id === 'number' ? a.id - b.id : String(a.id).localeCompare(String(b.id)));
  return Array.from(state.messages.values()).sort((a, b) => at(a) - at(b) || byID(a, b));
}

function messageCtx(m) {
  const conv = state.convs.get(m.conversation_id);
  return {
    me: state.me,
    conv,
    currentConvId: state.selectedId,
    clientName: (state.client && state.client.name) || (conv && conv.client_name) || '',
    retried: state.retried.has(m.id),
    onRetry: retry,
    colleague: (id) => state.colleagues.get(id),
    channelType: (id) => state.channels.get(id) || (state.routes.find((r) => r.channel === id) || {}).type,
  };
}

// loadColleagues reads every operator's name, to name assignees and the
// authors of replies.
async function loadColleagues() {
  try {
    const res = await api.get('/directory');
    state.colleagues = new Map(((res && res.items) || []).map((o) => [o.id, o.name]));
    if (state.selectedId) { renderHead(); renderTimeline(false); }
  } catch (_) { /* names fall back to numbers */ }
}

function colleagueName(id) {
  return state.colleagues.get(id) || t('msg.operator', { id });
}

function atBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 60;
}

function renderTimeline(scroll) {
  const ol = $('timeline');
  clear(ol);
  state.msgEls.clear();
  for (const m of sortedMessages()) {
    const el = renderMessage(m, messageCtx(m));
    state.msgEls.set(m.id, el);
    ol.append(el);
  }
  if (scroll) ol.scrollTop = ol.scrollHeight;
}

// deliveryRank orders a reply's delivery states as they happen: queued,
// then sent or failed, then delivered.
function deliveryRank(status) {
  return { queued: 1, sent: 2, failed: 2, delivered: 3 }[status] || 0;
}

// putMessage adds or updates one message of the open client's timeline.
function putMessage(m) {
  const ol = $('timeline');
  const stick = atBottom(ol) || m.direction === 'out';
  const old = state.messages.get(m.id);
  const merged = old ? { ...old, ...m } : m;
  if (old && deliveryRank(old.delivery) > deliveryRank(m.delivery)) {
    // The reply's own 202 answer ("queued") can arrive after the event
    // that says it was sent or failed: the later state wins, whichever
    // arrived first.
    merged.delivery = old.delivery;
    merged.error = old.error;
  }
  state.messages.set(m.id, merged);
  const el = renderMessage(merged, messageCtx(merged));
  const prev = state.msgEls.get(m.id);
  if (prev) {
    const hadFocus = prev.contains(document.activeElement);
    prev.replaceWith(el);
    state.msgEls.set(m.id, el);
    if (hadFocus) (el.querySelector('button') || $('reply-text')).focus();
    return;
  }
  const list = sortedMessages();
  if (list[list.length - 1] === merged || !ol.lastElementChild) {
    ol.append(el);
    state.msgEls.set(m.id, el);
  } else {
    renderTimeline(false);
  }
  if (stick) ol.scrollTop = ol.scrollHeight;
}

function belongsToOpenClient(m, conv) {
  if (!state.selectedId) return false;
  if (state.clientConvIds.has(m.conversation_id)) return true;
  if (conv && state.client && conv.client_id === state.client.id) {
    state.clientConvIds.add(conv.id);
    return true;
  }
  return false;
}

async function patchConversation(body) {
  const id = state.selectedId;
  try {
    const c = await api.patch(`/conversations/${id}`, body);
    if (c && c.id) applyConversation(c);
    render();
    convError('');
  } catch (e) {
    if (e.status !== 401) convError(t('conv.actionError', { error: errorText(e) }));
  }
}

// triage posts accept or reject. Servers without these routes answer a
// plain 404; the buttons then go away.
async function triage(action) {
  const id = state.selectedId;
  try {
    const res = await api.post(`/conversations/${id}/${action}`);
    let c = res && (res.conversation || (res.id === id ? res : null));
    if (!c) c = await api.get(`/conversations/${id}`);
    applyConversation(c);
    render();
    convError('');
  } catch (e) {
    if (e.missingRoute) {
      state.support.triage = false;
      renderHead();
      return;
    }
    if (e.status !== 401) convError(t('conv.actionError', { error: errorText(e) }));
  }
}

// ---- reply box ----

// noteTarget is where a private note goes: the client card's notes when
// the server has them, else a message of kind "note", else nowhere (the
// control is hidden).
function noteTarget() {
  if (state.client && Array.isArray(state.client.notes) && state.support.cardNotes) return 'card';
  if (state.support.messageNotes) return 'message';
  return '';
}

function replyMode() {
  const r = $('reply-form').querySelector('input[name=mode]:checked');
  return r && r.value === 'note' && noteTarget() ? 'note' : 'reply';
}

function applyNoteSupport() {
  const ok = Boolean(noteTarget());
  $('reply-mode').hidden = !ok;
  if (!ok) $('reply-form').querySelector('input[value=reply]').checked = true;
  updateReplyMode();
}

// vkDenied is why a VK conversation's client cannot be messaged (every VK
// identity of theirs unreachable), or '' when they can.
function vkDenied(c, cl) {
  if (!c || c.channel_type !== 'vk' || !cl || !Array.isArray(cl.identities)) return '';
  const vk = cl.identities.filter((i) => i.kind === 'vk');
  const marks = Array.isArray(cl.unreachable) ? cl.unreachable : [];
  let reason = '';
  for (const id of vk) {
    const u = marks.find((x) => x.kind === 'vk' && x.value === id.value);
    if (!u) return '';
    reason = u.reason || reason;
  }
  return vk.length ? reason || '?' : '';
}

function showOverride(on) {
  $('dnc-override-label').hidden = !on;
  if (!on) $('dnc-override').checked = false;
}

function updateReplyMode() {
  const note = replyMode() === 'note';
  $('reply-form').classList.toggle('reply--note', note);
  $('reply-text').setAttribute('placeholder', note ? t('reply.notePlaceholder') : t('reply.placeholder'));
  $('reply-send').textContent = note ? t('reply.addNote') : t('reply.send');
  $('reply-attach-label').hidden = note;
}

async function post(convId, text, kind, files) {
  if (kind === 'note' && noteTarget() === 'card') {
    const client = state.client;
    try {
      const n = await api.post(`/clients/${client.id}/notes`, { text });
      if (n && n.id) {
        client.notes.push(n);
        if (state.client === client) { putMessage(noteMessage(n)); dirty.card = true; render(); }
      }
      return n;
    } catch (e) {
      if (!e.missingRoute) throw e;
      state.support.cardNotes = false;
    }
  }
  let body = kind === 'note' ? { text, kind: 'note' } : { text };
  if (kind !== 'note' && $('dnc-override').checked) body.override_dnc = true;
  const via = kind === 'note' ? '' : chosenVia(convId);
  if (via) body.via = via;
  if (kind !== 'note' && files && files.length) {
    const form = new FormData();
    form.append('text', text);
    if (body.override_dnc) form.append('override_dnc', 'true');
    if (body.via) form.append('via', body.via);
    for (const f of files) form.append('files', f, f.name);
    body = form;
  }
  const m = await api.post(`/conversations/${convId}/messages`, body);
  if (m && m.id && belongsToOpenClient(m, null)) putMessage(m);
  if (m && m.id) { state.previews.set(convId, preview(m)); renderList(); }
  return m;
}

async function onReply(e) {
  e.preventDefault();
  const ta = $('reply-text');
  const text = ta.value;
  const kind = replyMode() === 'note' ? 'note' : 'text';
  const files = kind === 'note' ? [] : state.replyFiles.slice();
  const convId = state.selectedId;
  if ((!text.trim() && !files.length) || !convId) return;
  const err = $('reply-error');
  const btn = $('reply-send');
  btn.disabled = true;
  try {
    await post(convId, text, kind, files);
    saveDraft(convId, '');
    // The operator may have moved on while it was sending: clear only the
    // box that held this reply.
    if (state.selectedId === convId) {
      ta.value = '';
      setReplyFiles([]);
    }
    err.hidden = true;
    if (kind !== 'note') announce(t('reply.sent'));
  } catch (ex) {
    if (ex.status === 401) return;
    if (kind === 'note' && ex.status === 400 && /kind/.test(ex.message)) {
      // The server has no notes on messages: it rejects the field.
      state.support.messageNotes = false;
      applyNoteSupport();
      err.textContent = t('reply.notesUnsupported');
    } else if (ex.status === 409 && state.client && state.client.do_not_contact) {
      showOverride(true);
      err.textContent = t('reply.dncConflict', { error: errorText(ex) });
    } else {
      err.textContent = t('reply.error', { error: errorText(ex) });
    }
    err.hidden = false;
  } finally {
    btn.disabled = false;
  }
}

// ---- drafts ----

// A draft belongs to one conversation and one operator. It lives in the
// browser's storage, so a reload keeps it, and it shows only in its own
// conversation's reply box.
function draftKey(convId) {
  return `leadhub.draft.${state.me ? state.me.id : 0}.${convId}`;
}

function loadDraft(convId) {
  try { return localStorage.getItem(draftKey(convId)) || ''; } catch (_) { return ''; }
}

function saveDraft(convId, text) {
  try {
    if (text.trim()) localStorage.setItem(draftKey(convId), text);
    else localStorage.removeItem(draftKey(convId));
  } catch (_) { /* storage full or disabled: the draft lives only in the box */ }
}

// setReplyFiles replaces the files waiting to go out with the next reply
// and lists them under the text box, each with a button that removes it.
function setReplyFiles(files) {
  state.replyFiles = files;
  const ul = $('reply-files');
  clear(ul);
  for (const f of files) {
    ul.append(h('li', { class: 'reply__file', dataset: { testid: 'reply-file' } },
      h('span', { text: f.name }),
      h('button', {
        type: 'button', class: 'btn btn--ghost btn--small', text: '×',
        'aria-label': t('reply.removeFile', { name: f.name }),
        onclick: () => setReplyFiles(state.replyFiles.filter((x) => x !== f)),
      })));
  }
  ul.hidden = files.length === 0;
  $('reply-attach').value = '';
}

// retry sends the text of a failed reply again, as a new message.
async function retry(m) {
  state.retried.add(m.id);
  if (state.messages.has(m.id)) putMessage(state.messages.get(m.id));
  const err = $('reply-error');
  try {
    await post(m.conversation_id, m.text, 'text');
    err.hidden = true;
  } catch (ex) {
    state.retried.delete(m.id);
    if (state.messages.has(m.id)) putMessage(state.messages.get(m.id));
    if (ex.status === 401) return;
    err.textContent = t('reply.error', { error: errorText(ex) });
    err.hidden = false;
  }
}

// ---- client card ----

function cardError(e) {
  if (e.status === 401) return;
  const root = $('card');
  clear(root);
  root.append(h('h2', { class: 'card__title', text: t('card.title') }),
    h('p', { class: 'error', role: 'alert', text: t('card.loadError', { error: errorText(e) }) }));
}

// renderCardPanel draws the card, unless the operator is typing in it:
// then it waits until the focus leaves the card (see wire).
function renderCardPanel(force) {
  if (!state.client) return;
  const root = $('card');
  if (!force && root.contains(document.activeElement) && isTyping(document.activeElement)) {
    state.cardStale = true;
    return;
  }
  state.cardStale = false;
  const focus = state.cardFocus;
  state.cardFocus = '';
  renderCard(root, state.client, {
    api,
    conversationId: state.selectedId,
    conversation: state.convs.get(state.selectedId),
    support: state.support,
    names: state.names,
    focusField: focus,
    // The email channel that reaches this client, for new mails from the card.
    emailChannel: (state.routes.find((r) => r.type === 'email') || {}).channel || '',
    onPatched: (c, key) => {
      const { conversations, messages, notes, consents, tasks, duplicates } = state.client;
      Object.assign(state.client, c, { conversations, messages, notes, consents, tasks, duplicates });
      if (c.name !== undefined) applyClientName(state.client.id, state.client.name);
      state.cardFocus = key;
      renderHead();
      renderCardPanel(true);
      render();
    },
    onReload: (local) => (local ? renderCardPanel(true) : reloadClient()),
    onOpenConversation: (id) => openConversation(id),
    onLinked: () => reloadClient(),
  });
}

let reloadTimer = 0;
function reloadClientSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(reloadClient, 300);
}

async function reloadClient() {
  const conv = state.convs.get(state.selectedId);
  if (!conv) return;
  const seq = state.viewSeq;
  try {
    // The conversation may have moved to another card by a merge.
    const fresh = upsertConv(await api.get(`/conversations/${conv.id}`));
    const client = await api.get(`/clients/${fresh.client_id}`);
    if (seq !== state.viewSeq) return;
    setClient(client);
    renderTimeline(false);
    renderHead();
    renderCardPanel();
    renderList();
  } catch (e) {
    if (seq === state.viewSeq) cardError(e);
  }
}

function applyClientName(clientId, name) {
  for (const c of state.convs.values()) if (c.client_id === clientId) c.client_name = name;
  dirty.list = true;
}

// ---- live events ----

const dirty = { list: false, head: false, card: false };
const pending = [];
let flushQueued = false;

function queueEvent(ev) {
  pending.push(ev);
  if (!flushQueued) {
    flushQueued = true;
    setTimeout(flush, 0);
  }
}

function flush() {
  flushQueued = false;
  for (const ev of pending.splice(0)) {
    try {
      applyEvent(ev);
    } catch (e) {
      console.error('leadhub: event', ev.id, ev.type, e);
    }
  }
  render();
  document.body.dataset.lastEventId = String(live.lastId);
}

function render() {
  if (dirty.list) { sortOrder(); renderList(); }
  if (dirty.head) renderHead();
  if (dirty.card) renderCardPanel();
  dirty.list = false;
  dirty.head = false;
  dirty.card = false;
}

// applyConversation takes a conversation from an event. Events carry the
// count of client messages nobody answered; this operator's own count is
// what came after they read it, so it never jumps above the count it had
// plus the inbound message that came with the event.
function applyConversation(c, inbound) {
  if (!c || !c.id) return;
  const old = state.convs.get(c.id);
  if (old && typeof c.unread === 'number' && typeof old.unread === 'number') {
    c = { ...c, unread: Math.min(c.unread, old.unread + (inbound ? 1 : 0)) };
  }
  const merged = upsertConv(c);
  const m = matches(merged);
  const i = state.order.indexOf(c.id);
  if (m === true && i < 0) state.order.push(c.id);
  if (m === false && i >= 0 && c.id !== state.selectedId) state.order.splice(i, 1);
  dirty.list = true;
  if (c.id === state.selectedId) dirty.head = true;
  if (state.client && merged.client_id === state.client.id) {
    state.clientConvIds.add(c.id);
    const list = state.client.conversations || (state.client.conversations = []);
    const j = list.findIndex((x) => x.id === c.id);
    if (j >= 0) list[j] = merged; else list.push(merged);
    dirty.card = true;
  }
}

function applyEvent(ev) {
  const d = ev.data || {};
  if (ev.type.startsWith('conversation.') || ev.type === 'message.created') loadCountsSoon();
  switch (ev.type) {
    case 'message.created':
    case 'message.updated': {
      const m = d.message;
      const inbound = ev.type === 'message.created' && m && m.direction === 'in';
      if (d.conversation) applyConversation(d.conversation, inbound);
      if (inbound && state.support.reads && m.conversation_id === state.selectedId && document.visibilityState === 'visible') {
        // The operator is looking at it: read as it arrives.
        markReadSoon(m.conversation_id);
      }
      if (!m || !m.id) break;
      if (ev.type === 'message.created') {
        state.previews.set(m.conversation_id, preview(m));
        dirty.list = true;
      }
      const before = state.messages.get(m.id);
      if (before || belongsToOpenClient(m, d.conversation)) {
        putMessage(m);
        if (!before && m.direction === 'in') {
          announce(t('announce.newMessage', { name: (state.client && state.client.name) || clientName(d.conversation) }));
        }
        if (before && m.direction === 'out' && m.delivery && m.delivery !== before.delivery) {
          announce(t('announce.delivery', { status: t(`delivery.${m.delivery}`) }));
        }
      }
      break;
    }
    case 'conversation.created':
      applyConversation(d.conversation);
      if (d.conversation && Date.now() - (Date.parse(d.conversation.created_at || '') || 0) < freshLead) {
        const name = clientName(d.conversation);
        announce(t('announce.newLead', { name }));
        notifier.newLead(t('notify.newLead'), `${name} · ${channelName(d.conversation.channel_type)}`,
          () => openConversation(d.conversation.id));
      }
      break;
    case 'conversation.updated':
      applyConversation(d.conversation);
      break;
    case 'conversation.moved':
      // It changed hands: ask whether this operator still sees it.
      refetchConversation(d.conversation_id);
      break;
    case 'conversation.read': {
      // This operator read it or marked it unread, maybe in another tab.
      const c = state.convs.get(d.conversation_id);
      if (c && typeof d.unread === 'number') {
        c.unread = d.unread;
        dirty.list = true;
        if (c.id === state.selectedId) dirty.head = true;
      }
      break;
    }
    case 'client.updated': {
      const c = d.client;
      if (!c || !c.id) break;
      if (c.name) state.names.set(c.id, c.name);
      applyClientName(c.id, c.name);
      if (state.client && state.client.id === c.id) {
        // The event has the card's own fields; notes, tasks and the rest
        // are read again.
        const { conversations, messages, notes, consents, tasks, duplicates } = state.client;
        Object.assign(state.client, c, { conversations, messages, notes, consents, tasks, duplicates });
        dirty.head = true;
        dirty.card = true;
        reloadClientSoon();
      }
      break;
    }
    case 'call.ringing':
      screenPop.ringing(d);
      announce(t('pop.announce', { name: d.client_name || d.number || '' }));
      break;
    case 'call.updated':
      screenPop.updated(d);
      break;
    case 'task.created':
    case 'task.updated':
      if (state.client && d.task && d.task.client_id === state.client.id) reloadClientSoon();
      break;
    case 'alert.created':
      // For this operator (their bell); the facts themselves (sla.*,
      // task.due, task.overdue) change nothing on the page.
      bell.add(d.alert);
      if (d.alert) announce(t('alert.announce', { what: t(`alert.${d.alert.kind}`, { name: d.alert.client_name || '', task: d.alert.task_title || '' }) }));
      break;
    default:
      // client.merged, duplicate suggestions and other card events: the
      // open card is read again.
      if (ev.type.startsWith('client.') && state.client) reloadClientSoon();
  }
}

function setWSState(s) {
  document.body.dataset.ws = s;
  const banner = $('banner');
  if (s === 'reconnecting') {
    banner.textContent = t('banner.reconnecting');
    banner.hidden = false;
  } else if (s === 'open') {
    banner.hidden = true;
  }
}

// ---- language, announcements, wiring ----

function announce(text) {
  const el = $('announcer');
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 30);
}

// errorText is what the operator reads about a failed request, in their
// language: the server names the reason of the errors operators meet, and
// the code of all others; only an unknown reason falls back to the
// server's English message.
function errorText(e) {
  if (e.status === 0) return t('error.network');
  if (e.missingRoute) return t('error.notFound');
  const d = (e.body && typeof e.body === 'object') ? e.body : {};
  if (typeof d.reason === 'string' && d.reason) {
    const params = (d.params && typeof d.params === 'object') ? d.params : {};
    // A reason whose detail is empty has a shorter wording.
    const key = `error.reason.${d.reason}${Object.values(params).some((v) => v === '') ? '.plain' : ''}`;
    const s = t(key, params);
    if (s !== key) return s;
  }
  if (['not_found', 'forbidden', 'rate_limited', 'unavailable', 'internal', 'too_large'].includes(d.code)) {
    return t(`error.code.${d.code}`);
  }
  if (e.status === 403) return e.message || t('error.forbidden');
  return e.message;
}

function syncLangSelects() {
  for (const s of document.querySelectorAll('.lang-select')) s.value = getLang();
}

function changeLang(l) {
  setLang(l);
  applyStatic(document);
  syncLangSelects();
  updateReplyMode();
  if (state.me) {
    renderList();
    bell.render();
    if (state.selectedId && state.convs.has(state.selectedId)) {
      renderHead();
      renderTimeline(false);
      renderCardPanel();
      renderRoutes(state.selectedId);
    }
    if (document.body.dataset.ws === 'reconnecting') setWSState('reconnecting');
  }
}

function isTyping(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

function onKey(e) {
  if (document.body.dataset.view !== 'app' || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
  if (isTyping(e.target)) {
    if (e.key === 'Escape') { e.target.blur(); focusList(); }
    return;
  }
  switch (e.key) {
    case 'j': moveSelection(1); break;
    case 'k': moveSelection(-1); break;
    case '/': $('search').focus(); break;
    case 'r': if (state.selectedId) $('reply-text').focus(); else return; break;
    case 'Escape': focusList(); break;
    default: return;
  }
  e.preventDefault();
}

function wire() {
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  for (const s of document.querySelectorAll('.lang-select')) s.addEventListener('change', (e) => changeLang(e.target.value));
  $('tabs').addEventListener('click', (e) => {
    const b = e.target.closest('[data-tab]');
    if (b) setTab(b.dataset.tab);
  });
  $('channel-filter').addEventListener('change', (e) => { state.channel = e.target.value; loadList(); });
  let searchTimer = 0;
  $('search').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.q = e.target.value.trim(); loadList(); searchMessages(); }, 300);
  });
  $('search').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); clearTimeout(searchTimer); state.q = e.target.value.trim(); loadList(); searchMessages(); }
  });
  $('load-more').addEventListener('click', () => loadList(true));
  $('conversation-list').addEventListener('keydown', onListKey);
  $('btn-assign').addEventListener('click', (e) => {
    patchConversation({ assignee_id: e.currentTarget.dataset.action === 'unassign' ? null : state.me.id });
  });
  $('status-select').addEventListener('change', (e) => patchConversation({ status: e.target.value }));
  $('btn-unread').addEventListener('click', async () => {
    const id = state.selectedId;
    if (!id) return;
    closeConversation();
    await markRead(id, true);
  });
  $('btn-accept').addEventListener('click', () => triage('accept'));
  $('btn-reject').addEventListener('click', () => triage('reject'));
  $('btn-card').addEventListener('click', (e) => {
    const shown = $('card').classList.toggle('card--shown');
    e.currentTarget.setAttribute('aria-expanded', String(shown));
  });
  $('reply-form').addEventListener('submit', onReply);
  canned.wire($('reply-text'), $('canned-picker'), $('canned-dialog'));
  $('canned-manage').addEventListener('click', () => canned.open());
  admin.wire($('admin-dialog'));
  $('admin-open').addEventListener('click', () => admin.open());
  bell.wire($('bell'), $('alert-panel'));
  supervision.wire($('supervise-dialog'));
  $('supervise-open').addEventListener('click', () => supervision.open());
  reportsView.wire($('reports-dialog'));
  $('reports-open').addEventListener('click', () => reportsView.open());
  clientsPage.wire($('clients-dialog'));
  $('clients-open').addEventListener('click', () => clientsPage.open());
  $('me').addEventListener('click', () => {
    $('password-form').reset();
    $('password-error').hidden = true;
    $('account-dialog').showModal();
  });
  $('account-dialog').querySelector('[data-action="close"]').addEventListener('click', () => $('account-dialog').close());
  $('password-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const err = $('password-error');
    try {
      await api.post('/password', { current: $('password-current').value, new: $('password-new').value });
      $('account-dialog').close();
      showLogin(t('account.changed'));
    } catch (ex) {
      if (ex.status === 401) return;
      err.textContent = errorText(ex);
      err.hidden = false;
    }
  });
  $('signout-all').addEventListener('click', async () => {
    try { await api.post('/sessions/revoke-all'); } catch (_) { /* signed out either way */ }
    $('account-dialog').close();
    showLogin(t('account.signedOut'));
  });
  $('csv-open').addEventListener('click', () => {
    // The export is an API address, set when a supervisor asks for it.
    $('csv-export').setAttribute('href', '/api/v1/clients.csv');
    $('csv-progress').hidden = true;
    $('csv-dialog').showModal();
  });
  $('csv-form').addEventListener('submit', importCSV);
  $('csv-dialog').querySelector('[data-action="close"]').addEventListener('click', () => $('csv-dialog').close());
  $('reply-attach').addEventListener('change', (e) => setReplyFiles(state.replyFiles.concat(Array.from(e.target.files || []))));
  $('reply-form').addEventListener('change', (e) => { if (e.target.name === 'mode') updateReplyMode(); });
  $('reply-text').addEventListener('input', (e) => { if (state.selectedId) saveDraft(state.selectedId, e.target.value); });
  $('reply-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $('reply-form').requestSubmit(); }
  });
  $('notify-toggle').addEventListener('change', async (e) => {
    const ok = await notifier.setEnabled(e.target.checked);
    if (!ok) announce(t('notify.denied'));
  });
  document.querySelector('.skip-link').addEventListener('click', (e) => {
    e.preventDefault();
    $('conversation').focus();
  });
  $('card').addEventListener('focusout', (e) => {
    if (state.cardStale && !$('card').contains(e.relatedTarget)) setTimeout(() => renderCardPanel(), 0);
  });
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', () => {
    const id = hashConversation();
    if (id && id !== state.selectedId && state.me) openConversation(id);
  });
  setInterval(refreshTimes, 30000);
  setInterval(loadHealth, 30000);
}

boot();
