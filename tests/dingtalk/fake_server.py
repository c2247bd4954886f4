"""A fake DingTalk on real HTTP and WebSocket (127.0.0.1): the Stream gateway and the OpenAPI we call.

Gateway: ``POST /v1.0/gateway/connections/open`` checks the app's credentials and subscriptions and
answers ``{endpoint, ticket}`` (tickets single use, 90 s); ``GET /connect?ticket=…`` is the WebSocket,
which pushes frames shaped as the platform's (``specVersion``, ``type``, ``headers`` with
``messageId``/``topic``/``time``/``contentType``, ``data`` a JSON *string*) and reads ACK frames,
matched by messageId. A frame can be pushed to the newest connection and awaited, pushed and the
socket dropped before its ACK, or redelivered; ``ping`` / ``disconnect`` system frames too.

OpenAPI: refuses what the real API refuses, with its HTTP status and error code: no/unknown/expired
token (401 ``InvalidAuthentication``; tokens live 7200 s by ``clock`` and a re-request inside the
window returns the same token), wrong app credentials (400 ``invalidClientIdOrSecret``), missing
required fields, an unknown ``robotCode`` (``invalidParameter.robotCode.auth``), an unknown ``msgKey``,
a ``msgParam`` that is not a JSON string, lacks its msgKey's fields or exceeds 15,000 bytes, more than
20 userIds (``invalidParameter.userIds.overMax``), card data values that are not strings, an unknown
template, a bad ``callbackType`` or ``openSpaceId``, ``outTrackId`` over 64 characters, more than 20
calls per second to one API (403 ``Forbidden.AccessDenied.QpsLimitForAppkeyAndApi``). Errors can be
queued per API (``fail``). sessionWebhooks expire after 90 minutes by ``clock``.
Unverified choices (the docs do not say): the card-specific error codes' names; a repeated
createAndDeliver with the same outTrackId is answered as the first and shown once; an expired
sessionWebhook answers errcode 300001.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TOKEN_TTL_S = 7200
TICKET_TTL_S = 90
WEBHOOK_TTL_MS = 90 * 60 * 1000
QPS = 20
MSG_PARAM_MAX_BYTES = 15_000
MAX_USER_IDS = 20
BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
MSG_KEYS: dict[str, tuple[str, ...]] = {
    "sampleText": ("content",), "sampleMarkdown": ("title", "text"), "sampleImageMsg": ("photoURL",),
    "sampleLink": ("text", "title", "picUrl", "messageUrl"), "sampleActionCard": ("title", "text", "singleTitle",
                                                                                   "singleURL"),
    "sampleAudio": ("mediaId", "duration"), "sampleFile": ("mediaId", "fileName", "fileType"),
}


@dataclass
class Recorded:
    path: str
    body: Any
    token: str = ""


@dataclass
class Shown:
    """Something a person saw: a text (``kind`` text/markdown) or a card (by outTrackId)."""

    to: str
    kind: str
    content: str = ""
    out_track_id: str = ""
    via: str = ""


@dataclass
class FakeDingtalk:
    client_id: str = "dingfakeappkey0001"
    client_secret: str = "fake-dingtalk-secret-abcdefghijklmnopqrstuvwxyz"
    template_id: str = "actionflow-card.schema"
    corp_id: str = "dingfakecorp0001"
    clock: Any = time.time  # seconds; tests move it to age tokens, tickets and webhooks
    requests: list[Recorded] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # outTrackId → {"to", "params", "template"}
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    groups: set[str] = field(default_factory=lambda: {"cidGroup1"})
    invalid_users: set[str] = field(default_factory=set)
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # downloadCode → (content, content type)
    opens: list[dict[str, Any]] = field(default_factory=list)  # connections/open bodies
    acks: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    _errors: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=lambda: defaultdict(list))
    _tokens: dict[str, float] = field(default_factory=dict)  # token → issued at
    _tickets: dict[str, float] = field(default_factory=dict)
    _ticket_topics: dict[str, set[str]] = field(default_factory=dict)
    _sessions: dict[str, tuple[str, int]] = field(default_factory=dict)  # session → (userId, expires ms)
    _downloads: dict[str, str] = field(default_factory=dict)  # url token → downloadCode
    _auth_codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # login-free code → (userId, issued)
    _legacy_tokens: dict[str, float] = field(default_factory=dict)  # oapi gettoken tokens → issued at
    uploads: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # media_id → (type, filename, bytes)
    _qps: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _n: itertools.count = field(default_factory=lambda: itertools.count(1))
    _conns: list[tuple[web.WebSocketResponse, set[str]]] = field(default_factory=list)
    _ack_waiters: dict[str, asyncio.Event] = field(default_factory=dict)
    base_url: str = ""
    connected: int = 0
    open_delay_s: float = 0.0  # a slow gateway

    # ---- test controls -----------------------------------------------------------------------
    def fail(self, path: str, status: int, code: str | int, message: str = "error", times: int = 1) -> None:
        """Answer the next ``times`` calls to ``path`` (e.g. "/v1.0/robot/oToMessages/batchSend") with this error."""
        body: dict[str, Any] = {"code": code, "message": message} if isinstance(code, str) else \
            {"errcode": code, "errmsg": message}
        self._errors[path].extend([(status, body)] * times)

    def add_auth_code(self, code: str, user: str) -> None:
        """A login-free code as ``dd.runtime.permission.requestAuthCode`` hands a page (5 minutes, single use)."""
        self._auth_codes[code] = (user, self.clock())

    def revoke_tokens(self) -> None:
        self._tokens.clear()
        self._legacy_tokens.clear()

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    @property
    def live(self) -> list[web.WebSocketResponse]:
        return [ws for ws, _ in self._conns if not ws.closed]

    async def wait_connected(self, count: int = 1, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while self.connected < count or not self.live:
            if time.monotonic() > deadline:
                raise AssertionError(f"no Stream connection #{count} in time (had {self.connected})")
            await asyncio.sleep(0.01)

    async def drop(self) -> None:
        """The gateway closes every socket (rebalancing, network loss)."""
        for ws in self.live:
            await ws.close()

    def frame(self, topic: str, data: dict[str, Any], *, message_id: str | None = None,
              kind: str = "CALLBACK") -> dict[str, Any]:
        return {"specVersion": "1.0", "type": kind,
                "headers": {"appId": self.client_id, "connectionId": "conn-1", "contentType": "application/json",
                            "messageId": message_id or f"mid_{next(self._n)}_{int(time.time() * 1000)}",
                            "time": str(int(self.clock() * 1000)), "topic": topic},
                "data": json.dumps(data, ensure_ascii=False)}

    async def push(self, frame: dict[str, Any], *, wait_ack: bool = True, within: float = 10.0,
                   drop_before_ack: bool = False) -> dict[str, Any] | None:
        """Send a frame on the newest connection subscribed to its topic; return its ACK (None if none came)."""
        topic = frame["headers"]["topic"]
        await self.wait_connected()
        candidates = [ws for ws, topics in self._conns if not ws.closed and (topic in topics or frame["type"] == "SYSTEM")]
        if not candidates:
            raise AssertionError(f"no connection subscribed to {topic}")
        mid = frame["headers"]["messageId"]
        waiter = self._ack_waiters.setdefault(mid, asyncio.Event())
        waiter.clear()
        await candidates[-1].send_str(json.dumps(frame, ensure_ascii=False))
        if drop_before_ack:
            await candidates[-1].close()
            return None
        if not wait_ack:
            return None
        try:
            await asyncio.wait_for(waiter.wait(), within)
        except TimeoutError:
            return None
        return self.acks[mid][-1]

    # ---- frames as DingTalk builds them --------------------------------------------------------
    def session_webhook(self, user: str) -> tuple[str, int]:
        session = f"s{next(self._n)}"
        expires = int(self.clock() * 1000) + WEBHOOK_TTL_MS
        self._sessions[session] = (user, expires)
        return f"{self.base_url}/robot/sendBySession?session={session}", expires

    def message(self, user: str, msg_id: str, *, text: str | None = None, msgtype: str = "text",
                content: dict[str, Any] | None = None, group: bool = False, nick: str = "用户") -> dict[str, Any]:
        """A robot message's ``data`` (1:1 unless ``group``: then the robot was @-mentioned)."""
        url, expires = self.session_webhook(user)
        data: dict[str, Any] = {
            "conversationId": "cidGroup1" if group else f"cid1to1{user}", "conversationType": "2" if group else "1",
            "chatbotCorpId": self.corp_id, "chatbotUserId": "$:LWCP_v1:$bot", "robotCode": self.client_id,
            "msgId": msg_id, "createAt": int(self.clock() * 1000), "senderNick": nick, "senderStaffId": user,
            "senderId": f"$:LWCP_v1:${user}", "senderCorpId": self.corp_id, "isAdmin": False,
            "sessionWebhook": url, "sessionWebhookExpiredTime": expires, "isInAtList": True, "msgtype": msgtype}
        if group:
            data["conversationTitle"] = "销售一组"
            data["atUsers"] = [{"dingtalkId": "$:LWCP_v1:$bot"}]
        if msgtype == "text":
            data["text"] = {"content": (" " if group else "") + (text or "")}
        elif content is not None:
            data["content"] = content
        return data

    def press(self, user: str, out_track_id: str, key: str, value: str = "") -> dict[str, Any]:
        """A card press's ``data``: a "回传请求" control whose constant param ``key`` is our button key (and,
        for a date picker or input box, ``value`` what was entered)."""
        params = {"key": key, **({"value": value} if value else {})}
        content = {"cardPrivateData": {"actionIds": ["btn_action"], "params": params}}
        return {"outTrackId": out_track_id, "corpId": self.corp_id, "userId": user, "userIdType": 1,
                "type": "actionCallback", "spaceType": "IM_ROBOT", "spaceId": user, "extension": "{}",
                "content": json.dumps(content, ensure_ascii=False)}

    # ---- server --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1.0/oauth2/accessToken", self.access_token)
        app.router.add_post("/v1.0/gateway/connections/open", self.open_connection)
        app.router.add_get("/connect", self.connect)
        for path in ("/v1.0/robot/oToMessages/batchSend", "/v1.0/robot/groupMessages/send",
                     "/v1.0/card/instances/createAndDeliver", "/v1.0/robot/messageFiles/download"):
            app.router.add_post(path, self.api)
        app.router.add_put("/v1.0/card/instances", self.api)
        app.router.add_post("/robot/sendBySession", self.session_send)
        app.router.add_post("/topapi/v2/user/getuserinfo", self.getuserinfo)
        app.router.add_get("/gettoken", self.gettoken)
        app.router.add_post("/media/upload", self.media_upload)
        app.router.add_get("/files/{token}", self.file)
        app.on_shutdown.append(self._close_sockets)
        return app

    async def _close_sockets(self, _app: web.Application) -> None:
        """A server going away closes its sockets (else its shutdown waits for our client forever)."""
        await self.drop()

    @staticmethod
    def _error(status: int, code: str, message: str = "") -> web.Response:
        return web.json_response({"code": code, "message": message or code, "requestid": "fake-req"}, status=status)

    def _queued(self, path: str) -> web.Response | None:
        if self._errors.get(path):
            status, body = self._errors[path].pop(0)
            return web.json_response(body, status=status)
        return None

    def _token_ok(self, token: str) -> bool:
        born = self._tokens.get(token)
        return born is not None and self.clock() - born < TOKEN_TTL_S

    async def _json(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.text())
        except ValueError:
            return None

    async def access_token(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self.requests.append(Recorded("accessToken", {k: v for k, v in (body or {}).items() if k != "appSecret"}))
        if (r := self._queued("/v1.0/oauth2/accessToken")) is not None:
            return r
        if not isinstance(body, dict) or not body.get("appKey") or not body.get("appSecret"):
            return self._error(400, "MissingParameter", "appKey/appSecret is mandatory")
        if body["appKey"] != self.client_id or body["appSecret"] != self.client_secret:
            return self._error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        now = self.clock()
        live = [(t, b) for t, b in self._tokens.items() if now - b < TOKEN_TTL_S]
        if live:  # inside the validity window DingTalk hands out the same token
            token, born = live[-1]
            return web.json_response({"accessToken": token, "expireIn": int(TOKEN_TTL_S - (now - born))})
        token = f"dt-tok-{next(self._n)}"
        self._tokens[token] = now
        return web.json_response({"accessToken": token, "expireIn": TOKEN_TTL_S})

    async def open_connection(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if self.open_delay_s:
            await asyncio.sleep(self.open_delay_s)
        if (r := self._queued("/v1.0/gateway/connections/open")) is not None:
            return r
        if not isinstance(body, dict):
            return self._error(400, "InvalidParameter", "body is not JSON")
        self.opens.append({k: v for k, v in body.items() if k != "clientSecret"})
        if body.get("clientId") != self.client_id or body.get("clientSecret") != self.client_secret:
            return self._error(401, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
        subs = body.get("subscriptions")
        if not isinstance(subs, list) or not subs:
            return self._error(400, "InvalidParameter", "subscriptions is mandatory")
        for s in subs:
            if not isinstance(s, dict) or s.get("type") not in ("EVENT", "CALLBACK") or not s.get("topic"):
                return self._error(400, "InvalidParameter", "bad subscription")
            if s["type"] == "EVENT" and s["topic"] != "*":
                return self._error(400, "InvalidParameter", "EVENT subscriptions take topic *")
        ticket = f"ticket+{next(self._n)}/={self.client_id}"  # characters that must be URL-encoded
        self._tickets[ticket] = self.clock()
        self._ticket_topics[ticket] = {s["topic"] for s in subs}
        host = request.host
        return web.json_response({"endpoint": f"ws://{host}/connect", "ticket": ticket})

    async def connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        born = self._tickets.pop(ticket, None)  # single use
        if born is None or self.clock() - born > TICKET_TTL_S:
            return web.Response(status=401, text="invalid ticket")
        topics = self._ticket_topics.pop(ticket, set())
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._conns.append((ws, topics))
        self.connected += 1
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            ack = json.loads(msg.data)
            problems = ack_problems(ack)
            if problems:
                raise AssertionError(f"malformed ACK {problems}: {ack}")
            mid = ack["headers"]["messageId"]
            self.acks[mid].append(ack)
            if mid in self._ack_waiters:
                self._ack_waiters[mid].set()
        return ws

    def _qps_ok(self, path: str) -> bool:
        now = time.monotonic()
        q = self._qps[path]
        while q and q[0] <= now - 1.0:
            q.popleft()
        if len(q) >= QPS:
            return False
        q.append(now)
        return True

    async def api(self, request: web.Request) -> web.Response:
        path = request.path
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        body = await self._json(request)
        self.requests.append(Recorded(path, body, token))
        if (r := self._queued(path)) is not None:
            return r
        if not self._token_ok(token):
            return self._error(401, "InvalidAuthentication", "不合法的access_token")
        if not self._qps_ok(path):
            return self._error(403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
                               "App call api qps exceeds the limit")
        if not isinstance(body, dict):
            return self._error(400, "InvalidParameter", "body is not JSON")
        handler = {"/v1.0/robot/oToMessages/batchSend": self._batch_send,
                   "/v1.0/robot/groupMessages/send": self._group_send,
                   "/v1.0/card/instances/createAndDeliver": self._create_and_deliver,
                   "/v1.0/card/instances": self._update_card,
                   "/v1.0/robot/messageFiles/download": self._download}[path]
        return handler(body, request)

    def _robot(self, body: dict[str, Any]) -> web.Response | None:
        if not body.get("robotCode"):
            return self._error(400, "MissingrobotCode", "robotCode is mandatory for this action.")
        if body["robotCode"] != self.client_id:
            return self._error(400, "invalidParameter.robotCode.auth", "robot 不存在或无权限")
        return None

    def _msg(self, body: dict[str, Any]) -> tuple[dict[str, Any] | None, web.Response | None]:
        key, raw = body.get("msgKey"), body.get("msgParam")
        if not key:
            return None, self._error(400, "MissingmsgKey", "msgKey is mandatory for this action.")
        if key not in MSG_KEYS:
            return None, self._error(400, "invalidParameter.msgKey.invalid", "msgKey 不合法")
        if not isinstance(raw, str) or not raw:
            return None, self._error(400, "MissingmsgParam", "msgParam is mandatory and a JSON string")
        if len(raw.encode("utf-8")) > MSG_PARAM_MAX_BYTES:
            return None, self._error(400, "invalidParameter.msgParam.invalid", "msgParam 超过长度限制")
        try:
            param = json.loads(raw)
        except ValueError:
            return None, self._error(400, "invalidParameter.msgParam.invalid", "msgParam 不是合法 JSON")
        if not isinstance(param, dict) or any(not param.get(f) for f in MSG_KEYS[key]):
            return None, self._error(400, "invalidParameter.msgParam.invalid", f"msgParam 缺少 {MSG_KEYS[key]}")
        media = param.get("mediaId") or (param.get("photoURL") if str(param.get("photoURL", "")).startswith("@")
                                         else None)
        if media is not None and media not in self.uploads:
            return None, self._error(400, "invalidParameter.msgParam.invalid", "mediaId 不存在")
        if key == "sampleFile" and param["fileType"] not in ("xlsx", "pdf", "zip", "rar", "doc", "docx"):
            return None, self._error(400, "invalidParameter.msgParam.invalid", "fileType 不支持")
        return param, None

    def _batch_send(self, body: dict[str, Any], _request: web.Request) -> web.Response:
        if (r := self._robot(body)) is not None:
            return r
        users = body.get("userIds")
        if not isinstance(users, list) or not users:
            return self._error(400, "MissinguserIds", "userIds is mandatory for this action.")
        if len(users) > MAX_USER_IDS:
            return self._error(400, "invalidParameter.userIds.overMax", "userIds 超过上限")
        param, err = self._msg(body)
        if err is not None or param is None:
            return err or self._error(400, "invalidParameter.msgParam.invalid")
        invalid = [u for u in users if u in self.invalid_users]
        for u in users:
            if u not in invalid:
                self._show_msg(u, body["msgKey"], param, via="batchSend")
        return web.json_response({"processQueryKey": f"pqk-{next(self._n)}", "invalidStaffIdList": invalid,
                                  "flowControlledStaffIdList": [], "filteredStaffIdList": []})

    def _show_msg(self, user: str, key: str, param: dict[str, Any], via: str) -> None:
        if key == "sampleText":
            self.shown.append(Shown(user, "text", param["content"], via=via))
        elif key == "sampleMarkdown":
            self.shown.append(Shown(user, "markdown", f"{param['title']}\n{param['text']}", via=via))
        elif key in ("sampleImageMsg", "sampleFile"):
            media = param.get("mediaId") or param.get("photoURL")
            self.shown.append(Shown(user, "image" if key == "sampleImageMsg" else "file",
                                    param.get("fileName") or self.uploads.get(media, ("", "", b""))[1], via=via))
        else:
            self.shown.append(Shown(user, key, json.dumps(param, ensure_ascii=False), via=via))

    def _group_send(self, body: dict[str, Any], _request: web.Request) -> web.Response:
        if (r := self._robot(body)) is not None:
            return r
        cid = body.get("openConversationId")
        if not cid:
            return self._error(400, "MissingopenConversationId", "openConversationId is mandatory for this action.")
        if cid not in self.groups:
            return self._error(400, "invalid.openConversationId", "群不存在或机器人不在群内")
        param, err = self._msg(body)
        if err is not None or param is None:
            return err or self._error(400, "invalidParameter.msgParam.invalid")
        self._show_msg(f"group:{cid}", body["msgKey"], param, via="groupMessages")
        return web.json_response({"processQueryKey": f"pqk-{next(self._n)}"})

    def _card_data(self, body: dict[str, Any]) -> tuple[dict[str, str] | None, web.Response | None]:
        data = body.get("cardData")
        params = data.get("cardParamMap") if isinstance(data, dict) else None
        if not isinstance(params, dict):
            return None, self._error(400, "MissingcardData", "cardData.cardParamMap is mandatory")
        if any(not isinstance(v, str) for v in params.values()):
            return None, self._error(400, "invalidParameter.cardData.invalid", "cardParamMap 的值必须是字符串")
        image = params.get("image")
        if image and (image not in self.uploads or self.uploads[image][0] != "image"):  # our template's image
            return None, self._error(400, "invalidParameter.cardData.invalid", "图片 mediaId 不存在")
        return params, None

    def _create_and_deliver(self, body: dict[str, Any], _request: web.Request) -> web.Response:
        for f in ("cardTemplateId", "outTrackId", "openSpaceId", "cardData"):
            if not body.get(f):
                return self._error(400, f"Missing{f}", f"{f} is mandatory for this action.")
        track = str(body["outTrackId"])
        if len(track) > 64:
            return self._error(400, "invalidParameter.outTrackId.invalid", "outTrackId 超过 64 个字符")
        if body["cardTemplateId"] != self.template_id:
            return self._error(400, "invalidParameter.cardTemplateId.notExist", "卡片模板不存在")
        if body.get("callbackType", "STREAM") not in ("STREAM", "HTTP"):
            return self._error(400, "invalidParameter.callbackType.invalid", "callbackType 只能是 STREAM 或 HTTP")
        params, err = self._card_data(body)
        if err is not None or params is None:
            return err or self._error(400, "MissingcardData")
        space = str(body["openSpaceId"])
        if not space.startswith("dtv1.card//IM_ROBOT.") and not space.startswith("dtv1.card//IM_GROUP."):
            return self._error(400, "invalidParameter.openSpaceId.invalid", "openSpaceId 格式不对")
        robot = space.startswith("dtv1.card//IM_ROBOT.")
        deliver = body.get("imRobotOpenDeliverModel" if robot else "imGroupOpenDeliverModel")
        if not isinstance(deliver, dict) or (robot and deliver.get("spaceType") != "IM_ROBOT"):
            return self._error(400, "MissingDeliverModel", "deliver model of the space is mandatory")
        if (r := self._robot(deliver)) is not None:
            return r
        target = space.split(".", 2)[-1] if robot else f"group:{space.split('IM_GROUP.', 1)[1]}"
        ok = not (robot and target in self.invalid_users)
        if track in self.cards:  # the same instance again: answered as before, shown once
            ok = True
        elif ok:
            self.cards[track] = {"to": target, "params": dict(params), "template": body["cardTemplateId"]}
            self.shown.append(Shown(target, "card", out_track_id=track, via="createAndDeliver"))
        result = {"spaceType": "IM_ROBOT" if robot else "IM_GROUP", "spaceId": target, "success": ok,
                  "carrierId": f"carrier-{track[:8]}", **({} if ok else {"errorMsg": "user not in visible scope"})}
        return web.json_response({"success": True, "result": {"outTrackId": track, "deliverResults": [result]}})

    def _update_card(self, body: dict[str, Any], _request: web.Request) -> web.Response:
        track = body.get("outTrackId")
        if not track:
            return self._error(400, "MissingoutTrackId", "outTrackId is mandatory for this action.")
        if track not in self.cards:
            return self._error(400, "invalidParameter.outTrackId.notExist", "卡片实例不存在")
        params, err = self._card_data(body)
        if err is not None or params is None:
            return err or self._error(400, "MissingcardData")
        by_key = bool((body.get("cardUpdateOptions") or {}).get("updateCardDataByKey"))
        card = self.cards[track]
        card["params"] = {**card["params"], **params} if by_key else dict(params)
        self.card_updates.append(body)
        return web.json_response({"success": True, "result": True})

    def _download(self, body: dict[str, Any], request: web.Request) -> web.Response:
        if (r := self._robot(body)) is not None:
            return r
        code = body.get("downloadCode")
        if not code:
            return self._error(400, "MissingdownloadCode", "downloadCode is mandatory for this action.")
        if code not in self.files:
            return self._error(400, "invalidParameter.downloadCode.invalid", "downloadCode 无效或已过期")
        token = f"f{next(self._n)}"
        self._downloads[token] = code
        return web.json_response({"downloadUrl": f"http://{request.host}/files/{token}"})

    async def file(self, request: web.Request) -> web.Response:
        code = self._downloads.get(request.match_info["token"])
        if code is None:
            return web.Response(status=404)
        content, ctype = self.files[code]
        return web.Response(body=content, content_type=ctype)

    async def session_send(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        session = request.query.get("session", "")
        self.requests.append(Recorded("sendBySession", body))
        if (r := self._queued("sendBySession")) is not None:
            return r
        user, expires = self._sessions.get(session, ("", 0))
        if not user or self.clock() * 1000 > expires:
            return web.json_response({"errcode": 300001, "errmsg": "session过期或不存在"})
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown", "actionCard", "link",
                                                                       "feedCard"):
            return web.json_response({"errcode": 40035, "errmsg": "缺少参数 msgtype"})
        kind = body["msgtype"]
        inner = body.get(kind) if isinstance(body.get(kind), dict) else {}
        if kind == "text":
            if not inner.get("content"):
                return web.json_response({"errcode": 40035, "errmsg": "缺少参数 content"})
            self.shown.append(Shown(user, "text", inner["content"], via="sessionWebhook"))
        elif kind == "markdown":
            if not inner.get("title") or not inner.get("text"):
                return web.json_response({"errcode": 40035, "errmsg": "缺少参数 title/text"})
            self.shown.append(Shown(user, "markdown", f"{inner['title']}\n{inner['text']}", via="sessionWebhook"))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


    async def gettoken(self, request: web.Request) -> web.Response:
        """Legacy oapi token: ``?appkey=&appsecret=`` → ``access_token`` (7200 s)."""
        self.requests.append(Recorded("gettoken", {"appkey": request.query.get("appkey")}))
        if request.query.get("appkey") != self.client_id or request.query.get("appsecret") != self.client_secret:
            return web.json_response({"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"})
        token = f"dt-oapi-{next(self._n)}"
        self._legacy_tokens[token] = self.clock()
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_TTL_S})

    def _legacy_ok(self, request: web.Request) -> web.Response | None:
        """The oapi host takes its own token here (reports conflict on whether a v1.0 token works: strict reading)."""
        born = self._legacy_tokens.get(request.query.get("access_token", ""))
        if born is None:
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        if self.clock() - born >= TOKEN_TTL_S:
            return web.json_response({"errcode": 42001, "errmsg": "access_token 已过期"})
        return None

    async def media_upload(self, request: web.Request) -> web.Response:
        if (r := self._legacy_ok(request)) is not None:
            return r
        kind = request.query.get("type", "")
        form = await request.post()
        part = form.get("media")
        if kind not in ("image", "voice", "video", "file") or part is None or not hasattr(part, "file"):
            return web.json_response({"errcode": 40004, "errmsg": "不合法的媒体文件类型"})
        content = part.file.read()
        self.requests.append(Recorded("media/upload", {"type": kind, "filename": part.filename}))
        if len(content) > 20 * 1024 * 1024:
            return web.json_response({"errcode": 40006, "errmsg": "不合法的文件大小"})
        media_id = f"@media{next(self._n)}"
        self.uploads[media_id] = (kind, part.filename, content)
        return web.json_response({"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id,
                                  "created_at": int(self.clock() * 1000)})

    async def getuserinfo(self, request: web.Request) -> web.Response:
        """Legacy oapi: token in the query, errcode in a 200."""
        body = await self._json(request)
        self.requests.append(Recorded("getuserinfo", body, request.query.get("access_token", "")))
        if (r := self._legacy_ok(request)) is not None:
            return r
        code = body.get("code") if isinstance(body, dict) else None
        if not code:
            return web.json_response({"errcode": 40035, "errmsg": "缺少参数 code"})
        user, born = self._auth_codes.pop(code, ("", 0.0))  # single use
        if not user or self.clock() - born > 300:
            return web.json_response({"errcode": 40078, "errmsg": "不存在的临时授权码"})
        return web.json_response({"errcode": 0, "errmsg": "ok", "request_id": "fake",
                                  "result": {"userid": user, "unionid": f"union-{user}", "name": "成员",
                                             "sys": False, "sys_level": 0}})


def ack_problems(ack: Any) -> list[str]:
    """What is wrong with an ACK frame, by the shape the SDK's ``AckMessage.to_dict`` gives."""
    if not isinstance(ack, dict):
        return ["not an object"]
    problems = []
    if not isinstance(ack.get("code"), int):
        problems.append("code")
    headers = ack.get("headers")
    if not isinstance(headers, dict) or not headers.get("messageId") or \
            headers.get("contentType") != "application/json":
        problems.append("headers")
    if not isinstance(ack.get("message"), str):
        problems.append("message")
    data = ack.get("data")
    try:
        if not isinstance(data, str) or not isinstance(json.loads(data), dict):
            problems.append("data")
    except ValueError:
        problems.append("data")
    return problems
