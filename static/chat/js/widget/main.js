// Wires the widget together: configuration from the page, strings, the store, the API,
// the realtime transport, the controller, and the views. Every change to the store
// schedules ONE render on a microtask, however many actions a gesture or a frame
// dispatched; effects that need the new DOM (focus, scrolling) run right after it.

import { createApi } from '../api.js';
import { createFormatters, createTranslator, loadStrings } from '../i18n.js';
import { createMessageActions } from './actions.js';
import { createComposer } from './compose.js';
import { createController } from './controller.js';
import { createEventHandler } from './events.js';
import { createGroups } from './groups.js';
import { createNotifier } from './notifications.js';
import { createPresenceFollower } from './presence.js';
import { createSearch } from './search.js';
import { createSocketSender } from './sending.js';
import { createSupport } from './support.js';
import { createStore, initialState, reduce, visibleConversations } from './store.js';
import { createSync } from './sync.js';
import { createTransport, socketUrl } from './transport.js';
import { createConversationsView } from './views/conversations.js';
import { createDirectoryView } from './views/directory.js';
import { h } from './views/dom.js';
import { createSearchView } from './views/search.js';
import { createCannedPicker } from './views/canned.js';
import { createShell } from './views/shell.js';
import { createSupportViews } from './views/support.js';
import { createThreadView } from './views/thread.js';
import { createUsersView } from './views/users.js';

const ASSET_BASE = new URL('../../', import.meta.url); // …/static/chat/
const CONTRACT_IDS = ['tenantChatBar', 'tenantChatPanel', 'widgetMessageContainer', 'widgetMessageForm',
  'widgetMessageInput', 'widgetAttachmentInput', 'widgetConversationList', 'widgetUserList', 'widgetNewMessagesBadge'];
const NOTIFY_ASK_AFTER_MS = 3000;

function ensureStylesheet() {
  for (const l of document.querySelectorAll('link[rel="stylesheet"]')) {
    if (/tenant_chat\.css(\?|$)/.test(l.getAttribute('href') || '')) return;
  }
  document.head.append(h('link', { rel: 'stylesheet', href: new URL('css/tenant_chat.css', ASSET_BASE).href }));
}

