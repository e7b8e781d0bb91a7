// Rendering of one timeline item for every message kind: text, email,
// form, call and note, with attachments. All customer text is set as text.

import { h, safeURL, isOwnFile, channelIcon } from './dom.js';
import { t, fmtTime, fmtDateTime, fmtDuration, fmtSize } from './i18n.js';

const sourceKeys = new Set(['page_url', 'referrer']);
const callKeys = new Set(['direction', 'duration', 'recording_url', 'status', 'call_id', 'call_event', 'call_from', 'call_to',
  'call_extension', 'call_operator', 'call_disposition', 'call_duration', 'call_recording_url', 'call_started_at',
  'call_answered_at', 'call_ended_at', 'call_recording']);
const missedCall = new Set(['missed', 'no_answer', 'noanswer', 'busy', 'failed', 'cancel', 'canceled', 'cancelled']);

export function channelName(type) {
  const key = `channel.${type}`;
  const s = t(key);
  return s === key ? String(type || '') : s;
}

// preview is the one-line summary of a message for the inbox list.
export function preview(m) {
  if (!m) return '';
  const first = (s) => String(s || '').replace(/\s+/g, ' ').trim();
  switch (m.kind) {
    case 'form': return t('preview.form') + (m.text ? `: ${first(m.text)}` : '');
    case 'call': return t('preview.call');
    case 'email': return first(m.subject) || first(m.text);
    case 'note': return t('preview.note', { text: first(m.text) });
    default: {
      const s = first(m.text);
      if (s) return s;
      return m.attachments && m.attachments.length ? t('preview.attachment') : '';
    }
  }
}

// renderMessage builds the <li> of message m. ctx: me (operator), conv
// (the message's conversation, if known), currentConvId, clientName,
// retried (its text was sent again), onRetry(m).
export function renderMessage(m, ctx) {
  const out = m.direction === 'out';
  const note = m.kind === 'note';
  const li = h('li', {
    class: ['msg', out ? 'msg--out' : 'msg--in', note && 'msg--note', `msg--${safeToken(m.kind)}`],
    dataset: {
      testid: 'message', messageId: m.noteId ? undefined : m.id, noteId: m.noteId,
      kind: m.kind || 'text', delivery: out && !note ? (m.delivery || '') : undefined,
    },
  });

  const meta = h('div', { class: 'msg__meta' }, h('span', { class: 'msg__who', text: author(m, ctx) }));
  if (ctx.conv && m.conversation_id !== ctx.currentConvId) {
    meta.append(h('span', { class: 'msg__via' }, channelIcon(ctx.conv.channel_type), t('msg.otherChannel', { channel: channelName(ctx.conv.channel_type) })));
  }
  if (out && m.meta && m.meta.via) {
    // A reply the operator sent through another of the client's channels.
    const type = ctx.channelType ? ctx.channelType(m.meta.via) : '';
    meta.append(h('span', { class: 'msg__via', dataset: { testid: 'msg-via' } },
      type ? channelIcon(type) : null, t('msg.sentVia', { channel: type ? `${channelName(type)} · ${m.meta.via}` : m.meta.via })));
  }
  if (m.created_at) {
    meta.append(h('time', { datetime: m.created_at, title: fmtDateTime(m.created_at), text: fmtTime(m.created_at) }));
  }
  li.append(meta);

  const bubble = h('div', { class: 'msg__bubble' });
  switch (m.kind) {
    case 'note': renderNote(bubble, m); break;
    case 'email': renderEmail(bubble, m); break;
    case 'form': renderForm(bubble, m); break;
    case 'call': renderCall(bubble, m); break;
    default: renderText(bubble, m, new Set(['via']));
  }
  li.append(bubble);

  if (out && !note && m.delivery) li.append(renderDelivery(m, ctx));
  return li;
}

function safeToken(s) {
  return /^[a-z]+$/.test(String(s)) ? s : 'text';
}

function author(m, ctx) {
  if (m.direction !== 'out') return ctx.clientName || t('msg.client');
  if (m.author_id && ctx.me && m.author_id === ctx.me.id) return t('msg.you');
  if (m.author_id) return (ctx.colleague && ctx.colleague(m.author_id)) || t('msg.operator', { id: m.author_id });
  return 'leadhub';
}

