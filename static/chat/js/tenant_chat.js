/*!
 * tenantchat widget — a floating chat for every page of a tenant's app.
 *
 * Vanilla JS (ES2020), no framework, no build step: one <script> tag. The page sets
 *   window.CHAT_CURRENT_USER_ID  (required; without it the widget does nothing)
 *   window.CHAT_I18N             ({locale: "en"|"es"|"pt-BR", "<key>": "<text>", …})
 *   window.CHAT_BRANDING         (optional {color: "#RRGGBB", title: "…"})
 *   window.CHAT_API_BASE         (optional, default '' = same origin)
 * and may provide any of the widget's elements by id (tenantChatBar, tenantChatPanel,
 * widgetMessageContainer, widgetMessageForm, widgetMessageInput, widgetAttachmentInput,
 * widgetConversationList, widgetUserList, widgetNewMessagesBadge); the rest is created.
 *
 * Transport: WebSocket /ws/chat/ first; while it is down, polling of the REST API.
 * All user-provided text is rendered with textContent / text nodes, never as HTML.
 * Hosts and tests get window.TenantChat = {open(id), close(), state}.
 */
(function () {
  'use strict';

  if (window.TenantChat) return; // loaded twice: the first copy wins

  const SCRIPT = document.currentScript;
  const ASSET_BASE = (() => {
    try {
      if (SCRIPT && SCRIPT.src) return new URL('../', SCRIPT.src).href;
    } catch (_) { /* fall through */ }
    return '/static/chat/';
  })();

  // ------------------------------------------------------------------ strings
  // Built-in English: the fallback for every key the page's CHAT_I18N lacks.
  const EN = {
    'locale': 'en',
    'widget.title': 'Chat',
    'bar.label': 'Open chat',
    'status.online': 'Online',
    'status.connecting': 'Connecting…',
    'status.reconnecting': 'Reconnecting…',
    'status.signedOut': 'Signed out',
    'status.offline': 'Offline',
    'badge.unread': '{count} unread messages',
    'panel.label': 'Chat',
    'panel.close': 'Close chat',
    'tab.chat': 'Internal chat',
    'tab.conversations': 'Chats',
    'tab.users': 'Users & Groups',
    'tab.list': 'Chat sections',
    'conversation.none': 'No conversation open. Pick one from Chats or start one from Users & Groups.',
    'conversation.browse': 'Browse chats',
    'conversation.menu': 'Conversation options',
    'conversation.archive': 'Archive',
    'conversation.unarchive': 'Unarchive',
    'conversation.mute': 'Mute notifications',
    'conversation.unmute': 'Unmute notifications',
    'conversation.archived': 'Archived',
    'conversation.muted': 'Muted',
    'conversation.members': '{count} members',
    'conversation.group': 'Group',
    'messages.label': 'Messages',
    'messages.loadOlder': 'Load older messages',
    'messages.loading': 'Loading…',
    'messages.empty': 'No messages yet. Say hello!',
    'messages.beginning': 'This is the beginning of the conversation.',
    'messages.today': 'Today',
    'messages.yesterday': 'Yesterday',
    'message.you': 'You',
    'message.status.pending': 'Sending…',
    'message.status.sent': 'Sent',
    'message.status.delivered': 'Delivered',
    'message.status.read': 'Read',
    'message.status.failed': 'Not sent',
    'message.retry': 'Retry',
    'message.discard': 'Discard',
    'attachment.removed': 'removed',
    'attachment.download': 'Download {filename}',
    'attachment.image': 'Image {filename}, open full size',
    'composer.label': 'Message',
    'composer.placeholder': 'Write a message…',
    'composer.hint': 'Enter to send, Shift+Enter for a new line',
    'composer.send': 'Send',
    'composer.attach': 'Attach files',
    'composer.removeFile': 'Remove {filename}',
    'composer.uploading': 'Uploading… {percent}%',
    'composer.disabled': 'Sign in again to send messages.',
    'typing.one': '{name} is typing…',
    'typing.two': '{name} and {other} are typing…',
    'typing.many': 'Several people are typing…',
    'conversations.label': 'Conversations',
    'conversations.empty': 'No conversations yet. Start one from Users & Groups.',
    'conversations.showArchived': 'Show archived',
    'conversations.unread': '{count} unread',
    'conversations.noMessages': 'No messages yet',
    'conversations.attachment': 'Attachment',
    'conversations.youPrefix': 'You: ',
    'group.new': 'New group',
    'group.title': 'Group name',
    'group.members': 'Members',
    'group.create': 'Create group',
    'group.cancel': 'Cancel',
    'group.needTitle': 'Give the group a name.',
    'group.needMembers': 'Pick at least one member.',
    'users.label': 'People in your organization',
    'users.people': 'People',
    'users.groups': 'Groups',
    'users.empty': 'No other users in your organization yet.',
    'users.noGroups': 'No groups yet.',
    'users.online': 'Online',
    'users.offline': 'Offline',
    'users.lastSeen': 'Last seen {time}',
    'users.start': 'Chat with {name}',
    'error.generic': 'Something went wrong. Please try again.',
    'error.network': 'Network problem. Check your connection and try again.',
    'error.send': 'Message not sent: {message}',
    'error.fileTooLarge': '{filename} is larger than 10 MB.',
    'error.signedOut': 'Your session has ended. Sign in again to keep chatting.',
    'error.forbidden': 'You do not have permission to do that.',
    'error.dismiss': 'Dismiss',
    'notifications.prompt': 'Get a desktop notification when a message arrives?',
    'notifications.enable': 'Enable notifications',
    'notifications.dismiss': 'Not now',
    'notifications.attachment': 'Sent an attachment',
  };

  // ------------------------------------------------------------------ helpers
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (v === true) el.setAttribute(k, '');
        else el.setAttribute(k, String(v));
      }
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  function storageGet(kind, key) {
    try { return window[kind].getItem(key); } catch (_) { return null; }
  }
  function storageSet(kind, key, value) {
    try {
      if (value == null) window[kind].removeItem(key);
      else window[kind].setItem(key, value);
    } catch (_) { /* private mode, quota: not essential */ }
  }

  // ------------------------------------------------------------------ boot
  function boot() {
    const ME = window.CHAT_CURRENT_USER_ID;
    if (!ME) return;
    const ME_ID = String(ME);

    let STR = window.CHAT_I18N && typeof window.CHAT_I18N === 'object' ? window.CHAT_I18N : {};
    let LOCALE = 'en';
    try {
      LOCALE = Intl.getCanonicalLocales(STR.locale || document.documentElement.lang || 'en')[0] || 'en';
    } catch (_) { LOCALE = 'en'; }

    function t(key, params) {
      let s = Object.prototype.hasOwnProperty.call(STR, key) && typeof STR[key] === 'string'
        ? STR[key] : (EN[key] != null ? EN[key] : key);
      if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
      return s;
    }

    const BRANDING = window.CHAT_BRANDING && typeof window.CHAT_BRANDING === 'object' ? window.CHAT_BRANDING : {};
    const TITLE = typeof BRANDING.title === 'string' && BRANDING.title.trim() ? BRANDING.title.trim() : null;
    const API_BASE = String(window.CHAT_API_BASE || '').replace(/\/+$/, '');

    // Dates and numbers in the page's language.
    const fmt = (opts) => {
      try { return new Intl.DateTimeFormat(LOCALE, opts); } catch (_) { return new Intl.DateTimeFormat('en', opts); }
    };
    const fmtTime = fmt({ hour: '2-digit', minute: '2-digit' });
    const fmtWeekday = fmt({ weekday: 'short' });
    const fmtShortDate = fmt({ day: 'numeric', month: 'short' });
    const fmtLongDate = fmt({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
    const fmtFullRaw = fmt({ dateStyle: 'medium', timeStyle: 'short' });
    const fmtFull = { format: (d) => (Number.isNaN(d.getTime()) ? '' : fmtFullRaw.format(d)) };
    const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
    function listTime(iso) {
      const d = new Date(iso);
      if (Number.isNaN(d.getTime())) return '';
      const now = new Date();
      if (sameDay(d, now)) return fmtTime.format(d);
      if (now - d < 6 * 864e5) return fmtWeekday.format(d);
      return fmtShortDate.format(d);
    }
    function dayHeading(iso) {
      const d = new Date(iso);
      const now = new Date();
      const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
      if (sameDay(d, now)) return t('messages.today');
      if (sameDay(d, yesterday)) return t('messages.yesterday');
      return fmtLongDate.format(d);
    }
    function dayKey(iso) {
      const d = iso ? new Date(iso) : new Date();
      return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
    }
    function formatSize(bytes) {
      const n = Number(bytes) || 0;
      const units = [['gigabyte', 1e9], ['megabyte', 1e6], ['kilobyte', 1e3]];
      for (const [unit, size] of units) {
        if (n >= size) {
          try {
            return new Intl.NumberFormat(LOCALE, { style: 'unit', unit, maximumFractionDigits: 1 }).format(n / size);
          } catch (_) { return `${(n / size).toFixed(1)} ${unit[0].toUpperCase()}B`; }
        }
      }
      try { return new Intl.NumberFormat(LOCALE, { style: 'unit', unit: 'byte', unitDisplay: 'long' }).format(n); } catch (_) { return `${n} B`; }
    }

    // ---------------------------------------------------------------- state
    const state = {
      socketState: 'closed', // 'open' | 'connecting' | 'closed'
      polling: false,
      conversations: [], // visible in the Chats list, newest activity first
      openConversationId: null,
      users: [], // presence list (the tenant's users)
      panelOpen: false,
      activeTab: 'conversations',
      signedOut: false,
      showArchived: false,
    };
    const convs = new Map(); // every conversation seen, by id
    const stores = new Map(); // messages per conversation
    const typing = new Map(); // conversation id → Map(user id → {name, until})
    let pendingFiles = [];

    function store(id) {
      let s = stores.get(id);
      if (!s) {
        s = { byId: new Map(), pending: new Map(), loaded: false, stale: false, lowestSeq: null, highestSeq: 0, loadingOlder: false, readSeq: 0 };
        stores.set(id, s);
      }
      return s;
    }
    const convById = (id) => convs.get(id) || null;
    const STATUS_RANK = { sent: 1, delivered: 2, read: 3 };
    const isViewing = (id) => !!id && state.panelOpen && state.activeTab === 'chat'
      && state.openConversationId === id && document.visibilityState !== 'hidden';

    // ---------------------------------------------------------------- HTTP
    class ApiError extends Error {
      constructor(status, body) {
        super((body && body.message) || (status === 0 ? t('error.network') : t('error.generic')));
        this.status = status;
        this.code = (body && body.error) || (status === 0 ? 'network' : 'error');
        this.body = body;
      }
    }
    const apiUrl = (path) => API_BASE + path;
    function csrfToken() {
      // Over https the cookie carries the __Host- prefix.
      const m = document.cookie.match(/(?:^|;\s*)(?:__Host-)?csrftoken=([^;]*)/);
      return m ? decodeURIComponent(m[1]) : '';
    }
    function parseJson(text) {
      if (!text) return null;
      try { return JSON.parse(text); } catch (_) { return null; }
    }
    async function api(method, path, body) {
      const headers = { Accept: 'application/json' };
      const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
      if (method !== 'GET' && method !== 'HEAD') headers['X-CSRFToken'] = csrfToken();
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      let res;
      try {
        res = await fetch(apiUrl(path), init);
      } catch (_) {
        throw new ApiError(0, null);
      }
      const data = parseJson(await res.text().catch(() => ''));
      if (!res.ok) {
        if (res.status === 401) signedOut();
        throw new ApiError(res.status, data);
      }
      return data;
    }
    // Multipart upload with progress: fetch cannot report upload progress.
    function upload(path, formData, onProgress) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', apiUrl(path));
        xhr.setRequestHeader('X-CSRFToken', csrfToken());
        xhr.setRequestHeader('Accept', 'application/json');
        xhr.upload.addEventListener('progress', (e) => {
          if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
        });
        xhr.addEventListener('load', () => {
          const data = parseJson(xhr.responseText);
          if (xhr.status >= 200 && xhr.status < 300) resolve(data);
          else {
            if (xhr.status === 401) signedOut();
            reject(new ApiError(xhr.status, data));
          }
        });
        xhr.addEventListener('error', () => reject(new ApiError(0, null)));
        xhr.addEventListener('abort', () => reject(new ApiError(0, null)));
        xhr.send(formData);
      });
    }
    const convPath = (id, rest) => `/api/chat/conversations/${encodeURIComponent(id)}/${rest || ''}`;
    function safeUrl(u) {
      if (!u) return '#';
      try {
        const url = new URL(String(u).startsWith('/') ? apiUrl(u) : u, location.href);
        return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : '#';
      } catch (_) { return '#'; }
    }

    // ---------------------------------------------------------------- DOM
    // Elements the page already has are used as they are; the rest are created.
    const CONTRACT_IDS = ['tenantChatBar', 'tenantChatPanel', 'widgetMessageContainer', 'widgetMessageForm',
      'widgetMessageInput', 'widgetAttachmentInput', 'widgetConversationList', 'widgetUserList', 'widgetNewMessagesBadge'];
    const existing = {};
    for (const id of CONTRACT_IDS) existing[id] = document.getElementById(id);
    const pick = (id, make) => existing[id] || make();

    ensureStylesheet();

    const badge = pick('widgetNewMessagesBadge', () => h('span', { id: 'widgetNewMessagesBadge', hidden: true }));
    badge.classList.add('tc-badge');
    const barDot = h('span', { class: 'tc-bar-dot', 'aria-hidden': 'true' });
    const barTitle = h('span', { class: 'tc-bar-title', text: TITLE || t('widget.title') });
    const barStatus = h('span', { class: 'tc-bar-status', text: t('status.connecting') });
    const bar = pick('tenantChatBar', () => h('button', { id: 'tenantChatBar', type: 'button' }));
    bar.classList.add('tc-bar', 'tc-widget');
    if (!existing.tenantChatBar || !bar.childElementCount) {
      bar.append(h('span', { class: 'tc-bar-icon', 'aria-hidden': 'true' }, chatIcon()), barDot,
        h('span', { class: 'tc-bar-text' }, barTitle, barStatus));
    }
    if (!bar.contains(badge) && !existing.widgetNewMessagesBadge) bar.append(badge);
    if (bar.tagName !== 'BUTTON') {
      bar.setAttribute('role', 'button');
      if (!bar.hasAttribute('tabindex')) bar.tabIndex = 0;
    }
    bar.setAttribute('aria-haspopup', 'dialog');
    bar.setAttribute('aria-controls', 'tenantChatPanel');
    bar.setAttribute('aria-expanded', 'false');

    const panel = pick('tenantChatPanel', () => h('section', { id: 'tenantChatPanel', hidden: true }));
    panel.classList.add('tc-panel', 'tc-widget');
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-modal', 'false');
    panel.setAttribute('aria-labelledby', 'tcPanelTitle');
    if (!existing.tenantChatPanel) panel.hidden = true;

    const panelTitle = h('h2', { id: 'tcPanelTitle', class: 'tc-panel-title', text: TITLE || t('panel.label') });
    const panelStatus = h('span', { class: 'tc-panel-status', role: 'status' });
    const closeBtn = h('button', { type: 'button', class: 'tc-icon-btn tc-close', 'aria-label': t('panel.close'), title: t('panel.close') }, closeIcon());

    const TABS = [
      ['chat', 'tcTabChat', 'tcTabpanelChat', 'tab.chat'],
      ['conversations', 'tcTabConversations', 'tcTabpanelConversations', 'tab.conversations'],
      ['users', 'tcTabUsers', 'tcTabpanelUsers', 'tab.users'],
    ];
    const tabButtons = {};
    const tabPanels = {};
    const tablist = h('div', { class: 'tc-tabs', role: 'tablist', 'aria-label': t('tab.list') });
    for (const [name, tabId, panelId, key] of TABS) {
      const countEl = name === 'conversations' ? h('span', { class: 'tc-tab-count', hidden: true }) : null;
      tabButtons[name] = h('button', {
        type: 'button', role: 'tab', id: tabId, class: 'tc-tab', 'aria-controls': panelId,
        'aria-selected': 'false', tabindex: '-1', 'data-tab': name,
      }, h('span', { class: 'tc-tab-label', text: t(key) }), countEl);
      tabPanels[name] = h('div', { role: 'tabpanel', id: panelId, class: 'tc-tabpanel', 'aria-labelledby': tabId, hidden: true });
      tablist.append(tabButtons[name]);
    }
    const tabCount = tabButtons.conversations.querySelector('.tc-tab-count');

    // Internal chat tab: the open conversation.
    const convTitle = h('h3', { class: 'tc-conv-title', id: 'tcConvTitle' });
    const convSubtitle = h('p', { class: 'tc-conv-subtitle' });
    const convAvatar = h('span', { class: 'tc-avatar', 'aria-hidden': 'true' });
    const mutedMark = h('span', { class: 'tc-muted-mark', role: 'img', 'aria-label': t('conversation.muted'), title: t('conversation.muted'), hidden: true }, bellOffIcon());
    const menuBtn = h('button', {
      type: 'button', class: 'tc-icon-btn tc-menu-btn', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      'aria-controls': 'tcConvMenu', 'aria-label': t('conversation.menu'), title: t('conversation.menu'),
    }, dotsIcon());
    const archiveItem = h('button', { type: 'button', role: 'menuitem', class: 'tc-menu-item', tabindex: '-1', 'data-action': 'archive' });
    const muteItem = h('button', { type: 'button', role: 'menuitem', class: 'tc-menu-item', tabindex: '-1', 'data-action': 'mute' });
    const menu = h('div', { class: 'tc-menu', id: 'tcConvMenu', role: 'menu', 'aria-label': t('conversation.menu'), hidden: true }, archiveItem, muteItem);
    const convHeader = h('div', { class: 'tc-conv-header', hidden: true },
      convAvatar,
      h('div', { class: 'tc-conv-heading' }, h('div', { class: 'tc-conv-title-row' }, convTitle, mutedMark), convSubtitle),
      h('div', { class: 'tc-menu-wrap' }, menuBtn, menu));
    const noConversation = h('div', { class: 'tc-empty tc-no-conversation' },
      h('p', { text: t('conversation.none') }),
      h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', onclick: () => setTab('conversations', true) }, t('conversation.browse')));

    const loadOlderBtn = h('button', { type: 'button', class: 'tc-load-older', hidden: true, text: t('messages.loadOlder') });
    const beginning = h('p', { class: 'tc-beginning', hidden: true, text: t('messages.beginning') });
    const messageList = h('ol', { class: 'tc-message-list' });
    const emptyMessages = h('p', { class: 'tc-empty tc-empty-messages', hidden: true, text: t('messages.empty') });
    const messageContainer = pick('widgetMessageContainer', () => h('div', { id: 'widgetMessageContainer' }));
    messageContainer.classList.add('tc-messages');
    messageContainer.setAttribute('role', 'log');
    messageContainer.setAttribute('aria-live', 'polite');
    messageContainer.setAttribute('aria-relevant', 'additions');
    messageContainer.setAttribute('aria-label', t('messages.label'));
    if (!messageContainer.hasAttribute('tabindex')) messageContainer.tabIndex = 0;
    messageContainer.append(loadOlderBtn, beginning, emptyMessages, messageList);
    const typingEl = h('p', { class: 'tc-typing', 'aria-live': 'polite', 'aria-atomic': 'true' });

    const attachmentInput = pick('widgetAttachmentInput', () => h('input', { id: 'widgetAttachmentInput', type: 'file', multiple: true }));
    attachmentInput.classList.add('tc-file-input');
    attachmentInput.setAttribute('aria-label', t('composer.attach'));
    if (!attachmentInput.accept) {
      attachmentInput.accept = 'image/jpeg,image/png,image/gif,image/webp,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.txt,.csv,text/plain,text/csv';
    }
    const attachLabel = h('label', { class: 'tc-icon-btn tc-attach-btn', for: 'widgetAttachmentInput', title: t('composer.attach') },
      paperclipIcon(), h('span', { class: 'tc-sr-only', text: t('composer.attach') }));
    const input = pick('widgetMessageInput', () => h('textarea', { id: 'widgetMessageInput', rows: '1' }));
    input.classList.add('tc-input');
    input.setAttribute('aria-label', t('composer.label'));
    input.setAttribute('aria-describedby', 'tcComposerHint');
    if (!input.getAttribute('placeholder')) input.setAttribute('placeholder', t('composer.placeholder'));
    input.setAttribute('maxlength', '5000');
    const sendBtn = h('button', { type: 'submit', class: 'tc-send', title: t('composer.send') },
      sendIcon(), h('span', { class: 'tc-sr-only', text: t('composer.send') }));
    const fileChips = h('ul', { class: 'tc-file-chips', hidden: true, 'aria-label': t('composer.attach') });
    const progressBar = h('div', { class: 'tc-progress-bar' });
    const progressText = h('span', { class: 'tc-sr-only' });
    const progress = h('div', {
      class: 'tc-progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', hidden: true,
    }, progressBar, progressText);
    const form = pick('widgetMessageForm', () => h('form', { id: 'widgetMessageForm', novalidate: true }));
    form.classList.add('tc-composer');
    form.setAttribute('aria-label', t('composer.label'));
    if (!existing.widgetMessageForm) {
      form.append(fileChips, progress,
        h('div', { class: 'tc-composer-row' },
          existing.widgetAttachmentInput ? null : attachmentInput,
          existing.widgetAttachmentInput ? null : attachLabel,
          existing.widgetMessageInput ? null : input,
          sendBtn),
        h('p', { class: 'tc-sr-only', id: 'tcComposerHint', text: t('composer.hint') }));
    } else {
      form.prepend(fileChips, progress);
      form.append(h('p', { class: 'tc-sr-only', id: 'tcComposerHint', text: t('composer.hint') }));
    }
    const chatError = errorBox();
    tabPanels.chat.append(convHeader, noConversation,
      existing.widgetMessageContainer ? null : messageContainer,
      typingEl, chatError.el, existing.widgetMessageForm ? null : form);

    // Chats tab.
    const conversationList = pick('widgetConversationList', () => h('ul', { id: 'widgetConversationList' }));
    conversationList.classList.add('tc-conv-list');
    conversationList.setAttribute('aria-label', t('conversations.label'));
    const archivedToggle = h('input', { type: 'checkbox', class: 'tc-checkbox', id: 'tcShowArchived' });
    const groupToggle = h('button', { type: 'button', class: 'tc-btn tc-btn--secondary tc-new-group-btn', 'aria-expanded': 'false', 'aria-controls': 'tcGroupForm' },
      plusIcon(), h('span', { text: t('group.new') }));
    const groupTitle = h('input', { type: 'text', id: 'tcGroupTitle', class: 'tc-text-input', maxlength: '200', autocomplete: 'off' });
    const groupMembers = h('div', { class: 'tc-member-picks' });
    const groupError = errorBox();
    const groupForm = h('form', { id: 'tcGroupForm', class: 'tc-group-form', hidden: true, novalidate: true },
      h('label', { class: 'tc-field-label', for: 'tcGroupTitle', text: t('group.title') }), groupTitle,
      h('fieldset', { class: 'tc-fieldset' }, h('legend', { class: 'tc-field-label', text: t('group.members') }), groupMembers),
      groupError.el,
      h('div', { class: 'tc-form-actions' },
        h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', onclick: () => toggleGroupForm(false) }, t('group.cancel')),
        h('button', { type: 'submit', class: 'tc-btn' }, t('group.create'))));
    const conversationsEmpty = h('p', { class: 'tc-empty', hidden: true, text: t('conversations.empty') });
    const listError = errorBox();
    const notifyBanner = h('div', { class: 'tc-banner', hidden: true, role: 'region', 'aria-label': t('notifications.enable') },
      h('p', { text: t('notifications.prompt') }),
      h('div', { class: 'tc-form-actions' },
        h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', onclick: () => { notifyBanner.hidden = true; storageSet('localStorage', 'tenantChat.notifyAsked', '1'); } }, t('notifications.dismiss')),
        h('button', { type: 'button', class: 'tc-btn', onclick: () => askNotificationPermission(true) }, t('notifications.enable'))));
    tabPanels.conversations.append(
      h('div', { class: 'tc-toolbar' }, groupToggle,
        h('label', { class: 'tc-check-label', for: 'tcShowArchived' }, archivedToggle, h('span', { text: t('conversations.showArchived') }))),
      groupForm, notifyBanner, listError.el,
      existing.widgetConversationList ? null : conversationList, conversationsEmpty);

    // Users & Groups tab.
    const userList = pick('widgetUserList', () => h('ul', { id: 'widgetUserList' }));
    userList.classList.add('tc-user-list');
    userList.setAttribute('aria-label', t('users.label'));
    const groupList = h('ul', { class: 'tc-user-list tc-group-list', 'aria-label': t('users.groups') });
    const usersEmpty = h('p', { class: 'tc-empty', hidden: true, text: t('users.empty') });
    const groupsEmpty = h('p', { class: 'tc-empty', hidden: true, text: t('users.noGroups') });
    const usersError = errorBox();
    tabPanels.users.append(usersError.el,
      h('h3', { class: 'tc-section-title', text: t('users.people') }),
      existing.widgetUserList ? null : userList, usersEmpty,
      h('h3', { class: 'tc-section-title', text: t('users.groups') }), groupList, groupsEmpty);

    if (!existing.tenantChatPanel || !panel.childElementCount) {
      panel.append(
        h('header', { class: 'tc-panel-header' }, h('div', { class: 'tc-panel-heading' }, panelTitle, panelStatus), closeBtn),
        tablist, tabPanels.chat, tabPanels.conversations, tabPanels.users);
    } else {
      panel.append(tablist, tabPanels.chat, tabPanels.conversations, tabPanels.users);
    }

    // The widget's own elements go into one root at the end of <body>.
    const root = h('div', { class: 'tc-root', id: 'tenantChatRoot' });
    if (!existing.tenantChatPanel) root.append(panel);
    if (!existing.tenantChatBar) root.append(bar);
    if (root.childElementCount) document.body.append(root);

    // Branding: accent colour (with a readable text colour on it) on the widget's elements.
    applyBranding();

    function applyBranding() {
      const color = typeof BRANDING.color === 'string' && /^#[0-9a-f]{6}$/i.test(BRANDING.color) ? BRANDING.color : null;
      if (!color) return;
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16) / 255)
        .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
      const lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      // White text needs contrast ≥ 4.5 on the accent, else dark text.
      const onAccent = 1.05 / (lum + 0.05) >= 4.5 ? '#ffffff' : '#111827';
      for (const el of new Set([root, bar, panel])) {
        el.style.setProperty('--tc-accent', color);
        el.style.setProperty('--tc-on-accent', onAccent);
      }
    }

    function errorBox() {
      const text = h('span', { class: 'tc-error-text' });
      const el = h('div', { class: 'tc-error', role: 'status', hidden: true }, text,
        h('button', { type: 'button', class: 'tc-icon-btn tc-error-close', 'aria-label': t('error.dismiss'), title: t('error.dismiss'), onclick: () => { el.hidden = true; } }, closeIcon()));
      let timer = null;
      return {
        el,
        show(message) {
          text.textContent = message;
          el.hidden = false;
          clearTimeout(timer);
          timer = setTimeout(() => { el.hidden = true; }, 8000);
        },
        hide() { el.hidden = true; },
      };
    }
    function errorText(err) {
      if (!err) return t('error.generic');
      if (err.status === 0) return t('error.network');
      if (err.status === 403 && !err.body) return t('error.forbidden');
      return err.message || t('error.generic');
    }

    function ensureStylesheet() {
      const links = document.querySelectorAll('link[rel="stylesheet"]');
      for (const l of links) if (/tenant_chat\.css(\?|$)/.test(l.getAttribute('href') || '')) return;
      document.head.append(h('link', { rel: 'stylesheet', href: `${ASSET_BASE}css/tenant_chat.css` }));
    }

    // ---------------------------------------------------------------- icons
    function svg(pathD, cls) {
      const ns = 'http://www.w3.org/2000/svg';
      const s = document.createElementNS(ns, 'svg');
      s.setAttribute('viewBox', '0 0 24 24');
      s.setAttribute('width', '20');
      s.setAttribute('height', '20');
      s.setAttribute('aria-hidden', 'true');
      s.setAttribute('focusable', 'false');
      s.setAttribute('class', `tc-svg ${cls || ''}`);
      for (const d of [].concat(pathD)) {
        const p = document.createElementNS(ns, 'path');
        p.setAttribute('d', d);
        s.append(p);
      }
      return s;
    }
    function chatIcon() { return svg('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'); }
    function closeIcon() { return svg('M6 6l12 12M18 6L6 18', 'tc-svg--stroke'); }
    function dotsIcon() { return svg(['M12 5.5a1.5 1.5 0 1 0 0 .01', 'M12 12a1.5 1.5 0 1 0 0 .01', 'M12 18.5a1.5 1.5 0 1 0 0 .01'], 'tc-svg--stroke tc-svg--dots'); }
    function sendIcon() { return svg('M3 20l18-8L3 4l2 8-2 8zm2-8h8', 'tc-svg--stroke'); }
    function paperclipIcon() { return svg('M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7.5', 'tc-svg--stroke'); }
    function plusIcon() { return svg('M12 5v14M5 12h14', 'tc-svg--stroke'); }
    function bellOffIcon() { return svg(['M18 16v-5a6 6 0 0 0-9.5-4.9M6 10v6l-2 2h14', 'M10 21h4', 'M3 3l18 18'], 'tc-svg--stroke'); }
    function fileIcon() { return svg(['M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z', 'M14 3v6h6'], 'tc-svg--stroke'); }

    // ---------------------------------------------------------------- panel & tabs
    function openPanel(opts = {}) {
      if (!state.panelOpen) {
        panel.hidden = false;
        state.panelOpen = true;
        bar.setAttribute('aria-expanded', 'true');
        root.classList.add('tc-root--open');
        storageSet('sessionStorage', 'tenantChat.panel', '1');
      }
      if (opts.focus !== false) focusActive();
      maybeMarkRead(state.openConversationId);
      if (state.activeTab === 'chat') scrollToBottom();
    }
    function closePanel(returnFocus = true) {
      if (!state.panelOpen) return;
      closeMenu(false);
      panel.hidden = true;
      state.panelOpen = false;
      bar.setAttribute('aria-expanded', 'false');
      root.classList.remove('tc-root--open');
      storageSet('sessionStorage', 'tenantChat.panel', null);
      if (returnFocus) bar.focus();
    }
    function focusActive() {
      if (state.activeTab === 'chat' && state.openConversationId && !input.disabled) input.focus();
      else tabButtons[state.activeTab].focus();
    }
    function setTab(name, focus) {
      state.activeTab = name;
      for (const [n] of TABS) {
        const selected = n === name;
        tabButtons[n].setAttribute('aria-selected', String(selected));
        tabButtons[n].tabIndex = selected ? 0 : -1;
        tabPanels[n].hidden = !selected;
      }
      if (name !== 'chat') closeMenu(false);
      if (focus) tabButtons[name].focus();
      if (name === 'chat') {
        scrollToBottom();
        maybeMarkRead(state.openConversationId);
      }
    }

    bar.addEventListener('click', () => (state.panelOpen ? closePanel() : openPanel()));
    if (bar.tagName !== 'BUTTON') {
      bar.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          state.panelOpen ? closePanel() : openPanel();
        }
      });
    }
    closeBtn.addEventListener('click', () => closePanel());
    panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented) {
        e.preventDefault();
        closePanel();
      }
    });
    tablist.addEventListener('click', (e) => {
      const tab = e.target.closest('[role="tab"]');
      if (tab) setTab(tab.dataset.tab, false);
    });
    tablist.addEventListener('keydown', (e) => {
      const order = TABS.map(([n]) => n);
      let i = order.indexOf(state.activeTab);
      if (e.key === 'ArrowRight') i = (i + 1) % order.length;
      else if (e.key === 'ArrowLeft') i = (i - 1 + order.length) % order.length;
      else if (e.key === 'Home') i = 0;
      else if (e.key === 'End') i = order.length - 1;
      else return;
      e.preventDefault();
      setTab(order[i], true);
    });

    // Conversation menu (Archive/Unarchive, Mute/Unmute).
    function openMenu() {
      renderMenu();
      menu.hidden = false;
      menuBtn.setAttribute('aria-expanded', 'true');
      archiveItem.focus();
    }
    function closeMenu(focusButton) {
      if (menu.hidden) return;
      menu.hidden = true;
      menuBtn.setAttribute('aria-expanded', 'false');
      if (focusButton) menuBtn.focus();
    }
    function renderMenu() {
      const conv = convById(state.openConversationId);
      archiveItem.textContent = conv && conv.is_archived ? t('conversation.unarchive') : t('conversation.archive');
      muteItem.textContent = conv && conv.is_muted ? t('conversation.unmute') : t('conversation.mute');
    }
    menuBtn.addEventListener('click', () => (menu.hidden ? openMenu() : closeMenu(true)));
    menu.addEventListener('keydown', (e) => {
      const items = [archiveItem, muteItem];
      const i = items.indexOf(document.activeElement);
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
      } else if (e.key === 'Home' || e.key === 'End') {
        e.preventDefault();
        items[e.key === 'Home' ? 0 : items.length - 1].focus();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        closeMenu(true);
      } else if (e.key === 'Tab') {
        closeMenu(false);
      }
    });
    menu.addEventListener('click', async (e) => {
      const item = e.target.closest('[role="menuitem"]');
      if (!item) return;
      const conv = convById(state.openConversationId);
      closeMenu(true);
      if (!conv) return;
      const action = item.dataset.action === 'archive'
        ? (conv.is_archived ? 'unarchive' : 'archive')
        : (conv.is_muted ? 'unmute' : 'mute');
      try {
        await api('PATCH', convPath(conv.id, `${action}/`), {});
        if (action === 'archive' || action === 'unarchive') conv.is_archived = action === 'archive';
        else conv.is_muted = action === 'mute';
        rebuildConversationList();
        renderAll();
      } catch (err) {
        chatError.show(errorText(err));
      }
    });
    document.addEventListener('click', (e) => {
      if (!menu.hidden && !menu.contains(e.target) && !menuBtn.contains(e.target)) closeMenu(false);
    });

    // ---------------------------------------------------------------- rendering
    function renderAll() {
      renderStatus();
      renderBadge();
      renderConversationList();
      renderUsers();
      renderHeader();
      renderMessages();
      renderTyping();
      renderComposerState();
    }

    function renderStatus() {
      let key;
      let st;
      if (state.signedOut) { key = 'status.signedOut'; st = 'signed-out'; }
      else if (state.socketState === 'open' && socketReady) { key = 'status.online'; st = 'online'; }
      else if (!everConnected && !state.polling) { key = 'status.connecting'; st = 'connecting'; }
      else { key = 'status.reconnecting'; st = 'reconnecting'; }
      bar.dataset.state = st;
      panel.dataset.state = st;
      if (barStatus.textContent !== t(key)) barStatus.textContent = t(key);
      panelStatus.textContent = st === 'online' ? '' : t(key);
      updateBarLabel();
    }
    function totalUnread() {
      let n = 0;
      for (const c of convs.values()) if (!c.is_archived) n += Math.max(0, c.unread_count || 0);
      return n;
    }
    function renderBadge() {
      const n = totalUnread();
      const text = n > 99 ? '99+' : String(n);
      badge.hidden = n === 0;
      if (badge.textContent !== text) badge.textContent = text;
      badge.setAttribute('aria-label', t('badge.unread', { count: n }));
      tabCount.hidden = n === 0;
      tabCount.textContent = text;
      tabCount.setAttribute('aria-label', t('badge.unread', { count: n }));
      updateBarLabel();
      updateDocumentTitle(n);
    }
    function updateBarLabel() {
      const parts = [TITLE || t('widget.title'), barStatus.textContent];
      const n = totalUnread();
      if (n) parts.push(t('badge.unread', { count: n }));
      bar.setAttribute('aria-label', parts.join(' — '));
    }
    const baseTitle = document.title;
    function updateDocumentTitle(n) {
      const wanted = n ? `(${n > 99 ? '99+' : n}) ${baseTitle}` : baseTitle;
      if (baseTitle && document.title !== wanted) document.title = wanted;
    }

    function initials(name) {
      const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
      const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
      return letters.toUpperCase();
    }
    function otherParticipant(conv) {
      if (!conv || conv.is_group) return null;
      return (conv.participants || []).find((p) => String(p.id) !== ME_ID) || null;
    }
    function userOnline(id) {
      const u = state.users.find((x) => String(x.id) === String(id));
      return !!(u && u.is_online);
    }
    function previewText(m) {
      if (!m) return t('conversations.noMessages');
      const text = (m.content || '').replace(/\s+/g, ' ').trim();
      const body = text || ((m.attachments || []).length ? `📎 ${(m.attachments[0] && m.attachments[0].filename) || t('conversations.attachment')}` : '');
      return String(m.sender_id) === ME_ID ? t('conversations.youPrefix') + body : body;
    }

    function sortConversations(list) {
      return list.sort((a, b) => activity(b) - activity(a));
    }
    function activity(c) {
      const iso = (c.last_message && c.last_message.created_at) || c.updated_at || c.created_at;
      const v = Date.parse(iso);
      return Number.isNaN(v) ? 0 : v;
    }
    function rebuildConversationList() {
      state.conversations = sortConversations([...convs.values()].filter((c) => state.showArchived || !c.is_archived));
    }

    function renderConversationList() {
      const focusedId = document.activeElement && conversationList.contains(document.activeElement)
        ? document.activeElement.dataset.id : null;
      const items = state.conversations.map((c) => {
        const other = otherParticipant(c);
        const unread = Math.max(0, c.unread_count || 0);
        const avatar = h('span', { class: 'tc-avatar', 'aria-hidden': 'true', text: initials(c.title) });
        if (other) avatar.append(h('span', { class: `tc-dot ${userOnline(other.id) ? 'tc-dot--online' : ''}` }));
        if (c.is_group) avatar.classList.add('tc-avatar--group');
        const time = c.last_message ? h('time', { class: 'tc-conv-time', datetime: c.last_message.created_at, title: fmtFull.format(new Date(c.last_message.created_at)), text: listTime(c.last_message.created_at) }) : null;
        const btn = h('button', {
          type: 'button', class: 'tc-conv-btn', 'data-id': c.id,
          'aria-current': c.id === state.openConversationId ? 'true' : null,
        },
        avatar,
        h('span', { class: 'tc-conv-main' },
          h('span', { class: 'tc-conv-name-row' },
            h('span', { class: 'tc-conv-name', text: c.title || '' }),
            c.is_muted ? h('span', { class: 'tc-muted-mark', role: 'img', 'aria-label': t('conversation.muted'), title: t('conversation.muted') }, bellOffIcon()) : null,
            c.is_archived ? h('span', { class: 'tc-tag', text: t('conversation.archived') }) : null),
          h('span', { class: 'tc-conv-preview', text: previewText(c.last_message) })),
        h('span', { class: 'tc-conv-side' }, time,
          unread ? h('span', { class: 'tc-unread', 'aria-label': t('conversations.unread', { count: unread }), text: unread > 99 ? '99+' : String(unread) }) : null));
        return h('li', { class: `tc-conv${unread ? ' tc-conv--unread' : ''}${c.id === state.openConversationId ? ' tc-conv--active' : ''}`, 'data-id': c.id }, btn);
      });
      conversationList.replaceChildren(...items);
      conversationsEmpty.hidden = items.length > 0;
      if (focusedId) {
        const again = conversationList.querySelector(`button[data-id="${CSS.escape(focusedId)}"]`);
        if (again) again.focus();
      }
    }
    conversationList.addEventListener('click', (e) => {
      const btn = e.target.closest('button[data-id]');
      if (btn) openConversation(btn.dataset.id);
    });

    function renderUsers() {
      const focusedId = document.activeElement && userList.contains(document.activeElement) ? document.activeElement.dataset.userId : null;
      const others = state.users.filter((u) => String(u.id) !== ME_ID)
        .sort((a, b) => (b.is_online - a.is_online) || String(a.name).localeCompare(String(b.name), LOCALE));
      userList.replaceChildren(...others.map((u) => {
        const statusText = u.is_online ? t('users.online')
          : (u.last_seen ? t('users.lastSeen', { time: `${listTime(u.last_seen)}` }) : t('users.offline'));
        return h('li', { class: 'tc-user', 'data-user-id': u.id },
          h('button', { type: 'button', class: 'tc-user-btn', 'data-user-id': u.id, 'aria-label': `${t('users.start', { name: u.name })} (${u.is_online ? t('users.online') : t('users.offline')})` },
            h('span', { class: 'tc-avatar', 'aria-hidden': 'true', text: initials(u.name) },
              h('span', { class: `tc-dot ${u.is_online ? 'tc-dot--online' : ''}` })),
            h('span', { class: 'tc-conv-main' },
              h('span', { class: 'tc-conv-name', text: u.name }),
              h('span', { class: 'tc-conv-preview', text: u.email })),
            h('span', { class: `tc-presence ${u.is_online ? 'tc-presence--online' : ''}`, text: statusText })));
      }));
      usersEmpty.hidden = others.length > 0;
      if (focusedId) {
        const again = userList.querySelector(`button[data-user-id="${CSS.escape(focusedId)}"]`);
        if (again) again.focus();
      }
      const groups = sortConversations([...convs.values()].filter((c) => c.is_group && !c.is_archived));
      groupList.replaceChildren(...groups.map((c) => h('li', { class: 'tc-user' },
        h('button', { type: 'button', class: 'tc-user-btn', 'data-id': c.id },
          h('span', { class: 'tc-avatar tc-avatar--group', 'aria-hidden': 'true', text: initials(c.title) }),
          h('span', { class: 'tc-conv-main' },
            h('span', { class: 'tc-conv-name', text: c.title }),
            h('span', { class: 'tc-conv-preview', text: (c.participants || []).map((p) => p.name).join(', ') }))))));
      groupsEmpty.hidden = groups.length > 0;
      renderGroupMembers();
    }
    userList.addEventListener('click', async (e) => {
      const btn = e.target.closest('button[data-user-id]');
      if (!btn || btn.disabled) return;
      btn.disabled = true;
      try {
        const conv = await api('POST', '/api/chat/conversations/start/', { participant_id: btn.dataset.userId });
        upsertConversation(conv);
        await openConversation(conv.id);
      } catch (err) {
        usersError.show(errorText(err));
      } finally {
        btn.disabled = false;
      }
    });
    groupList.addEventListener('click', (e) => {
      const btn = e.target.closest('button[data-id]');
      if (btn) openConversation(btn.dataset.id);
    });

    // New group form.
    function renderGroupMembers() {
      const checked = new Set([...groupMembers.querySelectorAll('input:checked')].map((i) => i.value));
      const others = state.users.filter((u) => String(u.id) !== ME_ID)
        .sort((a, b) => String(a.name).localeCompare(String(b.name), LOCALE));
      groupMembers.replaceChildren(...others.map((u) => {
        const id = `tcMember-${u.id}`;
        return h('div', { class: 'tc-member' },
          h('input', { type: 'checkbox', class: 'tc-checkbox', id, value: u.id, checked: checked.has(String(u.id)) }),
          h('label', { for: id }, h('span', { class: `tc-dot tc-dot--inline ${u.is_online ? 'tc-dot--online' : ''}`, 'aria-hidden': 'true' }),
            h('span', { text: u.name })));
      }));
    }
    function toggleGroupForm(show) {
      groupForm.hidden = !show;
      groupToggle.setAttribute('aria-expanded', String(show));
      groupError.hide();
      if (show) {
        renderGroupMembers();
        groupTitle.focus();
      } else {
        groupForm.reset();
        groupToggle.focus();
      }
    }
    groupToggle.addEventListener('click', () => toggleGroupForm(groupForm.hidden));
    groupForm.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        toggleGroupForm(false);
      }
    });
    groupForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const title = groupTitle.value.trim();
      const ids = [...groupMembers.querySelectorAll('input:checked')].map((i) => i.value);
      if (!title) { groupError.show(t('group.needTitle')); groupTitle.focus(); return; }
      if (!ids.length) { groupError.show(t('group.needMembers')); return; }
      const submit = groupForm.querySelector('button[type="submit"]');
      submit.disabled = true;
      try {
        const conv = await api('POST', '/api/chat/conversations/', { title, participant_ids: ids });
        upsertConversation(conv);
        groupForm.reset();
        groupForm.hidden = true;
        groupToggle.setAttribute('aria-expanded', 'false');
        await openConversation(conv.id);
      } catch (err) {
        groupError.show(errorText(err));
      } finally {
        submit.disabled = false;
      }
    });
    archivedToggle.addEventListener('change', async () => {
      state.showArchived = archivedToggle.checked;
      await refreshConversations({ notify: false }).catch((err) => listError.show(errorText(err)));
    });

    function renderHeader() {
      const conv = convById(state.openConversationId);
      convHeader.hidden = !conv;
      noConversation.hidden = !!conv;
      messageContainer.hidden = !conv;
      form.hidden = !conv;
      if (!conv) {
        typingEl.textContent = '';
        return;
      }
      convTitle.textContent = conv.title || '';
      convAvatar.replaceChildren(document.createTextNode(initials(conv.title)));
      convAvatar.classList.toggle('tc-avatar--group', !!conv.is_group);
      mutedMark.hidden = !conv.is_muted;
      const other = otherParticipant(conv);
      if (other) {
        const online = userOnline(other.id);
        convAvatar.append(h('span', { class: `tc-dot ${online ? 'tc-dot--online' : ''}` }));
        convSubtitle.textContent = online ? t('users.online') : t('users.offline');
      } else {
        const names = (conv.participants || []).map((p) => (String(p.id) === ME_ID ? t('message.you') : p.name));
        convSubtitle.textContent = `${t('conversation.members', { count: names.length })} · ${names.join(', ')}`;
      }
      convSubtitle.append(conv.is_archived ? h('span', { class: 'tc-tag', text: t('conversation.archived') }) : '');
      if (!menu.hidden) renderMenu();
    }

    function renderComposerState() {
      const disabled = state.signedOut;
      input.disabled = disabled;
      sendBtn.disabled = disabled;
      attachmentInput.disabled = disabled;
      input.setAttribute('placeholder', disabled ? t('composer.disabled') : t('composer.placeholder'));
    }

    // Messages of the open conversation: keyed reconciliation so that existing elements
    // (and their loaded images) stay while new ones are inserted in seq order.
    function nearBottom() {
      return messageContainer.scrollHeight - messageContainer.scrollTop - messageContainer.clientHeight < 80;
    }
    function scrollToBottom() {
      messageContainer.scrollTop = messageContainer.scrollHeight;
    }
    function messageVersion(m) {
      const atts = (m.attachments || []).map((a) => (a.deleted ? 'x' : 'o')).join('');
      return `${m.status || ''}|${m.updated_at || ''}|${atts}|${m.state || ''}`;
    }
    function renderMessages(opts = {}) {
      const id = state.openConversationId;
      if (!id) {
        messageList.replaceChildren();
        return;
      }
      const s = store(id);
      const conv = convById(id);
      const stick = opts.forceBottom || nearBottom();
      const sorted = [...s.byId.values()].sort((a, b) => a.seq - b.seq);
      const all = sorted.concat([...s.pending.values()]);
      const wanted = [];
      let lastDay = null;
      for (const m of all) {
        const day = dayKey(m.created_at);
        if (day !== lastDay) {
          wanted.push({ key: `d:${day}`, ver: dayHeading(m.created_at), day: m.created_at });
          lastDay = day;
        }
        wanted.push({ key: m.id ? `m:${m.id}` : `p:${m.client_id}`, ver: messageVersion(m), m });
      }
      const old = new Map();
      for (const el of messageList.children) old.set(el.dataset.key, el);
      const keep = new Set();
      let prev = null;
      for (const w of wanted) {
        let el = old.get(w.key);
        if (!el || el.dataset.ver !== w.ver) {
          const fresh = w.m ? renderMessage(w.m, conv) : h('li', { class: 'tc-day', role: 'separator' }, h('span', { text: w.ver }));
          fresh.dataset.key = w.key;
          fresh.dataset.ver = w.ver;
          if (el) el.replaceWith(fresh);
          el = fresh;
        }
        keep.add(w.key);
        const expected = prev ? prev.nextSibling : messageList.firstChild;
        if (el !== expected) messageList.insertBefore(el, expected);
        prev = el;
      }
      for (const [k, el] of old) if (!keep.has(k)) el.remove();
      emptyMessages.hidden = !s.loaded || all.length > 0;
      const hasOlder = s.loaded && s.lowestSeq != null && s.lowestSeq > 1;
      loadOlderBtn.hidden = !hasOlder;
      loadOlderBtn.disabled = s.loadingOlder;
      loadOlderBtn.textContent = s.loadingOlder ? t('messages.loading') : t('messages.loadOlder');
      beginning.hidden = !(s.loaded && all.length > 0 && s.lowestSeq === 1);
      if (stick) scrollToBottom();
    }

    const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
    function textWithLinks(text) {
      const out = [];
      let last = 0;
      for (const match of text.matchAll(URL_RE)) {
        if (match.index > last) out.push(document.createTextNode(text.slice(last, match.index)));
        const href = safeUrl(match[0]);
        out.push(href === '#' ? document.createTextNode(match[0])
          : h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text: match[0] }));
        last = match.index + match[0].length;
      }
      if (last < text.length) out.push(document.createTextNode(text.slice(last)));
      return out;
    }

    function renderAttachment(a) {
      if (!a) return null;
      if (a.deleted) {
        return h('span', { class: 'tc-chip tc-chip--deleted' }, fileIcon(),
          h('s', { class: 'tc-chip-name', text: a.filename || '' }),
          h('span', { class: 'tc-chip-note', text: t('attachment.removed') }));
      }
      if (a.local) {
        return h('span', { class: 'tc-chip tc-chip--local' }, fileIcon(),
          h('span', { class: 'tc-chip-name', text: a.filename }), h('span', { class: 'tc-chip-size', text: formatSize(a.size) }));
      }
      const w = Number(a.width);
      const hh = Number(a.height);
      if (w > 0 && hh > 0 && (a.thumbnail_url || /^image\//.test(a.content_type || ''))) {
        const scale = Math.min(1, 240 / w, 200 / hh);
        const img = h('img', {
          class: 'tc-att-img', src: safeUrl(a.thumbnail_url || a.url), alt: a.filename || '',
          width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(hh * scale)), decoding: 'async',
        });
        return h('a', { class: 'tc-att-image', href: safeUrl(a.url), target: '_blank', rel: 'noopener', title: a.filename || '', 'aria-label': t('attachment.image', { filename: a.filename || '' }) }, img);
      }
      return h('a', { class: 'tc-chip', href: safeUrl(a.url), download: a.filename || '', 'aria-label': t('attachment.download', { filename: a.filename || '' }) },
        fileIcon(), h('span', { class: 'tc-chip-name', text: a.filename || '' }), h('span', { class: 'tc-chip-size', text: formatSize(a.size) }));
    }

    function renderMessage(m, conv) {
      const own = String(m.sender_id) === ME_ID;
      const pending = !m.id;
      const status = pending ? (m.state === 'failed' ? 'failed' : 'pending') : (m.status || 'sent');
      const li = h('li', {
        class: `tc-msg ${own ? 'tc-msg--own' : 'tc-msg--other'}${pending ? ' tc-msg--pending' : ''}${status === 'failed' ? ' tc-msg--failed' : ''}`,
        'data-id': m.id || null, 'data-seq': m.seq || null, 'data-client-id': m.client_id || null,
        'data-status': own ? status : null,
      });
      if (!own && conv && conv.is_group) li.append(h('span', { class: 'tc-msg-sender', text: m.sender_name || '' }));
      const bubble = h('div', { class: 'tc-bubble' });
      if (m.content) bubble.append(h('p', { class: 'tc-msg-text' }, textWithLinks(m.content)));
      const atts = (m.attachments || []).map(renderAttachment).filter(Boolean);
      if (atts.length) bubble.append(h('div', { class: 'tc-attachments' }, atts));
      li.append(bubble);
      const meta = h('div', { class: 'tc-msg-meta' });
      let when = m.created_at ? new Date(m.created_at) : new Date();
      if (Number.isNaN(when.getTime())) when = new Date();
      meta.append(h('time', { datetime: when.toISOString(), title: fmtFull.format(when), text: fmtTime.format(when) }));
      if (own) {
        const label = t(`message.status.${status}`);
        const symbol = { pending: '🕓', failed: '!', sent: '✓', delivered: '✓✓', read: '✓✓' }[status] || '';
        meta.append(h('span', { class: `tc-ticks tc-ticks--${status}`, role: 'img', 'aria-label': label, title: label, text: symbol }));
      }
      if (status === 'failed') {
        meta.append(
          h('button', { type: 'button', class: 'tc-link-btn', 'data-retry': m.client_id, text: t('message.retry') }),
          h('button', { type: 'button', class: 'tc-link-btn', 'data-discard': m.client_id, text: t('message.discard') }));
      }
      li.append(meta);
      return li;
    }

    messageList.addEventListener('click', (e) => {
      const retry = e.target.closest('[data-retry]');
      const discard = e.target.closest('[data-discard]');
      const s = store(state.openConversationId);
      if (retry) {
        const p = s.pending.get(retry.dataset.retry);
        if (p) deliver(p);
      } else if (discard) {
        s.pending.delete(discard.dataset.discard);
        renderMessages();
      }
    });

    function renderTyping() {
      const id = state.openConversationId;
      const now = Date.now();
      const names = [];
      const map = id ? typing.get(id) : null;
      if (map) {
        for (const [uid, v] of map) {
          if (v.until > now) names.push(v.name);
          else map.delete(uid);
        }
      }
      let text = '';
      if (names.length === 1) text = t('typing.one', { name: names[0] });
      else if (names.length === 2) text = t('typing.two', { name: names[0], other: names[1] });
      else if (names.length > 2) text = t('typing.many');
      if (typingEl.textContent !== text) typingEl.textContent = text;
      typingEl.classList.toggle('tc-typing--on', !!text);
    }

    // ---------------------------------------------------------------- data
    function upsertConversation(c) {
      if (!c || !c.id) return null;
      const prev = convs.get(c.id);
      // Keep the newer last message when an older snapshot arrives late.
      if (prev && prev.last_message && c.last_message && prev.last_message.seq > c.last_message.seq) {
        c.last_message = prev.last_message;
      }
      convs.set(c.id, c);
      rebuildConversationList();
      return c;
    }

    function upsertMessage(convId, m) {
      const s = store(convId);
      const prev = s.byId.get(m.id);
      if (prev) {
        const merged = { ...m };
        if ((STATUS_RANK[prev.status] || 0) > (STATUS_RANK[m.status] || 0)) merged.status = prev.status;
        if (messageVersion(merged) === messageVersion(prev)) return false;
        s.byId.set(m.id, merged);
        return false;
      }
      if (String(m.sender_id) === ME_ID) {
        // The socket's echo of our own send may beat the POST's answer: adopt the pending copy.
        const n = (m.attachments || []).length;
        for (const [cid, p] of s.pending) {
          if (p.state !== 'failed' && p.content === (m.content || '') && p.attachments.length === n) {
            s.pending.delete(cid);
            break;
          }
        }
      }
      s.byId.set(m.id, m);
      s.highestSeq = Math.max(s.highestSeq, m.seq);
      s.lowestSeq = s.lowestSeq == null ? m.seq : Math.min(s.lowestSeq, m.seq);
      return true;
    }

    // A message that is new to us (live event, poll or catch-up).
    function noteMessage(m, { live }) {
      const conv = convById(m.conversation);
      if (!conv) {
        refreshSoon();
        return;
      }
      const fromOther = String(m.sender_id) !== ME_ID;
      const newer = !conv.last_message || m.seq > conv.last_message.seq;
      if (newer) {
        conv.last_message = m;
        conv.updated_at = m.created_at;
        if (fromOther) {
          if (conv.is_archived) conv.is_archived = false;
          if (isViewing(conv.id)) maybeMarkRead(conv.id);
          else {
            conv.unread_count = (conv.unread_count || 0) + 1;
            if (live) notify(conv, m);
          }
        }
        rebuildConversationList();
      }
      if (fromOther) {
        const map = typing.get(conv.id);
        if (map) map.delete(String(m.sender_id));
      }
    }

    async function refreshConversations({ notify: doNotify }) {
      const query = state.showArchived ? '?archived=true' : '';
      const list = await api('GET', `/api/chat/conversations/${query}`);
      if (!Array.isArray(list)) return;
      const seen = new Set();
      for (const c of list) {
        seen.add(c.id);
        const prev = convs.get(c.id);
        const prevSeq = prev && prev.last_message ? prev.last_message.seq : 0;
        const m = c.last_message;
        if (doNotify && prev && m && m.seq > prevSeq && String(m.sender_id) !== ME_ID && !isViewing(c.id)) notify(c, m);
        if (isViewing(c.id) && c.unread_count > 0) {
          maybeMarkRead(c.id);
          c.unread_count = 0;
        }
        upsertConversation(c);
        const s = stores.get(c.id);
        if (s && m && m.seq > s.highestSeq && c.id !== state.openConversationId) s.stale = true;
      }
      // Conversations that left the list (archived elsewhere): keep the open one.
      for (const id of [...convs.keys()]) {
        if (!seen.has(id) && id !== state.openConversationId) {
          const c = convs.get(id);
          if (state.showArchived || !c.is_archived) convs.delete(id);
        }
      }
      rebuildConversationList();
      renderConversationList();
      renderUsers();
      renderBadge();
      renderHeader();
    }
    let refreshTimer = null;
    function refreshSoon() {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => refreshConversations({ notify: true }).catch(() => {}), 300);
    }

    async function loadPresence() {
      const list = await api('GET', '/api/chat/conversations/presence/');
      if (!Array.isArray(list)) return;
      state.users = list;
      renderUsers();
      renderConversationList();
      renderHeader();
    }

    async function loadLatest(id) {
      const s = store(id);
      const msgs = await api('GET', convPath(id, 'messages/?limit=50'));
      if (!Array.isArray(msgs)) return;
      if (s.stale || !s.loaded) {
        s.byId.clear();
        s.lowestSeq = null;
        s.highestSeq = 0;
      }
      for (const m of msgs) if (upsertMessage(id, m)) noteMessage(m, { live: false });
      s.loaded = true;
      s.stale = false;
    }

    async function catchUp(id) {
      const s = store(id);
      if (!s.loaded || s.stale) {
        await loadLatest(id);
        return;
      }
      for (let round = 0; round < 20; round++) {
        const msgs = await api('GET', convPath(id, `messages/?after_seq=${s.highestSeq}`));
        if (!Array.isArray(msgs) || !msgs.length) break;
        for (const m of msgs) if (upsertMessage(id, m)) noteMessage(m, { live: true });
        if (msgs.length < 200) break;
      }
    }

    async function loadOlder() {
      const id = state.openConversationId;
      if (!id) return;
      const s = store(id);
      if (s.loadingOlder || !s.loaded || s.lowestSeq == null || s.lowestSeq <= 1) return;
      s.loadingOlder = true;
      renderMessages();
      const before = messageContainer.scrollHeight - messageContainer.scrollTop;
      try {
        const msgs = await api('GET', convPath(id, `messages/?before_seq=${s.lowestSeq}&limit=50`));
        if (state.openConversationId !== id) return;
        for (const m of msgs || []) upsertMessage(id, m);
      } catch (err) {
        chatError.show(errorText(err));
      } finally {
        s.loadingOlder = false;
        if (state.openConversationId === id) {
          renderMessages();
          // Keep the reader's place: the same distance from the bottom as before.
          messageContainer.scrollTop = messageContainer.scrollHeight - before;
        }
      }
    }
    loadOlderBtn.addEventListener('click', () => loadOlder());
    messageContainer.addEventListener('scroll', () => {
      if (messageContainer.scrollTop < 60) loadOlder();
    }, { passive: true });

    let openSeq = 0;
    async function openConversation(id, opts = {}) {
      if (!id) return;
      id = String(id);
      const mine = ++openSeq;
      closeMenu(false);
      const switching = state.openConversationId !== id;
      state.openConversationId = id;
      storageSet('sessionStorage', 'tenantChat.conversation', id);
      if (switching) {
        chatError.hide();
        messageList.replaceChildren();
      }
      setTab('chat', false);
      if (opts.showPanel !== false) openPanel({ focus: false });
      if (!convById(id)) {
        try {
          upsertConversation(await api('GET', convPath(id)));
        } catch (err) {
          chatError.show(errorText(err));
        }
      }
      renderHeader();
      renderConversationList();
      renderMessages({ forceBottom: true });
      renderTyping();
      if (opts.focus !== false && state.panelOpen && !input.disabled) input.focus();
      try {
        await catchUp(id);
      } catch (err) {
        if (mine === openSeq) chatError.show(errorText(err));
      }
      if (mine !== openSeq) return;
      renderMessages({ forceBottom: switching });
      renderConversationList();
      maybeMarkRead(id);
    }

    // Read receipts: when the open conversation is on screen, mark it read.
    const markTimers = new Map();
    function maybeMarkRead(id) {
      if (!id || !isViewing(id)) return;
      const conv = convById(id);
      const s = store(id);
      const top = Math.max(s.highestSeq, conv && conv.last_message ? conv.last_message.seq : 0);
      if (!(conv && conv.unread_count > 0) && top <= s.readSeq) return;
      if (markTimers.has(id)) return;
      markTimers.set(id, setTimeout(async () => {
        markTimers.delete(id);
        if (!isViewing(id)) return;
        const c = convById(id);
        const st = store(id);
        const seq = Math.max(st.highestSeq, c && c.last_message ? c.last_message.seq : 0);
        st.readSeq = Math.max(st.readSeq, seq);
        if (c) c.unread_count = 0;
        renderBadge();
        renderConversationList();
        // REST rather than the socket's `read` frame: it answers, so a refused receipt
        // (e.g. the socket's frame budget) is not lost silently.
        try {
          await api('POST', convPath(id, 'mark_read/'), {});
        } catch (_) { st.readSeq = 0; }
      }, 200));
    }
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') maybeMarkRead(state.openConversationId);
    });

    // ---------------------------------------------------------------- sending
    function addFiles(files) {
      for (const f of files) {
        if (f.size > 10 * 1024 * 1024) {
          chatError.show(t('error.fileTooLarge', { filename: f.name }));
          continue;
        }
        pendingFiles.push(f);
      }
      renderFileChips();
    }
    function renderFileChips() {
      fileChips.replaceChildren(...pendingFiles.map((f, i) => h('li', { class: 'tc-chip tc-chip--local' },
        fileIcon(), h('span', { class: 'tc-chip-name', text: f.name }), h('span', { class: 'tc-chip-size', text: formatSize(f.size) }),
        h('button', { type: 'button', class: 'tc-icon-btn tc-chip-remove', 'data-index': i, 'aria-label': t('composer.removeFile', { filename: f.name }), title: t('composer.removeFile', { filename: f.name }) }, closeIcon()))));
      fileChips.hidden = pendingFiles.length === 0;
    }
    fileChips.addEventListener('click', (e) => {
      const btn = e.target.closest('[data-index]');
      if (!btn) return;
      pendingFiles.splice(Number(btn.dataset.index), 1);
      renderFileChips();
      input.focus();
    });
    attachmentInput.addEventListener('change', () => {
      addFiles([...(attachmentInput.files || [])]);
      try { attachmentInput.value = ''; } catch (_) { /* old browsers */ }
      input.focus();
    });
    input.addEventListener('paste', (e) => {
      const files = e.clipboardData ? [...e.clipboardData.files] : [];
      if (files.length) {
        e.preventDefault();
        addFiles(files);
      }
    });

    function autosize() {
      input.style.height = 'auto';
      input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    }
    let lastTypingSent = 0;
    input.addEventListener('input', () => {
      autosize();
      const id = state.openConversationId;
      if (!id || !input.value.trim()) return;
      const now = Date.now();
      if (now - lastTypingSent < 2000) return;
      lastTypingSent = now;
      if (!(socketReady && sendFrame({ type: 'typing', conversation_id: id }))) {
        api('POST', convPath(id, 'typing/'), {}).catch(() => {});
      }
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        submitMessage();
      }
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submitMessage();
    });

    function submitMessage() {
      const id = state.openConversationId;
      if (!id || state.signedOut) return;
      const content = input.value.trim();
      if (!content && !pendingFiles.length) return;
      if (content.length > 5000) {
        chatError.show(t('error.generic'));
        return;
      }
      const files = pendingFiles;
      pendingFiles = [];
      renderFileChips();
      input.value = '';
      autosize();
      lastTypingSent = 0;
      const p = {
        client_id: uuid(), conversation: id, content, files, sender_id: ME_ID, state: 'pending',
        created_at: new Date().toISOString(),
        attachments: files.map((f) => ({ local: true, filename: f.name, size: f.size })),
      };
      store(id).pending.set(p.client_id, p);
      renderMessages({ forceBottom: true });
      deliver(p);
    }

    async function deliver(p) {
      const id = p.conversation;
      const s = store(id);
      p.state = 'pending';
      chatError.hide();
      if (state.openConversationId === id) renderMessages({ forceBottom: true });
      try {
        let msg;
        const path = convPath(id, 'messages/');
        for (let attempt = 0; ; attempt++) {
          try {
            msg = await postMessage(p, path);
            break;
          } catch (err) {
            // Rate limited: wait as told and retry (the same client_id makes it idempotent).
            const wait = err.status === 429 && err.body ? Number(err.body.retry_after) || 1 : null;
            if (wait == null || wait > 30 || attempt >= 4) throw err;
            await new Promise((r) => setTimeout(r, wait * 1000 + 100));
          }
        }
        s.pending.delete(p.client_id);
        if (msg && msg.id) {
          if (upsertMessage(id, msg)) noteMessage(msg, { live: false });
        }
      } catch (err) {
        p.state = 'failed';
        if (state.openConversationId === id) chatError.show(t('error.send', { message: errorText(err) }));
      }
      if (state.openConversationId === id) renderMessages({ forceBottom: true });
      renderConversationList();
    }
    async function postMessage(p, path) {
      if (!p.files.length) return api('POST', path, { content: p.content, client_id: p.client_id });
      const fd = new FormData();
      fd.append('content', p.content);
      fd.append('client_id', p.client_id);
      for (const f of p.files) fd.append('attachments', f, f.name);
      showProgress(0);
      try {
        return await upload(path, fd, showProgress);
      } finally {
        progress.hidden = true;
      }
    }
    function showProgress(pct) {
      progress.hidden = false;
      progressBar.style.width = `${pct}%`;
      progress.setAttribute('aria-valuenow', String(pct));
      progressText.textContent = t('composer.uploading', { percent: pct });
    }

    // ---------------------------------------------------------------- events
    function handleEvent(ev) {
      if (!ev || typeof ev.type !== 'string') return;
      switch (ev.type) {
        case 'connected':
          onConnected();
          break;
        case 'pong':
          clearTimeout(pongTimer);
          pongTimer = null;
          break;
        case 'message_created': {
          const m = ev.message;
          if (!m || !m.id) return;
          const cid = String(ev.conversation_id || m.conversation);
          const s = stores.get(cid);
          let isNew = true;
          if (s && s.loaded && !s.stale) {
            if (s.byId.has(m.id)) isNew = false;
            else if (m.seq <= s.highestSeq + 1) upsertMessage(cid, m);
            else if (cid === state.openConversationId) catchUp(cid).then(() => renderMessages()).catch(() => {});
            else s.stale = true;
          }
          const conv = convById(cid);
          if (isNew && conv && conv.last_message && conv.last_message.seq >= m.seq) isNew = false;
          if (isNew) noteMessage(m, { live: true });
          // Delivered receipt; the read receipt (when on screen) follows from noteMessage.
          if (String(m.sender_id) !== ME_ID) queueAck(cid, m.seq);
          renderBadge();
          renderConversationList();
          renderUsers();
          if (cid === state.openConversationId) {
            renderMessages({ forceBottom: String(m.sender_id) === ME_ID });
            renderTyping();
          }
          break;
        }
        case 'message_updated': {
          const m = ev.message;
          if (!m || !m.id) return;
          const cid = String(ev.conversation_id || m.conversation);
          const s = stores.get(cid);
          if (s && s.byId.has(m.id)) upsertMessage(cid, m);
          const conv = convById(cid);
          if (conv && conv.last_message && conv.last_message.id === m.id) conv.last_message = m;
          if (cid === state.openConversationId) renderMessages();
          renderConversationList();
          break;
        }
        case 'message_status': {
          const cid = String(ev.conversation_id);
          const rank = STATUS_RANK[ev.status] || 0;
          const s = stores.get(cid);
          if (s) {
            for (const [mid, m] of s.byId) {
              if (String(m.sender_id) === ME_ID && m.seq <= ev.seq && (STATUS_RANK[m.status] || 0) < rank) {
                s.byId.set(mid, { ...m, status: ev.status });
              }
            }
          }
          const conv = convById(cid);
          if (conv && conv.last_message && String(conv.last_message.sender_id) === ME_ID && conv.last_message.seq <= ev.seq
            && (STATUS_RANK[conv.last_message.status] || 0) < rank) {
            conv.last_message = { ...conv.last_message, status: ev.status };
          }
          if (cid === state.openConversationId) renderMessages();
          break;
        }
        case 'read': {
          const cid = String(ev.conversation_id);
          if (String(ev.user_id) === ME_ID) {
            // Read in another tab of ours.
            const conv = convById(cid);
            if (conv && (!conv.last_message || conv.last_message.seq <= ev.seq)) conv.unread_count = 0;
            store(cid).readSeq = Math.max(store(cid).readSeq, ev.seq);
            renderBadge();
            renderConversationList();
          }
          break;
        }
        case 'typing': {
          if (String(ev.user_id) === ME_ID) return;
          const cid = String(ev.conversation_id);
          if (!typing.has(cid)) typing.set(cid, new Map());
          typing.get(cid).set(String(ev.user_id), { name: ev.user_name || '', until: Date.now() + 2500 });
          renderTyping();
          setTimeout(renderTyping, 2600);
          break;
        }
        case 'presence': {
          const u = state.users.find((x) => String(x.id) === String(ev.user_id));
          if (u) {
            u.is_online = !!ev.is_online;
            if (!ev.is_online) u.last_seen = new Date().toISOString();
            renderUsers();
            renderConversationList();
            renderHeader();
          } else {
            loadPresence().catch(() => {});
          }
          break;
        }
        case 'conversation_updated': {
          const c = ev.conversation;
          if (!c || !c.id) return;
          upsertConversation(c);
          renderConversationList();
          renderUsers();
          renderBadge();
          if (c.id === state.openConversationId) renderHeader();
          break;
        }
        case 'error':
          // Answers to our own frames (typing, ack, ping): nothing the user did or can fix.
          if (window.console && console.debug) console.debug('tenantchat socket error', ev.error, ev.message);
          break;
        default:
          break;
      }
    }

    // Delivered receipts, coalesced per conversation (one frame for a burst of messages).
    const acks = new Map();
    let ackTimer = null;
    function queueAck(conversationId, seq) {
      acks.set(conversationId, Math.max(acks.get(conversationId) || 0, seq));
      if (!ackTimer) {
        ackTimer = setTimeout(() => {
          ackTimer = null;
          for (const [cid, top] of acks) sendFrame({ type: 'ack', conversation_id: cid, seq: top });
          acks.clear();
        }, 250);
      }
    }

    // ---------------------------------------------------------------- transport
    let ws = null;
    let socketReady = false; // the server said "connected"
    let everConnected = false;
    let attempts = 0;
    let reconnectTimer = null;
    let pingTimer = null;
    let pongTimer = null;
    let pollTimer = null;
    let presenceTimer = null;
    let pollBusy = false;

    function wsUrl() {
      const u = new URL(`${API_BASE}/ws/chat/`, location.href);
      u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
      return u.href;
    }
    function setSocketState(s) {
      state.socketState = s;
      renderStatus();
    }
    function sendFrame(obj) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      try {
        ws.send(JSON.stringify(obj));
        return true;
      } catch (_) {
        return false;
      }
    }
    function connect() {
      if (state.signedOut) return;
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (ws) return;
      let sock;
      try {
        sock = new WebSocket(wsUrl());
      } catch (_) {
        socketDown(null);
        return;
      }
      ws = sock;
      socketReady = false;
      setSocketState('connecting');
      sock.addEventListener('open', () => {
        if (ws !== sock) return;
        setSocketState('open');
        clearInterval(pingTimer);
        pingTimer = setInterval(ping, 30000);
      });
      sock.addEventListener('message', (e) => {
        if (ws !== sock || typeof e.data !== 'string') return;
        handleEvent(parseJson(e.data));
      });
      sock.addEventListener('close', (e) => {
        if (ws !== sock) return;
        socketDown(e.code);
      });
    }
    function ping() {
      if (!sendFrame({ type: 'ping' })) return;
      clearTimeout(pongTimer);
      // No pong within 10 s: the connection is dead even if the browser has not noticed.
      const sock = ws;
      pongTimer = setTimeout(() => {
        if (ws === sock && sock) {
          try { sock.close(); } catch (_) { /* ignore */ }
          socketDown(1006);
        }
      }, 10000);
    }
    function socketDown(code) {
      ws = null;
      socketReady = false;
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      pingTimer = null;
      pongTimer = null;
      if (code === 4401) {
        signedOut();
        return;
      }
      setSocketState('closed');
      startPolling();
      scheduleReconnect();
    }
    function scheduleReconnect() {
      if (state.signedOut || reconnectTimer) return;
      const delay = Math.min(1000 * 2 ** attempts + Math.random() * 1000, 30000);
      attempts = Math.min(attempts + 1, 10);
      reconnectTimer = setTimeout(() => {
        reconnectTimer = null;
        connect();
      }, delay);
    }
    function onConnected() {
      socketReady = true;
      everConnected = true;
      attempts = 0;
      stopPolling();
      renderStatus();
      // Catch up on what happened while we were away; events of one conversation
      // arrive in seq order from here on, and duplicates are dropped by message id.
      for (const [id, s] of stores) if (id !== state.openConversationId && s.loaded) s.stale = true;
      syncAll();
    }
    async function syncAll() {
      try {
        await refreshConversations({ notify: true });
        const id = state.openConversationId;
        if (id) {
          await catchUp(id);
          if (state.openConversationId === id) renderMessages();
          maybeMarkRead(id);
        }
        renderBadge();
        renderConversationList();
      } catch (_) { /* the next poll or reconnect tries again */ }
      loadPresence().catch(() => {});
    }
    function startPolling() {
      if (state.polling || state.signedOut) return;
      state.polling = true;
      pollTimer = setInterval(pollTick, 5000);
      presenceTimer = setInterval(() => loadPresence().catch(() => {}), 10000);
      renderStatus();
    }
    function stopPolling() {
      state.polling = false;
      clearInterval(pollTimer);
      clearInterval(presenceTimer);
      pollTimer = null;
      presenceTimer = null;
    }
    async function pollTick() {
      if (pollBusy || state.signedOut) return;
      pollBusy = true;
      try {
        await refreshConversations({ notify: true });
        const id = state.openConversationId;
        if (id) {
          const conv = convById(id);
          const s = store(id);
          if (!s.loaded || s.stale || (conv && conv.last_message && conv.last_message.seq > s.highestSeq)) {
            await catchUp(id);
            if (state.openConversationId === id) renderMessages();
          }
          maybeMarkRead(id);
        }
        renderBadge();
        renderConversationList();
      } catch (_) {
        /* offline or server down: keep polling */
      } finally {
        pollBusy = false;
      }
    }
    function signedOut() {
      if (state.signedOut) return;
      state.signedOut = true;
      stopPolling();
      clearTimeout(reconnectTimer);
      reconnectTimer = null;
      if (ws) {
        const sock = ws;
        ws = null;
        try { sock.close(); } catch (_) { /* ignore */ }
      }
      socketReady = false;
      state.socketState = 'closed';
      renderStatus();
      renderComposerState();
      chatError.show(t('error.signedOut'));
      listError.show(t('error.signedOut'));
    }
    window.addEventListener('online', () => {
      if (!ws && !state.signedOut) {
        attempts = 0;
        connect();
      }
    });

    // ---------------------------------------------------------------- notifications
    function notificationsSupported() {
      return 'Notification' in window && typeof Notification === 'function';
    }
    function askNotificationPermission(fromUser) {
      if (!notificationsSupported()) return;
      storageSet('localStorage', 'tenantChat.notifyAsked', '1');
      notifyBanner.hidden = true;
      try {
        const r = Notification.requestPermission();
        if (r && typeof r.then === 'function') {
          r.then((perm) => {
            // Some browsers only prompt after a user gesture: offer a button then.
            if (perm === 'default' && !fromUser) notifyBanner.hidden = false;
          }).catch(() => {});
        }
      } catch (_) { /* very old API */ }
    }
    setTimeout(() => {
      if (!notificationsSupported() || Notification.permission !== 'default') return;
      if (storageGet('localStorage', 'tenantChat.notifyAsked')) return;
      askNotificationPermission(false);
    }, 3000);

    function notify(conv, m) {
      if (!notificationsSupported() || Notification.permission !== 'granted') return;
      if (!conv || conv.is_muted || String(m.sender_id) === ME_ID) return;
      if (isViewing(conv.id) && document.hasFocus()) return;
      const preview = (m.content || '').replace(/\s+/g, ' ').trim().slice(0, 140)
        || ((m.attachments || []).length ? t('notifications.attachment') : '');
      try {
        const n = new Notification(m.sender_name || conv.title || t('widget.title'), {
          body: conv.is_group ? `${conv.title}: ${preview}` : preview,
          tag: `tenantchat-${conv.id}`,
        });
        n.onclick = () => {
          try { window.focus(); } catch (_) { /* ignore */ }
          openConversation(conv.id);
          n.close();
        };
        setTimeout(() => n.close(), 5000);
      } catch (_) { /* e.g. Android Chrome needs a service worker */ }
    }

    // ---------------------------------------------------------------- start
    window.TenantChat = {
      open(conversationId) {
        if (conversationId) return openConversation(String(conversationId));
        openPanel();
        return Promise.resolve();
      },
      close() { closePanel(false); },
      state,
    };

    setTab(state.activeTab, false);
    renderAll();
    const restoreConversation = storageGet('sessionStorage', 'tenantChat.conversation');
    const restorePanel = storageGet('sessionStorage', 'tenantChat.panel') === '1';
    (async () => {
      try {
        await refreshConversations({ notify: false });
      } catch (err) {
        if (!state.signedOut) listError.show(errorText(err));
      }
      loadPresence().catch(() => {});
      if (restoreConversation && convById(restoreConversation) && !state.openConversationId) {
        await openConversation(restoreConversation, { showPanel: restorePanel, focus: false });
      } else if (restorePanel && !state.panelOpen) {
        openPanel({ focus: false });
      }
    })();
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
  else boot();
}());
