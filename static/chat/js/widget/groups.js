// What the user does to a conversation that lives (API v2): its members and watermarks,
// settings, roles, leaving, joining, deleting, the directory of shared conversations, and
// telling the socket which conversation is open (`open`, so a viewer gets its events).
// Each intent calls the API and dispatches what came back; errors go to the info panel's
// or the directory's box. The socket's events keep everyone else's widget in step.

import { conversationOf } from './store.js';
import { conversationPath } from './sync.js';
import { isGroup, isMember } from './live.js';

const DIRECTORY_PATH = '/api/chat/conversations/directory/';

export function createGroups(app) {
  const { store, api } = app;
  const state = () => store.getState();
  const fail = (area) => (err) => { app.controller.showError(area, app.controller.errorText(err)); return false; };

  async function loadMe() {
    const me = await api.get('/api/auth/me/');
    const user = me && me.user ? me.user : me;
    if (user && user.role) store.dispatch({ type: 'me/loaded', role: user.role });
  }

  /** The members with their roles and receipts; groups only (a 1-to-1 has ticks). */
  async function loadMembers(id) {
    const conv = conversationOf(state(), id);
    if (!isGroup(conv)) return;
    try {
      const members = await api.get(conversationPath(id, 'participants/'));
      if (Array.isArray(members)) store.dispatch({ type: 'members/loaded', id, members });
    } catch (_) {
      // No longer visible (its own events say why): hold what we had, so no retry loop.
      store.dispatch({ type: 'members/loaded', id, members: state().members[id] || [] });
    }
  }

  /** After every store change: the socket's `open`, the open group's members, the directory. */
  const loadingMembers = new Set();
  function changed(s, prev) {
    followOpen();
    const id = s.openConversationId;
    // Members (roles, "seen by") load when a group opens, and again after a reconnect,
    // when read events may have been missed.
    const reconnected = s.socketReady && !prev.socketReady;
    if (id && isGroup(conversationOf(s, id)) && (reconnected || !s.members[id]) && !loadingMembers.has(id)) {
      loadingMembers.add(id);
      loadMembers(id).finally(() => loadingMembers.delete(id));
    }
    if (s.activeTab === 'users' && prev.activeTab !== 'users') loadDirectory();
  }

  // The socket follows the open conversation: a shared one we are not in sends its
  // events only to sockets that said `open`. `followed` is what this socket was told.
  let followed;
  function followOpen({ force = false } = {}) {
    const s = state();
    if (!s.socketReady) { followed = undefined; return; }
    const want = s.openConversationId || null;
    if (!force && want === followed) return;
    if (app.transport.send({ type: 'open', conversation_id: want })) followed = want;
  }

  /** A conversation's settings changed here or elsewhere: the answer is the new state. */
  function received(conv) {
    store.dispatch({ type: 'conversation/received', conversation: conv });
    if (conv.id === state().openConversationId) loadMembers(conv.id);
  }

  async function update(id, patch) {
    try {
      received(await api.patch(conversationPath(id), patch));
      return true;
    } catch (err) { return fail('info')(err); }
  }

  async function addMembers(id, userIds) {
    if (!userIds.length) return false;
    try {
      received(await api.post(conversationPath(id, 'participants/'), { user_ids: userIds }));
      return true;
    } catch (err) { return fail('info')(err); }
  }

  async function removeMember(id, userId) {
    try {
      await api.request('DELETE', conversationPath(id, `participants/${encodeURIComponent(userId)}/`));
      await loadMembers(id);
      return true;
    } catch (err) { return fail('info')(err); }
  }

  async function setRole(id, userId, role) {
    try {
      await api.patch(conversationPath(id, `participants/${encodeURIComponent(userId)}/`), { role });
      await loadMembers(id);
      return true;
    } catch (err) { return fail('info')(err); }
  }

  /** Leaving: the conversation goes from the list (a shared one can still be viewed). */
  async function leave(id) {
    try {
      await api.post(conversationPath(id, 'leave/'));
      store.dispatch({ type: 'info/toggled', open: false });
      const conv = await api.get(conversationPath(id)).catch(() => null);
      if (conv) store.dispatch({ type: 'conversation/received', conversation: conv });
      else store.dispatch({ type: 'conversation/deleted', id });
      await app.sync.refreshConversations({ notify: false }).catch(() => {});
      return true;
    } catch (err) { return fail('info')(err); }
  }

  async function join(id) {
    try {
      received(await api.post(conversationPath(id, 'join/')));
      // Now a member: `open` again leaves the viewers' group (no event twice).
      followOpen({ force: true });
      await app.sync.refreshConversations({ notify: false }).catch(() => {});
      return true;
    } catch (err) { return fail('chat')(err); }
  }

  async function remove(id) {
    try {
      await api.request('DELETE', conversationPath(id));
      store.dispatch({ type: 'conversation/deleted', id });
      return true;
    } catch (err) { return fail('info')(err); }
  }

  let directorySeq = 0;
  async function loadDirectory(query = state().directory.query) {
    const mine = ++directorySeq;
    const q = String(query || '').trim().slice(0, 200);
    try {
      const list = await api.get(`${DIRECTORY_PATH}${q ? `?q=${encodeURIComponent(q)}` : ''}`);
      if (mine === directorySeq && Array.isArray(list)) store.dispatch({ type: 'directory/loaded', query: q, list });
    } catch (err) { fail('directory')(err); }
  }

  /** Opens a shared conversation from the directory: as a member, or read-only as a viewer. */
  function view(conv) {
    if (!conversationOf(state(), conv.id) || !isMember(conversationOf(state(), conv.id))) {
      store.dispatch({ type: 'conversation/received', conversation: conv });
    }
    return app.controller.openConversation(conv.id);
  }

  return { changed, loadMe, loadMembers, followOpen, received, update, addMembers, removeMember, setRole, leave, join, remove, loadDirectory, view };
}
