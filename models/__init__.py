"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from models.infra import DialogState, Outbox, ProcessedUpdate, UpdateInbox
from models.member import BindFailure, Invite, Member, Role

__all__ = ["BindFailure", "DialogState", "Invite", "Member", "Outbox", "ProcessedUpdate", "Role", "UpdateInbox"]

from models.info import InfoAttachment, InfoAuthor, InfoEvent, InfoItem, InfoSequence  # noqa: E402

__all__ += ["InfoAttachment", "InfoAuthor", "InfoEvent", "InfoItem", "InfoSequence"]

from models.activity import ActivityPhoto, ActivityReport, ReportDraft  # noqa: E402

__all__ += ["ActivityPhoto", "ActivityReport", "ReportDraft"]

from models.event import Deadline, Event, Invitation  # noqa: E402

__all__ += ["Deadline", "Event", "Invitation"]

from models.event_detail import EventGuest, EventTag, OutcomeQuantity, OutputDocument  # noqa: E402
from models.worklog import WorkLogEntry  # noqa: E402

__all__ += ["EventGuest", "EventTag", "OutcomeQuantity", "OutputDocument", "WorkLogEntry"]

from models.proposal import (  # noqa: E402
    HandlingUnit,
    Proposal,
    ProposalAssignment,
    ProposalAttachment,
    ProposalAuthor,
    ProposalEvent,
    ProposalRating,
    ProposalSequence,
)

__all__ += [
    "HandlingUnit",
    "Proposal",
    "ProposalAssignment",
    "ProposalAttachment",
    "ProposalAuthor",
    "ProposalEvent",
    "ProposalRating",
    "ProposalSequence",
]
