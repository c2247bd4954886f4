"""The commission formula is parsed, never eval'd: only numbers, the known variables, + - * / and ()."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from handlers.reports.commission import Formula, FormulaError
from tests.conftest import make_config


@pytest.mark.parametrize(("text", "want"), [
    ("new_contract * 0.05 + payment * 0.02", 200000 * 0.05 + 100000 * 0.02),
    ("(new_contract + payment) / 2 - contracts * 100", (200000 + 100000) / 2 - 100),
    ("-payment * 0.01 + 5000", -1000 + 5000),
    ("payment / (contracts - 1)", 0.0),  # a zero divisor means no commission, not a crash
])
def test_allowed_formulas(text: str, want: float) -> None:
    assert Formula.parse(text)({"new_contract": 200000, "payment": 100000, "contracts": 1}) == pytest.approx(want)


@pytest.mark.parametrize(("text", "says"), [
    ("__import__('os').system('id')", "Call not allowed"),
    ("payment ** 2", "operator Pow not allowed"),
    ("payment.real", "Attribute not allowed"),
    ("bonus * 2", "unknown variable 'bonus'"),
    ("'a' * 3", "only numbers allowed"),
    ("payment if True else 0", "IfExp not allowed"),
    ("True * payment", "only numbers allowed"),
    ("[payment][0]", "Subscript not allowed"),
    ("payment > 1", "Compare not allowed"),
    ("payment +", "not a formula"),
    ("1" + " + 1" * 200, "longer than 200"),
])
def test_anything_else_is_refused(text: str, says: str) -> None:
    with pytest.raises(FormulaError, match=says.replace("(", r"\(").replace("*", r"\*")):
        Formula.parse(text)


def test_a_bad_formula_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("org: {name: t}\nreports:\n  commission_formula: \"open('x').read()\"\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="reports.commission_formula"):
        load_config(str(path))
    assert make_config(tmp_path, reports={"commission_formula": "payment * 0.03"}).reports.commission_formula
