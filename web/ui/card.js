// The client card panel: name, company, tags, custom fields,
// do-not-contact, contacts, notes, consents, tasks (callbacks), the
// client's other conversations and duplicate suggestions. Fields are shown
// only when the server sends them; they are edited in place with
// PATCH /clients/{id}.

import { h, clear, channelIcon } from './dom.js';
import { t, fmtDateTime, fmtAgo } from './i18n.js';
import { query } from './api.js';
import { channelName } from './messages.js';

// ctx: api, conversationId (the open one), conversation (its object),
// support ({edit}), names (client id -> name cache), focusField,
// onPatched(client, key), onReload(), onOpenConversation(id), onLinked(),
// onNoteAdded(note), onError(text).
export function renderCard(root, d, ctx) {
  clear(root);
  root.append(h('h2', { class: 'card__title', text: t('card.title') }));
  const err = h('p', { class: 'error', role: 'alert', hidden: true, dataset: { testid: 'card-error' } });
  root.append(err);
  const showError = (msg) => { err.textContent = msg; err.hidden = !msg; };

  const save = async (key, value) => {
    const c = await ctx.api.patch(`/clients/${d.id}`, { [key]: value });
    ctx.onPatched(c && typeof c === 'object' ? c : { [key]: value }, key);
  };
  const editError = (e) => {
    if (e.missingRoute) { ctx.support.edit = false; return t('card.editUnsupported'); }
    return t('card.saveError', { error: e.message });
  };
  const opts = { ctx, save, editError };

  const fields = h('dl', { class: 'card__fields' });
  root.append(fields);
  fields.append(...editable('name', t('card.name'), d.name || '', opts));
  if ('company' in d) fields.append(...editable('company', t('card.company'), d.company || '', opts));
  if ('tags' in d && (Array.isArray(d.tags) || d.tags === null)) {
    fields.append(...editable('tags', t('card.tags'), d.tags || [], {
      ...opts,
      hint: t('card.tagsHint'),
      toText: (v) => (v || []).join(', '),
      fromText: (s) => s.split(',').map((x) => x.trim()).filter(Boolean),
      display: (v) => (v && v.length ? h('span', { class: 'tags' }, v.map((tag) => h('span', { class: 'tag', text: tag }))) : null),
    }));
  }
  const custom = d.custom_fields;
  if (custom && typeof custom === 'object' && !Array.isArray(custom)) {
    for (const [k, v] of Object.entries(custom)) {
      fields.append(...editable(`custom:${k}`, k, scalar(v), {
        ...opts,
        save: (_, value) => save('custom_fields', { [k]: value }),
      }));
    }
  }
  if ('do_not_contact' in d) {
    const box = h('input', {
      type: 'checkbox', checked: Boolean(d.do_not_contact), id: 'card-dnc', dataset: { testid: 'card-dnc' },
      disabled: !ctx.support.edit,
      onchange: async (e) => {
        const on = e.target.checked;
        try {
          await save('do_not_contact', on);
        } catch (ex) {
          e.target.checked = !on;
          showError(editError(ex));
        }
      },
    });
    fields.append(h('dt', null, h('label', { for: 'card-dnc', text: t('card.dnc') })), h('dd', null, box));
    if (d.do_not_contact) {
      fields.append(...editable('do_not_contact_reason', t('card.dncReason'), d.do_not_contact_reason || '', opts));
    }
  }
  if (d.spam) fields.append(h('dt', { text: t('card.spam') }), h('dd', { class: 'bad', text: t('card.yes') }));
  if (typeof d.notes === 'string') {
    fields.append(...editable('notes', t('card.notes'), d.notes, { ...opts, multiline: true }));
  }

  // Contacts, and numbers that are not phone numbers (never matched).
  const ids = Array.isArray(d.identities) ? d.identities : [];
  const raw = Array.isArray(d.raw_phones) ? d.raw_phones : [];
  if (ids.length || raw.length) {
    const ul = h('ul', { class: 'plain', dataset: { testid: 'card-identities' } });
    // Identities replies cannot reach (a VK client who denied the
    // community messages, a Telegram user who blocked the bot) say why.
    const unreachable = Array.isArray(d.unreachable) ? d.unreachable : [];
    for (const id of ids) {
      const li = h('li', null, h('span', { class: 'muted', text: `${identityName(id.kind)}: ` }), h('span', { class: 'mono', text: id.value }),
        id.kind === 'phone' && ctx.support && ctx.support.call ? callButton(d, id.value, ctx, showError) : null);
      const u = unreachable.find((x) => x.kind === id.kind && x.value === id.value);
      if (u) li.append(' ', h('span', { class: 'warning', dataset: { testid: 'card-unreachable' }, text: t('card.unreachable', { reason: u.reason || '' }) }));
      if (id.kind === 'email' && !u && ctx.emailChannel) li.append(' ', writeMail(d, id.value, ctx, showError));
      ul.append(li);
    }
    for (const p of raw) {
      ul.append(h('li', null, h('span', { class: 'muted', text: `${t('card.rawPhone')}: ` }), h('span', { class: 'mono', text: p })));
    }
    root.append(section(t('card.identities'), ul));
  }

  if (Array.isArray(d.notes)) root.append(notesSection(d, ctx, showError));
  if (Array.isArray(d.tasks)) root.append(tasksSection(d, ctx, showError));

  if (Array.isArray(d.consents) && d.consents.length) {
    const ul = h('ul', { class: 'plain', dataset: { testid: 'card-consents' } });
    for (const c of d.consents) {
      const what = c.kind || c.purpose || '';
      const withdrawn = Boolean(c.withdrawn_at || c.revoked_at);
      const when = c.withdrawn_at || c.revoked_at || c.given_at || c.created_at;
      ul.append(h('li', null,
        h('span', { text: scalar(what) }),
        c.text_version ? h('span', { class: 'muted', text: ` (${scalar(c.text_version)})` }) : null, ' — ',
        h('span', { class: withdrawn ? 'bad' : 'good', text: withdrawn ? t('card.consentWithdrawn') : t('card.consentGiven') }),
        when ? h('span', { class: 'muted', text: ` ${fmtDateTime(when)}` }) : null,
        // The page it was given on may be a long address with all its
        // tags: one line, cut with an ellipsis, the whole in the title.
        c.source ? h('span', { class: 'muted consent__source', title: scalar(c.source), dataset: { testid: 'consent-source' }, text: scalar(c.source) }) : null));
    }
    root.append(section(t('card.consents'), ul));
  }

  const others = (d.conversations || []).filter((c) => c.id !== ctx.conversationId);
  if (others.length) {
    const ul = h('ul', { class: 'plain', dataset: { testid: 'card-conversations' } });
    for (const c of others) {
      ul.append(h('li', null, h('button', {
        type: 'button', class: 'linklike', dataset: { conversationId: c.id },
        onclick: () => ctx.onOpenConversation(c.id),
      }, channelIcon(c.channel_type), ` ${channelName(c.channel_type)} · ${t(`status.${c.status}`)}`,
      c.last_message_at ? h('span', { class: 'muted', text: ` · ${fmtAgo(c.last_message_at)}` }) : null)));
    }
    root.append(section(t('card.conversations'), ul));
  }

  if (Array.isArray(d.duplicates)) {
    const sec = duplicatesSection(d, ctx, showError);
    if (sec) root.append(sec);
  }

  root.append(linkSection(d, ctx, showError));

  if (ctx.focusField) {
    const el = root.querySelector(`[data-field="${CSS.escape(ctx.focusField)}"] button`);
    if (el) el.focus();
  }
}

