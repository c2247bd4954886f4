"""Shared fixtures: the dev customer directory (built once) and a tagging helper."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handlers.understanding import Directory, Understanding, load_customers_csv, understand

DATA = Path(__file__).resolve().parent.parent / "data"
SHANGHAI = ZoneInfo("Asia/Shanghai")


Tagger = Callable[..., Understanding]


def at(iso: str) -> datetime:
    """An aware datetime in Asia/Shanghai from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(iso).replace(tzinfo=SHANGHAI)


@pytest.fixture(scope="session")
def directory() -> Directory:
    return Directory(load_customers_csv(DATA / "customers.csv"))


@pytest.fixture(scope="session")
def tag(directory: Directory) -> Tagger:
    """tag(text, 'YYYY-MM-DD HH:MM') -> Understanding, against the dev directory."""

    def _tag(text: str, now: str = "2026-11-24 10:00") -> Understanding:
        return understand(text, at(now), directory)

    return _tag
