"""activities: the idempotency key of a member's submitted report

Revision ID: 0011_report_submit_key
Revises: 0002_activities
"""
import sqlalchemy as sa
from alembic import op


revision = '0011_report_submit_key'
down_revision = '0002_activities'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One report per /report draft: a confirm repeated after a crash finds the report it stored.
    op.add_column('activity_report', sa.Column('submit_key', sa.String(length=64), nullable=True))
    op.create_index('ux_activity_report_submit_key', 'activity_report', ['submit_key'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_activity_report_submit_key', table_name='activity_report')
    op.drop_column('activity_report', 'submit_key')
