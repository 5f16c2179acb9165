import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, socketUrl } from '../../../static/chat/js/widget/transport.js';

test('backoff: 1 s·2^attempt plus up to 1 s of jitter, never over 30 s', () => {
  assert.equal(backoffDelay(0, () => 0), 1000);
  assert.equal(backoffDelay(0, () => 0.999), 1999);
  assert.equal(backoffDelay(3, () => 0.5), 8500);
  assert.equal(backoffDelay(4, () => 0.999), 16999);
  assert.equal(backoffDelay(5, () => 0), 30000);
  assert.equal(backoffDelay(10, () => 0.5), 30000);
  for (let a = 0; a < 12; a++) assert.ok(backoffDelay(a) <= 30000);
});

test('the socket URL follows the page: ws for http, wss for https, with an API base', () => {
  assert.equal(socketUrl('', 'http://chat.test:8000/some/page'), 'ws://chat.test:8000/ws/chat/');
  assert.equal(socketUrl('', 'https://chat.test/'), 'wss://chat.test/ws/chat/');
  assert.equal(socketUrl('https://api.test', 'http://host.test/'), 'wss://api.test/ws/chat/');
  assert.equal(socketUrl('https://api.test', 'http://host.test/', 'tcs_a+b'), 'wss://api.test/ws/chat/?token=tcs_a%2Bb');
});
