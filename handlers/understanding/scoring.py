"""Scoring the tagger against a labelled message set (tagging-dev.jsonl format).

Only keys present in a message's ``expect`` are scored: an absent key means "not stated or
debatable", so it must not count against the tagger.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from .directory import Directory
from .tagger import understand

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
SCORED_FIELDS: tuple[str, ...] = (
    "action_type", "customer_id", "next_touch", "budget", "expected_date", "promised_date",
    "contact", "contact_role",
)


def parse_now(value: str | None, default: datetime | None = None) -> datetime:
    """ISO 8601 to an aware datetime; naive input is Asia/Shanghai; bad/missing input -> default or now."""
    if value:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=DEFAULT_TZ)
    return default if default is not None else datetime.now(DEFAULT_TZ)


@dataclass(frozen=True)
class Miss:
    id: str
    field: str
    expected: Any
    got: Any
    text: str


@dataclass
class EvalReport:
    """Per-field hits and totals plus every miss."""

    messages: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)

    def accuracy(self, name: str) -> float | None:
        """Share of scored messages where the field was right; None if never scored."""
        total = self.totals.get(name, 0)
        return self.hits.get(name, 0) / total if total else None

    def fields(self) -> list[str]:
        known = [f for f in SCORED_FIELDS if f in self.totals]
        return known + sorted(f for f in self.totals if f not in SCORED_FIELDS)


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, list) and isinstance(got, list):
        return sorted(map(str, expected)) == sorted(map(str, got))
    return expected == got


def read_messages(path: str | Path) -> list[dict[str, Any]]:
    """The labelled messages, one JSON object per non-blank line."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate(messages_path: str | Path, directory: Directory) -> EvalReport:
    """Tag every message and compare the fields present in its ``expect``."""
    return evaluate_messages(read_messages(messages_path), directory)


def evaluate_messages(messages: Iterable[dict[str, Any]], directory: Directory) -> EvalReport:
    """Like :func:`evaluate` for messages already loaded."""
    report = EvalReport()
    for msg in messages:
        report.messages += 1
        now = parse_now(msg.get("now"))
        got = understand(str(msg.get("text", "")), now, directory).to_contract()
        for name, expected in (msg.get("expect") or {}).items():
            report.totals[name] = report.totals.get(name, 0) + 1
            if _same(expected, got.get(name)):
                report.hits[name] = report.hits.get(name, 0) + 1
            else:
                report.misses.append(Miss(str(msg.get("id", "")), name, expected, got.get(name), msg.get("text", "")))
    return report


def print_report(report: EvalReport, out: TextIO, *, show_misses: bool = True) -> None:
    """Per-field accuracy table, then the misses (id, field, expected, got)."""
    out.write(f"messages: {report.messages}\n")
    out.write(f"{'field':<16}{'accuracy':>10}{'hits':>7}{'total':>7}\n")
    for name in report.fields():
        acc = report.accuracy(name) or 0.0
        out.write(f"{name:<16}{acc:>9.1%}{report.hits.get(name, 0):>7}{report.totals[name]:>7}\n")
    if show_misses and report.misses:
        out.write(f"\nmisses ({len(report.misses)}):\n")
        for miss in report.misses:
            expected = json.dumps(miss.expected, ensure_ascii=False)
            got = json.dumps(miss.got, ensure_ascii=False)
            out.write(f"{miss.id}\t{miss.field}\texpected={expected}\tgot={got}\t{miss.text}\n")
