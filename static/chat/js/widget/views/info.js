// The group info panel (from the conversation header): the group's name, description and
// visibility (a form for its owners and the tenant's admins), its members with their roles
// and, for those who manage it, adding, removing and role changes; leaving; deleting
// with a confirmation. Only the actions the user may do are shown.

import { canLeave, canManage, isMember, membersOf } from '../live.js';
import { conversationOf } from '../store.js';
import { errorBox, h, icons, setText } from './dom.js';

export function createInfoView(ctx) {
  const { t, fmt, controller, groups } = ctx;
  const backBtn = h('button', { type: 'button', class: 'tc-icon-btn tc-info-back', 'aria-label': t('info.close'), title: t('info.close') }, icons.back());
  const heading = h('h3', { class: 'tc-info-title', id: 'tcGroupInfoTitle', tabindex: '-1', text: t('info.title') });
  const error = errorBox('info', ctx);

  // Settings: a form for managers, plain text for everyone else.
  const nameInput = h('input', { type: 'text', id: 'tcInfoName', class: 'tc-text-input', maxlength: '200', autocomplete: 'off' });
  const descInput = h('textarea', { id: 'tcInfoDescription', class: 'tc-text-input', maxlength: '500', rows: '3' });
  const visSelect = h('select', { id: 'tcInfoVisibility', class: 'tc-text-input' },
    h('option', { value: 'private', text: t('info.visibility.private') }),
    h('option', { value: 'tenant', text: t('info.visibility.tenant') }));
  const settingsForm = h('form', { class: 'tc-info-form', novalidate: true, 'aria-label': t('info.settings') },
    h('label', { class: 'tc-field-label', for: 'tcInfoName', text: t('group.title') }), nameInput,
    h('label', { class: 'tc-field-label', for: 'tcInfoDescription', text: t('info.description') }), descInput,
    h('label', { class: 'tc-field-label', for: 'tcInfoVisibility', text: t('info.visibility') }), visSelect,
    h('div', { class: 'tc-form-actions' }, h('button', { type: 'submit', class: 'tc-btn', text: t('info.save') })));
  const summary = h('div', { class: 'tc-info-summary' });

  const membersHeading = h('h4', { class: 'tc-field-label' });
  const memberList = h('ul', { class: 'tc-info-members', 'aria-labelledby': 'tcInfoMembersHeading' });
  membersHeading.id = 'tcInfoMembersHeading';
  const addToggle = h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', 'aria-expanded': 'false', 'aria-controls': 'tcInfoAdd' },
    icons.plus(), h('span', { text: t('info.addMembers') }));
  const addPicks = h('div', { class: 'tc-member-picks' });
  const addForm = h('form', { id: 'tcInfoAdd', class: 'tc-group-form', hidden: true, novalidate: true },
    h('fieldset', { class: 'tc-fieldset' }, h('legend', { class: 'tc-field-label', text: t('info.addMembers') }), addPicks),
    h('div', { class: 'tc-form-actions' }, h('button', { type: 'submit', class: 'tc-btn', text: t('info.add') })));

  const leaveBtn = h('button', { type: 'button', class: 'tc-btn tc-btn--secondary tc-leave-btn', text: t('info.leave') });
  const deleteBtn = h('button', { type: 'button', class: 'tc-btn tc-btn--danger tc-delete-btn', text: t('info.delete') });
  const confirmBox = h('div', { class: 'tc-confirm', role: 'alertdialog', 'aria-labelledby': 'tcConfirmText', hidden: true },
    h('p', { id: 'tcConfirmText', text: t('info.deleteConfirm') }),
    h('div', { class: 'tc-form-actions' },
      h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', 'data-confirm': 'no', text: t('group.cancel') }),
      h('button', { type: 'button', class: 'tc-btn tc-btn--danger', 'data-confirm': 'yes', text: t('info.deleteYes') })));

  const el = h('section', { id: 'tcGroupInfo', class: 'tc-info', hidden: true, 'aria-labelledby': 'tcGroupInfoTitle' },
    h('div', { class: 'tc-info-header' }, backBtn, heading),
    error.el, summary, settingsForm,
    h('div', { class: 'tc-info-section' }, membersHeading, memberList, addToggle, addForm),
    h('div', { class: 'tc-info-section tc-info-danger' }, leaveBtn, deleteBtn, confirmBox));

  let conv = null; // the conversation shown
  let lastState = null;
  const busy = async (btn, work) => {
    btn.disabled = true;
    try { return await work(); } finally { btn.disabled = false; }
  };

  backBtn.addEventListener('click', () => controller.toggleInfo(false));
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault(); // closes the info panel, not the widget
      controller.toggleInfo(false);
    }
  });
  settingsForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const patch = {};
    if (nameInput.value.trim() !== (conv.title || '')) patch.title = nameInput.value.trim();
    if (descInput.value.trim() !== (conv.description || '')) patch.description = descInput.value.trim();
    if (visSelect.value !== (conv.visibility || 'private')) patch.visibility = visSelect.value;
    if (Object.keys(patch).length) busy(settingsForm.querySelector('button'), () => groups.update(conv.id, patch));
  });
  addToggle.addEventListener('click', () => showAdd(addForm.hidden));
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const ids = [...addPicks.querySelectorAll('input:checked')].map((i) => i.value);
    if (await busy(addForm.querySelector('button'), () => groups.addMembers(conv.id, ids))) showAdd(false);
  });
  memberList.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-member]');
    if (!btn) return;
    const { member, act } = btn.dataset;
    busy(btn, () => (act === 'remove' ? groups.removeMember(conv.id, member) : groups.setRole(conv.id, member, act)));
  });
  leaveBtn.addEventListener('click', () => busy(leaveBtn, () => groups.leave(conv.id)));
  deleteBtn.addEventListener('click', () => {
    confirmBox.hidden = false;
    confirmBox.querySelector('[data-confirm="no"]').focus();
  });
  confirmBox.addEventListener('click', (e) => {
    const btn = e.target.closest('[data-confirm]');
    if (!btn) return;
    confirmBox.hidden = true;
    if (btn.dataset.confirm === 'yes') groups.remove(conv.id);
    else deleteBtn.focus();
  });

  function showAdd(show) {
    addForm.hidden = !show;
    addToggle.setAttribute('aria-expanded', String(show));
    if (show && lastState) renderPicks(lastState);
  }

  function renderPicks(state) {
    const inGroup = new Set((membersOf(state, conv.id) || []).map((p) => String(p.id)));
    const checked = new Set([...addPicks.querySelectorAll('input:checked')].map((i) => i.value));
    const others = state.users.filter((u) => !inGroup.has(String(u.id)) && String(u.id) !== state.me).sort((a, b) => fmt.compare(a.name, b.name));
    addPicks.replaceChildren(...(others.length ? others.map((u) => {
      const id = `tcAdd-${u.id}`;
      return h('div', { class: 'tc-member' },
        h('input', { type: 'checkbox', class: 'tc-checkbox', id, value: u.id, checked: checked.has(String(u.id)) }),
        h('label', { for: id, text: u.name }));
    }) : [h('p', { class: 'tc-empty', text: t('info.noneToAdd') })]));
  }

  function member(state, p, manage) {
    const me = String(p.id) === state.me;
    const name = me ? `${p.name} (${t('message.you')})` : p.name;
    const acts = [];
    if (manage) {
      const other = p.role === 'owner' ? 'member' : 'owner';
      acts.push(h('button', {
        type: 'button', class: 'tc-link-btn', 'data-member': p.id, 'data-act': other,
        'aria-label': t(`info.make.${other}.label`, { name: p.name }), text: t(`info.make.${other}`),
      }));
      if (!me) {
        acts.push(h('button', {
          type: 'button', class: 'tc-link-btn tc-link-btn--danger', 'data-member': p.id, 'data-act': 'remove',
          'aria-label': t('info.remove.label', { name: p.name }), text: t('info.remove'),
        }));
      }
    }
    return h('li', { class: 'tc-info-member', 'data-member-id': p.id },
      h('span', { class: 'tc-conv-main' }, h('span', { class: 'tc-conv-name', text: name }), h('span', { class: 'tc-conv-preview', text: p.email || '' })),
      p.role === 'owner' ? h('span', { class: 'tc-tag tc-tag--owner', text: t('info.owner') }) : null,
      acts.length ? h('span', { class: 'tc-info-acts' }, acts) : null);
  }

  let shown = null; // what the form was last filled from (typing is not overwritten)
  function render(state) {
    lastState = state;
    conv = conversationOf(state, state.openConversationId);
    el.hidden = !state.infoOpen || !conv;
    if (el.hidden) {
      confirmBox.hidden = true;
      if (!addForm.hidden) showAdd(false);
      shown = null;
      return;
    }
    error.render(state);
    const manage = canManage(state, conv);
    settingsForm.hidden = !manage;
    summary.hidden = manage;
    const filled = `${conv.id}|${conv.title}|${conv.description}|${conv.visibility}`;
    if (manage && filled !== shown) {
      nameInput.value = conv.title || '';
      descInput.value = conv.description || '';
      visSelect.value = conv.visibility || 'private';
    }
    shown = filled;
    if (!manage) {
      summary.replaceChildren(
        h('p', { class: 'tc-info-name', text: conv.title || '' }),
        conv.description ? h('p', { class: 'tc-info-desc', text: conv.description }) : null,
        h('p', { class: 'tc-conv-preview', text: t(`info.visibility.${conv.visibility === 'tenant' ? 'tenant' : 'private'}`) }));
    }
    const members = membersOf(state, conv.id) || [];
    setText(membersHeading, t('conversation.members', { count: members.length }));
    memberList.replaceChildren(...members.map((p) => member(state, p, manage)));
    addToggle.hidden = !manage;
    if (!manage && !addForm.hidden) showAdd(false);
    else if (!addForm.hidden) renderPicks(state);
    leaveBtn.hidden = !canLeave(state, conv) || !isMember(conv);
    deleteBtn.hidden = !manage;
    if (!manage) confirmBox.hidden = true;
  }

  return { el, render, focus: () => heading.focus() };
}
