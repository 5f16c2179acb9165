// Hands the page's widget configuration (a JSON data block rendered by the server) to
// the widget through the globals it reads. A separate file rather than an inline
// script, so pages keep a Content-Security-Policy without 'unsafe-inline'.
(function () {
  'use strict';
  var block = document.getElementById('tenant-chat-config');
  if (!block) return;
  var config = JSON.parse(block.textContent);
  window.CHAT_CURRENT_USER_ID = config.userId;
  window.CHAT_I18N = config.i18n;
  window.CHAT_BRANDING = config.branding;
})();
