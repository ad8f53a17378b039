"""提案 (proposals): a proposal, its proposers (the lead and the co-proposers, 联名), attachments, the
handling units (承办单位) and each unit's assignment, the proposers' ratings, the history of every
step, and the per-year counter behind the filing numbers (2026-001).

The lifecycle (提、立、交、办、督、评) and which service moves what: bot/services/proposals/.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, Index, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from models.base import created_field, when_field
from models.info import AttachedFile

# Proposal states (Proposal.state):
COSIGNING = "cosigning"  # waiting for the invited co-proposers (at most PROPOSAL_COSIGN_HOURS)
SUBMITTED = "submitted"  # 待审查: with the secretariat for the filing review
RETURNED = "returned"  # 退回修改: back with the lead; resubmitting makes it SUBMITTED again
FILED = "filed"  # 立案: has its filing number, not yet assigned
NOT_FILED = "not_filed"  # 不予立案 (ProposalEvent.reason says why)
CONVERTED = "converted"  # 转为社情民意 (Proposal.info_item_id)
MERGED = "merged"  # 并案 into another filed proposal (Proposal.merged_into_id)
ASSIGNED = "assigned"  # 交办: with its units, being handled
ANSWERED = "answered"  # every answer that is owed is in (办复)
PROPOSAL_STATES = (COSIGNING, SUBMITTED, RETURNED, FILED, NOT_FILED, CONVERTED, MERGED, ASSIGNED, ANSWERED)
# The states of a proposal that has a filing number (立案数 counts these).
FILED_STATES = (FILED, ASSIGNED, ANSWERED)

# A co-proposer's answer (ProposalAuthor.consent); the lead is LEAD.
LEAD, PENDING, AGREED, DECLINED = "lead", "pending", "agreed", "declined"

# A unit's part (ProposalAssignment.role): 主办 answers (协办 send their opinion to it first);
# 分办 units each answer separately.
MAIN, ASSIST, SEPARATE = "main", "assist", "separate"
ANSWERING_ROLES = (MAIN, SEPARATE)  # the roles whose answer the proposers receive and rate
# An assignment's state (ProposalAssignment.state).
A_ASSIGNED, A_SIGNED, A_OBJECTED, A_WITHDRAWN, A_ANSWERED = "assigned", "signed", "objected", "withdrawn", "answered"
# An extension request (ProposalAssignment.extension_state).
EXT_REQUESTED, EXT_APPROVED, EXT_REFUSED = "requested", "approved", "refused"
# How the unit met the proposer (ProposalAssignment.contact_kind): 面商 / 电话 / 座谈 / 书面.
CONTACT_KINDS = ("meeting", "phone", "forum", "written")
# A rating (ProposalRating.attitude / .result): 满意 / 基本满意 / 不满意.
SATISFIED, BASICALLY, UNSATISFIED = "satisfied", "basically", "unsatisfied"
RATINGS = (SATISFIED, BASICALLY, UNSATISFIED)
# The grounds for 不予立案 in the national rules (ProposalEvent.reason of a "not_filed" step).
NOT_FILED_REASONS = ("litigation", "personal", "vague", "multiple", "promotion", "other")


class HandlingUnit(SQLModel, table=True):
    """A district department that answers proposals (承办单位); not a member. Its contact is a
    `Member` row with role "unit" and `unit_id` set (bound with an invite like a member)."""

    __tablename__ = "handling_unit"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    short_name: str = Field(default="", max_length=32)
    contact_name: str = Field(default="", max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    active: bool = Field(default=True)
    created_at: datetime = created_field()


class Proposal(SQLModel, table=True):
    __tablename__ = "proposal"
    __table_args__ = (Index("ix_proposal_year_state", "year", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(index=True)  # the year of submission in the committee's zone (the session)
    number: str | None = Field(default=None, sa_column=Column(String(20), unique=True, nullable=True))  # 2026-001
    seq: int | None = None  # the filing sequence within the year
    lead_id: int = Field(foreign_key="member.id", index=True)  # 第一提案人
    title: str = Field(max_length=60)  # 案由
    category: str = Field(max_length=32)  # a category of the rules file ([proposal] categories)
    analysis: str = Field(sa_column=Column(Text, nullable=False))  # 情况分析
    suggestion: str = Field(sa_column=Column(Text, nullable=False))  # 具体建议
    state: str = Field(default=SUBMITTED, max_length=16, index=True)
    key: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # 重点提案
    key_leader: str | None = Field(default=None, max_length=64)  # 领衔督办 leader's name
    excellent: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # 优秀提案
    merged_into_id: int | None = Field(default=None, foreign_key="proposal.id")
    info_item_id: int | None = Field(default=None, foreign_key="info_item.id")  # converted to 社情民意
    reworked: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # 重办 used (once)
    # Identifies the chat draft it came from: a redelivered "submit" press after a crash finds it again.
    draft_key: str | None = Field(default=None, sa_column=Column(String(80), unique=True, nullable=True))
    submitted_at: datetime = Field(sa_column=Column(DateTime, nullable=False, index=True))  # first submission
    cosign_until: datetime | None = when_field()  # COSIGNING ends at the latest here
    filed_at: datetime | None = when_field()
    assigned_at: datetime | None = when_field()
    answered_at: datetime | None = when_field()
    updated_at: datetime = created_field()


class ProposalAuthor(SQLModel, table=True):
    """Every proposer: position 0 is the lead (consent "lead"), the others co-proposers."""

    __tablename__ = "proposal_author"
    __table_args__ = (UniqueConstraint("proposal_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    position: int = 0
    consent: str = Field(default=PENDING, max_length=16)
    answered_at: datetime | None = when_field()


class ProposalAttachment(AttachedFile, table=True):
    """A photo or document sent with a proposal, or a unit's 答复函 (`assignment_id` set)."""

    __tablename__ = "proposal_attachment"

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="proposal_assignment.id")


