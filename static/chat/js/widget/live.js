// Conversations that live (API v2), the DOM-free part: who may do what in a conversation,
// its members and their read watermarks ("seen by"), the reply/edit drafts, the directory
// of shared conversations, and the reducer cases for them. store.js hands it the actions
// it does not know; everything here is a function of (state, action), like the store.

/** The caller's own tenant role ('read' | 'write' | 'admin'), null until /api/auth/me/ answers. */
export const isAdmin = (state) => state.myRole === 'admin';
const mayWrite = (state) => state.myRole === 'write' || state.myRole === 'admin';

export const isGroup = (conv) => !!conv && (conv.is_group || conv.kind === 'group');
/** In the conversation (a member), not just looking at a shared one. */
export const isMember = (conv) => !!conv && conv.my_role != null;
export const isShared = (conv) => !!conv && conv.visibility === 'tenant';

/** The settings, members and roles of a group: its owners and the tenant's admins. */
export const canManage = (state, conv) => isGroup(conv) && (conv.my_role === 'owner' || isAdmin(state));
export const canLeave = (state, conv) => isGroup(conv) && isMember(conv) && mayWrite(state);
/** A shared conversation the user views without being in it, and may join. */
export const canJoin = (state, conv) => !!conv && !isMember(conv) && isShared(conv) && mayWrite(state);
/** The composer is there: members with write access (read users and viewers read only). */
export const canSend = (state, conv) => isMember(conv) && state.myRole !== 'read';

const isSystem = (m) => m && m.kind === 'system';
const actionable = (m) => !!m && !!m.id && !m.deleted && !isSystem(m);
export const canReply = (state, conv, m) => actionable(m) && canSend(state, conv);
export const canEdit = (state, conv, m) => actionable(m) && canSend(state, conv) && String(m.sender_id) === state.me;
/** Members who may write react to any message (system ones too) that is not deleted. */
export const canReact = (state, conv, m) => !!m && !!m.id && !m.deleted && canSend(state, conv);
export const canDelete = (state, conv, m) => actionable(m) && (isAdmin(state) || (String(m.sender_id) === state.me && canSend(state, conv)));

/** The members we hold for a conversation (from `participants/`), or null before they load. */
export const membersOf = (state, id) => (id && state.members[id]) || null;

/**
 * Who has seen a message of a group: the other members whose read watermark covers it
 * (last_read_seq ≥ its seq), in the order the server lists them.
 */
export function seenBy(state, id, m) {
  const members = membersOf(state, id);
  if (!members || !m || !m.seq) return [];
  return members.filter((p) => String(p.id) !== state.me && String(p.id) !== String(m.sender_id) && (p.last_read_seq || 0) >= m.seq);
}

/** The user's own newest server message in a list (in seq order), the one "seen by" is shown on. */
export function lastOwnMessage(state, items) {
  for (let i = items.length - 1; i >= 0; i--) {
    const m = items[i];
    if (m.id && !isSystem(m) && !m.deleted && String(m.sender_id) === state.me) return m;
  }
  return null;
}

