"""Plain functions behind `actionflow tag` and `actionflow eval` (the CLI only parses arguments).

`tag` reads one message per line (a JSON object with `text` and optional `id`/`now`, or plain
text) and prints one contract JSON object per line; `eval` scores a labelled set per field.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any, TextIO

from .directory import Directory, load_customers_csv
from .scoring import EvalReport, evaluate, parse_now, print_report
from .tagger import understand

__all__ = ["EvalReport", "evaluate", "print_report", "run_eval", "run_tag", "tag_stream"]


def _parse_line(line: str) -> tuple[Any, str, str | None]:
    """(id, text, now) of one input line; a line that is not a JSON object is the text itself."""
    if line.startswith("{"):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            text = obj.get("text")
            now = obj.get("now")
            return obj.get("id"), text if isinstance(text, str) else "", now if isinstance(now, str) else None
    return None, line, None


def tag_stream(inp: TextIO, out: TextIO, directory: Directory, default_now: datetime | None) -> int:
    """Tag every non-blank input line; returns the number of records written.

    A line's own `now` wins; otherwise `default_now`, otherwise the current time in Asia/Shanghai.
    """
    written = 0
    for raw in inp:
        line = raw.strip()
        if not line:
            continue
        msg_id, text, now_text = _parse_line(line)
        now = parse_now(now_text, default_now)
        record = {"id": msg_id, **understand(text, now, directory).to_contract()}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
        written += 1
    return written


def _load_directory(customers_csv: str) -> Directory | None:
    try:
        return Directory(load_customers_csv(customers_csv))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        sys.stderr.write(f"cannot read customers {customers_csv!r}: {exc}\n")
        return None


def run_tag(customers_csv: str, now_iso: str | None, inp: TextIO, out: TextIO) -> int:
    """`actionflow tag`: exit code 0, or 2 when the directory or --now cannot be read."""
    default_now: datetime | None = None
    if now_iso:
        try:
            parsed = datetime.fromisoformat(now_iso)
        except ValueError:
            sys.stderr.write(f"--now must be ISO 8601, got {now_iso!r}\n")
            return 2
        default_now = parse_now(parsed.isoformat())
    directory = _load_directory(customers_csv)
    if directory is None:
        return 2
    tag_stream(inp, out, directory, default_now)
    return 0


def run_eval(customers_csv: str, messages_path: str, out: TextIO) -> int:
    """`actionflow eval`: print per-field accuracy and misses; exit code 0, or 2 on unreadable input."""
    directory = _load_directory(customers_csv)
    if directory is None:
        return 2
    try:
        report = evaluate(messages_path, directory)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        sys.stderr.write(f"cannot read messages {messages_path!r}: {exc}\n")
        return 2
    print_report(report, out)
    return 0
