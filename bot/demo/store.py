"""The demo store: 长沙旗舰店 with its manager and three staff, two QR tasks with their tokens, and customers
already served earlier today, so the store manager's funnel has numbers on first start."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkToken, Person, Role, Store, StoreMember, StoreSession, StoreTap, StoreTask

STORE = "长沙旗舰店"
TASKS = ["门店接待", "新品试用"]
QR_TTL = timedelta(days=180)
# how far a served customer got: most are greeted, fewer probed … as a real floor looks
REACH = [1, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7, 7]


async def seed_store(session: AsyncSession, people: dict[str, Person], now: datetime, rng: random.Random) -> str:
    manager = next(p for p in people.values() if p.role == Role.store_manager and p.region == STORE)
    staff = [p for p in people.values() if p.role == Role.store_staff and p.region == STORE]
    store = Store(name=STORE, store_type="default", manager_id=manager.id)
    session.add(store)
    await session.flush()
    assert store.id is not None
    for p in staff:
        assert p.id is not None
        session.add(StoreMember(store_id=store.id, person_id=p.id))
    tasks = [StoreTask(store_id=store.id, name=n) for n in TASKS]
    session.add_all(tasks)
    await session.flush()
    for t in tasks:  # chat's 「门店任务」 signs these stored tokens; `actionflow qr` prints them
        session.add(LinkToken(jti=secrets.token_urlsafe(12), purpose="store-qr", subject=f"task:{t.id}",
                              expires_at=now + QR_TTL, created_at=now))
    served = 0
    for p in staff:
        for i in range(rng.randint(4, 7)):
            assert p.id is not None and tasks[0].id is not None
            at = now - timedelta(minutes=20 * (i + 1) + rng.randint(0, 9))
            reach = rng.choice(REACH)
            sess = StoreSession(key=secrets.token_urlsafe(18), store_id=store.id, task_id=tasks[0].id, person_id=p.id,
                                started_at=at, reached=reach, left_at=at + timedelta(minutes=8) if reach < 7 else None)
            session.add(sess)
            await session.flush()
            assert sess.id is not None
            session.add_all([StoreTap(session_id=sess.id, node=n, at=at + timedelta(minutes=n)) for n in range(reach)])
            served += 1
    await session.flush()
    return f"1 store, {len(tasks)} QR tasks, {served} customers served today"