function identityName(kind) {
  const key = `identity.${kind}`;
  const s = t(key);
  return s === key ? String(kind) : s;
}

function section(title, ...body) {
  return h('section', { class: 'card__section' }, h('h3', { text: title }), ...body);
}

function scalar(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// editable returns the <dt>/<dd> of a field shown as text with an Edit
// button; while editing, Enter (Ctrl+Enter in a multi-line field) saves and
// Escape cancels.
function editable(key, label, value, opts) {
  const { ctx, save, editError } = opts;
  const toText = opts.toText || ((v) => String(v ?? ''));
  const fromText = opts.fromText || ((s) => s.trim());
  const testKey = key.startsWith('custom:') ? 'custom' : key;
  const dt = h('dt', { text: label });
  const dd = h('dd', { dataset: { field: key, testid: `card-${testKey}` } });

  let show;
  const edit = () => {
    clear(dd);
    const input = opts.multiline
      ? h('textarea', { rows: 4, value: toText(value), dataset: { testid: `input-${testKey}` } })
      : h('input', { type: 'text', value: toText(value), dataset: { testid: `input-${testKey}` } });
    input.setAttribute('aria-label', label);
    const msg = h('p', { class: 'error', role: 'alert', hidden: true });
    const doSave = async () => {
      try {
        await save(key, fromText(input.value));
      } catch (e) {
        msg.textContent = editError(e);
        msg.hidden = false;
      }
    };
    const cancel = () => { show(); const b = dd.querySelector('button'); if (b) b.focus(); };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); cancel(); }
      if (e.key === 'Enter' && (!opts.multiline || e.ctrlKey || e.metaKey)) { e.preventDefault(); doSave(); }
    });
    // append() would write a null child out as the text "null".
    dd.append(input, ...(opts.hint ? [h('span', { class: 'muted hint', text: opts.hint })] : []),
      h('div', { class: 'btnrow' },
        h('button', { type: 'button', class: 'btn btn--small btn--primary', onclick: doSave, text: t('card.save') }),
        h('button', { type: 'button', class: 'btn btn--small', onclick: cancel, text: t('card.cancel') })),
      msg);
    input.focus();
  };
  show = () => {
    clear(dd);
    const shown = opts.display ? opts.display(value) : null;
    const txt = toText(value);
    dd.append(shown || h('span', { class: txt ? 'card__value' : 'card__value muted', text: txt || t('card.empty') }));
    if (ctx.support.edit) {
      dd.append(h('button', {
        type: 'button', class: 'btn btn--icon', 'aria-label': t('card.edit', { field: label }), title: t('card.edit', { field: label }),
        dataset: { testid: `edit-${testKey}` }, onclick: edit, text: '✎',
      }));
    }
  };
  show();
  return [dt, dd];
}

