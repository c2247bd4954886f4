"""The store task flow (门店 7 个黄金动作节点): customer sessions walking the store's nodes, and the funnel.

A staff member scans a task's QR code (the page: ``bot/store_page.py``); each customer served is one
``store_session`` started at node 1; 「已完成」 records that node (one ``store_tap`` per session+node, so double
taps and retries are no-ops) and moves on; 离店 ends the session at the node reached. The store manager's funnel
counts, for one local day, how many sessions completed each funnel node, per staff member and for the store.

In chat, 「门店任务」/「扫码」 answers staff with their store's task links and the manager with today's funnel.
``store_funnel`` is what the daily digest reads.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cards.store import build_funnel, scan_text, tasks_text
from handlers.context import Context
from handlers.event import Event
from handlers.router import Capability
from storage.models import Person, Role, Store, StoreMember, StoreSession, StoreTap, StoreTask
from storage.upsert import changed, insert_ignore

NODES_FILE = Path(__file__).resolve().parent.parent / "bot" / "store_nodes.yaml"


@dataclass(frozen=True)
class Node:
    name: str
    script: str
    funnel: str = ""  # its word in the manager's funnel; empty: not a funnel step
    cases: tuple[str, ...] = ()


Nodes = dict[str, tuple[Node, ...]]


def load_nodes(path: Path = NODES_FILE) -> Nodes:
    """Nodes per store type from YAML; every type needs at least one node with a script."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "default" not in data:
        raise ValueError(f"{path}: needs a 'default' store type")
    out: Nodes = {}
    for kind, items in data.items():
        if not isinstance(items, list) or not items:
            raise ValueError(f"{path}: store type {kind!r} has no nodes")
        out[str(kind)] = tuple(Node(str(i["name"]), str(i["script"]), str(i.get("funnel") or ""),
                                    tuple(str(c) for c in i.get("cases") or ())) for i in items)
    return out


_DEFAULT: list[Nodes] = []


def default_nodes() -> Nodes:
    if not _DEFAULT:
        _DEFAULT.append(load_nodes())
    return _DEFAULT[0]


def nodes_of(nodes: Nodes, store: Store) -> tuple[Node, ...]:
    return nodes.get(store.store_type) or nodes["default"]


async def works_in(s: AsyncSession, person: Person, store: Store) -> bool:
    """Staff of this store, or its manager: nobody else may walk its flow."""
    if person.id is not None and person.id == store.manager_id:
        return True
    return (await s.execute(select(col(StoreMember.id)).where(
        col(StoreMember.store_id) == store.id, col(StoreMember.person_id) == person.id))).first() is not None


async def stores_of(s: AsyncSession, person: Person) -> list[Store]:
    """The stores a person works in or manages (a manager sees every store)."""
    q = select(Store).order_by(col(Store.id))
    if person.role != Role.manager:
        mine = select(col(StoreMember.store_id)).where(col(StoreMember.person_id) == person.id)
        q = q.where((col(Store.manager_id) == person.id) | col(Store.id).in_(mine))
    return list((await s.execute(q)).scalars())


async def start(s: AsyncSession, key: str, task: StoreTask, person: Person, now: datetime) -> StoreSession:
    """A new customer at node 1; the same ``key`` (the page's nonce) again is the same session."""
    await insert_ignore(s, StoreSession, {"key": key, "store_id": task.store_id, "task_id": task.id,
                                          "person_id": person.id, "started_at": now, "reached": 0})
    return (await s.execute(select(StoreSession).where(col(StoreSession.key) == key))).scalar_one()


class Refused(Exception):
    """A tap that cannot be taken (said to the user in Chinese); nothing was changed."""


async def tap(s: AsyncSession, sess: StoreSession, node: int, count: int, now: datetime) -> bool:
    """Record node ``node`` done; True when recorded now, False when it already was (a retry)."""
    if sess.left_at is not None:
        raise Refused("这位顾客已离店，这次接待已结束。")
    if not 0 <= node < count or node > sess.reached:
        raise Refused("请按顺序完成节点（刷新页面看当前节点）。")
    fresh = await insert_ignore(s, StoreTap, {"session_id": sess.id, "node": node, "at": now})
    await s.execute(update(StoreSession).where(col(StoreSession.id) == sess.id, col(StoreSession.reached) == node)
                    .values(reached=node + 1))
    return fresh


async def leave(s: AsyncSession, sess: StoreSession, now: datetime) -> bool:
    """离店 at the node reached; a second 离店 changes nothing."""
    result = await s.execute(update(StoreSession).where(col(StoreSession.id) == sess.id,
                                                        col(StoreSession.left_at).is_(None)).values(left_at=now))
    return bool(changed(result))


@dataclass(frozen=True)
class FunnelRow:
    staff: str  # 全店 for the store's total
    step: str  # the node's funnel word (进店, 探询 …)
    count: int
    drop: int  # sessions lost since the previous step (0 for the first)


TOTAL = "全店"


def _day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    start_at = datetime.combine(day, time.min, tz)
    return start_at, start_at + timedelta(days=1)


