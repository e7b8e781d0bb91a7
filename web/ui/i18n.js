// Interface strings in English and Russian. Customer text is never
// translated or formatted here; {name} placeholders are filled with plain
// strings and the result always goes into textContent.

const en = {
  'skip': 'Skip to the conversation',
  'lang.label': 'Language',
  'login.email': 'Email',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.wrong': 'Wrong email or password.',
  'login.limited': 'Too many attempts. Wait a minute and try again.',
  'login.unavailable': 'Signing in is not available on this server.',
  'login.missing': 'Enter your email and password.',
  'logout': 'Sign out',
  'notify.toggle': 'Notify about new leads',
  'notify.denied': 'The browser blocks notifications for this site; only the sound will play.',
  'notify.newLead': 'New lead',
  'inbox.title': 'Inbox',
  'inbox.filters': 'Filters',
  'inbox.channel': 'Channel',
  'inbox.allChannels': 'All channels',
  'inbox.search': 'Search',
  'inbox.searchPlaceholder': 'Name, phone, email',
  'inbox.list': 'Conversations',
  'inbox.empty': 'No conversations.',
  'inbox.more': 'Load more',
  'keys.hint': 'Keys: j/k next/previous, / search, r reply, Esc back to the list',
  'tab.all': 'All',
  'tab.new': 'New',
  'tab.mine': 'Mine',
  'tab.unassigned': 'Unassigned',
  'tab.open': 'Open',
  'tab.pending': 'Pending',
  'tab.closed': 'Closed',
  'status.new': 'New',
  'status.open': 'Open',
  'status.pending': 'Pending',
  'status.closed': 'Closed',
  'channel.api': 'API',
  'channel.form': 'Site form',
  'channel.email': 'Email',
  'channel.telegram': 'Telegram',
  'channel.vk': 'VK',
  'channel.telephony': 'Phone',
  'row.unread': '{n} unread',
  'row.waiting': 'last message {ago} ago',
  'row.mine': 'assigned to you',
  'client.unnamed': 'Client #{id}',
  'conv.none': 'Choose a conversation.',
  'conv.accept': 'Accept',
  'conv.reject': 'Reject as spam',
  'conv.assignMe': 'Assign to me',
  'conv.unassign': 'Unassign',
  'conv.status': 'Status',
  'conv.messages': 'Messages',
  'conv.assignedMe': 'assigned to you',
  'conv.assignedOther': 'assigned to operator #{id}',
  'conv.assignedNone': 'nobody assigned',
  'conv.loadError': 'Could not load the conversation: {error}',
  'conv.actionError': 'Could not change the conversation: {error}',
  'conv.sinceChannel': '{channel} · {channelId}',
  'card.spam': 'Spam',
  'card.rawPhone': 'Not a phone number',
  'card.noNotes': 'No notes yet; write one with "Private note" below the conversation.',
  'card.taskTitle': 'Callback or task',
  'card.taskWhen': 'Due',
  'card.taskAdd': 'Add',
  'card.dismiss': 'Not the same person',
  'reply.override': 'Send anyway (recorded in the audit log)',
  'reply.dncConflict': 'Not sent: {error}. Tick "Send anyway" to override.',
  'card.title': 'Client card',
  'card.toggle': 'Client card',
  'card.name': 'Name',
  'card.company': 'Company',
  'card.tags': 'Tags',
  'card.tagsHint': 'comma-separated',
  'card.notes': 'Notes',
  'card.identities': 'Contacts',
  'card.call': 'Call',
  'card.callNumber': 'Call {number}',
  'card.calling': 'Calling…',
  'card.callError': 'Could not call: {error}',
  'msg.callExtension': 'Extension {ext}',
  'msg.recording.pending': 'The recording is being fetched…',
  'msg.recording.failed': 'The recording could not be fetched.',
  'pop.ringing': 'Incoming call',
  'pop.unknown': 'Unknown number',
  'pop.extension': 'On extension {ext}',
  'pop.open': 'Open the card',
  'pop.dismiss': 'Dismiss',
  'pop.announce': 'Incoming call: {name}',
  'card.dnc': 'Do not contact',
  'card.dncReason': 'Reason',
  'card.consents': 'Consents',
  'card.consentGiven': 'given',
  'card.consentWithdrawn': 'withdrawn',
  'card.tasks': 'Tasks',
  'card.taskDue': 'due {when}',
  'card.overdue': 'overdue',
  'card.done': 'done',
  'card.custom': 'Fields',
  'card.conversations': 'Other conversations',
  'card.duplicates': 'Possible duplicates',
  'card.mergeDup': 'Merge into this card',
  'card.mergeConfirm': 'Merge {name} into this card? Their contacts and history move here.',
  'card.link': 'Link to an existing card',
  'card.linkSearch': 'Find a client',
  'card.linkInto': 'Move this client into {name}',
  'card.linkConfirm': 'Move this client, with contacts and history, into the card of {name}?',
  'card.noResults': 'Nobody found.',
  'card.edit': 'Edit {field}',
  'card.save': 'Save',
  'card.cancel': 'Cancel',
  'card.empty': '—',
  'card.editUnsupported': 'This server does not support editing cards yet.',
  'card.saveError': 'Could not save: {error}',
  'card.mergeError': 'Could not merge: {error}',
  'card.loadError': 'Could not load the client card: {error}',
  'card.yes': 'yes',
  'card.no': 'no',
  'identity.phone': 'Phone',
  'identity.email': 'Email',
  'identity.telegram': 'Telegram',
  'identity.vk': 'VK',
  'identity.external': 'External id',
  'msg.you': 'You',
  'msg.operator': 'Operator #{id}',
  'msg.client': 'Client',
  'msg.note': 'Private note',
  'msg.form': 'Form submission',
  'msg.source': 'Source',
  'msg.details': 'Details',
  'msg.subject': 'Subject',
  'msg.callIn': 'Incoming call',
  'msg.callOut': 'Outgoing call',
  'msg.callMissed': 'Missed call',
  'msg.duration': 'Duration {d}',
  'msg.recording': 'Call recording',
  'msg.recordingLink': 'Open the recording',
  'msg.attachment': 'Attachment',
  'msg.otherChannel': 'via {channel}',
  'msg.edited': 'edited',
  'delivery.queued': 'Queued',
  'delivery.sent': 'Sent',
  'delivery.delivered': 'Delivered',
  'delivery.failed': 'Not delivered',
  'delivery.failedReason': 'Not delivered: {error}',
  'delivery.retry': 'Retry',
  'delivery.retried': 'Sent again',
  'preview.form': 'Form submission',
  'preview.call': 'Call',
  'preview.note': 'Note: {text}',
  'preview.attachment': 'Attachment',
  'reply.mode': 'Message type',
  'reply.reply': 'Reply',
  'reply.note': 'Private note',
  'reply.label': 'Your message',
  'reply.placeholder': 'Write a reply',
  'reply.notePlaceholder': 'Write a private note; the client does not see it',
  'reply.hint': 'Ctrl+Enter to send',
  'reply.send': 'Send',
  'reply.addNote': 'Add note',
  'reply.error': 'Could not send: {error}',
  'reply.notesUnsupported': 'This server does not support private notes yet; your text is kept.',
  'reply.dnc': 'This client asked not to be contacted.',
  'reply.sent': 'Reply queued',
  'banner.reconnecting': 'Disconnected — reconnecting…',
  'announce.newMessage': 'New message from {name}',
  'announce.newLead': 'New lead: {name}',
  'announce.delivery': 'Reply {status}',
  'error.network': 'the server cannot be reached',
  'error.notFound': 'not found',
  'error.forbidden': 'not allowed',
};

