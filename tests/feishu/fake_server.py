"""A fake Feishu Open Platform on real HTTP (127.0.0.1), plus encrypted, signed callbacks as Feishu sends them.

The fake refuses what the documented platform refuses, with its codes, so a wrong request cannot pass:
a wrong app secret (10003), a missing, invalid or expired tenant token (99991661 / 99991663, tokens
live 7200 s by ``clock``), malformed JSON or a missing receive_id / msg_type / content, an unknown
receive_id_type or msg_type, content that is not a JSON string (230001), a receive_id outside the
app's availability (230013), over-size content (text 150 KB, cards 30 KB: 230025), cards that are not
JSON 2.0 shared cards or break element rules (230099: ``update_multi`` must be true, ≤200 elements,
element ids ≤20 chars, buttons need text, dropdowns need options), more than 5 messages per second to
one user (230020) or, with ``app_per_second``, more than that many per second from the app (99991400),
a ``uuid`` over 50 chars (230001), PATCH of a message that is not this app's card
(230001), older than 14 days (230031) or more than 5 times per second (230020), resources whose key
is not in that message (234003). The same ``uuid`` within an hour is not delivered twice. Errors can be
queued per path (``fail("im/v1/messages", 230020)``) and every request is recorded.

The callback side encrypts with ``cryptography`` written here from the platform's description (not
with our channel's code), so the channel's decryption is checked against an independent encryptor.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
from collections import defaultdict, deque
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TOKEN_TTL_S = 7200
UUID_TTL_S = 3600
UPDATE_DAYS = 14
TEXT_MAX, CARD_MAX = 150 * 1024, 30 * 1024
MSG_TYPES = {"text", "post", "image", "file", "audio", "media", "sticker", "interactive", "share_chat", "share_user",
             "system"}
ID_TYPES = {"open_id", "union_id", "user_id", "email", "chat_id"}
MSG = {10003: "invalid param", 99991661: "Missing access token", 99991663: "Invalid access token",
       230001: "invalid parameter", 230013: "Bot has NO availability to this user.", 230020: "frequency limit",
       230025: "message content too long", 230031: "message too old to update", 230099: "Failed to create card content",
       234003: "File not in msg.", 99991400: "request trigger frequency limit", 11232: "create message trigger rate limit",
       9499: "Bad Request", 234001: "Invalid request param.", 234006: "The file size exceed the max value.",
       20003: "invalid code", 1040101: "invalid parameter", 20024: "invalid client", 99991677: "user token expired"}
OAUTH_CODE_TTL_S = 300
FILE_TYPES = {"opus", "mp4", "pdf", "doc", "xls", "ppt", "stream"}


def card_problem(card: Any, images: Container[str] = ()) -> bool:
    """True when a card breaks a documented rule of JSON 2.0 cards sent by a bot (→ 230099); an ``img``
    needs the ``img_key`` of an image this app uploaded (``images``)."""
    if not isinstance(card, dict) or card.get("schema") != "2.0":
        return True
    if card.get("config", {}).get("update_multi") is not True:
        return True
    elements = card.get("body", {}).get("elements")
    if not isinstance(elements, list) or not elements:
        return True
    count = 0
    stack = list(elements)
    while stack:
        el = stack.pop()
        count += 1
        if not isinstance(el, dict) or not el.get("tag"):
            return True
        eid = el.get("element_id")
        if eid is not None and (len(str(eid)) > 20 or not str(eid)[:1].isalpha()):
            return True
        tag = el["tag"]
        if tag == "button" and not el.get("text", {}).get("content"):
            return True
        if tag == "select_static" and not el.get("options"):
            return True
        if tag in ("div",) and "text" not in el:
            return True
        if tag == "img" and el.get("img_key") not in images:
            return True
        for col in el.get("columns", []):
            stack.extend(col.get("elements", []))
    return count > 200


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class Message:
    message_id: str
    receive_id: str
    msg_type: str
    content: dict[str, Any]
    sent_at: float
    patches: list[float] = field(default_factory=list)
    reply_to: str | None = None


@dataclass
class FakeFeishu:
    app_id: str = "cli_fake0001"
    app_secret: str = "fake-app-secret-0001"
    clock: Any = time.time  # seconds; tests move it to age tokens and messages
    users: set[str] | None = None  # open_ids in the app's availability; None = everyone
    requests: list[Recorded] = field(default_factory=list)
    messages: dict[str, Message] = field(default_factory=dict)  # message_id → as delivered (and patched)
    shown: list[tuple[str, str]] = field(default_factory=list)  # (event "send"/"patch", message_id) in order
    resources: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    received: dict[str, str] = field(default_factory=dict)  # message_id a person sent the bot → their open_id
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # image_key / file_key → (name, bytes)
    oauth_codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # code → (open_id, issued at)
    _user_tokens: dict[str, str] = field(default_factory=dict)
    recognitions: list[str] = field(default_factory=list)  # scripted speech_to_text answers, one per call
    recognized_s: list[float] = field(default_factory=list)  # seconds of PCM in each accepted call
    _errors: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _tokens: dict[str, float] = field(default_factory=dict)
    _uuids: dict[str, tuple[str, float]] = field(default_factory=dict)
    _per_user: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    app_per_second: int | None = None  # the app-wide send limit (Feishu: 50/s), enforced when set
    app_per_minute: int | None = None  # and its per-minute one (Feishu: 1000/min, the binding one for fan-outs)
    throttled: int = 0  # sends answered 99991400 by those limits
    _app_sent: list[float] = field(default_factory=list)
    _app_minute: deque[float] = field(default_factory=deque)
    _n: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _app_throttled(self, tick: float) -> bool:
        """Feishu's app-wide send limits, a sliding second and a sliding minute; a refused send spends neither."""
        self._app_sent = [t for t in self._app_sent if tick - t < 1.0]
        while self._app_minute and tick - self._app_minute[0] >= 60.0:
            self._app_minute.popleft()
        if (self.app_per_second is not None and len(self._app_sent) >= self.app_per_second) or (
                self.app_per_minute is not None and len(self._app_minute) >= self.app_per_minute):
            return True
        self._app_sent.append(tick)
        self._app_minute.append(tick)
        return False

    # ---- test controls -----------------------------------------------------------------------
    def fail(self, path: str, *codes: int) -> None:
        """Answer the next calls to ``path`` ("im/v1/messages", "im/v1/patch", "token") with these codes."""
        self._errors[path].extend(codes)

    def add_resource(self, message_id: str, key: str, content: bytes, mime: str) -> None:
        self.resources[(message_id, key)] = (content, mime)

    def add_oauth_code(self, code: str, open_id: str) -> None:
        self.oauth_codes[code] = (open_id, self.clock())

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # ---- server --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self.token)
        app.router.add_post("/open-apis/im/v1/messages", self.send)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self.patch)
        app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", self.reply)
        app.router.add_get("/open-apis/im/v1/messages/{message_id}/resources/{key}", self.resource)
        app.router.add_post("/open-apis/im/v1/images", self.upload)
        app.router.add_post("/open-apis/im/v1/files", self.upload)
        app.router.add_post("/open-apis/authen/v2/oauth/token", self.oauth_token)
        app.router.add_post("/open-apis/speech_to_text/v1/speech/file_recognize", self.file_recognize)
        app.router.add_get("/open-apis/authen/v1/user_info", self.user_info)
        return app

    @staticmethod
    def _err(code: int, status: int = 400, headers: dict[str, str] | None = None) -> web.Response:
        return web.json_response({"code": code, "msg": MSG.get(code, "error")}, status=status, headers=headers)

    def _queued(self, path: str) -> web.Response | None:
        if not self._errors.get(path):
            return None
        code = self._errors[path].pop(0)
        if code == 99991400:
            return self._err(code, 429, {"x-ogw-ratelimit-reset": "1"})
        return self._err(code)

    def _auth(self, request: web.Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self._err(99991661, 401)
        born = self._tokens.get(auth.removeprefix("Bearer "))
        if born is None or self.clock() - born >= TOKEN_TTL_S:
            return self._err(99991663, 401)
        return None

    async def _json(self, request: web.Request, path: str) -> tuple[Any, web.Response | None]:
        try:
            body = json.loads(await request.text())
        except ValueError:
            self.requests.append(Recorded(path, dict(request.query), None))
            return None, self._err(9499)
        self.requests.append(Recorded(path, dict(request.query), body))
        if not isinstance(body, dict):
            return None, self._err(9499)
        return body, None

    async def token(self, request: web.Request) -> web.Response:
        body, bad = await self._json(request, "token")
        if bad is not None:
            return bad
        if (r := self._queued("token")) is not None:
            return r
        if body.get("app_id") != self.app_id or body.get("app_secret") != self.app_secret:
            return self._err(10003)
        token = f"t-fake-{next(self._n)}"
        self._tokens[token] = self.clock()
        return web.json_response({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": TOKEN_TTL_S})

    def _content(self, msg_type: str, raw: Any) -> tuple[dict[str, Any] | None, web.Response | None]:
        if not isinstance(raw, str) or not raw:
            return None, self._err(230001)
        if len(raw.encode("utf-8")) > (CARD_MAX if msg_type in ("interactive", "post") else TEXT_MAX):
            return None, self._err(230025)
        try:
            content = json.loads(raw)
        except ValueError:
            return None, self._err(230001)
        if not isinstance(content, dict):
            return None, self._err(230001)
        if msg_type == "text" and not str(content.get("text", "")).strip():
            return None, self._err(230001)
        if msg_type == "interactive" and card_problem(content, self.uploads):
            return None, self._err(230099)
        if msg_type in ("image", "file") and content.get(f"{msg_type}_key") not in self.uploads:
            return None, self._err(230001)
        return content, None

    async def reply(self, request: web.Request) -> web.Response:
        """Into the chat of the message answered (a message someone sent, or one the bot sent)."""
        body, bad = await self._json(request, "im/v1/reply")
        if bad is not None:
            return bad
        if (r := self._auth(request)) is not None:
            return r
        if (r := self._queued("im/v1/reply")) is not None:
            return r
        parent = request.match_info["message_id"]
        chat = self.received.get(parent) or (self.messages[parent].receive_id if parent in self.messages else None)
        if chat is None:
            return self._err(230001)
        return self._deliver("open_id", chat, body, reply_to=parent)

    async def send(self, request: web.Request) -> web.Response:
        body, bad = await self._json(request, "im/v1/messages")
        if bad is not None:
            return bad
        if (r := self._auth(request)) is not None:
            return r
        if (r := self._queued("im/v1/messages")) is not None:
            return r
        return self._deliver(request.query.get("receive_id_type", ""), body.get("receive_id"), body)

    def _deliver(self, id_type: str, receive_id: Any, body: dict[str, Any], reply_to: str | None = None,
                 ) -> web.Response:
        msg_type, uid = body.get("msg_type"), body.get("uuid")
        if id_type not in ID_TYPES or not receive_id or msg_type not in MSG_TYPES:
            return self._err(230001)
        if uid is not None and (not isinstance(uid, str) or len(uid) > 50):
            return self._err(230001)
        content, bad = self._content(str(msg_type), body.get("content"))
        if bad is not None:
            return bad
        assert content is not None
        if self.users is not None and id_type == "open_id" and receive_id not in self.users:
            return self._err(230013)
        now = self.clock()
        if uid and uid in self._uuids and now - self._uuids[uid][1] < UUID_TTL_S:
            return web.json_response({"code": 0, "msg": "success", "data": {"message_id": self._uuids[uid][0]}})
        tick = time.monotonic()  # per-second budgets run on real time; lifetimes on the test's clock
        recent = [t for t in self._per_user[str(receive_id)] if tick - t < 1.0]
        if len(recent) >= 5:
            return self._err(230020)
        if self._app_throttled(tick):  # checked after the per-user limit, which spends no app budget
            self.throttled += 1
            return self._err(99991400, 429, {"x-ogw-ratelimit-reset": "1"})
        self._per_user[str(receive_id)] = [*recent, tick]
        mid = f"om_fake{next(self._n):06d}"
        self.messages[mid] = Message(mid, str(receive_id), str(msg_type), content, now, reply_to=reply_to)
        self.shown.append(("send", mid))
        if uid:
            self._uuids[uid] = (mid, now)
        return web.json_response({"code": 0, "msg": "success", "data": {
            "message_id": mid, "msg_type": msg_type, "create_time": str(int(now * 1000))}})

    async def patch(self, request: web.Request) -> web.Response:
        body, bad = await self._json(request, "im/v1/patch")
        if bad is not None:
            return bad
        if (r := self._auth(request)) is not None:
            return r
        if (r := self._queued("im/v1/patch")) is not None:
            return r
        msg = self.messages.get(request.match_info["message_id"])
        if msg is None or msg.msg_type != "interactive":
            return self._err(230001)
        now = self.clock()
        if now - msg.sent_at > UPDATE_DAYS * 86400:
            return self._err(230031)
        tick = time.monotonic()
        msg.patches = [t for t in msg.patches if tick - t < 1.0]
        if len(msg.patches) >= 5:
            return self._err(230020)
        content, bad = self._content("interactive", body.get("content"))
        if bad is not None:
            return bad
        assert content is not None
        msg.content = content
        msg.patches.append(tick)
        self.shown.append(("patch", msg.message_id))
        return web.json_response({"code": 0, "msg": "success", "data": {}})

    async def resource(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded("resource", dict(request.query), dict(request.match_info)))
        if (r := self._auth(request)) is not None:
            return r
        if request.query.get("type") not in ("image", "file"):
            return self._err(230001)
        item = self.resources.get((request.match_info["message_id"], request.match_info["key"]))
        if item is None:
            return self._err(234003)
        return web.Response(body=item[0], content_type=item[1])

    async def upload(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix("/open-apis/")
        if (r := self._auth(request)) is not None:
            return r
        form = await request.post()
        self.requests.append(Recorded(path, {}, {k: v for k, v in form.items() if isinstance(v, str)}))
        kind = "image" if path.endswith("images") else "file"
        part = form.get(kind)
        if not hasattr(part, "file"):
            return self._err(234001)  # the multipart file part is missing
        content = part.file.read()  # type: ignore[union-attr]
        if not content:
            return self._err(234001)
        if kind == "image" and (form.get("image_type") != "message" or len(content) > 10 * 1024 * 1024):
            return self._err(234001 if form.get("image_type") != "message" else 234006)
        if kind == "file" and (form.get("file_type") not in FILE_TYPES or not form.get("file_name")
                               or len(content) > 30 * 1024 * 1024):
            return self._err(234001)
        key = f"{'img_v2' if kind == 'image' else 'file_v2'}_fake{next(self._n):04d}"
        self.uploads[key] = (str(form.get("file_name") or getattr(part, "filename", "")), content)
        return web.json_response({"code": 0, "msg": "success", "data": {f"{kind}_key": key}})

    async def file_recognize(self, request: web.Request) -> web.Response:
        """≤ 60 s of base64 16 kHz PCM, file_id of 16 [A-Za-z0-9_], format pcm, engine 16k_auto (else 1040101)."""
        body, bad = await self._json(request, "speech_to_text")
        if bad is not None:
            return bad
        if (r := self._auth(request)) is not None:
            return r
        config, speech = body.get("config", {}), body.get("speech", {})
        file_id = str(config.get("file_id", ""))
        try:
            pcm = base64.b64decode(str(speech.get("speech", "")), validate=True)
        except ValueError:
            return self._err(1040101)
        if (len(file_id) != 16 or not all(c.isalnum() or c == "_" for c in file_id)
                or config.get("format") != "pcm" or config.get("engine_type") != "16k_auto"
                or not pcm or len(pcm) > 60 * 32000):
            return self._err(1040101)
        self.recognized_s.append(len(pcm) / 32000)
        text = self.recognitions.pop(0) if self.recognitions else ""
        return web.json_response({"code": 0, "msg": "success", "data": {"recognition_text": text}})

    async def oauth_token(self, request: web.Request) -> web.Response:
        body, bad = await self._json(request, "oauth/token")
        if bad is not None:
            return bad
        if body.get("client_id") != self.app_id or body.get("client_secret") != self.app_secret:
            return self._err(20024)
        if body.get("grant_type") != "authorization_code":
            return self._err(20003)
        found = self.oauth_codes.pop(str(body.get("code")), None)  # single use
        if found is None or self.clock() - found[1] >= OAUTH_CODE_TTL_S:
            return self._err(20003)
        token = f"u-fake-{next(self._n)}"
        self._user_tokens[token] = found[0]
        return web.json_response({"code": 0, "access_token": token, "expires_in": 7200, "token_type": "Bearer"})

    async def user_info(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded("user_info", {}, None))
        open_id = self._user_tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if open_id is None:
            return self._err(99991677, 401)
        return web.json_response({"code": 0, "msg": "success", "data": {"open_id": open_id, "name": "成员"}})


def encrypt(encrypt_key: str, plaintext: str, iv: bytes | None = None) -> str:
    """Feishu's side of the Encrypt Key scheme (AES-256-CBC, key = SHA-256 of the Encrypt Key)."""
    iv = iv or os.urandom(16)
    p = padding.PKCS7(128).padder()
    data = p.update(plaintext.encode()) + p.finalize()
    e = Cipher(algorithms.AES(hashlib.sha256(encrypt_key.encode()).digest()), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + e.update(data) + e.finalize()).decode()


class Callbacks:
    """Event and card-callback POSTs exactly as Feishu sends them: encrypted and signed when an Encrypt Key is set."""

    def __init__(self, app_id: str, verification_token: str, encrypt_key: str | None) -> None:
        self.app_id, self.token, self.key = app_id, verification_token, encrypt_key
        self._n = itertools.count(1)

    def post(self, payload: dict[str, Any], timestamp: int, nonce: str = "nonce-1") -> tuple[dict[str, str], bytes]:
        """(headers, body) of the POST: the body is ``{"encrypt": …}`` and signed, or plain JSON without a key."""
        if not self.key:
            return {"Content-Type": "application/json"}, json.dumps(payload, ensure_ascii=False).encode()
        body = json.dumps({"encrypt": encrypt(self.key, json.dumps(payload, ensure_ascii=False))}).encode()
        sig = hashlib.sha256(f"{timestamp}{nonce}{self.key}".encode() + body).hexdigest()
        return {"Content-Type": "application/json", "X-Lark-Request-Timestamp": str(timestamp),
                "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": sig}, body

    def header(self, event_type: str, created_ms: int) -> dict[str, Any]:
        return {"event_id": hashlib.md5(f"{event_type}{next(self._n)}{created_ms}".encode()).hexdigest(),
                "event_type": event_type, "create_time": str(created_ms), "token": self.token,
                "app_id": self.app_id, "tenant_key": "tk-fake"}

    def message(self, open_id: str, message_type: str, content: dict[str, Any], message_id: str, created: int,
                chat_type: str = "p2p", mentions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"schema": "2.0", "header": self.header("im.message.receive_v1", created * 1000), "event": {
            "sender": {"sender_id": {"open_id": open_id, "union_id": f"on_{open_id}", "user_id": None},
                       "sender_type": "user", "tenant_key": "tk-fake"},
            "message": {"message_id": message_id, "create_time": str(created * 1000), "chat_id": f"oc_{open_id}",
                        "chat_type": chat_type, "message_type": message_type,
                        "content": json.dumps(content, ensure_ascii=False), "mentions": mentions or []}}}

    def press(self, open_id: str, message_id: str, value: dict[str, Any], created: int, *, tag: str = "button",
              option: str | None = None, input_value: str | None = None) -> dict[str, Any]:
        action: dict[str, Any] = {"value": value, "tag": tag, "timezone": "Asia/Shanghai"}
        if option is not None:
            action["option"] = option
        if input_value is not None:
            action["input_value"] = input_value
        return {"schema": "2.0", "header": self.header("card.action.trigger", created * 1_000_000), "event": {
            "operator": {"tenant_key": "tk-fake", "open_id": open_id, "union_id": f"on_{open_id}"},
            "token": f"c-{next(self._n)}", "action": action, "host": "im_message",
            "context": {"open_message_id": message_id, "open_chat_id": f"oc_{open_id}"}}}
