"""The store flow's mobile page: ``/store/q/<token>`` is what a printed task QR code opens.

The QR token (``bot.links``, purpose ``store-qr``) names a task only through its stored jti: forged, altered,
expired or revoked tokens open nothing. Who is scanning comes from ``bot.page_identity`` (the app's OAuth, or
the emulator persona); only staff of that store (or its manager) may walk it. After that the page carries a
short-lived signed "who" token (``w``, purpose ``store-who``) instead of asking the platform again on every tap;
a session is addressed by its random key, never by its row id. Forms post back to the same origin
(``WebGuard.check`` refuses cross-site posts) and each write is idempotent (session nonce, tap per session+node).

``/store/funnel/<token>``: the store manager's funnel of today (a signed link on the funnel card).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.channels.base import Channel
from bot.config import Config
from bot.guard import WebGuard
from bot.links import Links, ttl
from bot.page_identity import OUTSIDE, PageIdentity
from bot.qr import caption
from bot.qr import png as qr_png
from bot.qr import svg as qr_svg
from bot.timeline_page import LinkSigner
from cards.store_page import (
    render_admin,
    render_done,
    render_funnel,
    render_node,
    render_refusal,
    render_start,
)
from handlers.store import (
    Nodes,
    Refused,
    default_nodes,
    leave,
    nodes_of,
    start,
    store_funnel,
    stores_of,
    tap,
    works_in,
)
from storage.db import Database
from storage.models import LinkToken, Person, Role, Store, StoreSession, StoreTask

QR = "store-qr"
WHO_TTL = timedelta(hours=12)  # one shift
FUNNEL_TTL = timedelta(days=1)
KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
EXPIRED = "二维码无效、已过期或已停用：请联系店长重新打印。"
OTHER_STORE = "这是其他门店的任务二维码，你不是这家门店的店员。"
NOT_YOURS = "这次接待不是你发起的，或链接已过期：请重新扫码。"
NOT_MANAGER = "门店漏斗只对本店店长和经理可见。"


def subject_of(task: StoreTask) -> str:
    return f"task:{task.id}"


class StoreLinkBook:
    """Signed links of the store flow: QR tokens (stored, revocable) and the manager's funnel link."""

    def __init__(self, cfg: Config) -> None:
        self.cfg, self.base = cfg, cfg.server.public_url.rstrip("/")
        self.qr = Links(cfg.security.token_secret, QR)
        self.funnel_signer = LinkSigner(cfg.security.token_secret, "store-funnel")
        self.who = LinkSigner(cfg.security.token_secret, "store-who")

    def url(self, token: str) -> str:
        return f"{self.base}/store/q/{token}"

    async def issue(self, s: AsyncSession, task: StoreTask, now: datetime) -> str:
        """A new QR link for a task (``actionflow qr`` prints one per run; each can be revoked alone)."""
        return self.url(await self.qr.issue(s, subject_of(task), ttl(self.cfg.security.qr_token_ttl_s, now)))

    async def current(self, s: AsyncSession, task: StoreTask, now: datetime) -> str:
        """The task's link for chat: its newest token with at least a month to live, else a fresh one."""
        row = (await s.execute(select(LinkToken).where(
            col(LinkToken.purpose) == QR, col(LinkToken.subject) == subject_of(task),
            col(LinkToken.revoked_at).is_(None), col(LinkToken.expires_at) > now + timedelta(days=30))
            .order_by(col(LinkToken.expires_at).desc()).limit(1))).scalar_one_or_none()
        if row is None:
            return await self.issue(s, task, now)
        return self.url(self.qr.signer.sign(row.jti, row.expires_at.timestamp()))

    async def task_of(self, s: AsyncSession, token: str, now: datetime) -> StoreTask | None:
        """The task a QR token opens; None for a forged, expired or revoked one."""
        return await _task(s, await self.qr.open(s, token, now))

    def funnel(self, store_id: int, now: datetime) -> str:
        return f"{self.base}/store/funnel/{self.funnel_signer.sign(str(store_id), (now + FUNNEL_TTL).timestamp())}"


