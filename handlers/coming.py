"""Commands of capabilities that have not landed yet: answered honestly, never turned into a junk record.

Each entry leaves this file when its capability arrives and registers the command itself.
"""

from __future__ import annotations

import re

from handlers.context import Context
from handlers.event import Event
from handlers.router import Capability
from storage.models import Person, Role

capability = Capability("coming")

COMING: list[tuple[str, str, str, set[Role] | None]] = [
]


def _register(name: str, pattern: str, help: str, roles: set[Role] | None) -> None:
    @capability.command(name, pattern, help, roles)
    async def answer(ctx: Context, person: Person, event: Event, m: re.Match[str]) -> bool:
        assert person.id is not None
        await ctx.send_text(f"「{help.split(' — ')[0]}」功能即将上线，这条消息没有记录为客户动作。", person_id=person.id)
        return True


for _entry in COMING:
    _register(*_entry)
