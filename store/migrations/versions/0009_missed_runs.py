"""passes that ran without the Prefect API wait in `missedrun` until the UI is caught up

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'missedrun',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('flow_run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('missedrun', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_missedrun_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_missedrun_published_at'), ['published_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('missedrun', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_missedrun_published_at'))
        batch_op.drop_index(batch_op.f('ix_missedrun_started_at'))
    op.drop_table('missedrun')
