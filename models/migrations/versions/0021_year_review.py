"""year review: event organiser, tags, guests, outcomes (quantities, documents) and the work log

Revision ID: 0021_year_review
Revises: 0017_update_inbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_year_review"
down_revision = "0017_update_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(sa.Column("organiser", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("organiser_unit", sa.String(length=64), nullable=True))
        batch.create_index("ix_event_organiser", ["organiser"], unique=False)

    op.create_table(
        "event_tag",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "tag"),
    )
    op.create_index("ix_event_tag_tag", "event_tag", ["tag", "event_id"])

    op.create_table(
        "event_guest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_event_guest_event_id", "event_guest", ["event_id"])

    op.create_table(
        "outcome_quantity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=True),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("activity_report.id"), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "code", name="uq_outcome_quantity_event_code"),
        sa.UniqueConstraint("report_id", "code", name="uq_outcome_quantity_report_code"),
        sa.CheckConstraint("(event_id IS NULL) <> (report_id IS NULL)", name="ck_outcome_quantity_one_owner"),
    )
    op.create_index("ix_outcome_quantity_code", "outcome_quantity", ["code"])
    op.create_index("ix_outcome_quantity_event_id", "outcome_quantity", ["event_id"])
    op.create_index("ix_outcome_quantity_report_id", "outcome_quantity", ["report_id"])

    op.create_table(
        "output_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("event.id"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("instruction_by", sa.String(length=120), nullable=True),
        sa.Column("instruction_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_output_document_kind_day", "output_document", ["kind", "on_date"])
    op.create_index("ix_output_document_event_id", "output_document", ["event_id"])

    op.create_table(
        "work_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("marked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey("member.id"), nullable=True),
        sa.Column("entry_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_key"),
    )
    op.create_index("ix_work_log_kind_day", "work_log", ["kind", "on_date"])


def downgrade() -> None:
    op.drop_table("work_log")
    op.drop_table("output_document")
    op.drop_table("outcome_quantity")
    op.drop_table("event_guest")
    op.drop_table("event_tag")
    with op.batch_alter_table("event") as batch:
        batch.drop_index("ix_event_organiser")
        batch.drop_column("organiser_unit")
        batch.drop_column("organiser")
