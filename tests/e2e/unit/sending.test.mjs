import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocketSender } from '../../../static/chat/js/widget/sending.js';

/** A transport whose frames are recorded, and timers the test fires by hand. */
function setup({ ready = true, accepts = true } = {}) {
  const frames = [];
  const transport = { ready, send: (frame) => { if (accepts) frames.push(frame); return accepts; } };
  const pending = new Map();
  let next = 0;
  const timers = {
    setTimeout: (fn) => { pending.set(++next, fn); return next; },
    clearTimeout: (id) => pending.delete(id),
  };
  const fire = () => { const due = [...pending.values()]; pending.clear(); due.forEach((fn) => fn()); };
  const rest = [];
  const restSend = (answer) => () => { rest.push(answer); return Promise.resolve(answer); };
  const sender = createSocketSender({ transport, timers });
  return { frames, transport, timers: pending, fire, rest, restSend, sender };
}

const message = { conversation_id: 'c1', content: 'hi', client_id: 'k1' };
const stored = { id: 'm1', seq: 1, content: 'hi' };

test('an open socket carries the send and its send_ok answers it; REST is not used', async () => {
  const s = setup();
  const sent = s.sender.send(message, s.restSend({ id: 'from-rest' }));
  assert.deepEqual(s.frames, [{ type: 'send', ...message }]);
  assert.equal(s.sender.answered({ type: 'send_ok', client_id: 'k1', message: stored }), true);
  assert.deepEqual(await sent, stored);
  assert.deepEqual(s.rest, []);
  assert.equal(s.timers.size, 0, 'the answer stopped the fallback timer');
});

test('a send_error rejects like the REST error it stands for', async () => {
  const s = setup();
  const sent = s.sender.send(message, s.restSend(stored));
  s.sender.answered({ type: 'send_error', client_id: 'k1', error: 'rate_limited', message: 'slow down', retry_after: 3 });
  await assert.rejects(sent, (err) => err.status === 429 && err.body.retry_after === 3 && err.message === 'slow down');
  const refused = s.sender.send({ ...message, client_id: 'k2' }, s.restSend(stored));
  s.sender.answered({ type: 'send_error', client_id: 'k2', error: 'not_a_participant', message: 'no' });
  await assert.rejects(refused, (err) => err.status === 403 && err.code === 'not_a_participant');
  assert.deepEqual(s.rest, [], 'a refusal is an answer: not retried over REST');
});

test('no answer in time: the same message goes over REST, and a late answer is dropped', async () => {
  const s = setup();
  const sent = s.sender.send(message, s.restSend(stored));
  s.fire();
  assert.deepEqual(await sent, stored);
  assert.deepEqual(s.rest, [stored]);
  assert.equal(s.sender.answered({ type: 'send_ok', client_id: 'k1', message: stored }), true);
});

test('the socket closing sends what it has not answered over REST at once', async () => {
  const s = setup();
  const first = s.sender.send(message, s.restSend(stored));
  const second = s.sender.send({ ...message, client_id: 'k2' }, s.restSend({ id: 'm2' }));
  s.sender.socketDown();
  assert.deepEqual(await first, stored);
  assert.deepEqual(await second, { id: 'm2' });
  assert.equal(s.timers.size, 0);
});

test('a socket that is not live, or refuses the frame, leaves the send to REST', async () => {
  for (const options of [{ ready: false }, { accepts: false }]) {
    const s = setup(options);
    assert.deepEqual(await s.sender.send(message, s.restSend(stored)), stored);
    assert.deepEqual(s.frames, []);
    assert.deepEqual(s.rest, [stored]);
  }
});

test('other frames are not answers', () => {
  const s = setup();
  assert.equal(s.sender.answered({ type: 'message_created' }), false);
});
