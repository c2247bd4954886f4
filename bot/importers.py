"""CSV imports for customers and people; both upsert, so running one twice changes nothing."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.models import Customer, Identity, Person, Role

PEOPLE_COLUMNS = ("name", "role", "supervisor", "region", "wecom_userid", "feishu_open_id", "dingtalk_userid",
                  "lat", "lng")
PLATFORM_COLUMNS = {"wecom_userid": "wecom", "feishu_open_id": "feishu", "dingtalk_userid": "dingtalk"}


class ImportError_(ValueError):
    """A bad row: the message names the file line."""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def _rows(path: str | Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    with Path(path).open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportError_(f"{path}: missing column(s) {', '.join(missing)}")
        return [(i + 2, {k: (v or "").strip() for k, v in row.items() if k}) for i, row in enumerate(reader)]


def _float(v: str, where: str) -> float | None:
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        raise ImportError_(f"{where}: not a number: {v!r}") from None


async def import_customers(session: AsyncSession, path: str | Path, owner_ids: list[int] | None = None) -> ImportResult:
    """Columns id,name,aliases(;-separated),address,lat,lng (the tagging-dev format)."""
    result = ImportResult()
    for n, (line, row) in enumerate(_rows(path, ("id", "name"))):
        where = f"{path}:{line}"
        if not row["id"] or not row["name"]:
            raise ImportError_(f"{where}: id and name are required")
        aliases = [a.strip() for a in row.get("aliases", "").split(";") if a.strip()]
        c = await session.get(Customer, row["id"])
        if c is None:
            c = Customer(id=row["id"], name=row["name"])
            if owner_ids:
                c.owner_id = owner_ids[n % len(owner_ids)]
            result.created += 1
        else:
            result.updated += 1
        c.name, c.aliases, c.address = row["name"], aliases, row.get("address", "")
        c.lat, c.lng = _float(row.get("lat", ""), where), _float(row.get("lng", ""), where)
        session.add(c)
    await session.flush()
    return result


async def import_people(session: AsyncSession, path: str | Path) -> ImportResult:
    """Columns name,role[,supervisor,region,wecom_userid,feishu_open_id,dingtalk_userid,lat,lng]; keyed by name.
    lat,lng: the rep's home position (nearest-rep lead assignment)."""
    result = ImportResult()
    rows = _rows(path, ("name", "role"))
    by_name: dict[str, Person] = {p.name: p for p in (await session.execute(select(Person))).scalars()}
    for line, row in rows:
        where = f"{path}:{line}"
        try:
            role = Role(row["role"])
        except ValueError:
            raise ImportError_(f"{where}: role must be one of {', '.join(r.value for r in Role)}") from None
        p = by_name.get(row["name"])
        if p is None:
            p = Person(name=row["name"], role=role)
            by_name[p.name] = p
            result.created += 1
        else:
            result.updated += 1
        p.role, p.region = role, row.get("region") or p.region
        lat, lng = _float(row.get("lat", ""), where), _float(row.get("lng", ""), where)
        if (lat is None) != (lng is None):
            raise ImportError_(f"{where}: lat and lng come together")
        if lat is not None and lng is not None:  # a rep's home position, for nearest-rep lead assignment
            if not (-90 <= lat <= 90 and -180 <= lng <= 180):
                raise ImportError_(f"{where}: lat/lng out of range")
            p.home_lat, p.home_lng = lat, lng
        session.add(p)
    await session.flush()
    for line, row in rows:
        p = by_name[row["name"]]
        boss = row.get("supervisor", "")
        if boss:
            if boss not in by_name:
                raise ImportError_(f"{path}:{line}: unknown supervisor {boss!r}")
            p.supervisor_id = by_name[boss].id
        for column, platform in PLATFORM_COLUMNS.items():
            if row.get(column):
                await link_identity(session, p, platform, row[column])
    await session.flush()
    return result


async def link_identity(session: AsyncSession, person: Person, platform: str, external_id: str) -> None:
    """Point (platform, external id) at ``person``, replacing an earlier owner of that id."""
    assert person.id is not None
    q = select(Identity).where(col(Identity.platform) == platform, col(Identity.external_id) == external_id)
    ident = (await session.execute(q)).scalar_one_or_none()
    if ident is None:
        session.add(Identity(platform=platform, external_id=external_id, person_id=person.id))
    else:
        ident.person_id = person.id
