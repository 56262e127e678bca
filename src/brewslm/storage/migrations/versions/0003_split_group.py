"""Saved mappings remember ``split_group``: the source field whose rows share one split.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Frozen: later schema changes go in new revisions; this file never imports the models.
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("saved_mappings") as batch:
        batch.add_column(sa.Column("split_group", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("saved_mappings") as batch:
        batch.drop_column("split_group")
