"""Who is talking: platform identity → person, and the supervisor chain used for authorization."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Identity, Person

STALE = "⛔ 这个按钮已失效，请用卡片上当前的按钮。未做任何修改。"  # a press of something the card no longer offers


def refusal(who: str) -> str:
    """The one wording for a press by the wrong person: says who may act and that nothing changed."""
    return f"⛔ 这张卡片只能由{who}操作，未做任何修改。"


_RESOLVE = (  # built once: every event asks it, and building a statement cost more than running it
    select(Person)
    .join(Identity, col(Identity.person_id) == col(Person.id))
    .where(col(Identity.platform) == bindparam("platform"), col(Identity.external_id) == bindparam("external_id"),
           col(Person.active).is_(True))
)


async def resolve(session: AsyncSession, platform: str, external_id: str) -> Person | None:
    """Asked once per (platform, user) per transaction: a batch often holds several messages of one person."""
    known: dict[tuple[str, str], Person | None] = session.info.setdefault("people", {})
    key = (platform, external_id)
    if key not in known:
        known[key] = (await session.execute(
            _RESOLVE, {"platform": platform, "external_id": external_id})).scalar_one_or_none()
    return known[key]


async def supervisor_chain(session: AsyncSession, person_id: int, max_depth: int = 8) -> list[Person]:
    """The person's supervisor, their supervisor, … (cycle-safe)."""
    chain: list[Person] = []
    seen = {person_id}
    current = await session.get(Person, person_id)
    while current is not None and current.supervisor_id and len(chain) < max_depth:
        if current.supervisor_id in seen:
            break
        seen.add(current.supervisor_id)
        current = await session.get(Person, current.supervisor_id)
        if current is not None:
            chain.append(current)
    return chain
