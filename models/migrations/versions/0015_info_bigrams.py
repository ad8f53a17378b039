"""info: each item's character bigrams and their MinHash signature, kept for the duplicate check

Revision ID: 0015_info_bigrams
Revises: 0003_info
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_info_bigrams'
down_revision = '0003_info'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Items stored before this revision have none; the check reads their text instead.
    with op.batch_alter_table('info_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bigrams', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('signature', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('info_item', schema=None) as batch_op:
        batch_op.drop_column('signature')
        batch_op.drop_column('bigrams')