/** A short one-line excerpt of a message, for reply quotes. */
export function excerpt(text, max = 100) {
  const flat = String(text || '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// ------------------------------------------------------------------ system messages

/**
 * The words of a system message in the user's language, from its `metadata` (the
 * server's English `content` only for events this client does not know). `nameOf`
 * resolves a user id to a display name (or null).
 */
export function systemText(t, state, m, nameOf) {
  const md = (m && m.metadata) || {};
  const byMe = String(md.by || m.sender_id) === state.me;
  const by = byMe ? t('message.you') : (m.sender_name || nameOf(md.by) || t('system.someone'));
  const person = (id, fallback) => (String(id) === state.me ? t('message.you') : nameOf(id) || fallback || t('system.someone'));
  // Spanish conjugates for "you": a `.you` form wins when the file has one.
  const say = (key, params) => {
    if (byMe) {
      const own = t(`${key}.you`, params);
      if (own !== `${key}.you`) return own;
    }
    return t(key, params);
  };
  switch (md.event) {
    case 'member_added': {
      const ids = Array.isArray(md.user_ids) ? md.user_ids : [];
      const names = ids.map((id) => person(id)).join(', ');
      const more = Math.max(0, (Number(md.count) || ids.length) - ids.length);
      return more ? say('system.member_added.more', { by, names, count: more }) : say('system.member_added', { by, names });
    }
    case 'member_removed':
      return say('system.member_removed', { by, name: person(md.user_id, md.user_name) });
    case 'member_left':
      return say('system.member_left', { name: person(md.user_id, m.sender_name) });
    case 'member_joined':
      return say('system.member_joined', { name: person(md.user_id, m.sender_name) });
    case 'role_changed': {
      const name = person(md.user_id, md.user_name);
      if (md.succession) return t('system.role_changed.succession', { name });
      return say(md.role === 'owner' ? 'system.role_changed.owner' : 'system.role_changed.member', { by, name });
    }
    case 'title_changed':
      return md.title ? say('system.title_changed', { by, title: md.title }) : say('system.title_removed', { by });
    case 'description_changed':
      return md.description ? say('system.description_changed', { by }) : say('system.description_removed', { by });
    case 'visibility_changed':
      return say(md.visibility === 'tenant' ? 'system.visibility_tenant' : 'system.visibility_private', { by });
    case 'support_assigned': {
      const name = person(md.agent_id, md.agent_name);
      if (md.automatic) return t('system.support_assigned.auto', { name });
      // An agent who takes the conversation: "Alex took it", not "Alex assigned it to Alex".
      if (String(md.agent_id) === String(md.by || m.sender_id)) return say('system.support_taken', { name: by });
      return say('system.support_assigned', { by, name });
    }
    case 'support_closed':
      return say('system.support_closed', { by });
    case 'support_reopened':
      return say('system.support_reopened', { by });
    case 'assistant_failed': {
      // The assistant itself is the sender; an unknown reason gets the general line.
      const key = `system.assistant_failed.${md.reason}`;
      const params = { name: m.sender_name || t('system.someone') };
      const line = t(key, params);
      return line === key ? t('system.assistant_failed', params) : line;
    }
    default:
      return (m && m.content) || '';
  }
}

// ------------------------------------------------------------------ state and reducer

export function initialLiveState() {
  return {
    myRole: null, // the caller's tenant role
    members: {}, // conversation id → [participant with role and watermarks]
    infoOpen: false, // the group info panel of the open conversation
    replyTo: null, // {conversationId, message}: the next send replies to it
    editing: null, // {conversationId, message}: the composer edits it
    directory: { query: '', list: null }, // shared conversations (null: not loaded yet)
  };
}

const put = (obj, key, value) => ({ ...obj, [key]: value });
const without = (obj, key) => {
  if (!obj || !(key in obj)) return obj;
  const { [key]: _gone, ...rest } = obj;
  return rest;
};
const forOther = (draft, id) => draft && draft.conversationId !== id;

/** Returns the next state, or undefined for an action this module does not handle. */
export function reduceLive(state, action) {
  switch (action.type) {
    case 'me/loaded':
      return { ...state, myRole: action.role || null };
    case 'members/loaded':
      return { ...state, members: put(state.members, action.id, action.members) };
    case 'members/read': {
      // Someone's read mark moved forward (a `read` event): their "seen by" grows.
      const members = state.members[action.id];
      if (!members) return state;
      const uid = String(action.userId);
      let changed = false;
      const next = members.map((p) => {
        if (String(p.id) !== uid || (p.last_read_seq || 0) >= action.seq) return p;
        changed = true;
        return { ...p, last_read_seq: action.seq };
      });
      return changed ? { ...state, members: put(state.members, action.id, next) } : state;
    }
    case 'conversation/deleted': {
      const open = state.openConversationId === action.id;
      return {
        ...state,
        conversations: without(state.conversations, action.id),
        threads: without(state.threads, action.id),
        members: without(state.members, action.id),
        openConversationId: open ? null : state.openConversationId,
        infoOpen: open ? false : state.infoOpen,
        replyTo: forOther(state.replyTo, action.id) ? state.replyTo : null,
        editing: forOther(state.editing, action.id) ? state.editing : null,
      };
    }
    case 'info/toggled':
      return { ...state, infoOpen: !!action.open };
    case 'reply/started':
      return { ...state, replyTo: { conversationId: action.id, message: action.message }, editing: null };
    case 'edit/started':
      return { ...state, editing: { conversationId: action.id, message: action.message }, replyTo: null };
    case 'draft/contextCleared':
      return { ...state, replyTo: null, editing: null };
    case 'directory/loaded':
      return { ...state, directory: { query: action.query, list: action.list } };
    default:
      return undefined;
  }
}

/** What the core store's own actions also change here (switching conversations). */
export function afterCoreAction(prev, next, action) {
  if (action.type === 'conversation/opened' && prev.openConversationId !== action.id) {
    return { ...next, infoOpen: false, replyTo: null, editing: null };
  }
  return next;
}
