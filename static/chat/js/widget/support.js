// The support desk's effects: find out whether the user staffs the desk (the canned
// replies answer agents and admins, 403 others), contact support, load the inbox's
// tabs, assign, close and reopen; `support_updated` frames (a desk step, or a requester's
// new message) reload the tab on screen.

export function createSupport(app) {
  const { store, api } = app;
  const state = () => store.getState();
  const fail = (err) => app.controller.showError('inbox', app.controller.errorText(err));

  async function loadInbox(status = state().support.tab) {
    const page = await api.get(`/api/chat/support/inbox/?status=${encodeURIComponent(status)}`);
    store.dispatch({ type: 'support/inbox', status, items: (page && page.results) || [] });
  }

  async function probe() {
    let canned;
    try {
      canned = await api.get('/api/chat/support/canned-replies/');
    } catch (_) {
      return; // not on the desk
    }
    store.dispatch({ type: 'support/staff', staff: true, canned });
    await loadInbox().catch(fail);
  }

  function showTab(status) {
    store.dispatch({ type: 'support/tab', tab: status });
    loadInbox(status).catch(fail);
  }

  /** Opens the user's support conversation, created on first use. */
  async function contact() {
    try {
      const view = await api.post('/api/chat/support/');
      store.dispatch({ type: 'conversation/received', conversation: view.conversation });
      await app.controller.openConversation(view.conversation.id);
    } catch (err) {
      app.controller.showError('list', app.controller.errorText(err));
    }
  }

  async function step(id, action, body) {
    try {
      const view = await api.post(`/api/chat/support/${encodeURIComponent(id)}/${action}/`, body);
      store.dispatch({ type: 'conversation/received', conversation: view.conversation });
      // Taken while viewing it: `open` again leaves the viewers' group (no event twice).
      if (action === 'assign') app.groups.followOpen({ force: true });
      await loadInbox();
    } catch (err) {
      fail(err);
    }
  }

  return {
    probe,
    showTab,
    contact,
    /** Opens a conversation of the inbox (agents read it before they take it). */
    view: (id) => app.controller.openConversation(id),
    assignToMe: (id) => step(id, 'assign', { agent_id: state().me }),
    close: (id) => step(id, 'close'),
    reopen: (id) => step(id, 'reopen'),
    updated() {
      if (state().support.staff) loadInbox().catch(() => {});
    },
  };
}