const ru = {
  'skip': 'Перейти к переписке',
  'lang.label': 'Язык',
  'login.email': 'Эл. почта',
  'login.password': 'Пароль',
  'login.submit': 'Войти',
  'login.wrong': 'Неверная почта или пароль.',
  'login.limited': 'Слишком много попыток. Подождите минуту и попробуйте снова.',
  'login.unavailable': 'Вход на этом сервере недоступен.',
  'login.missing': 'Введите почту и пароль.',
  'logout': 'Выйти',
  'notify.toggle': 'Уведомлять о новых заявках',
  'notify.denied': 'Браузер запретил уведомления для этого сайта; будет только звук.',
  'notify.newLead': 'Новая заявка',
  'inbox.title': 'Входящие',
  'inbox.filters': 'Фильтры',
  'inbox.channel': 'Канал',
  'inbox.allChannels': 'Все каналы',
  'inbox.search': 'Поиск',
  'inbox.searchPlaceholder': 'Имя, телефон, почта',
  'inbox.list': 'Обращения',
  'inbox.empty': 'Обращений нет.',
  'inbox.more': 'Показать ещё',
  'keys.hint': 'Клавиши: j/k — следующее/предыдущее, / — поиск, r — ответ, Esc — к списку',
  'tab.all': 'Все',
  'tab.new': 'Неразобранные',
  'tab.mine': 'Мои',
  'tab.unassigned': 'Без ответственного',
  'tab.open': 'Открытые',
  'tab.pending': 'Ожидают',
  'tab.closed': 'Закрытые',
  'status.new': 'Новое',
  'status.open': 'Открыто',
  'status.pending': 'Ожидает',
  'status.closed': 'Закрыто',
  'channel.api': 'API',
  'channel.form': 'Форма на сайте',
  'channel.email': 'Почта',
  'channel.telegram': 'Telegram',
  'channel.vk': 'ВКонтакте',
  'channel.telephony': 'Телефон',
  'row.unread': 'непрочитанных: {n}',
  'row.waiting': 'последнее сообщение {ago} назад',
  'row.mine': 'вы ответственный',
  'client.unnamed': 'Клиент №{id}',
  'conv.none': 'Выберите обращение.',
  'conv.accept': 'Принять',
  'conv.reject': 'Спам',
  'conv.assignMe': 'Взять себе',
  'conv.unassign': 'Снять ответственного',
  'conv.status': 'Статус',
  'conv.messages': 'Сообщения',
  'conv.assignedMe': 'ответственный — вы',
  'conv.assignedOther': 'ответственный — оператор №{id}',
  'conv.assignedNone': 'без ответственного',
  'conv.loadError': 'Не удалось загрузить переписку: {error}',
  'conv.actionError': 'Не удалось изменить обращение: {error}',
  'conv.sinceChannel': '{channel} · {channelId}',
  'card.spam': 'Спам',
  'card.rawPhone': 'Не номер телефона',
  'card.noNotes': 'Заметок нет; напишите её в режиме «Заметка» под перепиской.',
  'card.taskTitle': 'Перезвонить или задача',
  'card.taskWhen': 'Срок',
  'card.taskAdd': 'Добавить',
  'card.dismiss': 'Это разные люди',
  'reply.override': 'Всё равно отправить (запишется в журнал)',
  'reply.dncConflict': 'Не отправлено: {error}. Отметьте «Всё равно отправить».',
  'card.title': 'Карточка клиента',
  'card.toggle': 'Карточка',
  'card.name': 'Имя',
  'card.company': 'Компания',
  'card.tags': 'Теги',
  'card.tagsHint': 'через запятую',
  'card.notes': 'Заметки',
  'card.identities': 'Контакты',
  'card.call': 'Позвонить',
  'card.callNumber': 'Позвонить на {number}',
  'card.calling': 'Соединяем…',
  'card.callError': 'Не удалось позвонить: {error}',
  'msg.callExtension': 'Внутренний {ext}',
  'msg.recording.pending': 'Запись загружается…',
  'msg.recording.failed': 'Запись не удалось получить.',
  'pop.ringing': 'Входящий звонок',
  'pop.unknown': 'Неизвестный номер',
  'pop.extension': 'На внутренний {ext}',
  'pop.open': 'Открыть карточку',
  'pop.dismiss': 'Скрыть',
  'pop.announce': 'Входящий звонок: {name}',
  'card.dnc': 'Не связываться',
  'card.dncReason': 'Причина',
  'card.consents': 'Согласия',
  'card.consentGiven': 'дано',
  'card.consentWithdrawn': 'отозвано',
  'card.tasks': 'Задачи',
  'card.taskDue': 'срок {when}',
  'card.overdue': 'просрочено',
  'card.done': 'выполнено',
  'card.custom': 'Поля',
  'card.conversations': 'Другие обращения',
  'card.duplicates': 'Возможные дубли',
  'card.mergeDup': 'Объединить с этой карточкой',
  'card.mergeConfirm': 'Перенести {name} в эту карточку? Контакты и история перейдут сюда.',
  'card.link': 'Привязать к существующей карточке',
  'card.linkSearch': 'Найти клиента',
  'card.linkInto': 'Перенести этого клиента в карточку {name}',
  'card.linkConfirm': 'Перенести этого клиента с контактами и историей в карточку {name}?',
  'card.noResults': 'Никого не нашлось.',
  'card.edit': 'Изменить: {field}',
  'card.save': 'Сохранить',
  'card.cancel': 'Отмена',
  'card.empty': '—',
  'card.editUnsupported': 'Этот сервер пока не умеет редактировать карточки.',
  'card.saveError': 'Не удалось сохранить: {error}',
  'card.mergeError': 'Не удалось объединить: {error}',
  'card.loadError': 'Не удалось загрузить карточку: {error}',
  'card.yes': 'да',
  'card.no': 'нет',
  'identity.phone': 'Телефон',
  'identity.email': 'Почта',
  'identity.telegram': 'Telegram',
  'identity.vk': 'ВКонтакте',
  'identity.external': 'Внешний id',
  'msg.you': 'Вы',
  'msg.operator': 'Оператор №{id}',
  'msg.client': 'Клиент',
  'msg.note': 'Внутренняя заметка',
  'msg.form': 'Заявка с формы',
  'msg.source': 'Источник',
  'msg.details': 'Подробности',
  'msg.subject': 'Тема',
  'msg.callIn': 'Входящий звонок',
  'msg.callOut': 'Исходящий звонок',
  'msg.callMissed': 'Пропущенный звонок',
  'msg.duration': 'Длительность {d}',
  'msg.recording': 'Запись разговора',
  'msg.recordingLink': 'Открыть запись',
  'msg.attachment': 'Вложение',
  'msg.otherChannel': 'через {channel}',
  'msg.edited': 'изменено',
  'delivery.queued': 'В очереди',
  'delivery.sent': 'Отправлено',
  'delivery.delivered': 'Доставлено',
  'delivery.failed': 'Не доставлено',
  'delivery.failedReason': 'Не доставлено: {error}',
  'delivery.retry': 'Повторить',
  'delivery.retried': 'Отправлено повторно',
  'preview.form': 'Заявка с формы',
  'preview.call': 'Звонок',
  'preview.note': 'Заметка: {text}',
  'preview.attachment': 'Вложение',
  'reply.mode': 'Тип сообщения',
  'reply.reply': 'Ответ',
  'reply.note': 'Заметка',
  'reply.label': 'Ваше сообщение',
  'reply.placeholder': 'Напишите ответ',
  'reply.notePlaceholder': 'Внутренняя заметка, клиент её не увидит',
  'reply.hint': 'Ctrl+Enter — отправить',
  'reply.send': 'Отправить',
  'reply.addNote': 'Добавить заметку',
  'reply.error': 'Не удалось отправить: {error}',
  'reply.notesUnsupported': 'Этот сервер пока не поддерживает заметки; текст сохранён.',
  'reply.dnc': 'Клиент просил с ним не связываться.',
  'reply.sent': 'Ответ поставлен в очередь',
  'banner.reconnecting': 'Нет связи — переподключаемся…',
  'announce.newMessage': 'Новое сообщение от {name}',
  'announce.newLead': 'Новая заявка: {name}',
  'announce.delivery': 'Ответ: {status}',
  'error.network': 'сервер недоступен',
  'error.notFound': 'не найдено',
  'error.forbidden': 'нет доступа',
};

