"""Lead intake from outside the chat: ``POST /api/leads`` and ``actionflow import-leads CSV``.

Both validate into the same ``LeadInput`` and end in ``handlers.leads.intake``, in one transaction
with the cards it queues. The HTTP door checks, in order, the declared size (413 before reading),
the bearer token of one configured source (401 without one, 403 for a wrong one: compared in constant
time against every source, never logged), then reads at most the cap, parses JSON (400) and validates
(400). A repeat of a (source, lead id) answers 200 with the first answer's lead and changes nothing.
"""

from __future__ import annotations

import csv
import hmac
import json
import logging
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from pydantic import ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from handlers.context import Context
from handlers.leads import CSV_SOURCE, AssignmentRules, IntakeResult, LeadInput, intake
from storage.db import Database

log = logging.getLogger("actionflow.leads")
CSV_COLUMNS = ("lead_id", "company", "contact", "phone", "region", "lat", "lng", "tags", "note")
MakeContext = Callable[[str, AsyncSession], Context]


class LeadPost(LeadInput):
    """The POST body: a lead plus, optionally, the source it claims (must be the token's)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    source: str | None = Field(None, max_length=32)


class LeadBatchError(ValueError):
    """A bad CSV row; the message names the file line and the fields."""


def _fields(exc: ValidationError) -> str:
    return ", ".join(".".join(str(x) for x in e["loc"]) or "(root)" for e in exc.errors())


def _answer(source: str, r: IntakeResult) -> dict[str, object]:
    return {"source": source, "lead_id": r.lead.source_lead_id, "id": r.lead.id, "customer_id": r.lead.customer_id,
            "matched": r.lead.matched, "duplicate": not r.created, "status": r.lead.status.value,
            "assigned_to": r.owner.name if r.owner else None}


class LeadsApi:
    def __init__(self, cfg: Config, db: Database, make_context: MakeContext, rules: AssignmentRules,
                 on_done: Callable[[], None]) -> None:
        self.db = db
        self.make_context = make_context
        self.rules = rules
        self.on_done = on_done
        self.max_bytes = cfg.leads.max_body_bytes
        self.tokens = {name: src.token for name, src in cfg.leads.sources.items()}
        for name, token in self.tokens.items():
            if not token:
                log.warning("lead source has no token in its environment variable; its POSTs are refused",
                            extra={"source": name, "env": cfg.leads.sources[name].token_env})

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/leads", self.post)]

    def source_of(self, authorization: str) -> str | None:
        """The source whose token was presented; every configured token is compared (constant time each)."""
        scheme, _, sent = authorization.partition(" ")
        found = None
        for name, token in self.tokens.items():
            if token and hmac.compare_digest(sent.strip().encode(), token.encode()) and scheme.lower() == "bearer":
                found = name
        return found

    async def post(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > self.max_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_bytes, actual_size=request.content_length,
                                                text=f"请求体超过 {self.max_bytes} 字节")
        auth = request.headers.get("Authorization", "")
        if not auth:
            raise web.HTTPUnauthorized(text="需要 Authorization: Bearer <线索来源令牌>",
                                       headers={"WWW-Authenticate": "Bearer"})
        source = self.source_of(auth)
        if source is None:
            raise web.HTTPForbidden(text="令牌无效")
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="需要 Content-Type: application/json")
        body = await request.content.read(self.max_bytes + 1)  # a body without a length is capped as read
        if len(body) > self.max_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=self.max_bytes, actual_size=len(body),
                                                text=f"请求体超过 {self.max_bytes} 字节")
        try:
            data = json.loads(body.decode("utf-8"))
        except (ValueError, RecursionError):
            raise web.HTTPBadRequest(text="请求体不是合法的 JSON") from None
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text="请求体必须是 JSON 对象")
        try:
            post = LeadPost.model_validate(data)
        except ValidationError as exc:
            raise web.HTTPBadRequest(text=f"字段无效：{_fields(exc)}") from None
        if post.source is not None and post.source != source:
            raise web.HTTPForbidden(text="令牌与 source 不符")
        lead = LeadInput.model_validate(post.model_dump(exclude={"source"}))
        async with self.db.write() as s:
            result = await intake(self.make_context(f"lead:{source}:{lead.lead_id}", s), source, lead, self.rules)
        self.on_done()
        log.info("lead received", extra={"source": source, "lead": result.lead.id, "duplicate": not result.created})
        return web.json_response(_answer(source, result), status=201 if result.created else 200)


def read_leads_csv(path: str | Path) -> list[LeadInput]:
    """Every row validated before anything is stored: one bad row names its line and nothing is imported.
    Columns ``lead_id,company[,contact,phone,region,lat,lng,tags,note]``, tags ``;``-separated."""
    with Path(path).open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("lead_id", "company") if c not in (reader.fieldnames or [])]
        if missing:
            raise LeadBatchError(f"{path}: missing column(s) {', '.join(missing)}")
        unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
        if unknown:
            raise LeadBatchError(f"{path}: unknown column(s) {', '.join(unknown)}")
        out: list[LeadInput] = []
        seen: dict[str, int] = {}
        for i, row in enumerate(reader):
            line = i + 2
            raw: dict[str, object] = {k: (v or "").strip() for k, v in row.items() if k}
            raw["tags"] = [t for t in str(raw.get("tags", "")).split(";") if t.strip()]
            for k in ("lat", "lng", "contact", "phone", "region"):
                if raw.get(k) == "":
                    raw[k] = None
            try:
                lead = LeadInput.model_validate(raw)
            except ValidationError as exc:
                raise LeadBatchError(f"{path}:{line}: invalid {_fields(exc)}") from None
            if lead.lead_id in seen:
                raise LeadBatchError(f"{path}:{line}: lead_id {lead.lead_id!r} already on line {seen[lead.lead_id]}")
            seen[lead.lead_id] = line
            out.append(lead)
    return out


async def import_leads(session: AsyncSession, make_context: MakeContext, rules: AssignmentRules,
                       leads: list[LeadInput], source: str = CSV_SOURCE) -> tuple[int, int]:
    """(new, already known); a file imported twice adds nothing the second time."""
    new = known = 0
    for lead in leads:
        r = await intake(make_context(f"lead:{source}:{lead.lead_id}", session), source, lead, rules)
        new, known = (new + 1, known) if r.created else (new, known + 1)
    return new, known
