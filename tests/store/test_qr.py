"""A printed QR code read back by a real decoder (zxing-cpp) opens the page; tampered, expired, revoked tokens,
a token of another purpose and a staff member of another store are refused; ``actionflow qr`` needs a fixed secret."""

from __future__ import annotations

import base64
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from bot.config import Config
from bot.store_cli import QrError, make_qr, revoke_qr
from bot.timeline_page import LinkSigner
from handlers.clock import FixedClock
from storage.models import LinkToken, Person, Role, Store, StoreMember, StoreTask
from tests.harness import LocalChat
from tests.store.conftest import SECRET
from tests.store.walk import PUBLIC, STORE, sessions, start_session

EXPIRED = "二维码无效、已过期或已停用"


async def printed(chat: LocalChat, tmp_path: Path, task: str = "门店接待") -> tuple[str, Path, Path]:
    async with chat.service.db.write() as s:
        out = await make_qr(s, chat.service.cfg, STORE, task, tmp_path / "qr", chat.clock.now())
    png, svg, url = out.splitlines()
    return url, Path(png), Path(svg)


async def test_the_printed_code_decodes_to_a_link_that_opens_the_page(chat: LocalChat, tmp_path: Path) -> None:
    url, png, svg = await printed(chat, tmp_path)
    [code] = zxingcpp.read_barcodes(Image.open(png))
    assert code.text == url and code.format == zxingcpp.BarcodeFormat.QRCode
    token = url.rsplit("/", 1)[1]
    async with chat.service.db.session() as s:
        task = (await s.execute(select(StoreTask).where(StoreTask.name == "门店接待"))).scalar_one()
        assert await chat.service.store_page.links.qr.open(s, token, chat.clock.now()) == f"task:{task.id}"
    body = token.split(".")[0]
    assert "task" not in base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()  # only a random jti
    assert "长沙旗舰店 · 门店接待" in svg.read_text(encoding="utf-8") and 'class="segno"' in svg.read_text()
    _, html = await start_session(chat.client, f"{url.removeprefix(PUBLIC)}?as={chat.person('郑丽').id}")
    assert "<h2>进店迎宾</h2>" in html


async def test_tampered_expired_revoked_and_foreign_tokens_are_refused(chat: LocalChat, clock: FixedClock,
                                                                       tmp_path: Path) -> None:
    url, _, _ = await printed(chat, tmp_path)
    path, me = url.removeprefix(PUBLIC), f"?as={chat.person('郑丽').id}"
    body, _, mac = path.rsplit("/", 1)[1].partition(".")
    other = LinkSigner(chat.service.cfg.security.token_secret, "timeline").sign(body, clock.now().timestamp() + 60)
    before = await sessions(chat.service)
    for bad in (path[:-2] + ("AA" if not path.endswith("AA") else "BB"),  # altered signature
                f"/store/q/{body}",  # no signature
                f"/store/q/{other}",  # signed for another purpose
                f"/store/q/{LinkSigner('another-secret', 'store-qr').sign('x', clock.now().timestamp() + 60)}"):
        r = await chat.client.get(bad + me)
        assert r.status == 403 and EXPIRED in await r.text(), bad
    r = await chat.client.get(path + me)
    assert r.status == 200
    async with chat.service.db.write() as s:
        assert await revoke_qr(s, chat.service.cfg, url, clock.now())
    r = await chat.client.get(path + me)
    assert r.status == 403 and EXPIRED in await r.text()
    async with chat.service.db.write() as s:  # revoking twice, or a made-up link: a clear refusal
        for again in (url, "https://x/store/q/abc.def"):
            try:
                await revoke_qr(s, chat.service.cfg, again, clock.now())
                raise AssertionError("revoked twice")
            except QrError as e:
                assert "未做任何修改" in str(e)
    url2, _, _ = await printed(chat, tmp_path)  # a fresh sheet still works; after 180 days it expires
    r = await chat.client.get(url2.removeprefix(PUBLIC) + me)
    assert r.status == 200
    clock.set(clock.now() + timedelta(seconds=chat.service.cfg.security.qr_token_ttl_s + 1))
    r = await chat.client.get(url2.removeprefix(PUBLIC) + me)
    assert r.status == 403 and EXPIRED in await r.text()
    assert await sessions(chat.service) == before
    assert mac


