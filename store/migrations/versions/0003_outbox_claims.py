"""outbox claims: a relay marks the rows it sends (`sending`, claim token and time)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('delivery', 'notice'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
            batch_op.add_column(sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    for table in ('notice', 'delivery'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('claimed_at')
            batch_op.drop_column('claim_token')