async function fetchJson(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

async function start() {
  const me = window.CHAT_CURRENT_USER_ID;
  if (!me) return; // not signed in
  const strings = await loadStrings({
    given: window.CHAT_I18N, lang: document.documentElement.lang, baseUrl: new URL('i18n/', ASSET_BASE), fetchJson,
  });
  // Checked after the wait: a second copy (another URL) may have started meanwhile.
  if (window.TenantChat) return;
  const t = createTranslator(strings);
  let locale = 'en';
  try { locale = Intl.getCanonicalLocales(strings.locale || 'en')[0] || 'en'; } catch (_) { /* keep en */ }
  const branding = window.CHAT_BRANDING && typeof window.CHAT_BRANDING === 'object' ? window.CHAT_BRANDING : {};
  const title = typeof branding.title === 'string' && branding.title.trim() ? branding.title.trim() : null;
  const apiBase = String(window.CHAT_API_BASE || '').replace(/\/+$/, '');

  // The app object: every module reaches the others through it (created in order below).
  const app = { t, store: createStore(reduce, initialState(me)) };
  const { store } = app;
  app.api = createApi({ base: apiBase, onUnauthorized: () => app.controller.signedOut() });

  let stick = false;
  let scheduled = false;
  let after = [];
  app.stickToBottom = () => { stick = true; schedule(); };
  app.afterRender = (fn) => { after.push(fn); schedule(); };
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(render);
  }

  app.sync = createSync(app);
  app.notifier = createNotifier(app);
  app.controller = createController(app);
  app.composer = createComposer(app);
  app.groups = createGroups(app);
  app.actions = createMessageActions(app);
  app.search = createSearch(app);
  app.presence = createPresenceFollower(app);
  app.support = createSupport(app);
  app.transport = createTransport({
    url: socketUrl(apiBase, location.href),
    onFrame: createEventHandler(app),
    onSocket: (s) => {
      if (s === 'closed') app.sending.socketDown();
      store.dispatch({ type: `socket/${s === 'open' ? 'opened' : s}` });
    },
    onPolling: (on) => store.dispatch({ type: 'polling/changed', on }),
    onUnauthorized: () => app.controller.signedOut(),
    poll: () => app.sync.poll(),
    pollPresence: () => app.sync.loadPresence(),
  });
  app.sending = createSocketSender({ transport: app.transport });

  ensureStylesheet();
  const existing = Object.fromEntries(CONTRACT_IDS.map((id) => [id, document.getElementById(id)]));
  const ctx = {
    t, fmt: createFormatters(locale), api: app.api, existing, pick: (id, make) => existing[id] || make(),
    controller: app.controller, composer: app.composer, sync: app.sync, notifier: app.notifier,
    groups: app.groups, actions: app.actions, search: app.search, support: app.support,
  };
  const shell = createShell({ ...ctx, title, branding });
  const thread = createThreadView(ctx, shell.tabPanels.chat);
  const conversations = createConversationsView(ctx, shell.tabPanels.conversations);
  const searchView = createSearchView(ctx, shell.tabPanels.conversations);
  const users = createUsersView(ctx, shell.tabPanels.users);
  const directory = createDirectoryView(ctx, shell.tabPanels.users);
  const supportViews = createSupportViews(ctx, shell.tabPanels);
  createCannedPicker(ctx, document.getElementById('widgetMessageForm'), document.getElementById('widgetMessageInput'), store.getState);
  app.views = {
    focusBar: shell.focusBar,
    focusTab: shell.focusTab,
    focusInput: thread.focusInput,
    focusInfo: thread.focusInfo,
    focusActive() {
      const s = store.getState();
      if (s.activeTab === 'chat' && s.openConversationId) thread.focusInput();
      else shell.focusTab(s.activeTab);
    },
  };

  function render() {
    scheduled = false;
    const state = store.getState();
    shell.render(state);
    thread.render(state, { stick });
    conversations.render(state);
    searchView.render(state);
    users.render(state);
    directory.render(state);
    supportViews.render(state);
    stick = false;
    const effects = after;
    after = [];
    for (const fn of effects) fn();
  }

  store.subscribe((state, prev, action) => {
    schedule();
    app.presence.update();
    app.groups.changed(state, prev);
    // A receipt whenever the open conversation is on screen with something new. Not on
    // the receipt's own actions: a refused receipt waits for the next change to retry.
    if (action.type !== 'conversation/read' && action.type !== 'conversation/readFailed') app.sync.markReadIfViewing();
  });
  document.addEventListener('visibilitychange', () => store.dispatch({ type: 'page/visibility', visible: document.visibilityState !== 'hidden' }));
  window.addEventListener('online', () => app.transport.retryNow());

  // For hosts and tests: open a conversation, close the panel, read the state.
  window.TenantChat = {
    open(conversationId) {
      if (conversationId) return app.controller.openConversation(String(conversationId));
      app.controller.openPanel();
      return Promise.resolve();
    },
    close() { app.controller.closePanel({ returnFocus: false }); },
    get state() {
      const s = store.getState();
      return {
        socketState: s.socket, polling: s.polling, openConversationId: s.openConversationId,
        panelOpen: s.panelOpen, activeTab: s.activeTab, signedOut: s.signedOut, conversations: visibleConversations(s),
      };
    },
  };

  store.dispatch({ type: 'page/visibility', visible: document.visibilityState !== 'hidden' });
  schedule();
  app.notifier.askLater(NOTIFY_ASK_AFTER_MS);
  app.groups.loadMe().catch(() => {});
  app.support.probe();
  app.controller.restore();
  app.transport.connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start, { once: true });
else start();
