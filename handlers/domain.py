"""Domain events: what happened in sales terms, published by one capability and heard by others.

Capture publishes ``RecordConfirmed``; the rhythm ticks must-dos and clears warnings on it, without
capture knowing either exists. Subscribers run inside the publisher's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DomainEvent:
    at: datetime


@dataclass(frozen=True)
class RecordConfirmed(DomainEvent):
    """A rep confirmed an action record: a real touch with the customer."""

    record_id: int
    rep_id: int
    customer_id: str | None


@dataclass(frozen=True)
class StageChanged(DomainEvent):
    customer_id: str
    old: str
    new: str
    by: int | None


@dataclass(frozen=True)
class EvidenceAttached(DomainEvent):
    record_id: int
    rep_id: int
    kind: str  # image | voice | file | location


@dataclass(frozen=True)
class TaskDone(DomainEvent):
    """A must-do or task item was finished (by a button or a matching record)."""

    item_id: int
    rep_id: int
    customer_id: str | None


@dataclass(frozen=True)
class RecordFlagged(DomainEvent):
    """A credibility check marked a record 待核实; its supervisor got a verify card."""

    record_id: int
    rep_id: int
    customer_id: str | None


@dataclass(frozen=True)
class RecordVerified(DomainEvent):
    """A supervisor resolved a 待核实 record: ``ok`` confirmed it, else it was rejected."""

    record_id: int
    ok: bool


@dataclass(frozen=True)
class ContractApproved(DomainEvent):
    """The last step of a contract request's approval chain approved it (用印 done)."""

    request_id: int
    customer_id: str
    rep_id: int
    amount: int


@dataclass(frozen=True)
class CollabRequested(DomainEvent):
    """A rep pressed 「需要协同」 on a confirmed record: propose every role for it."""

    record_id: int
    rep_id: int
    customer_id: str


@dataclass(frozen=True)
class CrossRoleTaskDone(DomainEvent):
    """A cross-role task was closed by its assignee; ``hours`` from asking to done (the cross-role KPI)."""

    task_id: int
    customer_id: str
    role: str
    assignee_id: int
    hours: float