const dicts = { en, ru };
export const languages = Object.keys(dicts);
const storageKey = 'leadhub.lang';

function detect() {
  try {
    const saved = localStorage.getItem(storageKey);
    if (saved && dicts[saved]) return saved;
  } catch (_) { /* storage may be disabled */ }
  const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
  for (const p of prefs) {
    const base = String(p).toLowerCase().split('-')[0];
    if (dicts[base]) return base;
  }
  return 'en';
}

let lang = detect();

export function getLang() { return lang; }

// setLang switches the language and remembers the choice.
export function setLang(l) {
  if (!dicts[l]) return;
  lang = l;
  try { localStorage.setItem(storageKey, l); } catch (_) { /* not persisted */ }
}

export function t(key, params) {
  let s = dicts[lang][key];
  if (s === undefined) s = en[key];
  if (s === undefined) return key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
  }
  return s;
}

// applyStatic translates the page's own markup: data-i18n sets the text,
// data-i18n-placeholder / -aria-label / -title set those attributes.
export function applyStatic(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
}

// formatting helpers that follow the chosen language

export function fmtDateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'short' }).format(d);
}

export function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  const opts = sameDay ? { timeStyle: 'short' } : { dateStyle: 'short', timeStyle: 'short' };
  return new Intl.DateTimeFormat(lang, opts).format(d);
}

// fmtAgo is a short waiting time: "5 min", "3 hr", "2 days".
export function fmtAgo(iso, now = Date.now()) {
  const d = new Date(iso).getTime();
  if (Number.isNaN(d)) return '';
  const s = Math.max(0, Math.round((now - d) / 1000));
  let unit; let n;
  if (s < 3600) { unit = 'minute'; n = Math.max(1, Math.floor(s / 60)); } else if (s < 86400) { unit = 'hour'; n = Math.floor(s / 3600); } else { unit = 'day'; n = Math.floor(s / 86400); }
  return new Intl.NumberFormat(lang, { style: 'unit', unit, unitDisplay: 'short' }).format(n);
}

// fmtDuration turns seconds into m:ss or h:mm:ss.
export function fmtDuration(sec) {
  const n = Math.max(0, Math.round(Number(sec)));
  if (!Number.isFinite(n)) return '';
  const h = Math.floor(n / 3600); const m = Math.floor((n % 3600) / 60); const s = n % 60;
  const pad = (x) => String(x).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export function fmtSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n <= 0) return '';
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];
  let i = 0; let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return new Intl.NumberFormat(lang, { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: i ? 1 : 0 }).format(v);
}
