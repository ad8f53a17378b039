"""digest: indexes for the weekly digest's and the year in review's range queries

Revision ID: 0010_digest
Revises: 0001_foundation
"""
from alembic import op


revision = '0010_digest'
down_revision = '0001_foundation'
branch_labels = ('digest',)
depends_on = ('0002_activities',)


def upgrade() -> None:
    # The digest counts reports by submission time; the year in review and the exports by activity day.
    op.create_index('ix_digest_activity_submitted', 'activity_report', ['submitted_at'])
    # Covering: a year's confirmed reports are summed per member and type from the index alone.
    op.create_index('ix_digest_activity_status_date', 'activity_report',
                    ['status', 'activity_date', 'member_id', 'type_code', 'attendance', 'points'])


def downgrade() -> None:
    op.drop_index('ix_digest_activity_status_date', table_name='activity_report')
    op.drop_index('ix_digest_activity_submitted', table_name='activity_report')