async def store_funnel(s: AsyncSession, store_id: int | None, day: date, tz: tzinfo,
                       nodes: Nodes | None = None) -> list[FunnelRow]:
    """Today's funnel (进店 → 探询 → 推荐 → 异议处理 → 成交) of one store (None: all stores), for the store and
    per staff member: sessions that completed each funnel node on ``day`` (local), and the drop-off per node.
    One grouped query; used by the manager's card and page and by the daily digest."""
    nodes = nodes if nodes is not None else default_nodes()
    lo, hi = _day_bounds(day, tz)
    q = (select(col(Store.store_type), col(Person.name), col(StoreTap.node), func.count())
         .select_from(StoreTap).join(StoreSession, col(StoreSession.id) == col(StoreTap.session_id))
         .join(Store, col(Store.id) == col(StoreSession.store_id))
         .join(Person, col(Person.id) == col(StoreSession.person_id))
         .where(col(StoreSession.started_at) >= lo, col(StoreSession.started_at) < hi)
         .group_by(col(Store.store_type), col(Person.name), col(StoreTap.node)))
    if store_id is not None:
        q = q.where(col(StoreSession.store_id) == store_id)
    counts: dict[str, dict[str, int]] = {}
    order: list[str] = []
    for store_type, staff, node, n in (await s.execute(q)).all():
        kinds = nodes.get(store_type) or nodes["default"]
        if not 0 <= node < len(kinds) or not kinds[node].funnel:
            continue
        for who in (TOTAL, staff):
            counts.setdefault(who, {})
            counts[who][kinds[node].funnel] = counts[who].get(kinds[node].funnel, 0) + n
    for kinds in (nodes["default"], *nodes.values()):  # the default type's order first
        for n_ in kinds:
            if n_.funnel and n_.funnel not in order:
                order.append(n_.funnel)
    rows: list[FunnelRow] = []
    for who in [TOTAL, *sorted(k for k in counts if k != TOTAL)]:
        prev: int | None = None
        for step in order:
            n = counts.get(who, {}).get(step, 0)
            rows.append(FunnelRow(who, step, n, 0 if prev is None else max(prev - n, 0)))
            prev = n
    return rows


# ---- chat ----------------------------------------------------------------------------------------------------

ScanLink = Callable[[AsyncSession, str, datetime], Awaitable[StoreTask | None]]  # a QR token → its task
QrLink = Callable[[AsyncSession, StoreTask, datetime], Awaitable[str]]  # the task's current signed page link
FunnelLink = Callable[[int, datetime], str]


@dataclass(frozen=True)
class StoreLinks:
    qr: QrLink
    funnel: FunnelLink
    task_of: ScanLink


def capability(links: StoreLinks | None = None, nodes: Nodes | None = None) -> Capability:
    """``links``: how chat answers link to the pages (None: answers without links, e.g. a test router)."""
    cap = Capability("store")

    @cap.command("store_tasks", r"(门店)?任务|扫码|门店漏斗|漏斗",
                 "「门店任务」 — 店员：本店任务二维码链接；店长：今日门店漏斗",
                 {Role.store_staff, Role.store_manager})
    async def answer(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        assert person.id is not None
        stores = await stores_of(ctx.session, person)
        if not stores:
            await ctx.send_text("你还没有被加入任何门店，请联系店长。未做任何修改。", person_id=person.id)
            return True
        for store in stores:
            assert store.id is not None
            if person.role == Role.store_manager and store.manager_id == person.id:
                rows = await store_funnel(ctx.session, store.id, ctx.today(), ctx.settings.tz, nodes)
                await ctx.send_card(build_funnel(store.name, ctx.today(), rows), person_id=person.id,
                                    subject={"store_id": store.id})
                if links:
                    await ctx.send_text(f"📊 漏斗页（按导购看流失）：{links.funnel(store.id, ctx.now())}",
                                        person_id=person.id)
            tasks = list((await ctx.session.execute(select(StoreTask).where(
                col(StoreTask.store_id) == store.id).order_by(col(StoreTask.id)))).scalars())
            pairs = [(t.name, await links.qr(ctx.session, t, ctx.now()) if links else "") for t in tasks]
            await ctx.send_text(tasks_text(store.name, pairs), person_id=person.id)
        return True

    @cap.command("store_scan", r"\S*/store/q/(?P<token>[A-Za-z0-9_.-]{10,512})",
                 "扫门店任务二维码（或发二维码链接） — 打开这家门店的接待页")  # anyone: others are told why, not recorded
    async def scanned(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        """A task code scanned from chat (WeCom scancode events) or its link pasted: the same page, as a card."""
        assert person.id is not None
        task = await links.task_of(ctx.session, m.group("token"), ctx.now()) if links else None
        store = await ctx.session.get(Store, task.store_id) if task else None
        if task is None or store is None:
            await ctx.send_text("⛔ 二维码无效、已过期或已停用：请联系店长重新打印。未做任何修改。", person_id=person.id)
        elif not await works_in(ctx.session, person, store):
            await ctx.send_text(f"⛔ 这是「{store.name}」的门店任务二维码，只有这家门店的店员和店长可以使用。未做任何修改。",
                                person_id=person.id)
        else:
            await ctx.send_text(scan_text(store.name, task.name, m.group(0)), person_id=person.id)
        return True

    return cap
