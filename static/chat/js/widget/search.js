// Searching messages: the query goes to GET /api/chat/search/, the answer to the store
// (search/loaded), "load more" follows next_cursor, and a result opens its conversation
// at that message (the history around it is loaded, see sync.loadAround).

const PAGE = 20;

export function createSearch(app) {
  const { store, api } = app;
  const state = () => store.getState();

  async function fetchPage(query, cursor, more) {
    store.dispatch({ type: 'search/started', query, more });
    const params = new URLSearchParams({ q: query, limit: String(PAGE) });
    if (cursor) params.set('cursor', cursor);
    try {
      const page = await api.get(`/api/chat/search/?${params}`);
      store.dispatch({
        type: 'search/loaded', query, more, results: Array.isArray(page && page.results) ? page.results : [], nextCursor: page && page.next_cursor,
      });
    } catch (err) {
      store.dispatch({ type: 'search/failed' });
      app.controller.showError('list', app.controller.errorText(err));
    }
  }

  /** A new search (blank text clears it). */
  function run(text) {
    const query = String(text || '').trim();
    if (!query) { clear(); return; }
    app.controller.dismissError('list');
    fetchPage(query, null, false);
  }

  function more() {
    const { query, nextCursor, loading } = state().search;
    if (query && nextCursor && !loading) fetchPage(query, nextCursor, true);
  }

  const clear = () => store.dispatch({ type: 'search/cleared' });

  /** A result was picked: its conversation, scrolled to the message. */
  function open(result) {
    const m = result && result.message;
    if (!m || !result.conversation) return;
    app.controller.openConversation(result.conversation.id, { at: { id: m.id, seq: m.seq } });
  }

  return { run, more, clear, open };
}