// notesSection lists the card's notes, newest first. New notes are written
// from the reply box (private note mode) and appear in the timeline too.
function notesSection(d, ctx) {
  const notes = d.notes.slice().sort((a, b) => (Date.parse(b.created_at) || 0) - (Date.parse(a.created_at) || 0));
  const ul = h('ul', { class: 'plain notes', dataset: { testid: 'card-notes' } });
  for (const n of notes.slice(0, 5)) {
    ul.append(h('li', null, h('div', { class: 'card__value', text: n.text }),
      n.created_at ? h('div', { class: 'muted hint', text: fmtDateTime(n.created_at) }) : null));
  }
  if (!notes.length) ul.append(h('li', { class: 'muted', text: t('card.noNotes') }));
  return section(t('card.notes'), ul);
}

// callButton asks the telephony channel to ring the operator's extension,
// then the number (POST /clients/{id}/call); the call then shows in the
// conversation like any other.
// writeMail is a button that opens a small form for a new mail to an
// address on the card; sent, the mail's conversation opens.
function writeMail(d, to, ctx, showError) {
  const wrap = h('span', { class: 'write-mail' });
  const form = h('form', { class: 'write-mail__form', dataset: { testid: 'write-mail-form' }, hidden: true });
  const subject = h('input', { type: 'text', maxlength: '200', placeholder: t('card.mailSubject'), 'aria-label': t('card.mailSubject'), dataset: { testid: 'write-mail-subject' } });
  const text = h('textarea', { rows: '4', required: true, placeholder: t('card.mailText'), 'aria-label': t('card.mailText'), dataset: { testid: 'write-mail-text' } });
  const send = h('button', { type: 'submit', class: 'btn btn--primary btn--small', text: t('card.mailSend'), dataset: { testid: 'write-mail-send' } });
  form.append(subject, text, send);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!text.value.trim()) return;
    send.disabled = true;
    showError('');
    try {
      const res = await ctx.api.post(`/clients/${d.id}/conversations`, { channel: ctx.emailChannel, to, subject: subject.value, text: text.value });
      form.hidden = true;
      if (res && res.conversation && ctx.onOpenConversation) ctx.onOpenConversation(res.conversation.id);
    } catch (ex) {
      showError(t('card.mailError', { error: (ex && ex.message) || '' }));
    } finally {
      send.disabled = false;
    }
  });
  const btn = h('button', {
    type: 'button', class: 'btn btn--small', text: t('card.mailWrite'), 'aria-label': t('card.mailWriteTo', { to }),
    dataset: { testid: 'write-mail' }, onClick: () => { form.hidden = !form.hidden; if (!form.hidden) subject.focus(); },
  });
  wrap.append(btn, form);
  return wrap;
}

