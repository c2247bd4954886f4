"""The seams: typed card actions checked centrally for every card kind, idempotent toggles, chat intents,
the channel registry and the layering rules that keep platforms out of the core."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import typing
import uuid
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.channels import registry
from bot.config import ConfigError
from bot.service import Service
from cards.actions import CardAction, Value, pressed
from storage.models import ActionRecord, MustDo, OutboxMessage, Person
from storage.models import Card as CardRow
from tests.conftest import eventually, make_config
from tests.foundation.test_capture_flow import card_message, press, say, texts_to

ROOT = Path(__file__).resolve().parents[2]


def sample(cls: type[CardAction]) -> CardAction:
    """Some valid instance of an action class (first Literal/enum member, 1, "x", today)."""
    hints = typing.get_type_hints(cls)
    args: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        t = hints[f.name]
        if t is Value:
            args[f.name] = Value("说明")
        elif get_origin(t) is Literal:
            args[f.name] = get_args(t)[0]
        elif isinstance(t, type) and issubclass(t, Enum):
            args[f.name] = next(iter(t))
        elif t is int:
            args[f.name] = 1
        elif t is date:
            args[f.name] = date(2026, 11, 30)
        else:
            args[f.name] = "x"
    return cls(**args)


# ---- typed actions ----------------------------------------------------------------------------------
def test_every_action_round_trips_through_its_packed_string(service: Service) -> None:
    for kind in service.router.cards.values():
        for cls in kind.actions:
            a = sample(cls)
            value = next((str(getattr(a, f.name)) for f in dataclasses.fields(cls)
                          if typing.get_type_hints(cls)[f.name] is Value), "")
            assert cls.unpack(a.pack(), value) == a, cls


def test_press_counts_only_when_the_card_offers_it() -> None:
    from handlers.must_do import ACTIONS, Pick

    assert pressed(["pick:5:on", "lock"], ACTIONS, "pick:5:on") == Pick(5, "on")
    assert pressed(["pick:5:off"], ACTIONS, "pick:5:on") == Pick(5, "on")  # a toggle: the wanted state travels
    assert pressed(["pick:5:on"], ACTIONS, "pick:6:on") is None
    assert pressed(["pick:5:on"], ACTIONS, "pick:5:maybe") is None
    assert pressed(["pick:5:on"], ACTIONS, "pick:5") is None
    assert pressed(["lock"], ACTIONS, "lock:1") is None
    assert pressed([], ACTIONS, "lock") is None


async def test_unoffered_press_is_refused_for_every_card_kind(client: TestClient, service: Service,
                                                              people: dict[str, Person]) -> None:
    """A card of each registered kind that offers one action; a press of any other well-formed action of
    that kind is refused with the usual text, and neither the card nor anything else changes."""
    rep = people["张伟"]
    assert {"confirmation", "must_do", "reason", "warning"} <= set(service.router.cards)
    for kind_name, kind in service.router.cards.items():
        card_id = f"t-{kind_name}"[:20]
        async with service.db.write() as s:
            s.add(CardRow(id=card_id, kind=kind_name, audience_id=rep.id, subject={"rep_id": rep.id, "owner_id": rep.id},
                          platform="local", offered=["never-offered"]))
        for n, cls in enumerate(kind.actions):
            a = sample(cls)
            value = "2026-11-30" if any(typing.get_type_hints(cls)[f.name] is Value
                                        for f in dataclasses.fields(cls)) else ""
            assert await press(client, rep, card_id, a.pack(), value, cid=f"{card_id}-{n}") == 200
        await service.inbox.drain()
        async with service.db.session() as s:
            row = await s.get(CardRow, card_id)
            assert row is not None and row.version == 1 and row.view == {}, kind_name
            updates = (await s.execute(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.card_id == card_id))).scalar_one()
            assert updates == 0, kind_name
    expected = sum(len(k.actions) for k in service.router.cards.values())

    async def all_refused() -> bool:
        return len([t for t in await texts_to(service, rep) if "这个按钮已失效" in t]) == expected

    await eventually(all_refused)


async def test_confirmation_card_refuses_a_picker_it_is_not_showing(client: TestClient, service: Service,
                                                                    people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await say(client, rep, "今天拜访了瑞丰机械张总，下周三再去")
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    async with service.db.session() as s:
        row = await s.get(CardRow, msg.card_id)
        assert row is not None and "type:visit" not in row.offered and "confirm" in row.offered
    await press(client, rep, msg.card_id, "type:quote")  # the summary card shows 改类型, not the type buttons
    await service.inbox.drain()
    async with service.db.session() as s:
        [record] = (await s.execute(select(ActionRecord).where(ActionRecord.rep_id == rep.id,
                                                               ActionRecord.source_event_id.is_not(None)))).scalars()
    assert record.type.value == "visit"
    await eventually(lambda: _said(service, rep, "这个按钮已失效"))


async def test_twenty_concurrent_presses_of_a_toggle_leave_the_wanted_state(
        client: TestClient, service: Service, people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await service.scheduler.run("morning_must_do")
    async with service.db.session() as s:
        card = (await s.execute(select(CardRow).where(CardRow.kind == "must_do",
                                                      CardRow.audience_id == rep.id))).scalar_one()
        first = (await s.execute(select(MustDo).where(MustDo.card_id == card.id).order_by(MustDo.rank))).scalars().first()
    assert first is not None

    async def burst(state: str) -> None:
        statuses = await asyncio.gather(*(press(client, rep, card.id, f"pick:{first.id}:{state}",
                                                cid=uuid.uuid4().hex) for _ in range(20)))
        assert set(statuses) == {200}
        await service.inbox.drain()

    async def chosen() -> bool:
        async with service.db.session() as s:
            item = await s.get(MustDo, first.id)
            assert item is not None
            return item.chosen

    await burst("on")
    assert await chosen()
    async with service.db.session() as s:
        row = await s.get(CardRow, card.id)
        assert row is not None and row.version == 2  # one real change, one redraw; 19 repeats changed nothing
        assert f"pick:{first.id}:off" in row.offered
    await burst("off")
    assert not await chosen()
    await burst("on")
    assert await chosen()


# ---- intents --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("who", "text", "answer"), [
    ("张伟", "帮助", "可以这样用我"),
    ("张伟", "恒远化工 最近进展", "只对负责这个客户的人可见"),  # 李娜's customer: the timeline is refused
    ("张伟", "新线索 苏州某机械厂 王总 138xxxx", "新线索由主管或经理录入"),  # a rep cannot enter one
    ("王芳", "赵敏的雷达", "不在你的团队里"),  # a report about another team's rep: refused, no record
    ("张伟", "发起合同审批 瑞丰机械", "请写明合同金额"),  # refused: no amount, no request
    ("张伟", "我的必做", "必做"),
    ("张伟", "好的，收到", "收到"),
    ("郑丽", "今天店里来了个客户看了样品", "客户动作由销售记录"),
    ("吴静", "帮助", "可以这样用我"),
])
async def test_commands_questions_and_chatter_make_no_record(client: TestClient, service: Service,
                                                             people: dict[str, Person], who: str, text: str,
                                                             answer: str) -> None:
    person = people[who]
    status, _ = await say(client, person, text)
    assert status == 200
    await service.inbox.drain()
    await eventually(lambda: _said(service, person, answer))
    async with service.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(ActionRecord)
                                .where(ActionRecord.source_event_id.is_not(None)))).scalar_one() == 0
        assert (await s.execute(select(func.count()).select_from(CardRow)
                                .where(CardRow.kind == "confirmation"))).scalar_one() == 0


async def _said(service: Service, person: Person, part: str) -> bool:
    return any(part in t for t in await texts_to(service, person))


async def test_a_report_mentioning_progress_is_still_a_record(client: TestClient, service: Service,
                                                            people: dict[str, Person]) -> None:
    """「…进展」 about something that is not a customer is not the timeline question."""
    rep = people["张伟"]
    await say(client, rep, "今天拜访了瑞丰机械张总了解进展")
    assert await eventually(lambda: card_message(service, rep, "待确认"))


async def test_other_without_customer_cannot_be_confirmed(client: TestClient, service: Service,
                                                          people: dict[str, Person]) -> None:
    rep = people["张伟"]
    await say(client, rep, "今天在公司整理了一下资料")
    msg = await eventually(lambda: card_message(service, rep, "待确认"))
    await press(client, rep, msg.card_id, "confirm")
    await service.inbox.drain()
    async with service.db.session() as s:
        [record] = (await s.execute(select(ActionRecord).where(ActionRecord.source_event_id.is_not(None)))).scalars()
    assert record.status.value == "draft" and record.customer_id is None


# ---- the channel registry and layering ------------------------------------------------------------------
def test_registry_finds_every_channel_folder() -> None:
    specs = registry()
    assert {"local", "wecom"} <= set(specs)
    folders = {p.name for p in (ROOT / "bot" / "channels").iterdir() if (p / "__init__.py").exists()}
    assert set(specs) == folders  # every folder exports a SPEC


def test_enabling_a_channel_that_does_not_exist_stops_start_up(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.channels

    found = registry()
    for name in ("feishu", "dingtalk"):
        monkeypatch.setattr(bot.channels, "registry", lambda n=name: {k: v for k, v in found.items() if k != n})
        cfg = make_config(tmp_path, channels={name: {"enabled": True}})
        with pytest.raises(ConfigError, match=f"channels.{name}.enabled"):
            Service(cfg)


def _imports(path: Path) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module)
        elif isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
    return mods


def test_layers_platforms_stay_in_channels_and_handlers_never_import_bot() -> None:
    platform_words = ("wecom", "feishu", "dingtalk", "lark", "企业微信", "飞书", "钉钉")
    for rel in ("bot/service.py", "bot/cli.py", "handlers/dispatch.py", "bot/inbox.py", "bot/sender.py"):
        text = (ROOT / rel).read_text(encoding="utf-8").lower()
        assert not [w for w in platform_words if w in text], rel
    for path in (ROOT / "handlers").rglob("*.py"):
        assert not [m for m in _imports(path) if m == "bot" or m.startswith("bot.")], path
    shared = {"handlers.event", "handlers.clock"}  # the vocabulary every layer may use
    for path in (ROOT / "bot" / "channels").rglob("*.py"):
        bad = [m for m in _imports(path) if m.startswith("handlers") and m not in shared]
        assert not bad, (path, bad)
    for path in (ROOT / "handlers").rglob("*.py"):
        assert "response_code" not in path.read_text(encoding="utf-8"), path
