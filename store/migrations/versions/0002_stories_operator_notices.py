"""stories (near-duplicate grouping, one alert per rule and story) and operator notices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 02:20:25.427472
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_status'), ['status'], unique=False)

    op.create_table('storyband',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('band', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('storyband', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_storyband_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_storyband_band'), ['band'], unique=False)
        batch_op.create_index(batch_op.f('ix_storyband_created_at'), ['created_at'], unique=False)

    op.create_table('storymember',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('article_id')
    )
    with op.batch_alter_table('storymember', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_storymember_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_storymember_story_id'), ['story_id'], unique=False)

    op.create_table('storyalert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('hit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hit_id'], ['hit.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'story_id')
    )
    with op.batch_alter_table('storyalert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_storyalert_hit_id'), ['hit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_storyalert_story_id'), ['story_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('storyalert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_storyalert_story_id'))
        batch_op.drop_index(batch_op.f('ix_storyalert_hit_id'))

    op.drop_table('storyalert')
    with op.batch_alter_table('storymember', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_storymember_story_id'))
        batch_op.drop_index(batch_op.f('ix_storymember_created_at'))

    op.drop_table('storymember')
    with op.batch_alter_table('storyband', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_storyband_created_at'))
        batch_op.drop_index(batch_op.f('ix_storyband_band'))
        batch_op.drop_index(batch_op.f('ix_storyband_article_id'))

    op.drop_table('storyband')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_status'))
        batch_op.drop_index(batch_op.f('ix_notice_kind'))

    op.drop_table('notice')
