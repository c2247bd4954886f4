"""Commission estimate (提成估算): a formula from the config, evaluated safely, per rep per month.

The formula is parsed with ``ast`` and only numbers, the named variables below, + - * / and
parentheses are accepted (no calls, attributes, names of anything else, powers or comparisons), so
a config file can never run code. It is checked when the config loads.

Variables (the rep's confirmed records whose ``created_at`` falls in the local calendar month):
``new_contract`` = sum of contract amounts, ``payment`` = sum of payments (回款), ``contracts`` =
number of records carrying a contract amount.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from handlers.rhythm import REAL
from storage.models import ActionRecord

VARIABLES = {"new_contract": "新签合同额", "payment": "回款额", "contracts": "新签合同数"}
MAX_LENGTH = 200
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b}


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Formula:
    text: str
    tree: ast.expr

    @classmethod
    def parse(cls, text: str) -> Formula:
        """Refuses anything but numbers, known variables, + - * / and parentheses, naming what it found."""
        if len(text) > MAX_LENGTH:
            raise FormulaError(f"formula longer than {MAX_LENGTH} characters")
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as e:
            raise FormulaError(f"not a formula: {e.msg}") from None
        for node in ast.walk(tree):
            if isinstance(node, ast.BinOp):
                if type(node.op) not in _OPS:
                    raise FormulaError(f"operator {type(node.op).__name__} not allowed (only + - * /)")
            elif isinstance(node, ast.UnaryOp):
                if not isinstance(node.op, ast.USub | ast.UAdd):
                    raise FormulaError(f"operator {type(node.op).__name__} not allowed")
            elif isinstance(node, ast.Constant):
                if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                    raise FormulaError(f"only numbers allowed, got {node.value!r}")
            elif isinstance(node, ast.Name):
                if node.id not in VARIABLES:
                    raise FormulaError(f"unknown variable {node.id!r} (known: {', '.join(VARIABLES)})")
            elif not isinstance(node, ast.operator | ast.unaryop | ast.expr_context):
                raise FormulaError(f"{type(node).__name__} not allowed (only numbers, variables, + - * / and ())")
        return cls(text.strip(), tree)

    def __call__(self, values: dict[str, float]) -> float:
        return _eval(self.tree, values)


def _eval(node: ast.expr, values: dict[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(values[node.id])
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, values)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, values), _eval(node.right, values)
        if isinstance(node.op, ast.Div) and b == 0:
            return 0.0  # an empty month divides by zero contracts: no commission, not a crash
        return float(_OPS[type(node.op)](a, b))
    raise FormulaError(type(node).__name__)  # parse() let nothing else through


def month_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    first = day.replace(day=1)
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(first, time(), tz), datetime.combine(nxt, time(), tz)


@dataclass(frozen=True)
class Estimate:
    month: str  # 2026-11
    values: dict[str, float]
    amount: float


async def estimate(s: AsyncSession, formula: Formula, rep_id: int, day: date, tz: ZoneInfo) -> Estimate:
    start, end = month_bounds(day, tz)
    new, paid, n = (await s.execute(
        select(func.coalesce(func.sum(col(ActionRecord.contract_amount)), 0),
               func.coalesce(func.sum(col(ActionRecord.payment_amount)), 0),
               func.count(col(ActionRecord.contract_amount)))
        .where(col(ActionRecord.rep_id) == rep_id, col(ActionRecord.created_at) >= start,
               col(ActionRecord.created_at) < end, col(ActionRecord.status).in_(REAL)))).one()
    values = {"new_contract": float(new or 0), "payment": float(paid or 0), "contracts": float(n or 0)}
    return Estimate(f"{day:%Y-%m}", values, round(formula(values), 2))
