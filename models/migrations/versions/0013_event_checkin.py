"""event check-in: an event may let members declare their attendance without the venue's code

Revision ID: 0013_event_checkin
Revises: 0004_events
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_event_checkin"
down_revision = "0004_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.add_column(
            sa.Column("checkin_self_declared", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("checkin_self_declared")
