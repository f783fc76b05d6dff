"""labels: the analyst's relevant/irrelevant judgement of an article for a rule (issue 21)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'label',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('relevant', sa.Boolean(), nullable=False),
        sa.Column('rule_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('labelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['article.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rule', 'article_id'),
    )
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_rule'), ['rule'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_article_id'), ['article_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_article_id'))
        batch_op.drop_index(batch_op.f('ix_label_rule'))
    op.drop_table('label')
