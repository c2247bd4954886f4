"""Cross-site requests, DNS rebinding, the admin token and bad input, all over real HTTP."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.service import Service
from handlers.clock import FixedClock
from storage.models import InboxEvent, Person
from tests.conftest import make_config, seeded

TEXT = "今天拜访了瑞丰机械张总，下周三再去"


async def stored(service: Service) -> int:
    async with service.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one())


def message(person: Person, cid: str) -> dict[str, Any]:
    return {"person_id": person.id, "client_id": cid, "text": TEXT}


async def page_token(client: TestClient) -> str:
    html = await (await client.get("/")).text()
    found = re.search(r'name="actionflow-csrf" content="([^"]+)"', html)
    assert found, "the emulator page carries the per-start token"
    return found.group(1)


async def test_cross_site_posts_are_refused_and_store_nothing(client: TestClient, service: Service,
                                                              people: dict[str, Person]) -> None:
    rep = people["张伟"]
    origin = str(client.make_url("")).rstrip("/")
    body = json.dumps(message(rep, "xsite-0001"))
    # what a foreign page can send without a preflight: text/plain, a form, a no-cors fetch
    r = await client.post("/local/api/message", data=body, headers={"Content-Type": "text/plain"})
    assert r.status == 415
    r = await client.post("/local/api/message", data=body, headers={
        "Content-Type": "application/json", "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert r.status == 403
    form = FormData({"person_id": str(rep.id), "client_id": "xsite-0002", "kind": "image"})
    form.add_field("file", b"jpeg", filename="a.jpg")
    r = await client.post("/local/api/upload", data=form, headers={"Origin": "https://evil.example"})
    assert r.status == 403
    # a same-origin browser request without the page's token (e.g. a stale page) is refused too
    r = await client.post("/local/api/message", json=message(rep, "xsite-0003"),
                          headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"})
    assert r.status == 403 and "令牌" in await r.text()
    r = await client.post("/admin/api/jobs/morning_must_do/run", data="{}",
                          headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
    assert r.status == 403
    r = await client.post("/admin/api/jobs/morning_must_do/run", data="{}", headers={"Content-Type": "text/plain"})
    assert r.status == 415
    assert await stored(service) == 0
    # the emulator itself: same origin, token from the page
    token = await page_token(client)
    r = await client.post("/local/api/message", json=message(rep, "xsite-0004"),
                          headers={"Origin": origin, "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": token})
    assert r.status == 200
    assert await stored(service) == 1


async def test_dns_rebinding_host_is_refused(client: TestClient) -> None:
    for path in ("/", "/local/api/people", "/admin/api/jobs"):
        r = await client.get(path, headers={"Host": "attacker.example:8080"})
        assert r.status == 403, path
        assert (await client.get(path, headers={"Host": "localhost:8080"})).status == 200, path
    r = await client.get("/local/ws?person=1", headers={"Origin": "https://evil.example"})
    assert r.status == 403


async def test_token_is_per_start_and_not_cached(client: TestClient, service: Service, tmp_path: Path) -> None:
    r = await client.get("/")
    assert r.headers["Cache-Control"] == "no-store"
    assert await page_token(client) == service.guard.token
    assert Service(make_config(tmp_path)).guard.token != service.guard.token


@pytest.fixture
async def exposed(tmp_path: Path, clock: FixedClock, aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A service configured to listen on every interface, with an admin token in the environment."""
    monkeypatch.setenv("ACTIONFLOW_ADMIN_TOKEN", "admin-token-for-tests")
    cfg = make_config(tmp_path, server={"host": "0.0.0.0", "public_url": "https://bot.example.com"})
    await seeded(cfg, clock.now())
    return Service(cfg, clock=clock), aiohttp_client


async def test_admin_needs_the_token_unless_loopback_all_the_way(exposed: Any, caplog: pytest.LogCaptureFixture,
                                                                 client: TestClient) -> None:
    service, aiohttp_client = exposed
    with caplog.at_level(logging.WARNING, logger="actionflow.service"):
        c = await aiohttp_client(service.app())
    assert any("EMULATOR IS ON" in r.getMessage() and "0.0.0.0" in r.getMessage() for r in caplog.records)
    # the peer is 127.0.0.1 (a same-host proxy would be too), but the service is not bound to loopback
    assert (await c.get("/admin/api/jobs")).status == 403
    auth = {"Authorization": "Bearer admin-token-for-tests"}
    assert (await c.get("/admin/api/jobs", headers={"Authorization": "Bearer wrong"})).status == 403
    assert (await c.get("/admin/api/jobs", headers=auth)).status == 200
    r = await c.post("/admin/api/jobs/warning_scan/run", json={"at": "2026-11-24T10:00"}, headers=auth)
    assert r.status == 200
    # the default loopback service: direct loopback callers are fine, proxied ones need the token
    assert (await client.get("/admin/api/jobs")).status == 200
    assert (await client.get("/admin/api/jobs", headers={"X-Forwarded-For": "198.51.100.7"})).status == 403


@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,  # RecursionError inside json.loads
    '{"person_id": ' + str(2**70) + ', "client_id": "overflow-01", "text": "x"}',  # OverflowError in SQLite
    '{"person_id": 1, "client_id": "nan-00001", "lat": NaN, "lng": 1}',
    "\xff\xfe not utf-8",
])
async def test_bad_json_is_400_not_500(client: TestClient, service: Service, body: str) -> None:
    for path in ("/local/api/message", "/local/api/location", "/local/api/action", "/admin/api/jobs/warning_scan/run"):
        r = await client.post(path, data=body.encode("utf-8", "surrogateescape"),
                              headers={"Content-Type": "application/json"})
        assert r.status == 400, (path, r.status, await r.text())
    assert await stored(service) == 0


async def test_bad_query_ids_and_multipart_are_400(client: TestClient) -> None:
    assert (await client.get(f"/local/api/history?person={2**70}")).status == 400
    assert (await client.get("/local/api/history?person=abc")).status == 400
    broken = [
        (b"--xx\r\nContent-Disposition: form-data; name=\"person_id\"\r\n\r\n1\r\n--yy--", "multipart/form-data; boundary=xx"),
        (b"no boundary at all", "multipart/form-data"),
        (b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\nabc", "multipart/form-data; boundary=xx"),
    ]
    for body, ctype in broken:
        r = await client.post("/local/api/upload", data=body, headers={"Content-Type": ctype})
        assert r.status == 400, (body, r.status, await r.text())


async def test_admin_run_rejects_bad_moments(client: TestClient) -> None:
    r = await client.post("/admin/api/jobs/warning_scan/run", json={"at": "yesterday"})
    assert r.status == 400
    r = await client.post("/admin/api/jobs/nope/run", json={})
    assert r.status == 404
