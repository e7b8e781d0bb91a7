// The screen-pop: while a call rings for this operator (call.ringing), a
// small panel names the caller (the card's name, else the number) with a
// button that opens their conversation and card. It goes away when the
// call is answered or over (call.updated), or when dismissed. Everything
// shown is text: names and numbers come from customers.

import { h, clear } from './dom.js';
import { t } from './i18n.js';

export class ScreenPop {
  // onOpen(conversationId) opens the conversation with its card.
  constructor(onOpen) {
    this.onOpen = onOpen;
    this.el = null;
    this.callId = '';
  }

  // ringing shows the call of a call.ringing event's data.
  ringing(d) {
    const call = d.call || {};
    const msg = d.message || {};
    const number = String(d.number || call.from || '');
    const name = String(d.client_name || '');
    this.callId = String(call.id || '');
    if (!this.el) {
      this.el = h('aside', { class: 'screenpop', role: 'alertdialog', 'aria-live': 'assertive', dataset: { testid: 'screenpop' } });
      document.body.append(this.el);
    }
    clear(this.el);
    const title = h('div', { class: 'screenpop__title', text: t('pop.ringing') });
    const who = h('div', { class: 'screenpop__who', dataset: { testid: 'screenpop-name' }, text: name || number || t('pop.unknown') });
    const num = name && number ? h('div', { class: 'screenpop__number mono', dataset: { testid: 'screenpop-number' }, text: number }) : null;
    const ext = call.extension ? h('div', { class: 'muted', text: t('pop.extension', { ext: String(call.extension) }) }) : null;
    const open = h('button', {
      type: 'button', class: 'btn btn--primary', dataset: { testid: 'screenpop-open' }, text: t('pop.open'),
      disabled: !msg.conversation_id,
      onClick: () => { const id = msg.conversation_id; this.hide(); if (id) this.onOpen(id); },
    });
    const dismiss = h('button', { type: 'button', class: 'btn btn--ghost', dataset: { testid: 'screenpop-dismiss' }, text: t('pop.dismiss'),
      onClick: () => this.hide() });
    this.el.append(title, who, num, ext, h('div', { class: 'screenpop__actions' }, open, dismiss));
    this.el.setAttribute('aria-label', t('pop.ringing'));
    this.el.hidden = false;
    open.focus({ preventScroll: true });
  }

  // updated hides the pop-up once its call is answered or over.
  updated(d) {
    const call = d.call || {};
    if (!this.el || this.el.hidden || String(call.id || '') !== this.callId) return;
    if (call.event && call.event !== 'ringing') this.hide();
  }

  hide() {
    if (this.el) this.el.hidden = true;
    this.callId = '';
  }
}