function callButton(d, number, ctx, showError) {
  const btn = h('button', {
    type: 'button', class: 'btn btn--small btn--call', dataset: { testid: 'call-phone' }, text: t('card.call'),
    'aria-label': t('card.callNumber', { number }),
    onClick: async () => {
      btn.disabled = true;
      showError('');
      try {
        await ctx.api.post(`/clients/${d.id}/call`, { phone: number });
        btn.textContent = t('card.calling');
      } catch (ex) {
        showError(t('card.callError', { error: (ex && ex.message) || '' }));
      } finally {
        btn.disabled = false;
      }
    },
  });
  return btn;
}

// tasksSection lists the callbacks with their due times and adds new ones.
function tasksSection(d, ctx, showError) {
  const ul = h('ul', { class: 'plain tasks', dataset: { testid: 'card-tasks' } });
  const tasks = d.tasks.slice().sort((a, b) => (Date.parse(a.due_at) || Infinity) - (Date.parse(b.due_at) || Infinity));
  for (const task of tasks) {
    const due = task.due_at;
    const done = task.done === true;
    const overdue = !done && due && Date.parse(due) < Date.now();
    ul.append(h('li', { class: [overdue && 'overdue', done && 'done'] },
      h('span', { text: scalar(task.title) }),
      due ? h('span', { class: 'muted', text: ` · ${t('card.taskDue', { when: fmtDateTime(due) })}` }) : null,
      overdue ? h('span', { class: 'bad', text: ` · ${t('card.overdue')}` }) : null,
      done ? h('span', { class: 'good', text: ` · ${t('card.done')}` }) : null,
      done && task.done_note ? h('span', { class: 'muted', dataset: { testid: 'task-note' }, text: ` (${scalar(task.done_note)})` }) : null));
  }
  const title = h('input', { type: 'text', dataset: { testid: 'task-title' }, placeholder: t('card.taskTitle') });
  title.setAttribute('aria-label', t('card.taskTitle'));
  const when = h('input', { type: 'datetime-local', dataset: { testid: 'task-due' } });
  when.setAttribute('aria-label', t('card.taskWhen'));
  const form = h('form', { class: 'card__form', dataset: { testid: 'task-form' } },
    title, when, h('button', { type: 'submit', class: 'btn btn--small', text: t('card.taskAdd') }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = title.value.trim();
    if (!text) { title.focus(); return; }
    const body = { title: text };
    if (when.value) {
      const at = new Date(when.value);
      if (!Number.isNaN(at.getTime())) body.due_at = at.toISOString();
    }
    try {
      const task = await ctx.api.post(`/clients/${d.id}/tasks`, body);
      d.tasks.push(task && task.title ? task : body);
      ctx.onReload(true);
    } catch (ex) {
      showError(t('card.saveError', { error: ex.message }));
    }
  });
  return section(t('card.tasks'), ul, form);
}