async def test_staff_of_another_store_and_strangers_are_refused(chat: LocalChat, tmp_path: Path) -> None:
    async with chat.service.db.write() as s:
        other = Person(name="钱多", role=Role.store_staff, region="武汉店")
        s.add(other)
        await s.flush()
        store = Store(name="武汉店")
        s.add(store)
        await s.flush()
        assert store.id is not None and other.id is not None
        s.add(StoreMember(store_id=store.id, person_id=other.id))
        from bot.importers import link_identity
        await link_identity(s, other, "local", str(other.id))
        other_id = other.id
    url, _, _ = await printed(chat, tmp_path)
    path = url.removeprefix(PUBLIC)
    for who in (other_id, chat.person("张伟").id):
        r = await chat.client.get(f"{path}?as={who}")
        assert r.status == 403 and "其他门店" in await r.text()
    r = await chat.client.get(path)  # outside the apps: nobody to name
    assert r.status == 403 and "请在企业微信、钉钉或飞书里打开" in await r.text()
    r = await chat.client.get(path, headers={"Host": "evil.example"})
    assert r.status == 403


async def test_printing_needs_a_fixed_secret(chat: LocalChat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg: Config = chat.service.cfg
    monkeypatch.delenv("ACTIONFLOW_TOKEN_SECRET")
    async with chat.service.db.write() as s:
        n = len((await s.execute(select(LinkToken))).scalars().all())
        try:
            await make_qr(s, cfg, STORE, "门店接待", tmp_path / "none")
            raise AssertionError("printed without a secret")
        except QrError as e:
            assert "ACTIONFLOW_TOKEN_SECRET" in str(e)
    monkeypatch.setenv("ACTIONFLOW_TOKEN_SECRET", SECRET)
    async with chat.service.db.write() as s:
        for store, task, text in ((STORE, "无此任务", "没有任务"), ("无此店", "门店接待", "没有门店")):
            try:
                await make_qr(s, chat.service.cfg, store, task, tmp_path / "none")
                raise AssertionError("printed an unknown task")
            except QrError as e:
                assert text in str(e)
        assert len((await s.execute(select(LinkToken))).scalars().all()) == n
    assert not (tmp_path / "none").exists()


async def test_the_admin_page_prints_fresh_codes(chat: LocalChat, monkeypatch: pytest.MonkeyPatch) -> None:
    r = await chat.client.get("/admin/store/qr")  # the test client is a direct local call: allowed like the jobs API
    html = await r.text()
    assert r.status == 200 and "长沙旗舰店" in html and "门店接待" in html
    [png_path] = re.findall(r'href="(/admin/store/qr/\d+\.png)"', html)[:1]
    r = await chat.client.get(png_path)
    assert r.status == 200 and r.content_type == "image/png"
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(await r.read())))
    async with chat.service.db.session() as s:
        assert await chat.service.store_page.links.task_of(s, code.text.rsplit("/", 1)[1], chat.clock.now())
    r = await chat.client.get(png_path.replace(".png", ".svg"))
    assert r.status == 200 and "门店接待" in await r.text()
    for bad in ("/admin/store/qr/999.png", "/admin/store/qr/1.gif", "/admin/store/qr/x.png"):
        assert (await chat.client.get(bad)).status == 404, bad
    r = await chat.client.get(png_path, headers={"X-Forwarded-For": "203.0.113.9"})  # through a proxy: a token
    assert r.status == 403
    monkeypatch.delenv("ACTIONFLOW_TOKEN_SECRET")
    r = await chat.client.get(png_path)
    assert r.status == 409 and "ACTIONFLOW_TOKEN_SECRET" in await r.text()


def test_the_command_line_prints_and_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACTIONFLOW_TOKEN_SECRET", SECRET)
    assert main(["init"]) == 0 and main(["demo"]) == 0
    assert main(["qr"]) == 2 and "需要 --store 和 --task" in capsys.readouterr().err
    assert main(["qr", "--store", STORE, "--task", "门店接待", "--out", "codes"]) == 0
    png, svg, url = capsys.readouterr().out.strip().splitlines()[-3:]
    assert Path(png).is_file() and Path(svg).is_file()
    [code] = zxingcpp.read_barcodes(Image.open(png))
    assert code.text == url
    assert main(["qr", "--revoke", url]) == 0 and "revoked" in capsys.readouterr().out
    assert main(["qr", "--revoke", url]) == 2 and "未做任何修改" in capsys.readouterr().err
    assert main(["qr", "--store", "无此店", "--task", "门店接待"]) == 2 and "没有门店" in capsys.readouterr().err
