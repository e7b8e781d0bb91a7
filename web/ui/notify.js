// Optional alerts for new leads: a browser notification and a short beep
// made with WebAudio (no sound file). Off by default; the choice is kept in
// localStorage.

const storageKey = 'leadhub.notify';

export class Notifier {
  constructor() {
    this.enabled = false;
    this.audio = null;
    try { this.enabled = localStorage.getItem(storageKey) === '1'; } catch (_) { /* off */ }
  }

  // setEnabled runs in the click handler of the toggle: browsers allow
  // both the permission prompt and an AudioContext only after a gesture.
  async setEnabled(on) {
    this.enabled = Boolean(on);
    try { localStorage.setItem(storageKey, this.enabled ? '1' : '0'); } catch (_) { /* not kept */ }
    if (!this.enabled) return true;
    this.ensureAudio();
    if ('Notification' in window && Notification.permission === 'default') {
      try { await Notification.requestPermission(); } catch (_) { /* ignored */ }
    }
    return !('Notification' in window) || Notification.permission !== 'denied';
  }

  ensureAudio() {
    if (this.audio) return this.audio;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    try { this.audio = new Ctx(); } catch (_) { this.audio = null; }
    return this.audio;
  }

  beep() {
    const ctx = this.ensureAudio();
    if (!ctx) return;
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = 880;
    const t0 = ctx.currentTime;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.25);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.3);
  }

  // newLead alerts about a new conversation; title and body are plain text
  // (the Notification API does not render markup).
  newLead(title, body, onClick) {
    if (!this.enabled) return;
    this.beep();
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(title, { body, tag: 'leadhub-new-lead', icon: '/ui/icons/logo.svg' });
      n.onclick = () => { window.focus(); if (onClick) onClick(); n.close(); };
    } catch (_) { /* some browsers allow notifications only from a service worker */ }
  }

  // alert shows a supervision alert (a late answer, a task due) as a
  // browser notification whenever the operator allowed them, and beeps
  // when they turned sounds on: unlike a new lead, it is addressed to them.
  alert(title, body, onClick) {
    if (this.enabled) this.beep();
    if (!('Notification' in window) || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(title, { body, tag: 'leadhub-alert', icon: '/ui/icons/logo.svg' });
      n.onclick = () => { window.focus(); if (onClick) onClick(); n.close(); };
    } catch (_) { /* some browsers allow notifications only from a service worker */ }
  }
}
