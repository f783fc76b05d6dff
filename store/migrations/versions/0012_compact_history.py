"""compact history: article text stored zlib-packed as bytes, the LSH band index as integer keys,
two unused article indexes dropped (issue 25)

The band index is a cache of the story window's sketches: it is rebuilt from the members'
signatures of the window, in the new form. Every stored text is packed in place, a page
of rows at a time, and reads back as it was (store.packed).

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
import sqlmodel
from alembic import op

from store.packed import pack_text, unpack_text
from store.similarity import Sketch, band_keys

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

PAGE = 1000
WINDOW = timedelta(days=7)  # store.stories.STORY_WINDOW when this was written


def upgrade() -> None:
    with op.batch_alter_table('article', schema=None) as batch_op:  # never looked up / led by ix_article_feed_fetched
        batch_op.drop_index('ix_article_entry_key')
        batch_op.drop_index('ix_article_feed_id')
    _retype_text(sa.LargeBinary(), sa.Text(), "convert_to(text, 'UTF8')")
    _repack_texts(pack_text)
    op.drop_table('storyband')
    op.create_table(
        'storyband',
        sa.Column('band', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('article_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('band', 'article_id'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_storyband_article_id', 'storyband', ['article_id'], unique=False, postgresql_using='brin')
    _refill_bands()


def downgrade() -> None:
    _repack_texts(lambda text: text.encode("utf-8", "surrogatepass"))  # plain bytes, which the retype reads
    _retype_text(sa.Text(), sa.LargeBinary(), "convert_from(text, 'UTF8')")
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.create_index('ix_article_feed_id', ['feed_id'], unique=False)
        batch_op.create_index('ix_article_entry_key', ['entry_key'], unique=False)
    op.drop_index('ix_storyband_article_id', table_name='storyband')
    op.drop_table('storyband')
    op.create_table(  # as 0002 made it; empty: stories filed from now on find no older copies
        'storyband',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('band', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('storyband', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_storyband_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_storyband_band'), ['band'], unique=False)
        batch_op.create_index(batch_op.f('ix_storyband_created_at'), ['created_at'], unique=False)


def _retype_text(new, old, postgresql_using: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column('article', 'text', type_=new, existing_type=old, existing_nullable=False,
                        postgresql_using=postgresql_using)
        return
    with op.batch_alter_table('article', schema=None) as batch_op:  # SQLite: a copy of the table
        batch_op.alter_column('text', type_=new, existing_type=old, existing_nullable=False)


def _repack_texts(convert) -> None:
    """Every article's text rewritten by `convert` (read through unpack_text), a page at a time."""
    bind = op.get_bind()
    article = sa.table('article', sa.column('id', sa.Integer()), sa.column('text', sa.LargeBinary()))
    update = article.update().where(article.c.id == sa.bindparam('row_id')).values(text=sa.bindparam('packed'))
    after = 0
    while True:
        rows = bind.execute(sa.select(article.c.id, article.c.text).where(article.c.id > after)
                            .order_by(article.c.id).limit(PAGE)).all()
        if not rows:
            return
        values = [{'row_id': row_id, 'packed': convert(unpack_text(value))} for row_id, value in rows]
        bind.execute(update, values)
        after = rows[-1][0]


def _refill_bands() -> None:
    """The bands of the window's members, from their stored signatures."""
    bind = op.get_bind()
    member = sa.table('storymember', sa.column('article_id', sa.Integer()), sa.column('size', sa.Integer()),
                      sa.column('signature', sa.LargeBinary()),
                      sa.column('created_at', sqlmodel.sql.sqltypes.UTCDateTime()))
    band = sa.table('storyband', sa.column('article_id', sa.Integer()), sa.column('band', sa.BigInteger()))
    since = datetime.now(timezone.utc) - WINDOW
    query = (sa.select(member.c.article_id, member.c.size, member.c.signature)
             .where(member.c.signature.is_not(None), member.c.created_at >= since).order_by(member.c.article_id))
    for rows in bind.execute(query).partitions(PAGE // 64):
        bind.execute(band.insert(), [{'article_id': article_id, 'band': key} for article_id, size, signature in rows
                                     for key in band_keys(Sketch(bytes(signature), size))])