class ProposalAssignment(SQLModel, table=True):
    """One unit's part in handling a proposal (交办 → 签收 → 办理 → 答复). A re-assignment after an
    objection withdraws the row and adds a new one; 重办 reopens the answering rows (round 2)."""

    __tablename__ = "proposal_assignment"
    __table_args__ = (Index("ix_proposal_assignment_unit_state", "unit_id", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    unit_id: int = Field(foreign_key="handling_unit.id")
    role: str = Field(max_length=16)  # main / assist / separate
    state: str = Field(default=A_ASSIGNED, max_length=16)
    round: int = 1  # 2 after 重办
    assigned_at: datetime = Field(sa_column=Column(DateTime, nullable=False))
    object_until: datetime = Field(sa_column=Column(DateTime, nullable=False))  # 申请调整 allowed until
    due_on: date = Field(sa_column=Column(Date, nullable=False, index=True))  # answer deadline (local day)
    signed_at: datetime | None = when_field()
    objection: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    contact_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    contact_kind: str | None = Field(default=None, max_length=16)  # CONTACT_KINDS
    opinion: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # 协办 → 主办
    opinion_at: datetime | None = when_field()
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answer_category: str | None = Field(default=None, max_length=8)  # A / B / C (rules file)
    answered_at: datetime | None = when_field()
    extension_state: str | None = Field(default=None, max_length=16)
    extension_until: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    extension_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ProposalRating(SQLModel, table=True):
    """A proposer's rating of the answer: 办理态度 and 办理结果, per round (a 重办 is rated again)."""

    __tablename__ = "proposal_rating"
    __table_args__ = (UniqueConstraint("proposal_id", "member_id", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    round: int = 1
    attitude: str = Field(max_length=16)  # RATINGS
    result: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ProposalEvent(SQLModel, table=True):
    """One step of a proposal's history (who, when, what). Kinds: submitted, cosign_agreed,
    cosign_declined, resubmitted, filed, not_filed, converted, merged, returned, assigned, signed,
    objected, reassigned, contacted, opinion, answered, extension_requested, extension_approved,
    extension_refused, key, nudged, rated, rework, excellent, reminded, overdue."""

    __tablename__ = "proposal_event"
    __table_args__ = (Index("ix_proposal_event_kind_at", "kind", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposal.id", index=True)
    kind: str = Field(max_length=24)
    actor_id: int | None = Field(default=None, foreign_key="member.id")  # a member, staff or unit contact
    unit_id: int | None = Field(default=None, foreign_key="handling_unit.id")
    reason: str | None = Field(default=None, max_length=16)  # not_filed: NOT_FILED_REASONS
    on_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    at: datetime = Field(sa_column=Column(DateTime, nullable=False))


class ProposalSequence(SQLModel, table=True):
    """The last filing number used in a year; bumped inside the filing transaction."""

    __tablename__ = "proposal_sequence"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: int = 0
