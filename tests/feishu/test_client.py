"""Outbound to the strict fake: token cache and refresh, idempotent sends, error codes, card fallbacks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from bot.channels.base import ChannelError
from bot.channels.feishu import FeishuChannel, credentials_from_env
from bot.channels.feishu.client import FeishuError
from bot.channels.feishu.doctor import check_feishu
from cards.model import Button, Card, Fact
from handlers.clock import FixedClock
from storage.models import OutboxMessage
from storage.outbox import text_body
from tests.feishu.conftest import feishu_config, feishu_env
from tests.feishu.fake_server import FakeFeishu

USER = "ou_rep1"


@pytest.fixture
async def channel(tmp_path: Path, fake: FakeFeishu, fake_server: TestServer, clock: FixedClock,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FeishuChannel]:
    feishu_env(fake, monkeypatch)
    cfg = feishu_config(tmp_path, fake_server)
    ch = FeishuChannel(cfg.channels.feishu, credentials_from_env(cfg.channels.feishu), clock)
    yield ch
    await ch.close()


def _card(title: str = "动作记录待确认", n_facts: int = 2) -> dict[str, Any]:
    card = Card(kind="confirmation", title=title, facts=[Fact(f"字段{i}", "值") for i in range(n_facts)],
                buttons=[Button("confirm", "确认", "primary")], card_id="cid-1")
    return {"type": "card", "card": card.to_dict()}


def _msg(key: str, body: dict[str, Any], op: str = "send") -> OutboxMessage:
    return OutboxMessage(id=1, idempotency_key=key, platform="feishu", recipient=USER, op=op, body=body)


async def test_concurrent_sends_fetch_one_token(channel: FeishuChannel, fake: FakeFeishu) -> None:
    await asyncio.gather(*(channel.deliver(_msg(f"k{i}", text_body(f"第{i}条"))) for i in range(4)))
    assert len(fake.calls("token")) == 1


async def test_an_expired_token_is_refetched_once(channel: FeishuChannel, fake: FakeFeishu, clock: FixedClock) -> None:
    await channel.deliver(_msg("a", text_body("一")))
    clock.advance(hours=3)  # the fake's token lifetime is 2 h on the test clock
    await channel.deliver(_msg("b", text_body("二")))
    assert len(fake.calls("token")) == 2
    assert [m.content["text"] for m in fake.messages.values()] == ["一", "二"]


async def test_a_retried_outbox_row_posts_once(channel: FeishuChannel, fake: FakeFeishu) -> None:
    first = await channel.deliver(_msg("same-key", _card()))
    again = await channel.deliver(_msg("same-key", _card()))
    assert first.message_id == again.message_id and len(fake.messages) == 1
    sent = [r.body["uuid"] for r in fake.calls("im/v1/messages")]
    assert len(set(sent)) == 1 and len(sent[0]) <= 50


@pytest.mark.parametrize(("code", "retryable"), [(230020, True), (11232, True), (99991400, True),
                                                 (230013, False), (230002, False), (99991672, False)])
async def test_error_codes_map_to_retry_or_give_up(channel: FeishuChannel, fake: FakeFeishu, code: int,
                                                   retryable: bool) -> None:
    fake.fail("im/v1/messages", code)
    with pytest.raises(ChannelError) as exc:
        await channel.deliver(_msg("k", text_body("你好")))
    assert exc.value.retryable is retryable
    if code == 99991400:  # the reset header says how long
        assert exc.value.retry_after is not None and exc.value.retry_after >= 1.0


async def test_a_user_outside_the_app_is_a_permanent_failure(channel: FeishuChannel, fake: FakeFeishu) -> None:
    fake.users = {"ou_someone_else"}
    with pytest.raises(FeishuError) as exc:
        await channel.deliver(_msg("k", text_body("你好")))
    assert exc.value.code == 230013 and not exc.value.retryable


async def test_a_card_feishu_cannot_build_goes_out_as_text(channel: FeishuChannel, fake: FakeFeishu) -> None:
    fake.fail("im/v1/messages", 230099)
    d = await channel.deliver(_msg("k", _card()))
    [m] = fake.messages.values()
    assert m.msg_type == "text" and "动作记录待确认" in m.content["text"] and d.refs.get("text_only")


async def test_an_update_patches_in_place_and_an_old_card_gets_a_fresh_one(
        channel: FeishuChannel, fake: FakeFeishu, clock: FixedClock) -> None:
    sent = await channel.deliver(_msg("k", _card()))
    await channel.update_card(_msg("k-u1", _card("已记录"), "update"), sent.refs)
    assert [e for e, _ in fake.shown] == ["send", "patch"]
    assert fake.messages[str(sent.message_id)].content["header"]["title"]["content"] == "已记录"
    clock.advance(days=15)  # past Feishu's 14-day update window (230031)
    fresh = await channel.update_card(_msg("k-u2", _card("已记录（补）"), "update"), sent.refs)
    assert fresh.message_id != sent.message_id and [e for e, _ in fake.shown] == ["send", "patch", "send"]


async def test_too_many_updates_of_one_card_are_retried_not_lost(channel: FeishuChannel, fake: FakeFeishu) -> None:
    sent = await channel.deliver(_msg("k", _card()))
    fake.fail("im/v1/patch", 230020)
    with pytest.raises(ChannelError) as exc:
        await channel.update_card(_msg("k-u", _card("已记录"), "update"), sent.refs)
    assert exc.value.retryable


async def test_doctor_says_plainly_what_is_wrong(tmp_path: Path, fake: FakeFeishu, fake_server: TestServer,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    feishu_env(fake, monkeypatch)
    cfg = feishu_config(tmp_path, fake_server)
    ok, lines = await check_feishu(cfg)
    assert ok and any("/feishu/events" in x for x in lines)
    monkeypatch.setenv("FEISHU_APP_SECRET", "wrong-secret")
    ok, lines = await check_feishu(cfg)
    assert not ok and "FEISHU_APP_SECRET" in "\n".join(lines) and "wrong-secret" not in "\n".join(lines)
    monkeypatch.delenv("FEISHU_APP_ID")
    ok, lines = await check_feishu(cfg)
    assert not ok and "FEISHU_APP_ID" in "\n".join(lines)


async def test_a_chart_image_and_a_file_are_uploaded_once_and_sent_by_key(
        channel: FeishuChannel, fake: FakeFeishu, tmp_path: Path) -> None:
    png = tmp_path / "radar.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    pdf = tmp_path / "报价单.pdf"
    pdf.write_bytes(b"%PDF-1.4 fake")
    image = {"type": "image", "image": {"path": str(png), "name": "radar.png"}}
    for _ in range(2):  # a retried row: no second upload, no second message
        await channel.deliver(_msg("img-1", image))
    await channel.deliver(_msg("file-1", {"type": "file", "file": {"path": str(pdf), "name": "报价单.pdf"}}))
    assert len(fake.calls("im/v1/images")) == 1 and fake.calls("im/v1/images")[0].body["image_type"] == "message"
    assert fake.calls("im/v1/files")[0].body == {"file_type": "pdf", "file_name": "报价单.pdf"}
    assert [m.msg_type for m in fake.messages.values()] == ["image", "file"]


async def test_oauth_code_names_the_member_once(channel: FeishuChannel, fake: FakeFeishu, clock: FixedClock) -> None:
    from bot.channels.feishu.oauth import authorize_url, open_id_from_code

    url = authorize_url("https://accounts.feishu.cn", fake.app_id, "https://bot.example.com/store?x=1", "st8")
    assert url.startswith("https://accounts.feishu.cn/open-apis/authen/v1/authorize?client_id=cli_fake0001")
    assert "redirect_uri=https%3A%2F%2Fbot.example.com%2Fstore%3Fx%3D1" in url
    fake.add_oauth_code("code-1", "ou_staff_7")
    assert await open_id_from_code(channel.client, "code-1") == "ou_staff_7"
    with pytest.raises(FeishuError) as exc:  # single use
        await open_id_from_code(channel.client, "code-1")
    assert exc.value.code == 20003
    fake.add_oauth_code("code-2", "ou_staff_7")
    clock.advance(minutes=6)  # codes live 5 minutes
    with pytest.raises(FeishuError):
        await open_id_from_code(channel.client, "code-2")
    with pytest.raises(ValueError):
        await open_id_from_code(channel.client, "bad code!")


async def test_a_card_with_a_picture_uploads_it_once_and_counts_the_upload(
        channel: FeishuChannel, fake: FakeFeishu, tmp_path: Path) -> None:
    png = tmp_path / "radar.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    card = Card(kind="rep_radar", title="过程健康雷达 · 张伟", facts=[Fact("首次响应", "80%")], image=str(png))
    msg = _msg("radar-1", {"type": "card", "card": card.to_dict()})
    assert channel.sends(msg) == 2  # the upload spends the app's budget like a message
    for _ in range(2):  # a retried row: one upload
        await channel.deliver(msg)
    assert channel.sends(msg) == 1 and len(fake.calls("im/v1/images")) == 1
    [key] = fake.uploads
    shown = list(fake.messages.values())[-1].content
    assert shown["body"]["elements"][0] == {"tag": "img", "img_key": key, "alt": {"tag": "plain_text",
                                            "content": "过程健康雷达 · 张伟"}, "scale_type": "fit_horizontal",
                                            "preview": True}
