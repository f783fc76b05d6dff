"""the dead-man's switch: completed passes, the incidents the operator was told about, and an
index on a feed's newest articles (feed_id, fetched_at) for the silent-feed check

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'completedpass',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shard', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('feeds_polled', sa.Integer(), nullable=False),
        sa.Column('feeds_failed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_completedpass_finished_at'), 'completedpass', ['finished_at'], unique=False)
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('is_open', sa.Boolean(), nullable=False),
        sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('closed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_index(op.f('ix_incident_is_open'), 'incident', ['is_open'], unique=False)
    op.create_index('ix_article_feed_fetched', 'article', ['feed_id', 'fetched_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_article_feed_fetched', table_name='article')
    op.drop_index(op.f('ix_incident_is_open'), table_name='incident')
    op.drop_table('incident')
    op.drop_index(op.f('ix_completedpass_finished_at'), table_name='completedpass')
    op.drop_table('completedpass')
