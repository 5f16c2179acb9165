// Sending: the draft's files, optimistic pending messages with a client_id (so a retry
// is idempotent), text over the socket while it is live (sending.js), uploads with
// progress, waiting out 429s, and typing signals.

import { excerpt } from './live.js';
import { hasGapBefore, threadOf } from './store.js';
import { conversationPath } from './sync.js';

const MAX_FILE_BYTES = 10 * 1024 * 1024;
const MAX_CONTENT_CHARS = 5000;
const TYPING_EVERY_MS = 2000;
const MAX_RATE_WAIT_S = 30;

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

export function createComposer(app) {
  const { store, api, t } = app;
  const state = () => store.getState();

  function addFiles(files) {
    const fitting = [];
    for (const f of files) {
      if (f.size > MAX_FILE_BYTES) app.controller.showError('chat', t('error.fileTooLarge', { filename: f.name }));
      else fitting.push(f);
    }
    if (fitting.length) store.dispatch({ type: 'draft/filesAdded', files: fitting });
  }

  const removeFile = (index) => store.dispatch({ type: 'draft/fileRemoved', index });

  async function post(p, path) {
    const replyTo = p.reply_to ? p.reply_to.id : undefined;
    const mentions = p.mentions.length ? p.mentions : undefined;
    if (!p.files.length) {
      const body = { content: p.content, client_id: p.client_id, reply_to: replyTo, mentions };
      return app.sending.send({ conversation_id: p.conversation, ...body }, () => api.post(path, body));
    }
    const fd = new FormData();
    fd.append('content', p.content);
    fd.append('client_id', p.client_id);
    if (replyTo) fd.append('reply_to', replyTo);
    for (const userId of p.mentions) fd.append('mentions', userId);
    for (const f of p.files) fd.append('attachments', f, f.name);
    store.dispatch({ type: 'upload/progress', percent: 0 });
    try {
      return await api.upload(path, fd, (percent) => store.dispatch({ type: 'upload/progress', percent }));
    } finally {
      store.dispatch({ type: 'upload/progress', percent: null });
    }
  }

  async function deliver(p) {
    const id = p.conversation;
    store.dispatch({ type: 'send/started', id, clientId: p.client_id });
    app.controller.dismissError('chat');
    app.stickToBottom();
    try {
      let message;
      for (let attempt = 0; ; attempt++) {
        try {
          message = await post(p, conversationPath(id, 'messages/'));
          break;
        } catch (err) {
          // Rate limited: wait as told and retry (the same client_id keeps it idempotent).
          const wait = err.status === 429 && err.body ? Number(err.body.retry_after) || 1 : null;
          if (wait == null || wait > MAX_RATE_WAIT_S || attempt >= 4) throw err;
          await new Promise((r) => setTimeout(r, wait * 1000 + 100));
        }
      }
      app.stickToBottom();
      const gap = Boolean(message && message.id) && hasGapBefore(state(), id, message);
      store.dispatch({ type: 'send/done', id, clientId: p.client_id, message });
      if (gap) app.sync.catchUp(id).catch(() => {});
    } catch (err) {
      store.dispatch({ type: 'send/failed', id, clientId: p.client_id });
      if (state().openConversationId === id) {
        app.controller.showError('chat', t('error.send', { message: app.controller.errorText(err) }));
      }
    }
  }

  /**
   * Queues the draft (`mentions`: the ids it names); returns whether it was taken (the
   * input is cleared then). Sent while reading older history: back to the newest first.
   */
  function submit(text, { mentions = [] } = {}) {
    const s = state();
    const id = s.openConversationId;
    if (!id || s.signedOut) return false;
    if (s.editing && s.editing.conversationId === id) return app.actions.saveEdit(text);
    const content = text.trim();
    const files = s.draftFiles;
    if (!content && !files.length) return false;
    if (content.length > MAX_CONTENT_CHARS) {
      app.controller.showError('chat', t('error.generic'));
      return false;
    }
    lastTypingSent = 0;
    const reply = s.replyTo && s.replyTo.conversationId === id ? s.replyTo.message : null;
    if (threadOf(s, id).newerMissing) app.controller.openConversation(id, { focus: false });
    const p = {
      client_id: uuid(), conversation: id, content, files, sender_id: s.me, state: 'pending', mentions,
      reply_to: reply && { id: reply.id, seq: reply.seq, sender_name: reply.sender_name, excerpt: excerpt(reply.content) },
      created_at: new Date().toISOString(),
      attachments: files.map((f) => ({ local: true, filename: f.name, size: f.size })),
    };
    store.dispatch({ type: 'draft/cleared' });
    if (reply) store.dispatch({ type: 'draft/contextCleared' });
    store.dispatch({ type: 'send/queued', pending: p });
    deliver(p);
    return true;
  }

  function retry(clientId) {
    const id = state().openConversationId;
    const p = threadOf(state(), id).pending.find((x) => x.client_id === clientId);
    if (p) deliver(p);
  }

  const discard = (clientId) => store.dispatch({ type: 'send/discarded', id: state().openConversationId, clientId });

  let lastTypingSent = 0;
  /** The user typed: tell the others, at most every 2 s, by socket or else by REST. */
  function typed(text) {
    const id = state().openConversationId;
    if (!id || !text.trim()) return;
    const now = Date.now();
    if (now - lastTypingSent < TYPING_EVERY_MS) return;
    lastTypingSent = now;
    if (!(app.transport.ready && app.transport.send({ type: 'typing', conversation_id: id }))) {
      api.post(conversationPath(id, 'typing/')).catch(() => {});
    }
  }

  return { addFiles, removeFile, submit, retry, discard, typed };
}
