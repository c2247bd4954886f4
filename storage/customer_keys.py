"""查重 keys: a customer's names (full name and aliases) and its contacts' phones, normalized, in ``customer_key``.

Matching a lead used to read every customer and every contact; with the keys it is one indexed lookup
whatever the size of the book. The keys follow every ORM flush that adds or renames a customer or adds
or changes a contact's phone (an ``after_flush`` listener), so no write path has to remember them;
migration 0010 fills them for rows that existed before.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import delete, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from storage.models import Contact, Customer, CustomerKey
from storage.upsert import table

NAME, PHONE = "name", "phone"
MIN_PHONE = 7  # fewer digits are an extension, not a phone that identifies anyone


def norm_name(text: str) -> str:
    """Spaces and full-width forms ignored, case folded: 杭州 云帆科技 = 杭州云帆科技."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def phone_digits(phone: str | None) -> str:
    """The digits of a phone, without a +86 country prefix."""
    d = re.sub(r"\D", "", phone or "")
    return d[-11:] if len(d) > 11 and d.startswith("86") else d


def name_keys(name: str, aliases: list[str]) -> set[str]:
    return {k for k in (norm_name(n) for n in [name, *aliases]) if k}


def phone_key(phone: str | None) -> str | None:
    d = phone_digits(phone)
    return d if len(d) >= MIN_PHONE else None


def _insert_ignore(dialect: str, rows: list[dict[str, Any]]) -> Any:
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table(CustomerKey))
    return stmt.values(rows).on_conflict_do_nothing()


def _changed(obj: Any, *names: str) -> bool:
    state = inspect(obj)
    return any(state.attrs[n].history.has_changes() for n in names)


@event.listens_for(Session, "after_flush")
def _keep_keys(session: Session, _ctx: Any) -> None:
    """New or renamed customers get their name keys replaced; new or edited contact phones add a phone key."""
    customers = [o for o in [*session.new, *session.dirty]
                 if isinstance(o, Customer) and (o in session.new or _changed(o, "name", "aliases"))]
    contacts = [o for o in [*session.new, *session.dirty]
                if isinstance(o, Contact) and (o in session.new or _changed(o, "phone", "customer_id"))]
    if not customers and not contacts:
        return
    conn = session.connection()
    rows: list[dict[str, Any]] = []
    renamed = [c.id for c in customers if c not in session.new]
    if renamed:
        conn.execute(delete(CustomerKey).where(col(CustomerKey.customer_id).in_(renamed), col(CustomerKey.kind) == NAME))
    for c in customers:
        rows += [{"customer_id": c.id, "kind": NAME, "key": k} for k in sorted(name_keys(c.name, list(c.aliases)))]
    for p in contacts:
        if (k := phone_key(p.phone)) is not None:
            rows.append({"customer_id": p.customer_id, "kind": PHONE, "key": k})
    if rows:
        conn.execute(_insert_ignore(conn.dialect.name, rows))
