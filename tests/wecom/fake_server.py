"""A fake WeCom API on real HTTP (127.0.0.1), plus signed/encrypted callbacks made with wechatpy.

The fake refuses what the documented platform refuses, with its errcodes, so a wrong request cannot
pass a test: malformed JSON (47001), missing recipients (82001) or msgtype (40008), empty or over-long
content (44004/45002), template cards without card_type or task_id, with more than 6 buttons or 10
options or over-long titles, button texts and fields (40058), duplicate_check_interval outside
1..14400 s (40058), unknown appchat ids (86003), a group robot above 20 messages/min (45009). Time
is injectable (``clock``): tokens expire after 7200 s (42001), response codes are single use and live
72 h (60140), media ids 3 days (40007), OAuth codes 5 minutes and single use (40029). Identical
``enable_duplicate_check`` requests are not delivered twice. Errors can be queued per API path
(``fail("message/send", 45009)``) and every request is recorded.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

AMR = b"#!AMR\n" + bytes(range(64)) * 4
ERRMSG = {40014: "invalid access_token", 42001: "access_token expired", 45009: "api freq out of limit",
          45033: "api concurrent out of limit", 60020: "not allow to access from your ip, hint: [x], from ip: 203.0.113.7",
          60140: "invalid response_code", 81013: "user & party & tag all invalid", 40001: "invalid credential",
          40007: "invalid media_id", -1: "system busy", 47001: "data format error", 82001: "all touser invalid",
          40008: "invalid message type", 44004: "empty content", 45002: "content size out of limit",
          40058: "invalid parameter", 86003: "chatid not exist", 40029: "invalid code"}
TOKEN_TTL_S, CODE_TTL_S, MEDIA_TTL_S, OAUTH_TTL_S = 7200, 72 * 3600, 3 * 86400, 300
MSGTYPES = {"text", "image", "voice", "video", "file", "textcard", "news", "mpnews", "markdown", "miniprogram_notice",
            "template_card"}
ROBOT_PER_MIN = 20


def _bytes(s: object) -> int:
    return len(str(s).encode("utf-8"))


def card_problem(tc: object) -> bool:
    """True when a template_card breaks a documented rule (the API answers 40058)."""
    if not isinstance(tc, dict) or not tc.get("card_type"):
        return True
    interactive = tc["card_type"] in ("button_interaction", "vote_interaction", "multiple_interaction")
    if interactive and not tc.get("task_id"):
        return True
    title = tc.get("main_title", {})
    if len(str(title.get("title", ""))) > 36 or len(str(title.get("desc", ""))) > 44:
        return True
    if len(str(tc.get("sub_title_text", ""))) > 160 or len(tc.get("horizontal_content_list", [])) > 6:
        return True
    if any(len(h.get("keyname", "")) > 5 or len(h.get("value", "")) > 30 for h in tc.get("horizontal_content_list", [])):
        return True
    buttons = tc.get("button_list", [])
    if len(buttons) > 6 or any(len(b.get("text", "")) > 10 or _bytes(b.get("key", "")) > 1024 for b in buttons):
        return True
    options = tc.get("button_selection", {}).get("option_list", [])
    if len(options) > 10 or any(_bytes(o.get("id", "")) > 128 for o in options):
        return True
    if tc["card_type"] == "news_notice" and news_problem(tc):
        return True
    return tc["card_type"] in ("text_notice", "news_notice") and not tc.get("card_action")


def news_problem(tc: dict[str, Any]) -> bool:
    """news_notice: a picture by http(s) URL with width ÷ height in [1.3, 2.25], ≤ 4 vertical rows
    (title ≤ 26, desc ≤ 112 characters), and neither subtitle text nor buttons (not fields of this kind)."""
    image = tc.get("card_image")
    if image is not None:
        ratio = image.get("aspect_ratio", 1.3) if isinstance(image, dict) else None
        if (not isinstance(image, dict) or not str(image.get("url", "")).startswith(("http://", "https://"))
                or not isinstance(ratio, int | float) or not 1.3 <= ratio <= 2.25):
            return True
    rows = tc.get("vertical_content_list", [])
    if len(rows) > 4 or any(not r.get("title") or len(r["title"]) > 26 or len(r.get("desc", "")) > 112 for r in rows):
        return True
    return "sub_title_text" in tc or "button_list" in tc


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeWecom:
    corp_id: str = "wwfakecorp0001"
    secret: str = "fake-secret-abcdefghijklmnop"
    agent_id: int = 1000002
    token_delay_s: float = 0.0
    requests: list[Recorded] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)  # message/send bodies shown to users
    updates: list[dict[str, Any]] = field(default_factory=list)
    recalled: list[str] = field(default_factory=list)
    appchat: list[dict[str, Any]] = field(default_factory=list)
    webhook: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[str, str, bytes]] = field(default_factory=list)
    media: dict[str, tuple[bytes, str, str]] = field(default_factory=dict)
    oauth_codes: dict[str, str] = field(default_factory=dict)
    invalid_users: set[str] = field(default_factory=set)
    _errors: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    _tokens: set[str] = field(default_factory=set)
    _expired: set[str] = field(default_factory=set)
    _codes: set[str] = field(default_factory=set)
    _used_codes: set[str] = field(default_factory=set)
    _seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    _n: itertools.count = field(default_factory=lambda: itertools.count(1))
    clock: Any = time.time  # seconds; tests move it to age tokens, codes and media
    _born: dict[str, float] = field(default_factory=dict)  # token / response code / media id / oauth code → issued at
    _robot_sent: list[float] = field(default_factory=list)
    chats: set[str] = field(default_factory=lambda: {"chat-team-1"})  # appchat ids this app created

    def add_media(self, media_id: str, content: bytes, mime: str, name: str) -> None:
        self.media[media_id] = (content, mime, name)
        self._born[media_id] = self.clock()

    def add_oauth_code(self, code: str, userid: str) -> None:
        self.oauth_codes[code] = userid
        self._born[code] = self.clock()

    def _fresh(self, key: str, ttl: float) -> bool:
        return self.clock() - self._born.get(key, self.clock()) < ttl

    # ---- test controls -----------------------------------------------------------------------
    def fail(self, path: str, *errcodes: int) -> None:
        """Answer the next calls to ``path`` (e.g. "message/send", "gettoken") with these errcodes."""
        self._errors[path].extend(errcodes)

    def expire_tokens(self) -> None:
        self._expired |= self._tokens
        self._tokens.clear()

    def press_code(self) -> str:
        """A ResponseCode as WeCom puts into a template_card_event callback."""
        code = f"rc-press-{next(self._n)}"
        self._codes.add(code)
        self._born[code] = self.clock()
        return code

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # ---- server --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_get("/cgi-bin/media/get", self.media_get)
        app.router.add_get("/cgi-bin/auth/getuserinfo", self.getuserinfo)
        app.router.add_post("/cgi-bin/media/upload", self.media_upload)
        app.router.add_post("/cgi-bin/webhook/send", self.webhook_send)
        for path in ("message/send", "message/update_template_card", "message/recall", "appchat/send"):
            app.router.add_post(f"/cgi-bin/{path}", self.json_api)
        return app

    @staticmethod
    def _err(code: int) -> web.Response:
        return web.json_response({"errcode": code, "errmsg": ERRMSG.get(code, "error")})

    def _queued(self, path: str) -> web.Response | None:
        return self._err(self._errors[path].pop(0)) if self._errors.get(path) else None

    def _auth(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token in self._tokens and not self._fresh(token, TOKEN_TTL_S):
            self._tokens.discard(token)
            self._expired.add(token)
        if token in self._tokens:
            return None
        return self._err(42001 if token in self._expired else 40014)

    async def gettoken(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded("gettoken", dict(request.query), None))
        if self.token_delay_s:
            import asyncio

            await asyncio.sleep(self.token_delay_s)
        if (r := self._queued("gettoken")) is not None:
            return r
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.secret:
            return self._err(40001)
        token = f"tok-{next(self._n)}-{int(time.time())}"
        self._tokens.add(token)
        self._born[token] = self.clock()
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    async def json_api(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix("/cgi-bin/")
        try:
            body = json.loads(await request.text())
        except ValueError:
            self.requests.append(Recorded(path, dict(request.query), None))
            return self._err(47001)
        self.requests.append(Recorded(path, dict(request.query), body))
        if (r := self._queued(path)) is not None:
            return r
        if (r := self._auth(request)) is not None:
            return r
        if path == "message/send":
            return self._send(body)
        if path == "message/update_template_card":
            code = body.get("response_code")
            if code not in self._codes or code in self._used_codes or not self._fresh(code, CODE_TTL_S):
                return self._err(60140)
            if card_problem({"task_id": "-", **body.get("template_card", {})}):
                return self._err(40058)
            self._used_codes.add(code)
            self.updates.append(body)
            return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})
        if path == "message/recall":
            self.recalled.append(body["msgid"])
        elif path == "appchat/send":
            if body.get("chatid") not in self.chats:
                return self._err(86003)
            if (r := self._content_problem(body)) is not None:
                return r
            self.appchat.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _content_problem(self, body: dict[str, Any], markdown_max: int = 2048) -> web.Response | None:
        kind = body.get("msgtype")
        if kind not in MSGTYPES:
            return self._err(40008)
        if kind in ("text", "markdown"):
            content = body.get(kind, {}).get("content", "")
            if not content:
                return self._err(44004)
            if _bytes(content) > (markdown_max if kind == "markdown" else 2048):
                return self._err(45002)
        if kind == "template_card" and card_problem(body.get("template_card")):
            return self._err(40058)
        return None

    def _send(self, body: dict[str, Any]) -> web.Response:
        if not (body.get("touser") or body.get("toparty") or body.get("totag")):
            return self._err(82001)
        if (r := self._content_problem(body)) is not None:
            return r
        interval = body.get("duplicate_check_interval", 1800)
        if not isinstance(interval, int) or not 0 < interval <= 14400:
            return self._err(40058)
        if body.get("agentid") != self.agent_id:
            return self._err(40056)
        if body.get("touser") in self.invalid_users:
            return self._err(81013)
        key = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        if body.get("enable_duplicate_check") and key in self._seen:
            return web.json_response(self._seen[key])  # identical request inside the window: not delivered again
        n = next(self._n)
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"msg-{n}"}
        card = body.get("template_card") or {}
        if card.get("card_type") in ("button_interaction", "vote_interaction", "multiple_interaction"):
            answer["response_code"] = f"rc-send-{n}"
            self._codes.add(answer["response_code"])
            self._born[answer["response_code"]] = self.clock()
        self.delivered.append(body)
        self._seen[key] = answer
        return web.json_response(answer)

    async def media_get(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded("media/get", dict(request.query), None))
        if (r := self._queued("media/get")) is not None:
            return r
        if (r := self._auth(request)) is not None:
            return r
        media_id = request.query.get("media_id", "")
        item = self.media.get(media_id)
        if item is None or not self._fresh(media_id, MEDIA_TTL_S):
            return self._err(40007)
        content, ctype, name = item
        return web.Response(body=content, content_type=ctype,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def media_upload(self, request: web.Request) -> web.Response:
        if (r := self._auth(request)) is not None:
            return r
        form = await request.post()
        part = form["media"]
        content = part.file.read()  # type: ignore[union-attr]
        self.requests.append(Recorded("media/upload", dict(request.query), {"filename": part.filename}))  # type: ignore[union-attr]
        media_id = f"media-{next(self._n)}"
        self._born[media_id] = self.clock()
        self.uploads.append((request.query.get("type", ""), part.filename, content))  # type: ignore[union-attr]
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": request.query.get("type"),
                                  "media_id": media_id, "created_at": str(int(time.time()))})

    async def getuserinfo(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded("auth/getuserinfo", dict(request.query), None))
        if (r := self._auth(request)) is not None:
            return r
        code = request.query.get("code", "")
        userid = self.oauth_codes.pop(code, None)  # single use
        if userid is None or not self._fresh(code, OAUTH_TTL_S):
            return self._err(40029)
        return web.json_response({"errcode": 0, "errmsg": "ok", "userid": userid})

    async def webhook_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(Recorded("webhook/send", dict(request.query), body))
        if (r := self._queued("webhook/send")) is not None:
            return r
        now = self.clock()
        self._robot_sent = [t for t in self._robot_sent if now - t < 60]
        if len(self._robot_sent) >= ROBOT_PER_MIN:
            return self._err(45009)
        if (r := self._content_problem(body, markdown_max=4096)) is not None:  # the robot allows 4096 B markdown
            return r
        self._robot_sent.append(now)
        self.webhook.append({"key": request.query.get("key"), **body})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


class Callbacks:
    """Signed, encrypted callbacks exactly as WeCom sends them, produced with wechatpy."""

    def __init__(self, token: str, aes_key: str, corp_id: str, agent_id: int) -> None:
        self.token, self.corp_id, self.agent_id = token, corp_id, agent_id
        self.crypto = WeChatCrypto(token, aes_key, corp_id)

    def sign(self, inner_xml: str, timestamp: int, nonce: str = "nonce123") -> tuple[dict[str, str], bytes]:
        """(query params, body) of the POST WeCom would make."""
        reply = self.crypto.encrypt_message(inner_xml, nonce, str(timestamp))
        encrypt = reply.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        sig = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        body = (f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName><AgentID><![CDATA[{self.agent_id}]]>"
                f"</AgentID><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        return {"msg_signature": sig, "timestamp": str(timestamp), "nonce": nonce}, body.encode()

    def _head(self, user: str, created: int, msg_type: str) -> str:
        return (f"<ToUserName><![CDATA[{self.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
                f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
                f"<AgentID>{self.agent_id}</AgentID>")

    def text(self, user: str, content: str, msg_id: int, created: int) -> str:
        return (f"<xml>{self._head(user, created, 'text')}<Content><![CDATA[{content}]]></Content>"
                f"<MsgId>{msg_id}</MsgId></xml>")

    def media(self, user: str, kind: str, media_id: str, msg_id: int, created: int, extra: str = "") -> str:
        return (f"<xml>{self._head(user, created, kind)}<MediaId><![CDATA[{media_id}]]></MediaId>{extra}"
                f"<MsgId>{msg_id}</MsgId></xml>")

    def event(self, user: str, event: str, created: int, body: str = "") -> str:
        return f"<xml>{self._head(user, created, 'event')}<Event><![CDATA[{event}]]></Event>{body}</xml>"

    def card_event(self, user: str, key: str, task_id: str, response_code: str, created: int,
                   selected: dict[str, list[str]] | None = None, card_type: str = "button_interaction") -> str:
        sel = ""
        if selected:
            items = "".join(
                f"<SelectedItem><QuestionKey><![CDATA[{q}]]></QuestionKey><OptionIds>"
                + "".join(f"<OptionId><![CDATA[{o}]]></OptionId>" for o in opts)
                + "</OptionIds></SelectedItem>" for q, opts in selected.items())
            sel = f"<SelectedItems>{items}</SelectedItems>"
        body = (f"<EventKey><![CDATA[{escape(key)}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
                f"<CardType><![CDATA[{card_type}]]></CardType><ResponseCode><![CDATA[{response_code}]]></ResponseCode>"
                f"{sel}")
        return self.event(user, "template_card_event", created, body)
