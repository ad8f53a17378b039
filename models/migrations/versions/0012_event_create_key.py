"""events: the idempotency key of an event made in the /newevent dialog

Revision ID: 0012_event_create_key
Revises: 0004_events
"""
import sqlalchemy as sa
from alembic import op


revision = '0012_event_create_key'
down_revision = '0004_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One event per /newevent dialog: 发布 repeated after a crash finds the event it made.
    op.add_column('event', sa.Column('create_key', sa.String(length=64), nullable=True))
    op.create_index('ux_event_create_key', 'event', ['create_key'], unique=True)


def downgrade() -> None:
    op.drop_index('ux_event_create_key', table_name='event')
    op.drop_column('event', 'create_key')
