"""band index without a foreign key: the story window's LSH bands are written without a
check per row against the article table (issue 25)

An article is filed under 8 to 64 band rows; on PostgreSQL the foreign key checked every
one of them against `article` (a trigger and a lookup per row), half the cost of writing
the index in an import. The index is a cache of the window's sketches: its rows are
pruned by article id, the members' own foreign key keeps cascading, and a band whose
article was purged finds no member, so it is never a candidate. Retention deletes a purged
article's bands itself (store.retention).

PostgreSQL drops the constraint in place; SQLite, which cannot, copies the rows into a new
table (`WITHOUT ROWID`, as 0012 made it). The downgrade puts the constraint back, after
dropping bands whose article is gone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for key in sa.inspect(bind).get_foreign_keys('storyband'):
            op.drop_constraint(key['name'], 'storyband', type_='foreignkey')
        return
    _rebuild(with_foreign_key=False)


def downgrade() -> None:
    op.execute("DELETE FROM storyband WHERE NOT EXISTS (SELECT 1 FROM article WHERE article.id = storyband.article_id)")
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key('storyband_article_id_fkey', 'storyband', 'article', ['article_id'], ['id'],
                              ondelete='CASCADE')
        return
    _rebuild(with_foreign_key=True)


def _rebuild(with_foreign_key: bool) -> None:
    """SQLite: the table made anew, with or without the foreign key, its rows copied over."""
    keys = [sa.ForeignKeyConstraint(['article_id'], ['article.id'], ondelete='CASCADE')] if with_foreign_key else []
    op.create_table(
        'storyband_new',
        sa.Column('band', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('article_id', sa.Integer(), autoincrement=False, nullable=False),
        *keys,
        sa.PrimaryKeyConstraint('band', 'article_id'),
        sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO storyband_new (band, article_id) SELECT band, article_id FROM storyband")
    op.drop_index('ix_storyband_article_id', table_name='storyband')
    op.drop_table('storyband')
    op.rename_table('storyband_new', 'storyband')
    op.create_index('ix_storyband_article_id', 'storyband', ['article_id'], unique=False, postgresql_using='brin')
