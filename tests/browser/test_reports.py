"""Reports in the emulator's Chromium: the manager runs the 18:30 digest from the jobs panel, reads it and opens a
risk's customer; the rep asks 「我的雷达」 and sees the radar picture above its numbers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_emulator import ARGS, CHROMIUM, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path, {"reports": {"dir": str(tmp_path / "reports")}})


def test_manager_reads_the_digest_and_rep_sees_the_radar(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(tmp_path)})
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.goto(server)
        page.select_option("#person", label="周建国（经理 · 华东大区）")
        expect(page.locator("body[data-live='1']")).to_have_count(1)
        page.click("#admin-toggle")
        moment = page.locator("#jobs input[data-job='daily_digest']")
        expect(moment).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}T18:30$"))
        page.locator("#jobs button[data-job='daily_digest']").click()
        page.click("#admin-toggle")
        digest = page.locator(".card", has_text="今日简报")
        expect(digest).to_be_visible(timeout=15000)
        expect(digest).to_contain_text("6 名销售")
        expect(digest).to_contain_text("必做完成率")  # the demo's two weeks of must-dos
        expect(digest).to_contain_text("行业 18.3 → 前10% ≤1.2")
        link = digest.locator("button[data-action^='open:']").first
        name = (link.text_content() or "").removeprefix("查看 ").strip()
        link.click()
        # the reply is a text bubble; the digest card itself names the customer and says 最近进展 in its note
        reply = page.locator(".msg:not(:has(.card))", has_text="最近进展").filter(has_text=name[:4])
        expect(reply).to_be_visible(timeout=15000)
        page.screenshot(path=str(tmp_path / "manager.png"))

        page.select_option("#person", label="张伟（销售 · 无锡）")
        page.fill("#text", "我的雷达")
        page.click("#send")
        card = page.locator(".card", has_text="过程健康雷达 · 张伟")
        expect(card).to_be_visible(timeout=20000)
        expect(card).to_contain_text("清单举证")
        chart = card.locator("img.card-image")  # the radar inside its card, above the numbers
        expect(chart).to_be_visible(timeout=15000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
        assert chart.evaluate("img => img.naturalWidth") >= 500
        page.screenshot(path=str(tmp_path / "rep.png"))
        browser.close()
