"""history indexes: hits of a rule in a time window, and hits per rule version (issue 25)

`hits --rule X --since 7d` (newest first) reads ix_hit_rule_found_at in order and stops at
--limit; `rules stats`, `rules preview` and `backfill` count each rule's hits per version
from ix_hit_rule_rule_hash alone, never reading the hit rows.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('hit', schema=None) as batch_op:
        batch_op.create_index('ix_hit_rule_found_at', ['rule', 'found_at'], unique=False)
        batch_op.create_index('ix_hit_rule_rule_hash', ['rule', 'rule_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hit', schema=None) as batch_op:
        batch_op.drop_index('ix_hit_rule_rule_hash')
        batch_op.drop_index('ix_hit_rule_found_at')
