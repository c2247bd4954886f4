"""The tables. Names are the product's words; every time column is UTC.

Three tables carry the "nothing lost, nothing doubled" promise: ``InboxEvent`` (in), ``OutboxMessage``
(out) and ``JobRun`` (time). Each has a unique key that turns a repeat into a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime, utcnow


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _json(default: Callable[[], Any]) -> Any:
    """``default`` wrapped in a Python function: pydantic inspects a factory's signature on every
    construction, and for builtins like ``list`` that means parsing their text signature (slow)."""

    def fresh() -> Any:
        return default()

    return Field(default_factory=fresh, sa_column=Column(JSONType, nullable=False))


class Role(StrEnum):
    rep = "rep"
    supervisor = "supervisor"
    store_staff = "store_staff"
    store_manager = "store_manager"
    manager = "manager"
    # cross-role task assignees (跨角色协同): 售前, 实施, 法务, 财务
    presales = "presales"
    delivery = "delivery"
    legal = "legal"
    finance = "finance"


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    role: Role
    supervisor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    region: str | None = None
    active: bool = True
    # where a rep starts their day: lead assignment picks the nearest rep to a lead's coordinates
    home_lat: float | None = None
    home_lng: float | None = None
    created_at: datetime = _created()
    # a card waiting for this person's next message (a reject reason, a checklist photo): the dispatcher
    # already holds the Person row, so checking costs no query on the ordinary path
    awaiting_card_id: str | None = None
    awaiting_since: datetime | None = _ts()


class Identity(SQLModel, table=True):
    """Which platform account is which person (platform + external user id)."""

    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    external_id: str
    person_id: int = Field(foreign_key="person.id", index=True)


class Customer(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str = Field(index=True)
    aliases: list[str] = _json(list)
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    stage: str = "初步接触"
    industry: str | None = None
    owner_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    created_at: datetime = _created()
    last_action_at: datetime | None = _ts(index=True)
    # A supervisor's block reason (资料未齐 …) silences warnings until the next real action clears it.
    block_reason: str | None = None
    block_note: str | None = None
    blocked_by: int | None = None
    blocked_at: datetime | None = _ts()
    # when the current owner was given it as a lead: the first-contact clock (2 h ladder) starts here
    assigned_at: datetime | None = _ts()
    template: str | None = None  # industry template pack (stages.templates key) chosen once; None: not chosen yet


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    name: str
    phone: str | None = None
    role: str | None = None


class ActionType(StrEnum):
    call = "call"
    message = "message"
    visit = "visit"
    site_survey = "site_survey"
    presentation = "presentation"
    quote = "quote"
    objection = "objection"
    contract = "contract"
    payment = "payment"
    other = "other"


class RecordStatus(StrEnum):
    draft = "draft"  # parsed, waiting for the rep's confirmation
    confirmed = "confirmed"
    to_verify = "to_verify"  # 待核实
    rejected = "rejected"


class ActionRecord(SQLModel, table=True):
    __tablename__ = "action_record"
    __table_args__ = (
        Index("ix_action_record_rep_created", "rep_id", "created_at"),
        # "the customer's latest record" is one backwards index step, however long the history
        Index("ix_action_record_customer_created", "customer_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    type: ActionType
    customer_id: str | None = Field(default=None, foreign_key="customer.id", index=True)
    rep_id: int = Field(foreign_key="person.id")
    text: str
    source_event_id: int | None = Field(default=None, foreign_key="inbox_event.id", index=True)
    next_touch: date | None = Field(default=None, index=True)
    budget: int | None = None  # the customer's budget
    quote_amount: int | None = None  # what we quoted, on quote records
    payment_amount: int | None = None  # money that arrived (回款), yuan
    contract_amount: int | None = None  # the signed deal's value, yuan
    expected_date: date | None = None
    promised_date: date | None = None
    contact: str | None = None
    contact_role: str | None = None
    needs: list[str] = _json(list)
    tags: list[str] = _json(list)
    evidence: list[dict[str, Any]] = _json(list)
    status: RecordStatus = RecordStatus.draft
    confidence: float = 0.0
    created_at: datetime = _created()
    confirmed_at: datetime | None = _ts()


class Card(SQLModel, table=True):
    """A card we sent. Its id is the opaque token buttons carry; meaning and permissions live here."""

    # "today's reason cards" must not scan every card of that kind ever sent
    __table_args__ = (Index("ix_card_kind_created", "kind", "created_at"),)
    id: str = Field(primary_key=True)
    kind: str = Field(index=True)
    audience_id: int = Field(foreign_key="person.id", index=True)
    subject: dict[str, Any] = _json(dict)  # what the card is about, e.g. {"record_id": 12}
    state: str = "open"
    view: dict[str, Any] = _json(dict)  # view-local choices, e.g. which picker is open
    offered: list[str] = _json(list)  # the actions the card shows now; a press of anything else is refused
    platform: str
    refs: dict[str, Any] = _json(dict)  # platform message references for later updates
    version: int = 1
    created_at: datetime = _created()
    updated_at: datetime = _created()


class InboxStatus(StrEnum):
    received = "received"
    done = "done"
    failed = "failed"


class InboxEvent(SQLModel, table=True):
    __tablename__ = "inbox_event"
    __table_args__ = (UniqueConstraint("platform", "event_id"), Index("ix_inbox_event_sender", "platform", "sender"))
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    event_id: str
    sender: str  # the platform user id, so a person's inbound history needs no JSON query
    kind: str
    payload: dict[str, Any] = _json(dict)
    status: InboxStatus = Field(default=InboxStatus.received, index=True)
    attempts: int = 0
    error: str | None = None
    received_at: datetime = _created()
    handled_at: datetime | None = _ts()


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"  # the call may have reached the platform; a retry reuses the same key
    sent = "sent"
    failed = "failed"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True)
    platform: str
    recipient: str  # platform user id (or chat id)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    op: str = "send"  # send | update
    card_id: str | None = Field(default=None, foreign_key="card.id", index=True)
    body: dict[str, Any] = _json(dict)  # {"text": …} or {"card": neutral card dict}
    status: OutboxStatus = OutboxStatus.pending
    attempts: int = 0
    next_attempt_at: datetime = _created()
    platform_message_id: str | None = None
    last_error: str | None = None
    created_at: datetime = _created()
    sent_at: datetime | None = _ts()


class SendSlot(SQLModel, table=True):
    """One send taken from a rate-limit budget, when several processes share one PostgreSQL: each
    sender reads the recent slots of its recipients under an advisory lock, so the budget holds for
    all of them together (one SQLite process keeps its budgets in memory)."""

    __tablename__ = "send_slot"
    __table_args__ = (Index("ix_send_slot_key_at", "platform", "key", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    key: str  # the recipient, or "*" for an app-wide budget
    at: float = Field(index=True)  # the database's clock, epoch seconds


class JobRun(SQLModel, table=True):
    """A claim on one scheduled run; the unique key stops a restart or a second node from repeating it."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "local_date", "scope"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str
    local_date: date
    scope: str = "org"
    status: str = "running"
    started_at: datetime = _created()
    finished_at: datetime | None = _ts()
    detail: dict[str, Any] = _json(dict)


