"""Route one stored Event to the capability that handles it.

Runs after the ack, inside the inbox row's transaction: whatever happens here commits together
with the row being marked done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from handlers import capture, evidence, people
from handlers.context import Context
from handlers.event import Event, EventKind
from storage.models import Card as CardRow
from storage.models import Person

CardActionHandler = Callable[[Context, CardRow, Person, str, str], Awaitable[None]]

UNKNOWN_USER = "⛔ 你的账号还没有加入组织名录，请联系管理员添加后再使用。本条消息未记录。"
HELP = "发一句话记录客户接触，例如：今天拜访了瑞丰机械张总，下周三再去。也可以发照片、语音或定位作为凭证。"


class Dispatcher:
    """Holds the card-action registry; capabilities register the card kinds they own."""

    def __init__(self) -> None:
        self.card_actions: dict[str, CardActionHandler] = {"confirmation": capture.on_confirmation_action}

    def register(self, kind: str, handler: CardActionHandler) -> None:
        self.card_actions[kind] = handler

    async def handle(self, ctx: Context, event: Event, inbox_id: int | None) -> None:
        if event.extra.get("system"):
            return  # platform bookkeeping (contact changes, auto-reported location): stored, never answered
        person = await people.resolve(ctx.session, event.platform, event.sender)
        if person is None:
            await ctx.send_text(UNKNOWN_USER, to=(event.platform, event.sender))
            return
        assert person.id is not None
        if event.kind == EventKind.text:
            if event.text.strip():
                await capture.capture_text(ctx, person, event, inbox_id)
            else:
                await ctx.send_text(HELP, person_id=person.id)
        elif event.kind == EventKind.voice and event.text.strip():
            await capture.capture_text(ctx, person, event, inbox_id)  # arrives transcribed
        elif event.kind in (EventKind.image, EventKind.voice, EventKind.file, EventKind.location):
            await evidence.attach_evidence(ctx, person, event)
        elif event.kind == EventKind.card_action and event.action is not None:
            await self._card_action(ctx, event, person)
        elif event.kind == EventKind.enter:
            return  # opening the chat is not a touch; nothing to record
        else:
            await ctx.send_text(HELP, person_id=person.id)

    async def _card_action(self, ctx: Context, event: Event, person: Person) -> None:
        assert event.action is not None and person.id is not None
        row = await ctx.session.get(CardRow, event.action.card_id)
        if row is None or row.platform != event.platform:
            await ctx.send_text("⛔ 这张卡片已失效或不存在，未做任何修改。", person_id=person.id)
            return
        if event.action.response_code:
            row.refs = {**row.refs, "response_code": event.action.response_code}
        handler = self.card_actions.get(row.kind)
        if handler is None:
            await ctx.send_text("⛔ 这张卡片不能再操作了。", person_id=person.id)
            return
        await handler(ctx, row, person, event.action.action, event.action.value)
