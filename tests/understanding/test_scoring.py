"""The acceptance numbers: per-field accuracy on the labelled dev set."""

from __future__ import annotations

import io

from handlers.understanding import Directory
from handlers.understanding.scoring import EvalReport, evaluate, evaluate_messages, print_report

from .conftest import DATA

THRESHOLDS = {
    "action_type": 0.95,
    "customer_id": 0.98,
    "next_touch": 0.95,
    "budget": 0.95,
    "expected_date": 0.95,
    "promised_date": 0.95,
}


def test_dev_set_meets_acceptance_thresholds(directory: Directory) -> None:
    report = evaluate(DATA / "tagging-dev.jsonl", directory)
    assert report.messages == 80
    out = io.StringIO()
    print_report(report, out)
    for name, threshold in THRESHOLDS.items():
        accuracy = report.accuracy(name)
        assert accuracy is not None and accuracy >= threshold, f"{name}: {accuracy}\n{out.getvalue()}"


def test_only_expected_keys_are_scored(directory: Directory) -> None:
    messages = [
        {"id": "a", "now": "2026-11-24T10:00:00+08:00", "text": "瑞丰机械 上门拜访", "expect": {"action_type": "visit"}},
        {"id": "b", "now": "2026-11-24T10:00:00+08:00", "text": "瑞丰机械 上门拜访",
         "expect": {"action_type": "call", "customer_id": "D001"}},
    ]
    report = evaluate_messages(messages, directory)
    assert report.totals == {"action_type": 2, "customer_id": 1}
    assert report.accuracy("action_type") == 0.5 and report.accuracy("customer_id") == 1.0
    assert report.accuracy("budget") is None
    assert [(m.id, m.field, m.expected, m.got) for m in report.misses] == [("b", "action_type", "call", "visit")]


def test_printer_lists_fields_and_misses() -> None:
    report = EvalReport(messages=2, hits={"action_type": 1}, totals={"action_type": 2})
    from handlers.understanding.scoring import Miss

    report.misses.append(Miss("x1", "action_type", "call", "visit", "文本"))
    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()
    assert "action_type" in text and "50.0%" in text
    assert 'x1\taction_type\texpected="call"\tgot="visit"' in text
