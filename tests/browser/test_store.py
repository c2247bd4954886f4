"""The store flow in Debian's Chromium: 郑丽 presses 扫码 in the emulator and scans the 门店接待 code; the page
opens on a phone viewport as her, she walks all 7 nodes, and 吴静's funnel (card link → page) counts the walk.
A screenshot of every page is saved in the folder the test prints."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_emulator import ARGS, CHROMIUM, serve

pytestmark = pytest.mark.browser
NODES = ["进店迎宾", "需求探询", "产品推荐", "体验试用", "异议处理", "成交/离店", "会员/回访"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, env={"ACTIONFLOW_TOKEN_SECRET": "browser-store-secret-0123456789"})


def funnel(page: object, staff: str) -> dict[str, int]:
    cells = page.locator(f"tr[data-staff='{staff}'] td[data-step]")  # type: ignore[attr-defined]
    out = {}
    for i in range(cells.count()):
        cell = cells.nth(i)
        out[cell.get_attribute("data-step")] = int(re.match(r"\d+", cell.inner_text()).group())  # type: ignore[union-attr]
    return out


def test_staff_scans_walks_seven_nodes_and_the_manager_sees_the_funnel(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    print(f"store screenshots: {shots}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(tmp_path)})
        failed: list[str] = []

        # the manager's funnel before: from the card's link in chat
        emu = browser.new_page(viewport={"width": 1100, "height": 800}, locale="zh-CN")
        emu.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        emu.goto(server)
        emu.select_option("#person", label="吴静（店长 · 长沙旗舰店）")
        expect(emu.locator("body[data-live='1']")).to_have_count(1)
        emu.fill("#text", "门店漏斗")
        emu.click("#send")
        expect(emu.locator(".card", has_text="今日门店漏斗")).to_be_visible(timeout=15000)
        link = emu.locator(".bubble a.page-link", has_text="打开门店漏斗")
        expect(link).to_have_count(1, timeout=15000)
        funnel_href = link.get_attribute("href")
        assert funnel_href and "/store/funnel/" in funnel_href
        phone = browser.new_page(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
        phone.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        phone.goto(funnel_href)
        before = funnel(phone, "郑丽")
        phone.screenshot(path=str(shots / "funnel-before.png"), full_page=True)

        # 郑丽 scans the 门店接待 code in the emulator
        emu.select_option("#person", label="郑丽（导购 · 长沙旗舰店）")
        expect(emu.locator("body[data-live='1']")).to_have_count(1)
        emu.click("#scan")
        code = emu.locator("#codes .code", has_text="门店接待")
        expect(code).to_be_visible(timeout=15000)
        expect(code.locator("img")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
        emu.screenshot(path=str(shots / "emulator-scan.png"))
        href = code.locator("a", has_text="扫描「门店接待」").get_attribute("href")
        assert href and href.startswith("/store/q/") and href.endswith(f"as={emu.evaluate('person')}")
        phone.goto(server + href)
        expect(phone.locator("header")).to_contain_text("导购：郑丽")
        phone.screenshot(path=str(shots / "00-start.png"), full_page=True)
        phone.get_by_role("button", name="开始接待").click()
        for i, name in enumerate(NODES):
            node = phone.locator(".node h2")
            expect(node).to_have_text(name)
            if name == "需求探询":
                expect(phone.locator(".script")).to_contain_text("您家宝宝现在用的是哪个段数？")
            assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            done = phone.get_by_role("button", name="已完成")
            box = done.bounding_box()
            assert box is not None and box["height"] >= 44  # a thumb-sized button
            phone.screenshot(path=str(shots / f"{i + 1:02d}-{name.replace('/', '-')}.png"), full_page=True)
            done.click()
        expect(phone.locator(".node h2")).to_have_text("本次接待全部完成 🎉")
        phone.screenshot(path=str(shots / "08-done.png"), full_page=True)

        phone.goto(funnel_href)
        after = funnel(phone, "郑丽")
        phone.screenshot(path=str(shots / "funnel-after.png"), full_page=True)
        assert {k: after[k] - before.get(k, 0) for k in after} == {"进店": 1, "探询": 1, "推荐": 1, "异议处理": 1, "成交": 1}
        assert not [u for u in failed if u.startswith(server)], failed
        browser.close()
    assert len(list(shots.glob("*.png"))) == 12
