"""The customer directory the tagger matches against, rebuilt only when customers change."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.understanding import Customer as DirCustomer
from handlers.understanding import Directory
from storage.models import Customer

_CHECKED = "directory_checked"
_VERSION = select(func.count(), func.max(col(Customer.created_at)))  # built once, asked per message


class DirectoryCache:
    """Building a Directory loads jieba's user dictionary: do it once per change, not per message."""

    def __init__(self) -> None:
        self._version: tuple[object, ...] | None = None
        self._directory: Directory | None = None

    async def get(self, session: AsyncSession) -> Directory:
        """Checked once per transaction: a batch of messages handled together sees one snapshot anyway."""
        if self._directory is not None and session.info.get(_CHECKED) is self:
            return self._directory
        version = tuple((await session.execute(_VERSION)).one())
        session.info[_CHECKED] = self
        if self._directory is None or version != self._version:
            rows = (await session.execute(select(Customer))).scalars().all()
            self._directory = Directory(
                DirCustomer(id=c.id, name=c.name, aliases=tuple(c.aliases), address=c.address, lat=c.lat, lng=c.lng)
                for c in rows
            )
            self._version = version
        return self._directory
