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


def serve(tmp_path: Path, extra: dict[str, object] | None = None, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real `actionflow serve` on the demo org, until the test ends."""
    cfg = {
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'browser.db'}"},
        "channels": {"local": {"media_dir": str(tmp_path / "media")}},
        "outbox": {"poll_interval_s": 0.1},
        "logging": {"level": "WARNING"},
        **(extra or {}),
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    assert run(tmp_path, "-m", "bot.cli", "demo").returncode == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)], cwd=tmp_path,
                            env={**os.environ, **(env or {}),
                                 "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
                            stderr=subprocess.PIPE)
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    yield from serve(tmp_path)


def test_rep_confirms_a_record_in_the_emulator(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS,
                                     env={**os.environ, "HOME": str(tmp_path)})
        page = browser.new_page(viewport={"width": 1100, "height": 800}, locale="zh-CN")
        failed: list[str] = []
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
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
        expect(page.locator("#status", has_text="08:45")).to_be_visible(timeout=15000)  # in the footer, over no card
        page.click("#admin-toggle")

        # 王芳's team board, scrolled out of sight by later messages, changes when 张伟 picks: a chip says so
        page.set_viewport_size({"width": 1100, "height": 520})
        page.select_option("#person", label="王芳（主管 · 江苏）")
        expect(page.locator(".card", has_text="团队今日必做")).to_have_count(1, timeout=15000)
        for _ in range(3):
            page.fill("#text", "帮助")
            page.click("#send")
        expect(page.locator(".msg.out .bubble")).to_have_count(3, timeout=15000)  # three answers below the board
        pick(server, "张伟")
        chip = page.locator("#updated")
        expect(chip).to_be_visible(timeout=15000)
        expect(chip).to_contain_text("团队今日必做", timeout=15000)
        chip.click()
        expect(page.locator(".card", has_text="团队今日必做")).to_be_in_viewport()

        assert not [u for u in failed if u.startswith(server)], failed  # no 404 (favicon included)
        shot = tmp_path / "emulator.png"
        page.screenshot(path=str(shot))
        assert drawn_colours(page, shot) > 50  # a real picture of cards and Chinese text, not a blank page

        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone.goto(server)
        header = phone.locator("header").bounding_box()
        assert header is not None and header["height"] < 110, header  # not one character per line
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
        phone.screenshot(path=str(tmp_path / "phone.png"))
        browser.close()


def pick(server: str, name: str) -> None:
    """``name`` picks up to three proposals on the morning card (typing the rest) and locks them, as its
    buttons and input would."""
    import json

    people = json.loads(urllib.request.urlopen(server + "/local/api/people", timeout=5).read())
    pid = next(p["id"] for p in people if p["name"] == name)
    history = json.loads(urllib.request.urlopen(f"{server}/local/api/history?person={pid}", timeout=5).read())
    html = next(m["html"] for m in history if "html" in m and "必做" in m["html"] and "pick:" in m["html"])
    card_id = re.search(r'data-card-id="([^"]+)"', html)
    assert card_id
    picks = [(a, "") for a in re.findall(r'data-action="(pick:\d+:on)"', html)[:3]]
    typed = [("custom", f"回访一位老客户（{k}）") for k in range(3 - len(picks))]  # fewer proposals than 3
    for n, (action, value) in enumerate([*picks, *typed, ("lock", "")]):
        body = json.dumps({"person_id": pid, "client_id": f"browser-pick-{n:04d}", "card_id": card_id.group(1),
                           "action": action, "value": value}).encode()
        req = urllib.request.Request(server + "/local/api/action", data=body,
                                     headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(req, timeout=5).status == 200


def drawn_colours(page: object, shot: Path) -> int:
    """Distinct colours in the screenshot, counted by Chromium itself (a canvas), so no image library is needed."""
    import base64

    data = "data:image/png;base64," + base64.b64encode(shot.read_bytes()).decode()
    return int(page.evaluate("""async (src) => {
        const img = new Image(); img.src = src; await img.decode();
        const c = document.createElement("canvas"); c.width = img.width; c.height = img.height;
        const g = c.getContext("2d"); g.drawImage(img, 0, 0);
        const px = g.getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let i = 0; i < px.length; i += 4 * 7) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
        return seen.size;
    }""", data))


def test_jobs_panel_asks_for_the_admin_token_behind_a_proxy(tmp_path: Path) -> None:
    """Published under a public URL, the admin API wants the token: the panel asks for it, then works."""
    from playwright.sync_api import expect, sync_playwright

    gen = serve(tmp_path, {"server": {"public_url": "https://bot.example.com"}}, {"ACTIONFLOW_ADMIN_TOKEN": "s3cret-token"})
    url = next(gen)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(tmp_path)})
            page = browser.new_page(locale="zh-CN")
            page.goto(url)
            page.click("#admin-toggle")
            token = page.locator("#admin-token")
            expect(token).to_be_visible(timeout=15000)
            expect(page.locator("#jobs input[data-job]")).to_have_count(0)
            token.fill("wrong")
            page.locator("#jobs button", has_text="确定").click()
            expect(page.locator("#admin-token")).to_be_visible()  # refused again: still asking
            page.locator("#admin-token").fill("s3cret-token")
            page.locator("#jobs button", has_text="确定").click()
            page.locator("#jobs button[data-job='morning_must_do']").click()
            expect(page.locator("#status", has_text="08:45")).to_be_visible(timeout=15000)
            browser.close()
    finally:
        next(gen, None)


def test_rep_sends_a_photo_and_a_voice_message_in_the_emulator(server: str, tmp_path: Path) -> None:
    """📷 and 🎤 as a rep uses them after a visit: the photo lands on the record; the voice message, with no
    transcription server in the demo, is kept and the rep is told why it was not turned into text."""
    from playwright.sync_api import expect, sync_playwright

    from tests.evidence.photos import photo
    from tests.voice.audio import speak, to_amr

    door = photo(tmp_path / "门头.jpg", lat=31.4912, lng=120.3567, taken="2026:12:03 10:15:00")
    voice = to_amr(speak("今天拜访了瑞丰机械张总", tmp_path / "v.wav"), tmp_path / "语音.amr")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, env={**os.environ, "HOME": str(tmp_path)})
        page = browser.new_page(locale="zh-CN")
        page.goto(server)
        page.select_option("#person", label="张伟（销售 · 无锡）")
        expect(page.locator("body[data-live='1']")).to_have_count(1)
        page.fill("#text", "今天拜访了瑞丰机械张总，下周三再去")
        page.click("#send")
        expect(page.locator(".card", has_text="动作记录待确认")).to_be_visible(timeout=15000)
        page.set_input_files("#photo", str(door))
        expect(page.locator(".msg", has_text="已作为凭证附到记录")).to_be_visible(timeout=15000)
        page.set_input_files("#voice", str(voice))
        expect(page.locator(".msg", has_text="没能转成文字：未开启语音转写")).to_be_visible(timeout=15000)
        browser.close()
