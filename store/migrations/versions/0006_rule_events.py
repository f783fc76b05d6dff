"""rule events (volume spikes, stories that spread) and their outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ruleevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=True),
    sa.Column('window_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('window_end', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('stories', sa.Integer(), nullable=False),
    sa.Column('expected', sa.Float(), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'kind', 'key')
    )
    with op.batch_alter_table('ruleevent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ruleevent_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ruleevent_rule'), ['rule'], unique=False)

    op.create_table('eventdelivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['ruleevent.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'channel')
    )
    with op.batch_alter_table('eventdelivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eventdelivery_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_eventdelivery_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_eventdelivery_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('eventdelivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eventdelivery_status'))
        batch_op.drop_index(batch_op.f('ix_eventdelivery_event_id'))
        batch_op.drop_index(batch_op.f('ix_eventdelivery_channel'))
    op.drop_table('eventdelivery')
    with op.batch_alter_table('ruleevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ruleevent_rule'))
        batch_op.drop_index(batch_op.f('ix_ruleevent_created_at'))
    op.drop_table('ruleevent')
