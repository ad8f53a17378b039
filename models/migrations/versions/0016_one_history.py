"""one history: the released feature branches joined, so every later revision has one parent

Revision ID: 0016_one_history
Revises: 0010_digest, 0011_report_submit_key, 0012_event_create_key, 0013_also_member,
         0013_event_checkin, 0015_info_bigrams
"""


revision = '0016_one_history'
down_revision = (
    '0010_digest',
    '0011_report_submit_key',
    '0012_event_create_key',
    '0013_also_member',
    '0013_event_checkin',
    '0015_info_bigrams',
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # a join only: the schema is what the branches made it


def downgrade() -> None:
    pass
