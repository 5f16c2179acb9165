// Catching up after a gap, without a browser: a burst of live messages that each find a
// gap makes one request at a time for the conversation, never one per message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSync } from '../../../static/chat/js/widget/sync.js';
import { createStore, initialState, reduce, threadOf } from '../../../static/chat/js/widget/store.js';

const message = (seq) => ({ id: `m${seq}`, seq, sender_id: 'u-other', content: `#${seq}`, created_at: new Date(seq * 1000).toISOString() });

test('catch-up is single-flight per conversation, with one more round for those who asked meanwhile', async () => {
  const store = createStore(reduce, initialState('u-me'));
  store.dispatch({ type: 'messages/received', id: 'c1', messages: [message(1)], replace: true });
  store.dispatch({ type: 'thread/loaded', id: 'c1' });
  const server = [1, 2, 3, 4, 5].map(message);
  const requests = [];
  let answer = null;
  const api = {
    get: (path) => new Promise((resolve) => {
      const after = Number(new URL(path, 'http://x').searchParams.get('after_seq'));
      requests.push(after);
      answer = () => resolve(server.filter((m) => m.seq > after));
    }),
  };
  const sync = createSync({ store, api });

  const first = sync.catchUp('c1');
  const burst = [sync.catchUp('c1'), sync.catchUp('c1'), sync.catchUp('c1')];
  await Promise.resolve();
  assert.deepEqual(requests, [1], 'one request while a burst asks');
  answer();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(requests, [1, 5], 'one more round for the burst, from where the first ended');
  answer();
  await Promise.all([first, ...burst]);
  assert.equal(Object.keys(threadOf(store.getState(), 'c1').byId).length, 5, 'every message once');
  assert.equal(requests.length, 2);

  sync.catchUp('c1');
  await Promise.resolve();
  assert.equal(requests.length, 3, 'a later gap starts a new catch-up');
  answer();
});
