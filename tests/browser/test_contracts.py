"""The contract approval chain in the emulator's Chromium: the demo's request waits on 周建国, who approves 财务信用评估
and rejects 用印 with a typed reason; 李娜 sees it back, starts a new request and uploads the file with 📄; 王芳 gets
the file and her card; 「我的合同审批」 shows the waits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_emulator import ARGS, CHROMIUM, serve

pytestmark = pytest.mark.browser
REP, CUSTOMER = "李娜（销售 · 南通）", "江苏恒远化工有限公司"  # the demo's request: 李娜's first customer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path)


def test_approvers_and_the_rep_walk_a_contract_chain(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    contract = tmp_path / "contract.pdf"
    contract.write_bytes(b"%PDF-1.4\n% signed contract\n" + b"0" * 2000 + b"\n%%EOF\n")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(tmp_path)})
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.goto(server)
        page.select_option("#person", label=REP)
        expect(page.locator("body[data-live='1']")).to_have_count(1)
        mine = page.locator(".card", has_text=f"合同审批 #1 · {CUSTOMER}")
        expect(mine).to_contain_text("财务信用评估审批中", timeout=15000)  # seeded by `actionflow demo`
        expect(mine).to_contain_text("法务初审 · 王芳 · 已同意", timeout=15000)
        expect(mine).to_contain_text("起等待（时限24小时）", timeout=15000)  # a card stays in the chat: it says since when

        page.select_option("#person", label="周建国（经理 · 华东大区）")
        finance = page.locator(".card", has_text="财务信用评估（2/3）")
        expect(finance).to_contain_text("待你审批", timeout=15000)
        finance.locator("button[data-action='cok']").click()
        expect(finance).to_contain_text("已同意", timeout=15000)
        seal = page.locator(".card", has_text="用印（3/3）")
        expect(seal).to_contain_text("待你审批", timeout=15000)
        seal.locator("form.card-input input").fill("请先补法人授权委托书")
        seal.locator("form.card-input button").click()
        expect(seal).to_contain_text("已驳回", timeout=15000)

        page.select_option("#person", label=REP)
        expect(page.locator(".msg", has_text="被周建国驳回：请先补法人授权委托书")).to_have_count(1, timeout=15000)
        expect(mine).to_contain_text("已驳回", timeout=15000)
        page.fill("#text", "发起合同审批 恒远化工 金额80万")
        page.click("#send")
        draft = page.locator(".card", has_text=f"合同审批 #2 · {CUSTOMER}")
        expect(draft).to_contain_text("请直接在聊天里发送合同文件", timeout=15000)
        page.set_input_files("#file", str(contract))
        expect(page.locator(".msg", has_text="合同文件已收到")).to_have_count(1, timeout=15000)
        expect(draft).to_contain_text("法务初审审批中", timeout=15000)

        page.select_option("#person", label="王芳（主管 · 江苏）")
        legal = page.locator(".card", has_text="合同审批 #2 · 法务初审（1/3）")
        expect(legal).to_contain_text("80万元", timeout=15000)
        expect(page.locator(".msg.out .bubble", has_text="📄 contract.pdf")).to_have_count(1, timeout=15000)  # the file
        legal.locator("button[data-action='cok']").click()
        expect(legal).to_contain_text("已同意", timeout=15000)
        page.screenshot(path=str(tmp_path / "approver.png"))

        page.select_option("#person", label=REP)
        page.fill("#text", "我的合同审批")
        page.click("#send")
        expect(page.locator(".msg", has_text="我发起的合同审批")).to_contain_text("财务信用评估 · 周建国 · 已等待",
                                                                             timeout=15000)
        browser.close()
