"""Route one stored Event to the capability that handles it.

Runs after the ack, inside the inbox row's transaction: whatever happens here commits together
with the row being marked done. The dispatcher knows no platform and no capability by name: card
presses go to the kind's registered handler after one central check (the card exists, is this
platform's, offers the pressed action right now, and the press parses into one of the kind's typed
actions); text goes through the intent step to a command, to capture, or to a short answer.
"""

from __future__ import annotations

from cards.actions import NOTHING_CHOSEN, pressed
from handlers import capture, evidence, people, replies
from handlers.context import Context
from handlers.event import Event, EventKind
from handlers.intents import HELP, Intent, classify
from handlers.router import Router
from storage.models import Card as CardRow
from storage.models import Person, Role

UNKNOWN_USER = "⛔ 你的账号还没有加入组织名录，请联系管理员添加后再使用。本条消息未记录。"
GONE = "⛔ 这张卡片已失效或不存在，未做任何修改。"
CHOOSE_FIRST = "请先展开下拉框选一项，再点「选定」。未做任何修改。"
NO_HANDLER = "⛔ 这张卡片不能再操作了。"
CHATTER_REPLY = "👌 收到。记录客户接触请直接描述，例如：今天拜访了瑞丰机械张总，下周三再去。发「帮助」看全部用法。"
NOT_FOR_ROLE = "这条消息没有记录为客户动作（客户动作由销售记录）。发「帮助」看你可以用的功能。"
EVIDENCE_ROLES = frozenset({Role.rep, Role.supervisor})


class Dispatcher:
    def __init__(self, router: Router) -> None:
        self.router = router

    async def handle(self, ctx: Context, event: Event, inbox_id: int | None) -> None:
        if event.extra.get("system"):
            return  # platform bookkeeping (contact changes, auto-reported location): stored, never answered
        person = await people.resolve(ctx.session, event.platform, event.sender)
        if person is None:
            await ctx.send_text(UNKNOWN_USER, to=(event.platform, event.sender))
            return
        assert person.id is not None
        ctx.sender = (person.id, event.sender)
        if event.kind == EventKind.card_action and event.action is not None:
            await self._card_action(ctx, event, person)
        elif event.kind in evidence.MEDIA and person.awaiting_card_id and not evidence.failed(event) and \
                await replies.take_reply(ctx, self.router, person, event,
                                         value=replies.entry_value(evidence.evidence_entry(event))):
            return  # the evidence a card asked for (a checklist photo, a voice note)
        elif event.kind == EventKind.text or (event.kind == EventKind.voice and event.text.strip()):
            await self._text(ctx, event, person, inbox_id)  # a voice message arrives transcribed
        elif event.kind in (EventKind.image, EventKind.voice, EventKind.file, EventKind.location):
            if person.role in EVIDENCE_ROLES:
                await evidence.attach_evidence(ctx, person, event)
            else:
                await ctx.send_text(NOT_FOR_ROLE, person_id=person.id)
        elif event.kind == EventKind.enter:
            return  # opening the chat is not a touch; nothing to record
        else:
            await ctx.send_text(self.help_text(person.role), person_id=person.id)

    async def _text(self, ctx: Context, event: Event, person: Person, inbox_id: int | None) -> None:
        assert person.id is not None
        text = event.text.strip()
        if not text:
            await ctx.send_text(self.help_text(person.role), person_id=person.id)
            return
        if HELP.fullmatch(text):
            await ctx.send_text(self.help_text(person.role), person_id=person.id)
            return
        found = self.router.command_for(text, person.role)
        if found is not None and await found[0].handle(ctx, person, event, found[1]):
            return
        if person.awaiting_card_id and await replies.take_reply(ctx, self.router, person, event):
            return  # the reason a card asked for (some platforms have no text input in cards)
        match classify(text, person.role).intent:
            case Intent.chatter:
                await ctx.send_text(CHATTER_REPLY, person_id=person.id)
            case Intent.not_for_role:
                await ctx.send_text(NOT_FOR_ROLE, person_id=person.id)
            case Intent.record:
                await capture.capture_text(ctx, person, event, inbox_id)

    def help_text(self, role: Role) -> str:
        """帮助: how to record (for the roles that record) and every command this role may use."""
        lines = ["可以这样用我（发「帮助」随时查看）："]
        if role in EVIDENCE_ROLES:
            lines.append("发一句话记录客户接触，例如：今天拜访了瑞丰机械张总，下周三再去。也可以发照片、语音或定位作为凭证。")
        lines += [f"• {c.help}" for c in self.router.commands if c.roles is None or role in c.roles]
        if role not in EVIDENCE_ROLES:
            lines.append("（客户动作由销售记录，你发的普通消息不会生成动作记录。）")
        return "\n".join(lines)

    async def _card_action(self, ctx: Context, event: Event, person: Person) -> None:
        assert event.action is not None and person.id is not None
        row = await ctx.session.get(CardRow, event.action.card_id)
        if row is None or row.platform != event.platform:
            await ctx.send_text(GONE, person_id=person.id)
            return
        if event.action.reply_token:  # kept for the channel's next in-place update of this card
            row.refs = {**row.refs, "reply_token": event.action.reply_token}
        kind = self.router.cards.get(row.kind)
        if kind is None:
            await ctx.send_text(NO_HANDLER, person_id=person.id)
            return
        if event.action.action == NOTHING_CHOSEN:  # "选定" pressed without opening the dropdown
            await ctx.send_text(CHOOSE_FIRST, person_id=person.id)
            return
        action = pressed(row.offered, kind.actions, event.action.action, event.action.value)
        if action is None:
            await ctx.send_text(people.STALE, person_id=person.id)
            return
        await kind.handle(ctx, row, person, action)
