/*!
 * tenantchat widget — a floating chat for every page of a tenant's app.
 *
 * This file is the one <script src> that pages and embedders include; it only loads the
 * widget's ES modules (widget/main.js and what it imports: store, transport, api, i18n,
 * views). Why a loader and no bundle: modules need no build step and stay the code we
 * test, while the embed stays one classic tag. A dynamic import() from a same-origin
 * script is allowed by the pages' strict CSP (script-src 'self', no 'unsafe-inline');
 * document.currentScript (only set for classic scripts) tells where the modules live.
 * Module scripts are fetched in CORS mode, so a page on another origin needs the
 * static files served with Access-Control-Allow-Origin.
 *
 * The page sets
 *   window.CHAT_CURRENT_USER_ID  (required; without it the widget does nothing)
 *   window.CHAT_I18N             ({locale, "<key>": "<text>", …}; else the strings are
 *                                 fetched from static/chat/i18n/<lang>.json)
 *   window.CHAT_BRANDING         (optional {color: "#RRGGBB", title: "…"})
 *   window.CHAT_API_BASE         (optional, default '' = same origin)
 * and may provide any of the widget's elements by id (tenantChatBar, tenantChatPanel,
 * widgetMessageContainer, widgetMessageForm, widgetMessageInput, widgetAttachmentInput,
 * widgetConversationList, widgetUserList, widgetNewMessagesBadge); the rest is created.
 * Hosts and tests get window.TenantChat = {open(id), close(), state}.
 */
(function () {
  'use strict';
  var self = document.currentScript;
  var here = (self && self.src) || new URL('/static/chat/js/tenant_chat.js', location.href).href;
  import(new URL('./widget/main.js', here).href).catch(function (err) {
    if (window.console) console.error('tenantchat widget failed to load', err);
  });
}());
