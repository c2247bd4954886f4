"""`tag` and `eval` command functions."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers.understanding import CONTRACT_FIELDS, Directory
from handlers.understanding.commands import run_eval, run_tag, tag_stream

from .conftest import DATA, at


def _records(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_tag_stream_json_plain_blank_and_bad_lines(directory: Directory) -> None:
    inp = io.StringIO(
        '{"id": "m1", "now": "2026-11-24T10:00:00+08:00", "text": "瑞丰机械 上门拜访,周五再去", "extra": 1}\n'
        "\n"
        "瑞丰机械 报价单已发\n"
        '{"id": "m3", "text": "蜀通 回款到账了"\n'  # broken JSON: treated as plain text
        '{"id": 4, "text": "恒远化工 采购经理李姐 电话回访"}\n'
        "   \n"
    )
    out = io.StringIO()
    written = tag_stream(inp, out, directory, at("2026-11-23 09:00"))
    records = _records(out)
    assert written == len(records) == 4
    for record in records:
        assert {"id", *CONTRACT_FIELDS} <= set(record)
    assert records[0]["id"] == "m1" and records[0]["next_touch"] == "2026-11-27"
    assert records[1]["id"] is None and records[1]["action_type"] == "quote"
    assert records[2]["id"] is None and records[2]["action_type"] == "payment"
    assert records[3]["id"] == 4 and records[3]["customer_id"] == "D002"
    assert '"contact": "李姐"' in out.getvalue()  # ensure_ascii=False


def test_default_now_applies_to_lines_without_now(directory: Directory) -> None:
    out = io.StringIO()
    tag_stream(io.StringIO("瑞丰机械 明天拜访\n"), out, directory, at("2026-12-31 10:00"))
    assert _records(out)[0]["next_touch"] == "2027-01-01"


def test_run_tag_with_naive_now_uses_shanghai() -> None:
    out = io.StringIO()
    code = run_tag(str(DATA / "customers.csv"), "2026-11-24T23:30", io.StringIO("瑞丰机械 明天拜访\n"), out)
    assert code == 0 and _records(out)[0]["next_touch"] == "2026-11-25"


def test_run_tag_without_now_uses_current_time() -> None:
    """Without --now, "明天" is tomorrow in the org's zone as of the moment the command runs."""
    out = io.StringIO()
    before = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert run_tag(str(DATA / "customers.csv"), None, io.StringIO("瑞丰机械 上门拜访，明天再去\n"), out) == 0
    after = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    [rec] = _records(out)
    assert rec["customer_id"] == "D001"
    assert rec["next_touch"] in {(before + timedelta(days=1)).isoformat(), (after + timedelta(days=1)).isoformat()}


def test_run_tag_errors(tmp_path: Path) -> None:
    assert run_tag(str(tmp_path / "missing.csv"), None, io.StringIO(""), io.StringIO()) == 2
    assert run_tag(str(DATA / "customers.csv"), "not-a-date", io.StringIO(""), io.StringIO()) == 2


def test_run_eval_prints_accuracy(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_eval(str(DATA / "customers.csv"), str(DATA / "tagging-dev.jsonl"), out) == 0
    text = out.getvalue()
    assert "messages: 80" in text and "customer_id" in text and "next_touch" in text
    assert run_eval(str(DATA / "customers.csv"), str(tmp_path / "none.jsonl"), io.StringIO()) == 2


def test_now_parsing_keeps_explicit_offset(directory: Directory) -> None:
    out = io.StringIO()
    line = json.dumps({"text": "瑞丰机械 明天拜访", "now": "2026-11-24T23:30:00+00:00"})
    tag_stream(io.StringIO(line + "\n"), out, directory, None)
    assert _records(out)[0]["next_touch"] == "2026-11-25"
