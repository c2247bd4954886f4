"""A card's picture on each platform: WeCom gets it from our signed, expiring link (and nothing else is
served there); the fakes refuse what the platforms refuse (a Feishu ``img`` or DingTalk image whose key no
upload issued, a WeCom news_notice with a bad picture, no card_action, or too many rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.chart_links import ChartLinks
from bot.service import Service
from bot.timeline_page import LinkSigner
from cards.model import Card, Fact
from cards.render_feishu import render_card
from cards.render_wecom import render_news_notice
from handlers.clock import FixedClock
from tests.conftest import make_config
from tests.dingtalk.fake_server import FakeDingtalk
from tests.feishu.fake_server import card_problem as feishu_problem
from tests.wecom.fake_server import card_problem as wecom_problem

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
async def served(tmp_path: Path, clock: FixedClock, aiohttp_client: Any) -> tuple[Service, TestClient, Path]:
    cfg = make_config(tmp_path, reports={"dir": str(tmp_path / "reports")},
                      server={"public_url": "https://bot.example.com/"})
    (tmp_path / "reports").mkdir()
    chart = tmp_path / "reports" / "process-3-20261127T180000.png"
    chart.write_bytes(PNG)
    service = Service(cfg, clock=clock, scheduler=False)
    return service, await aiohttp_client(service.app()), chart


async def test_a_chart_link_serves_that_chart_until_it_expires(served: tuple[Service, TestClient, Path],
                                                               clock: FixedClock) -> None:
    service, client, chart = served
    url = service.chart_links.url(str(chart))
    assert url is not None and url.startswith("https://bot.example.com/charts/")
    path = url.removeprefix("https://bot.example.com")
    got = await client.get(path)
    assert got.status == 200 and got.content_type == "image/png" and await got.read() == PNG
    clock.advance(days=7, seconds=1)
    assert (await client.get(path)).status == 403


async def test_nothing_else_is_served_at_a_chart_link(served: tuple[Service, TestClient, Path], tmp_path: Path) -> None:
    service, client, chart = served
    outside = tmp_path / "secret.png"
    outside.write_bytes(PNG)
    assert service.chart_links.url(str(outside)) is None  # only files of reports.dir get a link
    assert service.chart_links.url(str(chart.parent / "notes.txt")) is None
    token = service.chart_links.url(str(chart)).rsplit("/", 1)[1]  # type: ignore[union-attr]
    body, _, mac = token.partition(".")
    assert (await client.get(f"/charts/{body}.{mac[:-2]}xx")).status == 403  # tampered
    assert (await client.get("/charts/..%2F..%2Fsecret.png")).status == 403
    timeline = LinkSigner(service.cfg.security.token_secret).sign(chart.name, 4e9)  # another purpose's token
    assert (await client.get(f"/charts/{timeline}")).status == 403
    gone = ChartLinks(service.cfg, service.clock.now).signer.sign("process-9-gone.png", 4e9)
    assert (await client.get(f"/charts/{gone}")).status == 404


def radar_card() -> Card:
    return Card(kind="rep_radar", title="过程健康雷达 · 张伟", facts=[Fact("首次响应", "80%")],
                lines=["客户接触质量（CQI）：", "触达深度：75%", "需求锚定：60%", "节奏匹配：0.80", "第五行：多出来的"],
                image="/tmp/x.png")


def test_wecom_shows_a_picture_card_as_news_notice_within_its_limits() -> None:
    tc = render_news_notice(radar_card(), image_url="https://bot.example.com/charts/t", aspect=1.0,
                            link_url="https://bot.example.com/wecom/card")
    assert tc["card_type"] == "news_notice" and tc["card_image"] == {"url": "https://bot.example.com/charts/t",
                                                                      "aspect_ratio": 1.3}  # clamped into range
    assert len(tc["vertical_content_list"]) == 4 and tc["vertical_content_list"][1] == {"title": "触达深度",
                                                                                         "desc": "75%"}
    assert not wecom_problem(tc)
    for bad in ({"card_image": {"url": "ftp://x/y.png", "aspect_ratio": 1.4}},
                {"card_image": {"url": "https://x/y.png", "aspect_ratio": 1.0}},
                {"card_image": {"url": "https://x/y.png", "aspect_ratio": 2.5}},
                {"vertical_content_list": [{"title": "行"}] * 5},
                {"vertical_content_list": [{"title": "长" * 27}]},
                {"sub_title_text": "news_notice 没有这个字段"}):
        assert wecom_problem({**tc, **bad}), bad
    assert wecom_problem({k: v for k, v in tc.items() if k != "card_action"})


def test_feishu_refuses_an_img_whose_key_it_never_issued() -> None:
    card = render_card(radar_card(), image_key="img_v2_fake0001")
    assert card["body"]["elements"][0]["tag"] == "img"
    assert not feishu_problem(card, {"img_v2_fake0001"})
    assert feishu_problem(card, {"img_v2_fake0002"}) and feishu_problem(card)


def test_dingtalk_refuses_an_image_it_never_stored() -> None:
    fake = FakeDingtalk()
    fake.uploads["@media1"] = ("image", "r.png", PNG)
    fake.uploads["@media2"] = ("file", "r.pdf", b"%PDF")

    def data(image: str) -> dict[str, Any]:
        return {"cardData": {"cardParamMap": {"title": "t", "image": image, "has_image": "true"}}}

    assert fake._card_data(data("@media1"))[1] is None
    for bad in ("@media9", "@media2"):  # unknown, or not an image
        params, err = fake._card_data(data(bad))
        assert params is None and err is not None and err.status == 400