class MustDoStatus(StrEnum):
    open = "open"
    done = "done"  # by the rep's button or by a matching action record
    red = "red"  # chosen but unfinished at the end of the day: the supervisor owes a reason
    dropped = "dropped"  # a proposal not chosen, at the end of the day


class MustDo(SQLModel, table=True):
    """One line of a rep's morning card: a proposal, then (once chosen) one of the day's must-dos."""

    __tablename__ = "must_do"
    __table_args__ = (
        UniqueConstraint("rep_id", "local_date", "rank"),
        Index("ix_must_do_customer_date", "customer_id", "local_date"),
        Index("ix_must_do_date_status", "local_date", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    rep_id: int = Field(foreign_key="person.id")
    local_date: date
    rank: int  # position on the card; typed items follow the proposals
    source: str  # overdue | stale | checklist | today | custom
    customer_id: str | None = Field(default=None, foreign_key="customer.id")
    record_id: int | None = None  # the record whose next touch proposed it
    title: str
    chosen: bool = False  # one of the day's must-dos (else still just a proposal)
    auto: bool = False  # chosen by the end-of-day run because the rep never picked (not the rep's choice)
    status: MustDoStatus = MustDoStatus.open
    card_id: str | None = None  # the morning card that shows it
    done_at: datetime | None = _ts()
    done_record_id: int | None = None  # set when a matching action record finished it
    reason: str | None = None  # change | docs | permission | other
    reason_note: str | None = None
    reason_by: int | None = None
    reason_at: datetime | None = _ts()
    escalated_at: datetime | None = _ts()
    created_at: datetime = _created()


class WarningStatus(StrEnum):
    open = "open"
    cleared = "cleared"  # a real action arrived
    blocked = "blocked"  # a supervisor set a block reason


class WarningRecord(SQLModel, table=True):
    """One warning card: unique per (kind, episode, level, audience), so each item warns once per level.

    ``episode`` names the situation, e.g. the customer's last action time for a stale lead: a real
    action starts a new episode, so the same customer can warn again later.
    """

    __tablename__ = "warning"
    __table_args__ = (
        UniqueConstraint("kind", "episode", "level", "audience_id"),
        Index("ix_warning_customer_status", "customer_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # stale_lead | first_contact | overdue
    customer_id: str = Field(foreign_key="customer.id")
    episode: str
    level: str  # nudge | yellow | red
    audience_id: int = Field(foreign_key="person.id")
    card_id: str | None = None
    status: WarningStatus = WarningStatus.open
    created_at: datetime = _created()
    cleared_at: datetime | None = _ts()


class LeadStatus(StrEnum):
    assigned = "assigned"  # a rep has it and has not answered the card yet
    accepted = "accepted"
    unassigned = "unassigned"  # no rep fits (or everyone handed it back): the supervisor must choose


class Lead(SQLModel, table=True):
    """One lead as it arrived (HTTP, CSV or chat); ``(source, source_lead_id)`` makes a repeat a no-op."""

    __table_args__ = (UniqueConstraint("source", "source_lead_id"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    source_lead_id: str
    customer_id: str | None = Field(default=None, foreign_key="customer.id", index=True)
    matched: bool = False  # an existing customer (by name, alias or phone), not a new one
    company: str
    contact: str | None = None
    phone: str | None = None
    region: str | None = None
    lat: float | None = None
    lng: float | None = None
    tags: list[str] = _json(list)
    note: str = ""
    status: LeadStatus = LeadStatus.unassigned
    owner_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    assigned_at: datetime | None = _ts()
    assigned_by: int | None = None  # a supervisor's re-assignment; None: the rules
    accepted_at: datetime | None = _ts()
    # the first confirmed record on its customer after assignment: first_contact_at - assigned_at is the
    # first-response time the KPI reports
    first_contact_at: datetime | None = _ts()
    returned: list[dict[str, Any]] = _json(list)  # [{"by": person id, "reason": …, "note": …, "at": iso}]
    created_by: int | None = None  # the supervisor who typed it in chat
    rep_card_id: str | None = None
    supervisor_cards: dict[str, str] = _json(dict)  # supervisor's person id → their re-assign card
    created_at: datetime = _created()


class LocalChatMessage(SQLModel, table=True):
    """The emulator's side of the conversation: what a real platform would show in the chat window."""

    __tablename__ = "local_chat_message"
    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    direction: str  # in | out
    body: dict[str, Any] = _json(dict)
    card_id: str | None = Field(default=None, index=True)
    delivery_key: str | None = Field(default=None, unique=True)
    created_at: datetime = _created()


class StageChange(SQLModel, table=True):
    """Every move of a customer to another stage; stage dwell time is the gap between a customer's rows."""

    __tablename__ = "stage_change"
    __table_args__ = (Index("ix_stage_change_customer_at", "customer_id", "at"),
                      Index("ix_stage_change_at", "at"))  # reports: the moves of a window
    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    old: str
    new: str
    by_id: int | None = Field(default=None, foreign_key="person.id")
    at: datetime = _created()
    override_reason: str | None = None  # a supervisor let it pass with required checks open
    missing: list[str] = _json(list)  # the open required checks at the override


class ChecklistItem(SQLModel, table=True):
    """One check of a customer's stage gate; created when the stage's checklist is first shown."""

    __tablename__ = "checklist_item"
    __table_args__ = (UniqueConstraint("customer_id", "stage", "key"),
                      Index("ix_checklist_item_status", "status", "customer_id"))
    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    stage: str
    key: str
    title: str
    required: bool = True
    evidence_kind: str | None = None  # photo | voice | file | None (a tick is enough)
    status: str = "open"  # open | done
    done_at: datetime | None = _ts()
    done_by: int | None = None
    record_id: int | None = None  # the action record the evidence came with
    evidence: dict[str, Any] = _json(dict)
    created_at: datetime = _created()


class VerifyStatus(StrEnum):
    open = "open"
    confirmed = "confirmed"
    rejected = "rejected"


class Verification(SQLModel, table=True):
    """A 待核实 record: why it was flagged, who must verify by when, and how it ended (kept for audit)."""

    __table_args__ = (Index("ix_verification_status_due", "status", "due_at"),
                      Index("ix_verification_rep_created", "rep_id", "created_at"))  # reports: a team's window
    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="action_record.id", unique=True)
    rep_id: int = Field(foreign_key="person.id", index=True)
    supervisor_id: int | None = Field(default=None, foreign_key="person.id")
    reasons: list[dict[str, Any]] = _json(list)  # [{"code": "photo_far", "detail": "…"}]
    status: VerifyStatus = VerifyStatus.open
    created_at: datetime = _created()
    due_at: datetime = _created()
    resolved_at: datetime | None = _ts()
    resolved_by: int | None = None
    note: str | None = None
    escalated_at: datetime | None = _ts()
    card_id: str | None = None


class ContractStatus(StrEnum):
    draft = "draft"  # waiting for the contract file; no approver has been asked yet
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # the requester took it back (a wrong file, a changed deal)


class ContractRequest(SQLModel, table=True):
    """A contract approval request (合同审批): who asked, for which customer and amount, and how it ended."""

    __tablename__ = "contract_request"
    __table_args__ = (Index("ix_contract_request_rep_status", "rep_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    rep_id: int = Field(foreign_key="person.id")
    amount: int = Field(sa_column=Column(BigInteger(), nullable=False))  # yuan
    attachment: dict[str, Any] = _json(dict)  # the contract file's evidence entry (name, path, sha256 …)
    status: ContractStatus = ContractStatus.draft
    created_at: datetime = _created()
    closed_at: datetime | None = _ts()
    reason: str | None = None  # why it was rejected (or withdrawn)
    card_id: str | None = None  # the requester's card, updated as steps pass


class ApprovalStepStatus(StrEnum):
    queued = "queued"
    waiting = "waiting"
    approved = "approved"
    rejected = "rejected"


class ApprovalStep(SQLModel, table=True):
    """One step of a request's chain (法务初审 …), its approver fixed when the request was made."""

    __tablename__ = "approval_step"
    __table_args__ = (UniqueConstraint("request_id", "idx"), Index("ix_approval_step_status_due", "status", "due_at"))
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="contract_request.id")
    idx: int
    name: str
    approver_id: int = Field(foreign_key="person.id", index=True)
    status: ApprovalStepStatus = ApprovalStepStatus.queued
    wait_hours: float = 24.0  # the step's limit, copied from the config when the request was made
    started_at: datetime | None = _ts()
    due_at: datetime | None = _ts()
    decided_at: datetime | None = _ts()
    note: str | None = None
    warned_at: datetime | None = _ts()
    card_id: str | None = None  # the approver's card


class TaskStatus(StrEnum):
    open = "open"  # sent to the assignee, not answered yet
    accepted = "accepted"
    done = "done"
    cancelled = "cancelled"


class Task(SQLModel, table=True):
    """A cross-role task (跨角色协同) bound to a customer and the stage it was in when asked; ``done_at -
    created_at`` is the closure time the cross-role KPI reports. One task per (record, role): a repeated
    press or redelivered event finds the row and changes nothing."""

    __table_args__ = (UniqueConstraint("record_id", "role"), Index("ix_task_status_due", "status", "due_at"),
                      Index("ix_task_customer_created", "customer_id", "created_at"),
                      Index("ix_task_done", "done_at"))  # reports: tasks closed in a window
    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id")
    stage: str
    role: str  # a Role value: presales | delivery | legal | finance
    title: str
    need: str = ""  # what the record asked for (API对接, 合同条款 …)
    record_id: int | None = Field(default=None, foreign_key="action_record.id")
    assignee_id: int = Field(foreign_key="person.id", index=True)
    requested_by: int = Field(foreign_key="person.id")
    status: TaskStatus = TaskStatus.open
    created_at: datetime = _created()
    accepted_at: datetime | None = _ts()
    done_at: datetime | None = _ts()
    due_at: datetime | None = _ts()
    note: str | None = None  # the assignee's closing note
    attachment: dict[str, Any] = _json(dict)  # a file or photo sent as the result (evidence entry)
    warned_at: datetime | None = _ts()
    card_id: str | None = None  # the assignee's card
    copies: dict[str, str] = _json(dict)  # person id → their read-only copy card (rep, delivery lead)


class CustomerKey(SQLModel, table=True):
    """查重 keys: each customer's normalized name and aliases and its contacts' phone digits, so matching a
    lead is one indexed lookup instead of reading every customer. Kept by ``storage/customer_keys.py``."""

    __tablename__ = "customer_key"
    __table_args__ = (UniqueConstraint("kind", "key", "customer_id"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: str = Field(foreign_key="customer.id", index=True)
    kind: str  # name | phone
    key: str


class Store(SQLModel, table=True):
    """A shop floor (门店): its type picks the golden nodes and scripts (``bot/store_nodes.yaml``)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    store_type: str = "default"
    manager_id: int | None = Field(default=None, foreign_key="person.id", index=True)


class StoreMember(SQLModel, table=True):
    """Who works in which store: the page refuses staff of another store."""

    __tablename__ = "store_member"
    __table_args__ = (UniqueConstraint("store_id", "person_id"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)


class StoreTask(SQLModel, table=True):
    """A printed QR code's task (门店接待, 新品试用 …) in one store."""

    __tablename__ = "store_task"
    __table_args__ = (UniqueConstraint("store_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    name: str


class LinkToken(SQLModel, table=True):
    """Every signed link we hand out that may be revoked: the token carries only ``jti``; this row says
    what it opens and whether it was revoked (a printed QR code outlives any secret rotation plan)."""

    __tablename__ = "link_token"
    jti: str = Field(primary_key=True)
    purpose: str
    subject: str
    expires_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts()
    created_at: datetime = _created()


class StoreSession(SQLModel, table=True):
    """One customer served by one staff member; ``key`` is the page's nonce so a retried start is one session."""

    __tablename__ = "store_session"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    store_id: int = Field(foreign_key="store.id", index=True)
    task_id: int = Field(foreign_key="store_task.id")
    person_id: int = Field(foreign_key="person.id", index=True)
    started_at: datetime = _ts(nullable=False, index=True)
    reached: int = 0  # nodes completed so far
    left_at: datetime | None = _ts()  # 离店 at node ``reached``


class StoreTap(SQLModel, table=True):
    """One node done in one session: the unique key makes double taps and retries no-ops."""

    __tablename__ = "store_tap"
    __table_args__ = (UniqueConstraint("session_id", "node"),)
    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="store_session.id", index=True)
    node: int
    at: datetime = _ts(nullable=False)


from storage import customer_keys as _customer_keys  # noqa: E402,F401  (keeps customer_key in step on flush)
