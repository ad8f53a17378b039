"""members: a secretariat member or admin who is also a 委员 (roster role "机关+委员")

Revision ID: 0013_also_member
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_also_member'
down_revision = '0001_foundation'
branch_labels = ('staff_members',)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('also_member', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('also_member')