function textBlock(text) {
  return text ? h('div', { class: 'msg__text', text }) : null;
}

function renderText(bubble, m, usedMeta) {
  bubble.append(...[textBlock(m.text), attachments(m.attachments), details(m.meta, usedMeta)].filter(Boolean));
}

function renderNote(bubble, m) {
  bubble.append(h('div', { class: 'msg__label', text: t('msg.note') }));
  renderText(bubble, m, new Set());
}

// emailOwnMeta are the email meta keys shown in their own way (or, for the
// sanitized HTML and the stored original, not at all: the text is what the
// page shows, and customer HTML is never rendered as markup).
const emailOwnMeta = new Set(['quoted', 'html', 'raw_url', 'auto', 'malformed', 'bounced', 'dropped_attachments',
  'synthetic_message_id', 'message_id', 'in_reply_to', 'references']);

function renderEmail(bubble, m) {
  const meta = m.meta || {};
  const flags = [];
  if (meta.auto) flags.push(t(`msg.email.auto.${{ 'auto-reply': 'autoreply', bulk: 'autobulk', bounce: 'autobounce' }[meta.auto] || 'text'}`));
  if (meta.malformed) flags.push(t('msg.email.malformed'));
  if (flags.length) {
    bubble.append(h('div', { class: 'msg__flags', dataset: { testid: 'email-flags' } },
      ...flags.map((f) => h('span', { class: 'chip', text: f }))));
  }
  if (m.subject) {
    bubble.append(h('div', { class: 'msg__subject' }, h('span', { class: 'sr-only', text: `${t('msg.subject')}: ` }), m.subject));
  }
  bubble.append(...[textBlock(m.text), attachments(m.attachments)].filter(Boolean));
  if (meta.quoted) {
    bubble.append(h('details', { class: 'msg__quoted', dataset: { testid: 'email-quoted' } },
      h('summary', { text: t('msg.email.quoted') }), h('div', { class: 'msg__text muted', text: meta.quoted })));
  }
  const d = details(meta, emailOwnMeta);
  if (d) bubble.append(d);
}

function renderForm(bubble, m) {
  bubble.append(h('div', { class: 'msg__label', text: t('msg.form') }));
  const meta = m.meta || {};
  const used = new Set();
  const fields = h('dl', { class: 'kv', dataset: { testid: 'form-fields' } });
  for (const [k, v] of Object.entries(meta)) {
    if (!k.startsWith('field:')) continue;
    used.add(k);
    fields.append(h('dt', { text: k.slice('field:'.length) }), h('dd', { text: v }));
  }
  if (fields.childNodes.length) bubble.append(fields);
  const text = textBlock(m.text);
  if (text) bubble.append(text);

  const source = h('dl', { class: 'kv kv--source', dataset: { testid: 'form-source' } });
  for (const [k, v] of Object.entries(meta)) {
    if (!(k.startsWith('utm_') || sourceKeys.has(k))) continue;
    used.add(k);
    const url = sourceKeys.has(k) ? safeURL(v) : null;
    source.append(h('dt', { text: k }), h('dd', null, url ? link(url, v) : v));
  }
  if (source.childNodes.length) {
    // One line says where the lead came from; every mark is one click away.
    const summary = [meta.utm_source, meta.utm_medium, meta.utm_campaign].filter(Boolean).join(' / ') || hostOf(meta.referrer) || '—';
    bubble.append(h('details', { class: 'msg__source' },
      h('summary', { dataset: { testid: 'form-source-summary' } }, h('span', { class: 'muted', text: `${t('msg.source')}: ` }), summary),
      source));
  }
  const att = attachments(m.attachments);
  if (att) bubble.append(att);
  const rest = details(meta, used);
  if (rest) bubble.append(rest);
}

// hostOf is a URL's host, or "".
function hostOf(u) {
  try { return u ? new URL(u).host : ''; } catch (_) { return ''; }
}

