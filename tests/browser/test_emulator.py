"""The emulator in Debian's Chromium: a rep sends a message, sees the card, confirms, sees it confirmed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.foundation.test_crash import ROOT, free_port, run

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    cfg = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"},
        "channels": {"local": {"media_dir": str(tmp_path / "media")}},
        "outbox": {"poll_interval_s": 0.1},
        "logging": {"level": "WARNING"},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert run(tmp_path, "-m", "bot.cli", "demo").returncode == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/readyz", timeout=1)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_rep_confirms_a_record_in_the_emulator(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS,
                                     env={**os.environ, "HOME": str(tmp_path)})
        page = browser.new_page(viewport={"width": 1100, "height": 800}, locale="zh-CN")
        page.goto(server)
        page.select_option("#person", label="张伟（销售 · 无锡）")
        expect(page.locator("body[data-live='1']")).to_have_count(1)
        page.fill("#text", "今天拜访了瑞丰机械张总，下周三再去")
        page.click("#send")
        card = page.locator(".card", has_text="动作记录待确认")
        expect(card).to_be_visible(timeout=15000)
        expect(card).to_contain_text("无锡瑞丰精密机械有限公司")
        expect(card).to_contain_text("拜访")
        shot = os.environ.get("ACTIONFLOW_SCREENSHOT")  # README picture: `ACTIONFLOW_SCREENSHOT=docs/emulator.png`
        if shot:
            page.screenshot(path=shot)
        card.locator("button[data-action='confirm']").click()
        done = page.locator(".card", has_text="已记录")
        expect(done).to_be_visible(timeout=15000)
        expect(done).to_contain_text("已确认")
        # the jobs panel (admin API, same CSRF token): it shows the moment it simulates, today's 08:45 by default
        page.click("#admin-toggle")
        moment = page.locator("#jobs input[data-job='morning_must_do']")
        expect(moment).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2}T08:45$"))
        page.locator("#jobs button[data-job='morning_must_do']").click()
        expect(page.locator(".toast", has_text="08:45")).to_be_visible(timeout=15000)
        browser.close()