class StorePage:
    def __init__(self, cfg: Config, db: Database, guard: WebGuard, now: Callable[[], datetime],
                 channels: Mapping[str, Channel] | None = None, nodes: Nodes | None = None,
                 authorize: Callable[[web.Request], None] | None = None) -> None:
        self.cfg, self.db, self.guard, self.now = cfg, db, guard, now
        self.authorize = authorize  # the admin API's check (token, or a direct local call); None: no admin page
        self.links = StoreLinkBook(cfg)
        self.identity = PageIdentity(cfg, channels)
        self.nodes = nodes if nodes is not None else default_nodes()

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/store/q/{token}", self.scan), web.post("/store/start", self.begin),
                web.get("/store/s/{key}", self.show), web.post("/store/s/{key}", self.act),
                web.get("/store/funnel/{token}", self.funnel), web.get("/store/codes", self.codes),
                web.get("/admin/store/qr", self.admin_page), web.get("/admin/store/qr/{task_id}.{kind}", self.admin_file)]

    # ---- scanning a QR code ----------------------------------------------------------------------------------
    async def scan(self, request: web.Request) -> web.StreamResponse:
        self.guard.check(request)
        token = request.match_info["token"]
        async with self.db.session() as s:  # only reads: no write lock per scan
            subject = await self.links.qr.open(s, token, self.now())
            task = await _task(s, subject)
            if task is None:
                return _refuse(EXPIRED)
            if (step := self.identity.gate(request, self.links.url(token))) is not None:
                return step
            person = await self.identity.person(s, request)
            if person is None:
                return _refuse(OUTSIDE)
            store = await s.get(Store, task.store_id)
            if store is None or not await works_in(s, person, store):
                return _refuse(OTHER_STORE)
            fields = {"w": self._who(person), "t": token, "k": secrets.token_urlsafe(18)}
            first = nodes_of(self.nodes, store)[0].name
            return _html(render_start(store.name, task.name, person.name, "/store/start", fields, first))

    async def begin(self, request: web.Request) -> web.StreamResponse:
        """Start a customer session (from a QR page's 开始接待 or a finished session's 接待下一位顾客)."""
        self.guard.check(request)
        form = await request.post()
        key, w = str(form.get("k", "")), str(form.get("w", ""))
        if not KEY.match(key):
            return _refuse(NOT_YOURS, 400)
        async with self.db.write() as s:
            person = await self._person(s, w)
            if person is None:
                return _refuse(NOT_YOURS)
            if form.get("t"):
                task = await _task(s, await self.links.qr.open(s, str(form["t"]), self.now()))
            else:
                before = await _session(s, str(form.get("from", "")))
                task = await s.get(StoreTask, before.task_id) if before and before.person_id == person.id else None
            if task is None:
                return _refuse(EXPIRED)
            store = await s.get(Store, task.store_id)
            if store is None or not await works_in(s, person, store):
                return _refuse(OTHER_STORE)
            await start(s, key, task, person, self.now())
        raise web.HTTPSeeOther(f"/store/s/{key}?w={quote(w)}")

    # ---- one customer session -----------------------------------------------------------------------------------
    async def show(self, request: web.Request) -> web.StreamResponse:
        self.guard.check(request)
        w = request.query.get("w", "")
        async with self.db.session() as s:
            got = await self._mine(s, request.match_info["key"], w)
            if isinstance(got, web.Response):
                return got
            person, sess, task, store = got
            nodes = nodes_of(self.nodes, store)
            if sess.left_at is not None or sess.reached >= len(nodes):
                text = (f"顾客已离店（完成到第 {sess.reached} 步）" if sess.left_at is not None and sess.reached < len(nodes)
                        else "本次接待全部完成 🎉")
                fields = {"w": w, "from": sess.key, "k": secrets.token_urlsafe(18)}
                return _html(render_done(store.name, task.name, person.name, text, "/store/start", fields))
            node = nodes[sess.reached]
            return _html(render_node(store.name, task.name, person.name, [n.name for n in nodes], sess.reached,
                                     node.script, node.cases, f"/store/s/{sess.key}", {"w": w}))

    async def act(self, request: web.Request) -> web.StreamResponse:
        self.guard.check(request)
        form = await request.post()
        w, do = str(form.get("w", "")), str(form.get("do", ""))
        async with self.db.write() as s:
            got = await self._mine(s, request.match_info["key"], w)
            if isinstance(got, web.Response):
                return got
            _, sess, _, store = got
            try:
                if do == "tap":
                    node = str(form.get("node", ""))
                    if not node.isdigit() or len(node) > 3:
                        raise Refused("节点编号不对，请刷新页面。")
                    await tap(s, sess, int(node), len(nodes_of(self.nodes, store)), self.now())
                elif do == "leave":
                    await leave(s, sess, self.now())
                else:
                    raise Refused("不认识的操作，请刷新页面。")
            except Refused as e:
                return _refuse(str(e), 409)
        raise web.HTTPSeeOther(f"/store/s/{sess.key}?w={quote(w)}")

    # ---- the manager's funnel -----------------------------------------------------------------------------------
    async def funnel(self, request: web.Request) -> web.StreamResponse:
        self.guard.check(request)
        token = request.match_info["token"]
        store_id = self.links.funnel_signer.subject(token, self.now().timestamp())
        if store_id is None or not store_id.isdigit():
            return _refuse("链接无效或已过期：请在聊天里重新发「门店任务」。")
        if (step := self.identity.gate(request, f"{self.links.base}/store/funnel/{token}")) is not None:
            return step
        async with self.db.session() as s:
            person = await self.identity.person(s, request)
            if person is None:
                return _refuse(OUTSIDE)
            store = await s.get(Store, int(store_id))
            if store is None or not (person.role == Role.manager or person.id == store.manager_id):
                return _refuse(NOT_MANAGER)
            day = self.now().astimezone(self.cfg.org.tz).date()
            rows = await store_funnel(s, store.id, day, self.cfg.org.tz, self.nodes)
        return _html(render_funnel(store.name, f"{day:%Y-%m-%d}", rows))

    # ---- the admin page: print codes ----------------------------------------------------------------------------
    def _admin(self, request: web.Request) -> None:
        if self.authorize is None:
            raise web.HTTPNotFound()
        self.authorize(request)

    async def admin_page(self, request: web.Request) -> web.StreamResponse:
        """Every store's tasks with links to a freshly signed PNG or SVG (each download is its own revocable
        token, like ``actionflow qr``)."""
        self._admin(request)
        async with self.db.session() as s:
            rows = (await s.execute(select(Store, StoreTask).join(StoreTask, col(StoreTask.store_id) == col(Store.id))
                                    .order_by(col(Store.id), col(StoreTask.id)))).all()
        return _html(render_admin([(st.name, t.name, f"/admin/store/qr/{t.id}") for st, t in rows]))

    async def admin_file(self, request: web.Request) -> web.StreamResponse:
        self._admin(request)
        kind, task_id = request.match_info["kind"], request.match_info["task_id"]
        if kind not in ("png", "svg") or not task_id.isdigit() or len(task_id) > 12:
            raise web.HTTPNotFound()
        if not self.cfg.security.token_secret:
            return _refuse(f"打印的二维码要用固定的签名密钥：请先设置环境变量 {self.cfg.security.token_secret_env}。", 409)
        async with self.db.write() as s:
            task = await s.get(StoreTask, int(task_id))
            store = await s.get(Store, task.store_id) if task else None
            if task is None or store is None:
                raise web.HTTPNotFound()
            url = await self.links.issue(s, task, self.now())
        label = caption(store.name, task.name)
        name = f"qr-{store.id}-{task.id}.{kind}"
        headers = {"Cache-Control": "no-store", "Content-Disposition": f'attachment; filename="{name}"'}
        if kind == "png":
            return web.Response(body=qr_png(url, label), content_type="image/png", headers=headers)
        return web.Response(text=qr_svg(url, label), content_type="image/svg+xml", headers=headers)

    # ---- the emulator's 扫码 ------------------------------------------------------------------------------------------
    async def codes(self, request: web.Request) -> web.StreamResponse:
        """The task QR codes of the persona's stores, as printed (SVG) with their links: what the emulator's
        「扫码」 button offers to scan. Only while the emulator runs (personas are identities only then)."""
        self.guard.check(request)
        if not self.identity.personas:
            raise web.HTTPNotFound()
        async with self.db.write() as s:
            person = await self.identity.person(s, request)
            if person is None:
                return web.json_response({"error": "请先选择身份"}, status=403)
            out = []
            for store in await stores_of(s, person):
                tasks = (await s.execute(select(StoreTask).where(col(StoreTask.store_id) == store.id)
                                         .order_by(col(StoreTask.id)))).scalars()
                for task in tasks:
                    url = await self.links.current(s, task, self.now())
                    out.append({"store": store.name, "task": task.name, "path": url.removeprefix(self.links.base),
                                "svg": qr_svg(url, caption(store.name, task.name))})
        return web.json_response(out, headers={"Cache-Control": "no-store"})

    # ---- helpers --------------------------------------------------------------------------------------------------
    def _who(self, person: Person) -> str:
        return self.who_signer.sign(str(person.id), (self.now() + WHO_TTL).timestamp())

    @property
    def who_signer(self) -> LinkSigner:
        return self.links.who

    async def _person(self, s: AsyncSession, w: str) -> Person | None:
        pid = self.who_signer.subject(w, self.now().timestamp())
        person = await s.get(Person, int(pid)) if pid and pid.isdigit() else None
        return person if person is not None and person.active else None

    async def _mine(self, s: AsyncSession, key: str, w: str
                    ) -> tuple[Person, StoreSession, StoreTask, Store] | web.Response:
        """The session named by its key, only for the staff member who started it."""
        person = await self._person(s, w)
        sess = await _session(s, key) if person is not None else None
        if person is None or sess is None or sess.person_id != person.id:
            return _refuse(NOT_YOURS)
        task, store = await s.get(StoreTask, sess.task_id), await s.get(Store, sess.store_id)
        assert task is not None and store is not None
        return person, sess, task, store


async def _task(s: AsyncSession, subject: str | None) -> StoreTask | None:
    if not subject or not subject.startswith("task:") or not subject[5:].isdigit():
        return None
    return await s.get(StoreTask, int(subject[5:]))


async def _session(s: AsyncSession, key: str) -> StoreSession | None:
    if not KEY.match(key):
        return None
    return (await s.execute(select(StoreSession).where(col(StoreSession.key) == key))).scalar_one_or_none()


def _html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})  # no-referrer would make form posts say Origin: null


def _refuse(text: str, status: int = 403) -> web.Response:
    return web.Response(status=status, text=render_refusal(text), content_type="text/html",
                        headers={"Cache-Control": "no-store"})
