"""Cross-role tasks in the emulator's Chromium, as the people who use them: the demo's task waits on 陈思远, who
accepts it and closes it with a typed note; 张伟 follows on his copy; a new record of 张伟's that needs an API
integration proposes presales (陈思远 again: no open task left), one click sends it, and the delivery lead 黄建华
is copied on both; 张伟 asks 「瑞丰机械 最近进展」, sees the task on the timeline card and opens the whole timeline
page from its link; the same link refuses 刘强, who leads another team."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.test_emulator import ARGS, CHROMIUM, serve

pytestmark = pytest.mark.browser
REP, RUIFENG = "张伟（销售 · 无锡）", "无锡瑞丰精密机械有限公司"
PEOPLE = {"刘强": 3}  # the demo org's ids follow its order: 周建国 1, 王芳 2, 刘强 3


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path)


def test_presales_closes_a_task_and_the_rep_follows(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(tmp_path)})
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN")
        page.goto(server)
        page.select_option("#person", label="陈思远（售前 · 华东大区）")
        expect(page.locator("body[data-live='1']")).to_have_count(1)
        task = page.locator(".card", has_text=f"协同任务 #1 · 售前 · {RUIFENG}")
        expect(task).to_contain_text("待接受", timeout=15000)  # seeded by `actionflow demo`
        expect(task).to_contain_text("MES系统做API对接")
        task.locator("button[data-action='taccept']").click()
        expect(task).to_contain_text("处理中", timeout=15000)
        task.locator("form.card-input input").fill("已约客户IT周四开接口评审会，方案初稿已发")
        task.locator("form.card-input button").click()
        expect(task).to_contain_text("已完成", timeout=15000)
        expect(task).to_contain_text("用时3.0小时")

        page.select_option("#person", label=REP)
        expect(page.locator(".msg", has_text="陈思远完成了协同任务")).to_have_count(1, timeout=15000)
        copy = page.locator(".card", has_text="协同任务 #1 · 售前")
        expect(copy).to_contain_text("已完成", timeout=15000)
        page.fill("#text", "瑞丰机械这个客户需要定制API对接，下周二带方案过去")
        page.click("#send")
        draft = page.locator(".card", has_text="动作记录待确认").last
        expect(draft).to_contain_text(RUIFENG, timeout=15000)
        draft.locator("button[data-action='confirm']").click()
        proposal = page.locator(".card", has_text="下周二带方案过去").filter(has_text="需要协同？")
        expect(proposal).to_contain_text("售前：陈思远（在办任务0件）", timeout=15000)  # closed his only task
        proposal.locator("button[data-action='ask:presales']").click()
        expect(proposal).to_contain_text("已请售前陈思远协同", timeout=15000)
        page.fill("#text", "瑞丰机械 最近进展")
        page.click("#send")
        timeline = page.locator(".card", has_text=f"{RUIFENG} 最近进展")
        expect(timeline).to_contain_text("请售前陈思远协同", timeout=15000)
        expect(timeline).to_contain_text("售前完成协同：已约客户IT周四开接口评审会")
        with page.expect_popup() as opened:  # the card's link opens the page as the chosen persona
            timeline.locator("a.page-link").click()
        whole = opened.value
        expect(whole.locator("h1")).to_contain_text(f"{RUIFENG} · 客户时间线", timeout=15000)
        expect(whole.locator("li[data-kind='task']").first).to_contain_text("请售前陈思远协同")
        expect(whole.locator("li[data-kind='record']").first).to_be_visible()
        whole.screenshot(path=str(tmp_path / "timeline-page.png"), full_page=True)
        link = timeline.locator("a.page-link").get_attribute("href") or ""
        outsider = browser.new_page()  # 刘强 leads another team: the same link refuses him
        outsider.goto(link.split("&as=")[0] + "&as=" + str(PEOPLE["刘强"]))
        expect(outsider.locator("body")).to_contain_text("只对负责它的人可见", timeout=15000)
        expect(outsider.locator("body")).not_to_contain_text(RUIFENG)
        outsider.close()
        whole.close()

        page.select_option("#person", label="黄建华（实施 · 华东大区）")
        expect(page.locator(".card", has_text="协同任务 #1 · 售前")).to_contain_text("已完成", timeout=15000)
        expect(page.locator(".card", has_text="协同任务 #3 · 售前")).to_contain_text("待接受", timeout=15000)
        page.screenshot(path=str(tmp_path / "delivery-lead.png"))
        browser.close()
