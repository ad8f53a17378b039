"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from models.infra import DialogState, Outbox, ProcessedUpdate
from models.member import BindFailure, Invite, Member, Role

__all__ = ["BindFailure", "DialogState", "Invite", "Member", "Outbox", "ProcessedUpdate", "Role"]
