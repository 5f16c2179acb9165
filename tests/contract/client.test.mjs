// The TypeScript client: openapi-fetch typed by the paths that openapi-typescript generated
// from the served document (tsc checks this file against them, see tsconfig.json), used
// the way an API user would: log in, list, start a conversation, send JSON, upload a
// file, read the history back. tests/contract/run.sh sets:
//   TC_OPENAPI     the served document the types were generated from
//   TC_TENANT, TC_USER_EMAIL, TC_PEER_EMAIL, TC_PASSWORD   two users of one tenant
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import createClient from 'openapi-fetch';

/** @typedef {import('tenantchat-api').paths} paths */
/** @typedef {import('openapi-fetch').Client<paths>} ApiClient */

/** @param {string} name */
function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/contract/run.sh)`);
  return value;
}

const doc = JSON.parse(readFileSync(env('TC_OPENAPI'), 'utf8'));
/** @type {string} */
const baseUrl = doc.servers[0].url;
const NOTES = new TextEncoder().encode('contract notes\nsecond line\n');

/**
 * The answer's data after checking its status (the error body is shown when it differs).
 * @template T
 * @param {{ data?: T, error?: unknown, response: Response }} result
 * @param {number[]} statuses
 * @returns {T}
 */
function ok(result, ...statuses) {
  assert.ok(statuses.includes(result.response.status),
    `${result.response.status}: ${JSON.stringify(result.error ?? result.data)}`);
  assert.ok(result.data !== undefined, 'the client read no data from a documented answer');
  return result.data;
}

/** @type {ApiClient} */
let api;

before(async () => {
  // Log in with a cookie session, then make a bearer token through it, as a script would.
  /** @type {ApiClient} */
  const anonymous = createClient({ baseUrl });
  const login = await anonymous.POST('/auth/login/', {
    body: { tenant: env('TC_TENANT'), email: env('TC_USER_EMAIL'), password: env('TC_PASSWORD') },
  });
  assert.equal(ok(login, 200).user.email, env('TC_USER_EMAIL'));
  const cookies = new Map(login.response.headers.getSetCookie().map((header) => {
    const pair = header.split(';')[0];
    const eq = pair.indexOf('=');
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  }));
  const csrf = cookies.get('csrftoken');
  assert.ok(csrf, 'login set no csrftoken cookie');
  const cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');

  /** @type {ApiClient} */
  const session = createClient({ baseUrl, headers: { Cookie: cookie, 'X-CSRFToken': csrf } });
  assert.equal(ok(await session.GET('/auth/me/'), 200).email, env('TC_USER_EMAIL'));
  const created = ok(await session.POST('/auth/tokens/', { body: { name: 'typescript client' } }), 201);
  api = createClient({ baseUrl, headers: { Authorization: `Bearer ${created.token}` } });
});

test('every list a chat user reads parses', async () => {
  assert.ok(Array.isArray(ok(await api.GET('/chat/conversations/'), 200)));
  const tokens = ok(await api.GET('/auth/tokens/'), 200);
  assert.ok(tokens.some((t) => t.name === 'typescript client'));
  const presence = ok(await api.GET('/chat/conversations/presence/'), 200);
  assert.ok(presence.some((p) => p.email === env('TC_PEER_EMAIL')));
});

test('start a conversation, send JSON, upload a file, read the history', async () => {
  const presence = ok(await api.GET('/chat/conversations/presence/'), 200);
  const peer = presence.find((p) => p.email === env('TC_PEER_EMAIL'));
  assert.ok(peer, 'the peer is not in presence');

  const conversation = ok(await api.POST('/chat/conversations/start/', { body: { participant_id: peer.id } }), 201);
  const again = ok(await api.POST('/chat/conversations/start/', { body: { participant_id: peer.id } }), 200);
  assert.equal(again.id, conversation.id);
  const path = { path: { id: conversation.id } };

  const text = ok(await api.POST('/chat/conversations/{id}/messages/', {
    params: path,
    body: { content: 'hello from typescript' },
  }), 201);
  assert.equal(text.content, 'hello from typescript');
  assert.equal(text.seq, 1);

  const upload = ok(await api.POST('/chat/conversations/{id}/messages/', {
    params: path,
    body: { content: 'the notes', attachments: [new File([NOTES], 'notes.txt', { type: 'text/plain' })] },
    bodySerializer(body) {
      // `body` is typed as either of the operation's bodies; only the multipart one has files.
      assert.ok(body && 'attachments' in body, 'the multipart body carries the files');
      const form = new FormData();
      if (body.content !== undefined) form.append('content', body.content);
      for (const file of body.attachments ?? []) form.append('attachments', file);
      return form;
    },
  }), 201);
  assert.equal(upload.seq, 2);
  // An attachment is either a file or the tombstone of one an admin removed.
  assert.deepEqual(upload.attachments.map((a) => ['size' in a ? a.size : 'deleted', a.filename]),
    [[NOTES.length, 'notes.txt']]);

  const history = ok(await api.GET('/chat/conversations/{id}/messages/', { params: path }), 200);
  assert.deepEqual(history.map((m) => [m.seq, m.content]), [[1, 'hello from typescript'], [2, 'the notes']]);

  const file = ok(await api.GET('/chat/attachments/{id}/', {
    params: { path: { id: upload.attachments[0].id } },
    parseAs: 'arrayBuffer',
  }), 200);
  assert.deepEqual(new Uint8Array(file), NOTES);

  const listed = ok(await api.GET('/chat/conversations/'), 200);
  const mine = listed.find((c) => c.id === conversation.id);
  assert.equal(mine?.last_message?.content, 'the notes');
});
