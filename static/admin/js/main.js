// The admin console's entry: reads the page's configuration (a JSON data block the
// server renders, so no inline script is needed), makes the shared api and i18n
// helpers, and mounts the module of the page's section.
import { createApi } from '../../chat/js/api.js';
import { createFormatters, createTranslator } from '../../chat/js/i18n.js';
import { announce } from './dom.js';

const config = JSON.parse(document.getElementById('admin-config').textContent);
const t = createTranslator(config.i18n);
const root = document.getElementById('admin-root');
const context = {
  root,
  t,
  fmt: createFormatters(config.i18n.locale),
  userId: config.userId,
  attachmentTypes: config.attachmentTypes,
  // A 401 means the (short) admin session ended: sign in again.
  api: createApi({ onUnauthorized: () => location.assign('/login/') }),
  announce,
};

import(`./pages/${root.dataset.section}.js`)
  .then((page) => page.mount(context))
  .catch(() => announce(t('admin.error.load')));
