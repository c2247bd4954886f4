"""Stage gates and 待核实 in the emulator's Chromium: the rep finds the demo hospital's checklist, is refused at the
gate and asks for a pass; the supervisor passes it with a typed reason and verifies the demo's flagged record."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_emulator import ARGS, CHROMIUM, serve

pytestmark = pytest.mark.browser
HOSPITAL = "重庆两江仁爱医院"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path)


def test_rep_and_supervisor_walk_a_gate_and_a_verification(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(tmp_path)})
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.goto(server)
        page.select_option("#person", label="张伟（销售 · 无锡）")
        expect(page.locator("body[data-live='1']")).to_have_count(1)
        card = page.locator(".card", has_text=f"{HOSPITAL} · 方案报价检查清单")
        expect(card).to_be_visible(timeout=15000)  # seeded by `actionflow demo`
        expect(card).to_contain_text("已完成 2/7")
        card.locator("button[data-action='next']").click()
        expect(card).to_contain_text("还不能进入「商务谈判」", timeout=15000)
        expect(card).to_contain_text("医工科设备参数备案")
        card.locator("button[data-action='ask_override']").click()
        expect(card).to_contain_text("已申请主管放行", timeout=15000)
        expect(page.locator(".card", has_text="待核实")).to_have_count(0)  # the verify card is the supervisor's

        page.select_option("#person", label="王芳（主管 · 江苏）")
        gate = page.locator(".card", has_text="张伟申请放行")
        expect(gate).to_be_visible(timeout=15000)
        gate.locator("form.card-input input").fill("院方急用，参数备案下周补")
        gate.locator("form.card-input button").click()
        expect(page.locator(".card", has_text="已放行")).to_be_visible(timeout=15000)
        verify = page.locator(".card", has_text="待核实：张伟的记录")
        expect(verify).to_contain_text("照片没有拍摄时间和位置信息")
        verify.locator("button[data-action='vok']").click()
        expect(page.locator(".card", has_text="已核实：张伟的记录")).to_be_visible(timeout=15000)
        page.screenshot(path=str(tmp_path / "supervisor.png"))

        page.select_option("#person", label="张伟（销售 · 无锡）")
        expect(page.locator(".card", has_text=f"{HOSPITAL} · 商务谈判检查清单")).to_be_visible(timeout=15000)
        expect(page.locator(".msg", has_text="王芳已放行")).to_have_count(1, timeout=15000)
        expect(page.locator(".msg", has_text="王芳已核实你的记录")).to_have_count(1, timeout=15000)
        browser.close()
