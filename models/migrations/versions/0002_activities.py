"""activities: activity reports, evidence photos, report drafts

Revision ID: 0002_activities
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_activities'
down_revision = '0001_foundation'
branch_labels = ('activities',)
depends_on = None


def upgrade() -> None:
    op.create_table('activity_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('type_code', sa.String(length=32), nullable=False),
    sa.Column('activity_date', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('attendance', sa.String(length=16), nullable=True),
    sa.Column('source_key', sa.String(length=120), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['member.id'], ),
    sa.ForeignKeyConstraint(['reviewed_by'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'source_key', name='uq_activity_report_member_source')
    )
    with op.batch_alter_table('activity_report', schema=None) as batch_op:
        batch_op.create_index('ix_activity_report_member_date', ['member_id', 'activity_date'], unique=False)
        batch_op.create_index('ix_activity_report_status_submitted', ['status', 'submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_activity_report_type_code'), ['type_code'], unique=False)

    op.create_table('activity_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('file_id', sa.String(length=255), nullable=False),
    sa.Column('file_unique_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['activity_report.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('activity_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_photo_report_id'), ['report_id'], unique=False)

    op.create_table('report_draft',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('member_id')
    )


def downgrade() -> None:
    op.drop_table('report_draft')
    with op.batch_alter_table('activity_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_photo_report_id'))
    op.drop_table('activity_photo')
    with op.batch_alter_table('activity_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_report_type_code'))
        batch_op.drop_index('ix_activity_report_status_submitted')
        batch_op.drop_index('ix_activity_report_member_date')
    op.drop_table('activity_report')