// duplicatesSection shows the open "possibly the same person" suggestions
// with a merge and a dismiss action.
function duplicatesSection(d, ctx, showError) {
  const ul = h('ul', { class: 'plain', dataset: { testid: 'card-duplicates' } });
  for (const dup of d.duplicates) {
    if (!dup || dup.resolved) continue;
    const other = dup.client_id === d.id ? dup.other_client_id : dup.client_id;
    if (!other || other === d.id) continue;
    const nameEl = h('span', { text: ctx.names.get(other) || t('client.unnamed', { id: other }) });
    if (!ctx.names.has(other)) {
      ctx.api.get(`/clients/${other}`).then((c) => {
        if (c && c.name) { ctx.names.set(other, c.name); nameEl.textContent = c.name; }
      }).catch(() => {});
    }
    const why = dup.identity ? `${identityName(dup.identity.kind)}: ${dup.identity.value}` : '';
    ul.append(h('li', { dataset: { duplicateId: dup.id } },
      nameEl,
      why ? h('span', { class: 'muted', text: ` (${why})` }) : null,
      h('div', { class: 'btnrow' },
        h('button', {
          type: 'button', class: 'btn btn--small', dataset: { testid: 'merge-duplicate' },
          onclick: async () => {
            if (!window.confirm(t('card.mergeConfirm', { name: nameEl.textContent }))) return;
            try {
              await ctx.api.post(`/clients/${d.id}/merge`, { from: other });
              ctx.onReload();
            } catch (e) {
              showError(t('card.mergeError', { error: e.message }));
            }
          },
          text: t('card.mergeDup'),
        }),
        dup.id ? h('button', {
          type: 'button', class: 'btn btn--small btn--ghost', dataset: { testid: 'dismiss-duplicate' },
          onclick: async () => {
            try {
              await ctx.api.post(`/duplicates/${dup.id}/dismiss`);
              dup.resolved = true;
              ctx.onReload(true);
            } catch (e) {
              showError(t('card.mergeError', { error: e.message }));
            }
          },
          text: t('card.dismiss'),
        }) : null)));
  }
  return ul.childNodes.length ? section(t('card.duplicates'), ul) : null;
}

// linkSection finds another card and moves this conversation's client into
// it (the triage "link": a first contact who is a known client).
function linkSection(d, ctx, showError) {
  const results = h('ul', { class: 'plain', dataset: { testid: 'link-results' } });
  const input = h('input', { type: 'search', autocomplete: 'off', placeholder: t('card.linkSearch'), dataset: { testid: 'link-search' } });
  input.setAttribute('aria-label', t('card.linkSearch'));
  let seq = 0;
  const search = async () => {
    const q = input.value.trim();
    const my = ++seq;
    clear(results);
    if (!q) return;
    let items = [];
    try {
      const res = await ctx.api.get(`/clients${query({ q, limit: 10 })}`);
      items = (res && res.items) || [];
    } catch (e) {
      if (my === seq) showError(t('card.loadError', { error: e.message }));
      return;
    }
    if (my !== seq) return;
    items = items.filter((c) => c.id !== d.id && !c.merged_into);
    if (!items.length) { results.append(h('li', { class: 'muted', text: t('card.noResults') })); return; }
    for (const c of items) {
      const name = c.name || t('client.unnamed', { id: c.id });
      const contacts = (c.identities || []).map((i) => i.value).join(', ');
      results.append(h('li', null,
        h('button', {
          type: 'button', class: 'linklike', dataset: { testid: 'link-into', clientId: c.id },
          onclick: async () => {
            if (!window.confirm(t('card.linkConfirm', { name }))) return;
            try {
              try {
                await ctx.api.post(`/conversations/${ctx.conversationId}/link`, { client_id: c.id });
              } catch (e) {
                if (!e.missingRoute) throw e;
                await ctx.api.post(`/clients/${c.id}/merge`, { from: d.id });
              }
              ctx.onLinked(c.id);
            } catch (e) {
              showError(t('card.mergeError', { error: e.message }));
            }
          },
          text: t('card.linkInto', { name }),
        }),
        contacts ? h('div', { class: 'muted mono', text: contacts }) : null));
    }
  };
  let timer = 0;
  input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(search, 300); });
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); clearTimeout(timer); search(); } });
  const conv = ctx.conversation;
  return h('details', { class: 'card__section card__link', open: Boolean(conv && conv.status === 'new') },
    h('summary', { text: t('card.link') }), input, results);
}
