"""update_inbox: every update as received, kept until it is handled (a crash between a fetch and
the handling no longer loses it)

Revision ID: 0017_update_inbox
Revises: 0016_one_history
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_update_inbox'
down_revision = '0016_one_history'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('update_inbox',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('update_id')
    )


def downgrade() -> None:
    op.drop_table('update_inbox')
