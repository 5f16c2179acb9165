// The composer: a textarea that grows, Enter sends and Shift+Enter breaks the line,
// files by picker or paste (chips to remove them), upload progress, and a disabled
// state once signed out. The draft text lives in the textarea; the files in the store.
// `@` lists the conversation's participants (mention-picker.js); a send names them.

import { membersOf } from '../live.js';
import { conversationOf } from '../store.js';
import { h, icons } from './dom.js';
import { createMentionPicker } from './mention-picker.js';

const MAX_INPUT_PX = 160;
const ACCEPT = 'image/jpeg,image/png,image/gif,image/webp,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.txt,.csv,text/plain,text/csv';

export function createComposerView(ctx) {
  const { t, fmt, pick, existing, composer } = ctx;
  const fileInput = pick('widgetAttachmentInput', () => h('input', { id: 'widgetAttachmentInput', type: 'file', multiple: true }));
  fileInput.classList.add('tc-file-input');
  fileInput.setAttribute('aria-label', t('composer.attach'));
  if (!fileInput.accept) fileInput.accept = ACCEPT;
  const attachLabel = h('label', { class: 'tc-icon-btn tc-attach-btn', for: 'widgetAttachmentInput', title: t('composer.attach') },
    icons.paperclip(), h('span', { class: 'tc-sr-only', text: t('composer.attach') }));
  const input = pick('widgetMessageInput', () => h('textarea', { id: 'widgetMessageInput', rows: '1' }));
  input.classList.add('tc-input');
  input.setAttribute('aria-label', t('composer.label'));
  input.setAttribute('aria-describedby', 'tcComposerHint');
  input.setAttribute('maxlength', '5000');
  const sendBtn = h('button', { type: 'submit', class: 'tc-send', title: t('composer.send') },
    icons.send(), h('span', { class: 'tc-sr-only', text: t('composer.send') }));
  const chips = h('ul', { class: 'tc-file-chips', hidden: true, 'aria-label': t('composer.attach') });
  const progressBar = h('div', { class: 'tc-progress-bar' });
  const progressText = h('span', { class: 'tc-sr-only' });
  const progress = h('div', {
    class: 'tc-progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', hidden: true,
  }, progressBar, progressText);
  const hint = h('p', { class: 'tc-sr-only', id: 'tcComposerHint', text: t('composer.hint') });
  const mentions = createMentionPicker(ctx, input);
  const form = pick('widgetMessageForm', () => h('form', { id: 'widgetMessageForm', novalidate: true }));
  form.classList.add('tc-composer');
  form.setAttribute('aria-label', t('composer.label'));
  if (!existing.widgetMessageForm) {
    form.append(chips, progress, mentions.listbox,
      h('div', { class: 'tc-composer-row' },
        existing.widgetAttachmentInput ? null : fileInput,
        existing.widgetAttachmentInput ? null : attachLabel,
        existing.widgetMessageInput ? null : input,
        sendBtn),
      hint);
  } else {
    form.prepend(chips, progress, mentions.listbox);
    form.append(hint);
  }

  function autosize() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, MAX_INPUT_PX)}px`;
  }
  function submit() {
    if (!composer.submit(input.value, { mentions: mentions.mentions(input.value) })) return;
    input.value = '';
    mentions.reset();
    autosize();
  }

  chips.addEventListener('click', (e) => {
    const btn = e.target.closest('[data-index]');
    if (!btn) return;
    composer.removeFile(Number(btn.dataset.index));
    input.focus();
  });
  fileInput.addEventListener('change', () => {
    composer.addFiles([...(fileInput.files || [])]);
    try { fileInput.value = ''; } catch (_) { /* old browsers */ }
    input.focus();
  });
  input.addEventListener('paste', (e) => {
    const files = e.clipboardData ? [...e.clipboardData.files] : [];
    if (files.length) {
      e.preventDefault();
      composer.addFiles(files);
    }
  });
  input.addEventListener('input', () => {
    autosize();
    mentions.update();
    composer.typed(input.value);
  });
  input.addEventListener('keydown', (e) => {
    if (mentions.handleKey(e)) return;
    // keyCode 229: an IME is composing; Enter there picks a candidate.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });

  let shownFiles = null;
  function render(state) {
    form.hidden = !state.openConversationId || !state.conversations[state.openConversationId];
    const conv = conversationOf(state, state.openConversationId);
    // Both sources: the member list (loaded when the conversation opens, reloaded on member
    // changes) and the conversation's own participants, so neither's gaps hide a name.
    const byId = new Map();
    for (const p of [...(membersOf(state, state.openConversationId) || []), ...((conv && conv.participants) || [])]) {
      if (p && p.name && !byId.has(String(p.id))) byId.set(String(p.id), p);
    }
    mentions.setPeople([...byId.values()], state.me);
    if (state.draftFiles !== shownFiles) {
      shownFiles = state.draftFiles;
      chips.replaceChildren(...state.draftFiles.map((f, i) => h('li', { class: 'tc-chip tc-chip--local' },
        icons.file(), h('span', { class: 'tc-chip-name', text: f.name }), h('span', { class: 'tc-chip-size', text: fmt.size(f.size) }),
        h('button', {
          type: 'button', class: 'tc-icon-btn tc-chip-remove', 'data-index': i,
          'aria-label': t('composer.removeFile', { filename: f.name }), title: t('composer.removeFile', { filename: f.name }),
        }, icons.close()))));
      chips.hidden = state.draftFiles.length === 0;
    }
    const pct = state.uploadPercent;
    progress.hidden = pct == null;
    if (pct != null) {
      progressBar.style.width = `${pct}%`;
      progress.setAttribute('aria-valuenow', String(pct));
      progressText.textContent = t('composer.uploading', { percent: pct });
    }
    const disabled = state.signedOut;
    input.disabled = disabled;
    sendBtn.disabled = disabled;
    fileInput.disabled = disabled;
    input.setAttribute('placeholder', disabled ? t('composer.disabled') : t('composer.placeholder'));
  }

  /** Replaces the text being written (an edit starts with the message's text). */
  function setDraft(text) {
    input.value = text;
    autosize();
  }

  return { form, render, setDraft, focus: () => { if (!input.disabled) input.focus(); } };
}