function renderCall(bubble, m) {
  const meta = m.meta || {};
  const dir = meta.direction || m.direction;
  // leadhub's telephony channels write call_* keys (one entry per call,
  // updated as its events arrive); older or imported entries the plain ones.
  const status = String(meta.call_disposition || meta.status || '').toLowerCase();
  let label = dir === 'out' || dir === 'outbound' || dir === 'outgoing' ? t('msg.callOut') : t('msg.callIn');
  if (missedCall.has(status)) label = t('msg.callMissed');
  const head = h('div', { class: 'msg__label', dataset: { testid: 'call-direction' } }, channelIcon('telephony'), label);
  bubble.append(head);
  const duration = meta.call_duration !== undefined ? meta.call_duration : meta.duration;
  if (duration !== undefined && duration !== '') {
    const d = fmtDuration(duration);
    if (d) bubble.append(h('div', { class: 'msg__duration', dataset: { testid: 'call-duration' }, text: t('msg.duration', { d }) }));
  }
  if (meta.call_extension) {
    bubble.append(h('div', { class: 'muted', dataset: { testid: 'call-extension' }, text: t('msg.callExtension', { ext: meta.call_extension }) }));
  }
  if (meta.call_recording === 'pending' || meta.call_recording === 'failed') {
    bubble.append(h('div', { class: 'muted', dataset: { testid: 'call-recording-state' }, text: t(`msg.recording.${meta.call_recording}`) }));
  }
  const rec = safeURL(meta.recording_url || meta.call_recording_url);
  if (rec) {
    if (isOwnFile(rec) || rec.startsWith('https:')) {
      bubble.append(h('audio', { controls: true, preload: 'none', src: rec, 'aria-label': t('msg.recording'), dataset: { testid: 'call-recording' } }));
    }
    bubble.append(h('div', null, link(rec, t('msg.recordingLink'))));
  }
  const text = textBlock(m.text);
  if (text) bubble.append(text);
  const att = attachments(m.attachments);
  if (att) bubble.append(att);
  const rest = details(meta, callKeys);
  if (rest) bubble.append(rest);
}

function link(url, label) {
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: label });
}

function attachments(list) {
  if (!Array.isArray(list) || !list.length) return null;
  const ul = h('ul', { class: 'attachments' });
  for (const a of list) {
    if (!a) continue;
    const name = a.name || t('msg.attachment');
    const url = safeURL(a.url);
    const mime = String(a.mime || '');
    const size = fmtSize(a.size);
    const li = h('li', { class: 'attachment', dataset: { testid: 'attachment' } });
    if (url && mime.startsWith('image/') && isOwnFile(url)) {
      li.append(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' },
        h('img', { class: 'attachment__img', src: url, alt: name, loading: 'lazy' })));
    } else if (url && mime.startsWith('audio/') && (isOwnFile(url) || url.startsWith('https:'))) {
      li.append(h('audio', { controls: true, preload: 'none', src: url, 'aria-label': name }));
    }
    if (url) {
      li.append(link(url, name));
    } else {
      li.append(h('span', { class: 'attachment__name', text: name }));
    }
    if (size) li.append(h('span', { class: 'muted', text: ` ${size}` }));
    ul.append(li);
  }
  return ul;
}

// details lists the meta keys that no other part of the message showed.
function details(meta, used) {
  if (!meta) return null;
  const entries = Object.entries(meta).filter(([k]) => !used.has(k));
  if (!entries.length) return null;
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of entries) dl.append(h('dt', { text: k }), h('dd', { text: v }));
  return h('details', { class: 'msg__details' }, h('summary', { text: t('msg.details') }), dl);
}

function renderDelivery(m, ctx) {
  const status = m.delivery;
  const div = h('div', { class: ['msg__delivery', `delivery--${safeToken(status)}`], dataset: { testid: 'delivery' } });
  if (status === 'failed') {
    div.append(h('span', { text: m.error ? t('delivery.failedReason', { error: m.error }) : t('delivery.failed') }));
    if (ctx.retried) {
      div.append(h('span', { class: 'muted', text: ` · ${t('delivery.retried')}` }));
    } else if (ctx.onRetry) {
      div.append(h('button', { type: 'button', class: 'btn btn--small', dataset: { testid: 'retry' }, onclick: () => ctx.onRetry(m), text: t('delivery.retry') }));
    }
  } else {
    const key = `delivery.${status}`;
    const s = t(key);
    div.append(h('span', { text: s === key ? String(status) : s }));
  }
  return div;
}
