"""Data for the schemathesis run, made through the API with the standard library only.

Usage: fuzz_fixture.py BASE_URL TENANT EMAIL PEER_EMAIL MEMBER_EMAIL PASSWORD OUT_DIR

Logs in as EMAIL, keeps the session (OUT_DIR/session, OUT_DIR/csrftoken) and creates an
API token (OUT_DIR/token): schemathesis makes one pass with each. Then it seeds a 1-to-1
conversation with PEER_EMAIL holding a message with an attachment, and groups of the
three users (one to manage, others to delete). Without known ids
every `{id}` operation would only ever meet random UUIDs and answer 404, so the fuzzer
would never get past the lookup; schemathesis.toml binds `{id}` to the dictionaries
written here (libFuzzer format, one quoted value a line).

The user dictionary holds the peer only: the admin API refuses (409 `self_lockout`) to
deactivate the caller itself, so its own id would mostly test that refusal. Request bodies
that name other users (`participant_id`, `participant_ids`) draw from a second
dictionary, MEMBER_EMAIL's id: a user the admin operations never see, so the fuzzer's
deactivation of the peer cannot turn every later start or group creation into a 404.
"""

import json
import sys
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path


class Api:
    def __init__(self, base_url):
        self.base_url = base_url
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.headers = {}

    def call(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body).encode() if content_type == "application/json" and body is not None else body
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        with self.opener.open(request) as response:
            return json.load(response)

    def cookie(self, name):
        return next(c.value for c in self.cookies if c.name == name)


def multipart(fields, files):
    """A multipart/form-data body: (content_type, bytes)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, mime) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def write_dictionary(path, values):
    path.write_text("".join(json.dumps(v) + "\n" for v in values))


def main(base_url, tenant, email, peer_email, member_email, password, out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    api = Api(base_url + "/api")
    api.call("POST", "/auth/login/", {"tenant": tenant, "email": email, "password": password})
    api.headers["X-CSRFToken"] = api.cookie("csrftoken")
    token = api.call("POST", "/auth/tokens/", {"name": "schemathesis"})
    # A second token, so that DELETE /auth/tokens/{id}/ has something to revoke that is
    # not the one the fuzzer runs on.
    spare = api.call("POST", "/auth/tokens/", {"name": "spare"})

    people = api.call("GET", "/chat/conversations/presence/")
    peer = next(p for p in people if p["email"] == peer_email)
    member = next(p for p in people if p["email"] == member_email)
    conversation = api.call("POST", "/chat/conversations/start/", {"participant_id": peer["id"]})
    hello = api.call("POST", f"/chat/conversations/{conversation['id']}/messages/", {"content": "hello"})
    content_type, body = multipart({"content": "a file"}, {"attachments": ("notes.txt", b"fuzz notes\n", "text/plain")})
    message = api.call("POST", f"/chat/conversations/{conversation['id']}/messages/", body, content_type)
    # A group for the operations a 1-to-1 conversation refuses (settings, members, join,
    # leave), and groups of their own for DELETE, so that deleting one leaves the others.
    everyone = [peer["id"], member["id"]]
    group = api.call("POST", "/chat/conversations/", {"title": "Fuzz group", "participant_ids": everyone})
    disposable = [
        api.call("POST", "/chat/conversations/", {"title": f"Disposable {n}", "participant_ids": everyone})
        for n in range(2)
    ]

    # The support desk: the member answers as an agent (never deactivated by the fuzzer,
    # whose DELETE /admin/users/{id}/ names the peer), and the fuzzer (an admin, so on the
    # desk) has a support conversation of its own to assign, close and reopen.
    api.call("PATCH", f"/admin/users/{member['id']}/", {"is_agent": True})
    support = api.call("POST", "/chat/support/", {})

    # Integrations: a bot in the fixture's group and a tenant webhook for new messages,
    # both at a port where nothing listens (allowed by WEBHOOK_ALLOWED_HOSTS in run.sh);
    # one more message gives each a pending delivery to list and retry. DELETE gets a bot
    # and a webhook of its own, so that deleting one leaves the others' deliveries.
    hook_url = "http://127.0.0.1:9/hook"
    bot = api.call("POST", "/admin/bots/", {"name": "Fuzz bot", "webhook_url": hook_url})
    spare_bot = api.call("POST", "/admin/bots/", {"name": "Spare bot", "webhook_url": hook_url})
    api.call("POST", f"/chat/conversations/{group['id']}/participants/", {"user_ids": [bot["id"]]})
    webhook = api.call("POST", "/admin/webhooks/", {"url": hook_url, "events": ["message_created"]})
    spare_webhook = api.call("POST", "/admin/webhooks/", {"url": hook_url, "events": ["member_added"]})
    api.call("POST", f"/chat/conversations/{group['id']}/messages/", {"content": "for the hooks"})
    deliveries = [
        d["id"]
        for path in (f"/admin/bots/{bot['id']}/deliveries/", f"/admin/webhooks/{webhook['id']}/deliveries/")
        for d in api.call("GET", path)
    ]

    (out / "token").write_text(token["token"])
    (out / "session").write_text(api.cookie("sessionid"))
    (out / "csrftoken").write_text(api.cookie("csrftoken"))
    write_dictionary(out / "conversations.dict", [conversation["id"]])
    write_dictionary(out / "groups.dict", [group["id"]])
    write_dictionary(out / "disposable.dict", [d["id"] for d in disposable])
    write_dictionary(out / "attachments.dict", [a["id"] for a in message["attachments"]])
    write_dictionary(out / "users.dict", [peer["id"]])
    write_dictionary(out / "members.dict", [member["id"]])
    write_dictionary(out / "tokens.dict", [spare["id"]])
    write_dictionary(out / "support.dict", [support["conversation"]["id"]])
    write_dictionary(out / "messages.dict", [hello["id"], message["id"]])
    write_dictionary(out / "bots.dict", [bot["id"]])
    write_dictionary(out / "spare_bots.dict", [spare_bot["id"]])
    write_dictionary(out / "webhooks.dict", [webhook["id"]])
    write_dictionary(out / "spare_webhooks.dict", [spare_webhook["id"]])
    write_dictionary(out / "deliveries.dict", deliveries)
    print(f"fuzz fixture: conversation {conversation['id']}, {len(message['attachments'])} attachment(s)")


if __name__ == "__main__":
    main(*sys.argv[1:])
