"""first released schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28 02:12:30.679996
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('etag', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_modified', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('baseline_done', sa.Boolean(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('last_error_class', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_polled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_ok_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('next_poll_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('parked', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_url'), ['url'], unique=True)

    op.create_table('article',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('entry_key', sqlmodel.sql.sqltypes.AutoString(length=2100), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('published', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('author', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('flagged', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('fetched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feed.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_entry_key'), ['entry_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_fetched_at'), ['fetched_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_article_published'), ['published'], unique=False)

    op.create_table('hit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('rule_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('config_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('terms', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('fields', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('snippet', sa.Text(), nullable=False),
    sa.Column('marks', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('baseline', sa.Boolean(), nullable=False),
    sa.Column('found_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rule', 'article_id')
    )
    with op.batch_alter_table('hit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hit_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hit_found_at'), ['found_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_hit_rule'), ['rule'], unique=False)

    op.create_table('seenentry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=2100), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('first_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('seenentry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seenentry_article_id'), ['article_id'], unique=False)

    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hit_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hit_id'], ['hit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hit_id', 'channel')
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_hit_id'), ['hit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_status'), ['status'], unique=False)

    op.create_table('deliveryattempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['delivery_id'], ['delivery.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deliveryattempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveryattempt_delivery_id'), ['delivery_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('deliveryattempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveryattempt_delivery_id'))

    op.drop_table('deliveryattempt')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_status'))
        batch_op.drop_index(batch_op.f('ix_delivery_hit_id'))
        batch_op.drop_index(batch_op.f('ix_delivery_channel'))

    op.drop_table('delivery')
    with op.batch_alter_table('seenentry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seenentry_article_id'))

    op.drop_table('seenentry')
    with op.batch_alter_table('hit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hit_rule'))
        batch_op.drop_index(batch_op.f('ix_hit_found_at'))
        batch_op.drop_index(batch_op.f('ix_hit_article_id'))

    op.drop_table('hit')
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_published'))
        batch_op.drop_index(batch_op.f('ix_article_fetched_at'))
        batch_op.drop_index(batch_op.f('ix_article_feed_id'))
        batch_op.drop_index(batch_op.f('ix_article_entry_key'))

    op.drop_table('article')
    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_url'))

    op.drop_table('feed')
