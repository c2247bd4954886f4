"""contracts.steps is checked at start-up: a wrong role, a repeated step or an empty chain names its key."""

from __future__ import annotations

from typing import Any

import pytest

from bot.capabilities import contract_rules_from
from bot.config import ConfigError, config_from_dict
from handlers.contracts import ContractRules, StepRule


def test_the_default_chain_is_legal_then_finance_then_the_seal() -> None:
    rules = contract_rules_from(config_from_dict({}))
    assert rules == ContractRules()
    assert [s.name for s in rules.steps] == ["法务初审", "财务信用评估", "用印"]


def test_a_configured_chain_is_what_the_capability_gets() -> None:
    cfg = config_from_dict({"contracts": {"steps": [{"name": "总经理审批", "approvers": ["周建国"], "wait_hours": 2.5}],
                                          "scan_every_min": 5}})
    assert contract_rules_from(cfg) == ContractRules(steps=(StepRule("总经理审批", ("周建国",), 2.5),), scan_every_min=5)


@pytest.mark.parametrize(("contracts", "said"), [
    ({"steps": [{"name": "法务初审", "approvers": ["role:boss"]}]}, "role must be one of"),
    ({"steps": [{"name": "法务初审", "approvers": []}]}, "contracts.steps.0.approvers"),
    ({"steps": [{"name": "用印", "approvers": ["周建国"]}, {"name": "用印", "approvers": ["周建国"]}]}, "each step name once"),
    ({"steps": []}, "contracts.steps"),
    ({"steps": [{"name": "用印", "approvers": ["周建国"], "wait_hours": 0}]}, "contracts.steps.0.wait_hours"),
    ({"steps": [{"name": "用印", "approvers": ["周建国"], "boss": "x"}]}, "contracts.steps.0.boss"),
])
def test_a_wrong_chain_stops_start_up_naming_the_key(contracts: dict[str, Any], said: str) -> None:
    with pytest.raises(ConfigError, match=said.replace(".", r"\.")):
        config_from_dict({"contracts": contracts})
