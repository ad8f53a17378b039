"""proposals (提案): handling units, proposals, proposers, attachments, assignments, ratings, history,
the filing counter; a member row can be a unit's contact

Revision ID: 0022_proposals
Revises: 0021_year_review
"""
from alembic import op
import sqlalchemy as sa


revision = '0022_proposals'
down_revision = '0021_year_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('handling_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('short_name', sa.String(length=32), nullable=False),
    sa.Column('contact_name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('proposal_sequence',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('analysis', sa.Text(), nullable=False),
    sa.Column('suggestion', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('key', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('key_leader', sa.String(length=64), nullable=True),
    sa.Column('excellent', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('info_item_id', sa.Integer(), nullable=True),
    sa.Column('reworked', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('draft_key', sa.String(length=80), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('cosign_until', sa.DateTime(), nullable=True),
    sa.Column('filed_at', sa.DateTime(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['info_item_id'], ['info_item.id'], ),
    sa.ForeignKeyConstraint(['lead_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['merged_into_id'], ['proposal.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draft_key'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_submitted_at'), ['submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_year'), ['year'], unique=False)
        batch_op.create_index('ix_proposal_year_state', ['year', 'state'], unique=False)

    op.create_table('proposal_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.Column('object_until', sa.DateTime(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('objection', sa.Text(), nullable=True),
    sa.Column('contact_on', sa.Date(), nullable=True),
    sa.Column('contact_kind', sa.String(length=16), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('opinion_at', sa.DateTime(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answer_category', sa.String(length=8), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('extension_state', sa.String(length=16), nullable=True),
    sa.Column('extension_until', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['handling_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proposal_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_assignment_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_assignment_proposal_id'), ['proposal_id'], unique=False)
        batch_op.create_index('ix_proposal_assignment_unit_state', ['unit_id', 'state'], unique=False)

    op.create_table('proposal_author',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('consent', sa.String(length=16), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('proposal_id', 'member_id')
    )
    with op.batch_alter_table('proposal_author', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_author_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_author_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('proposal_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('on_date', sa.Date(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['handling_unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proposal_event', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_event_kind_at', ['kind', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_event_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('proposal_rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('attitude', sa.String(length=16), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('proposal_id', 'member_id', 'round')
    )
    with op.batch_alter_table('proposal_rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_rating_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('proposal_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('file_id', sa.String(length=255), nullable=False),
    sa.Column('file_unique_id', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('mime_type', sa.String(length=100), nullable=True),
    sa.Column('file_size', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['proposal_assignment.id'], ),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proposal_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposal_attachment_proposal_id'), ['proposal_id'], unique=False)

    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_member_unit_id_handling_unit', 'handling_unit', ['unit_id'], ['id'])




def downgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_constraint('fk_member_unit_id_handling_unit', type_='foreignkey')
        batch_op.drop_column('unit_id')

    with op.batch_alter_table('proposal_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_attachment_proposal_id'))

    op.drop_table('proposal_attachment')
    with op.batch_alter_table('proposal_rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_rating_proposal_id'))

    op.drop_table('proposal_rating')
    with op.batch_alter_table('proposal_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_event_proposal_id'))
        batch_op.drop_index('ix_proposal_event_kind_at')

    op.drop_table('proposal_event')
    with op.batch_alter_table('proposal_author', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposal_author_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_proposal_author_member_id'))

    op.drop_table('proposal_author')
    with op.batch_alter_table('proposal_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_assignment_unit_state')
        batch_op.drop_index(batch_op.f('ix_proposal_assignment_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_proposal_assignment_due_on'))

    op.drop_table('proposal_assignment')
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_year_state')
        batch_op.drop_index(batch_op.f('ix_proposal_year'))
        batch_op.drop_index(batch_op.f('ix_proposal_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_proposal_state'))
        batch_op.drop_index(batch_op.f('ix_proposal_lead_id'))

    op.drop_table('proposal')
    op.drop_table('proposal_sequence')
    op.drop_table('handling_unit')

