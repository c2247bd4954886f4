"""The QR page as a staff member walks it: 7 nodes with their scripts, each tap recorded once, 离店 at the node
reached, the manager's funnel counting it; everyone and everything else refused with a reason, nothing changed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from handlers.clock import FixedClock
from handlers.store import store_funnel
from storage.models import StoreSession
from tests.harness import LocalChat
from tests.store.walk import forms, press, qr_path, sessions, start_session, taps

NODES = ["进店迎宾", "需求探询", "产品推荐", "体验试用", "异议处理", "成交/离店", "会员/回访"]


async def funnel_of(chat: LocalChat, staff: str) -> dict[str, int]:
    async with chat.service.db.session() as s:
        rows = await store_funnel(s, None, chat.clock.now().astimezone(chat.service.cfg.org.tz).date(),
                                  chat.service.cfg.org.tz)
    return {r.step: r.count for r in rows if r.staff == staff}


async def test_staff_walks_all_seven_nodes_and_the_funnel_counts_them(chat: LocalChat) -> None:
    before = await funnel_of(chat, "郑丽")
    path = await qr_path(chat.service, chat.clock.now())
    page, html = await start_session(chat.client, f"{path}?as={chat.person('郑丽').id}")
    assert "进店迎宾" in html and "第 1/7 步" in html and "导购：郑丽" in html
    for i, name in enumerate(NODES):
        assert f"<h2>{name}</h2>" in html, (i, html)
        if name == "需求探询":
            assert "您家宝宝现在用的是哪个段数？" in html and "相似成交案例" in html
        status, html = await press(chat.client, html, "tap")
        assert status == 200
    assert "本次接待全部完成" in html
    after = await funnel_of(chat, "郑丽")
    assert {k: after[k] - before.get(k, 0) for k in after} == {"进店": 1, "探询": 1, "推荐": 1, "异议处理": 1, "成交": 1}
    assert list(after) == ["进店", "探询", "推荐", "异议处理", "成交"]
    assert page.startswith("/store/s/") and str(chat.person("郑丽").id) not in page.split("?")[0]


async def test_double_taps_and_retries_count_once(chat: LocalChat) -> None:
    path = await qr_path(chat.service, chat.clock.now())
    _, html = await start_session(chat.client, f"{path}?as={chat.person('冯雪').id}")
    [(action, fields)] = [(a, f) for a, f in forms(html) if f["do"] == "tap"]
    before = await taps(chat.service)
    for _ in range(3):  # the same 已完成 sent three times (a double tap, then a retry on a weak network)
        r = await chat.client.post(action, data=fields)
        assert r.status == 200
    assert await taps(chat.service) == before + 1
    start_form = forms(await (await chat.client.get(f"{path}?as={chat.person('冯雪').id}")).text())[0]
    n = await sessions(chat.service)
    for _ in range(2):  # 开始接待 retried with the same page nonce: one customer
        r = await chat.client.post(start_form[0], data=start_form[1])
        assert r.status == 200
    assert await sessions(chat.service) == n + 1


async def test_leaving_records_the_node_reached(chat: LocalChat) -> None:
    path = await qr_path(chat.service, chat.clock.now())
    page, html = await start_session(chat.client, f"{path}?as={chat.person('何洋').id}")
    for _ in range(2):
        _, html = await press(chat.client, html, "tap")
    status, html = await press(chat.client, html, "leave")
    assert status == 200 and "顾客已离店（完成到第 2 步）" in html
    key = page.split("/")[3].split("?")[0]
    async with chat.service.db.session() as s:
        sess = (await s.execute(select(StoreSession).where(StoreSession.key == key))).scalar_one()
    assert sess.reached == 2 and sess.left_at == chat.clock.now()
    status, html = await press(chat.client, html, "next")  # 接待下一位顾客: a new session at node 1
    assert status == 200 and "<h2>进店迎宾</h2>" in html


async def test_bad_input_is_refused_and_changes_nothing(chat: LocalChat, clock: FixedClock) -> None:
    path = await qr_path(chat.service, clock.now())
    page, html = await start_session(chat.client, f"{path}?as={chat.person('郑丽').id}")
    [(action, fields)] = [(a, f) for a, f in forms(html) if f["do"] == "tap"]
    before = await taps(chat.service)
    for bad, text in (({"node": "3"}, "请按顺序完成节点"), ({"node": "x"}, "节点编号不对"),
                      ({"node": "99"}, "请按顺序完成节点"), ({"do": "drop"}, "不认识的操作")):
        r = await chat.client.post(action, data={**fields, **bad})
        assert r.status == 409 and text in await r.text(), bad
    r = await chat.client.post(action, data={**fields, "w": fields["w"][:-2] + "xx"})  # a forged "who"
    assert r.status == 403 and "不是你发起的" in await r.text()
    other = (await (await chat.client.get(f"{path}?as={chat.person('冯雪').id}")).text())
    w_other = forms(other)[0][1]["w"]
    r = await chat.client.post(action, data={**fields, "w": w_other})  # another staff member's session
    assert r.status == 403 and "不是你发起的" in await r.text()
    r = await chat.client.post("/store/start", data={"k": "short", "w": fields["w"], "t": "x"})
    assert r.status == 400
    r = await chat.client.get(page.replace("?w=", "?w=x"))
    assert r.status == 403
    clock.set(clock.now() + timedelta(hours=13))  # the page's "who" lives one shift
    r = await chat.client.post(action, data=fields)
    assert r.status == 403 and "重新扫码" in await r.text()
    assert await taps(chat.service) == before


async def test_only_the_stores_manager_sees_its_funnel_page(chat: LocalChat) -> None:
    link = chat.service.store_page.links.funnel(1, chat.clock.now()).removeprefix("http://127.0.0.1:8080")
    for who in ("吴静", "周建国"):
        r = await chat.client.get(f"{link}?as={chat.person(who).id}")
        html = await r.text()
        assert r.status == 200 and "今日门店漏斗" in html and 'data-staff="全店"' in html and "郑丽" in html, who
    for who in ("郑丽", "张伟"):
        r = await chat.client.get(f"{link}?as={chat.person(who).id}")
        assert r.status == 403 and "只对本店店长和经理可见" in await r.text(), who
    r = await chat.client.get(link)
    assert r.status == 403 and "请在企业微信、钉钉或飞书里打开" in await r.text()
    r = await chat.client.get(link[:-3] + "abc" + f"?as={chat.person('吴静').id}")
    assert r.status == 403 and "链接无效或已过期" in await r.text()
