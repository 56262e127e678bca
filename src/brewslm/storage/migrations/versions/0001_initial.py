"""Initial schema: audit events, saved mappings with history, dataset catalogue.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Frozen: later schema changes go in new revisions; this file never imports the models.
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NAME = sa.String(length=255)


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "run_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _timestamp("created_at"),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dataset", NAME, nullable=True),
        sa.Column("config_id", NAME, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("config_id", "created_at", "dataset", "reason_code", "stage"):
        op.create_index(f"ix_run_events_{column}", "run_events", [column], unique=False)

    op.create_table(
        "saved_mappings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("locator", sa.Text(), nullable=False),
        sa.Column("mapper_id", NAME, nullable=False),
        sa.Column("field_map", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("drop_reasons", sa.JSON(), nullable=False),
        sa.Column("dataset", NAME, nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("split", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("output_format", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", NAME, nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("last_run_at", nullable=True),
        sa.Column("last_run_accepted", sa.Integer(), nullable=True),
        sa.Column("last_run_status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )

    op.create_table(
        "saved_mapping_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mapping_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("saved_by", NAME, nullable=False),
        _timestamp("saved_at"),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["mapping_id"], ["saved_mappings.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mapping_id", "version", name="uq_saved_mapping_versions_mapping_version"),
    )
    op.create_index("ix_saved_mapping_versions_mapping_id", "saved_mapping_versions", ["mapping_id"], unique=False)

    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", NAME, nullable=False),
        sa.Column("task_profile", sa.String(length=64), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )

    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("task_profile", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("output_format", sa.String(length=16), nullable=False),
        sa.Column("mapper_id", NAME, nullable=True),
        sa.Column("source_locator", sa.Text(), nullable=True),
        sa.Column("config_id", NAME, nullable=True),
        sa.Column("actor", NAME, nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=True),
        sa.Column("accepted_count", sa.Integer(), nullable=True),
        sa.Column("rejected_count", sa.Integer(), nullable=True),
        sa.Column("duplicate_count", sa.Integer(), nullable=True),
        sa.Column("split_counts", sa.JSON(), nullable=True),
        sa.Column("rejection_counts", sa.JSON(), nullable=True),
        sa.Column("content_hash", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("finished_at", nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_version"),
    )
    op.create_index("ix_dataset_versions_dataset_id", "dataset_versions", ["dataset_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dataset_versions_dataset_id", table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("datasets")
    op.drop_index("ix_saved_mapping_versions_mapping_id", table_name="saved_mapping_versions")
    op.drop_table("saved_mapping_versions")
    op.drop_table("saved_mappings")
    for column in ("config_id", "created_at", "dataset", "reason_code", "stage"):
        op.drop_index(f"ix_run_events_{column}", table_name="run_events")
    op.drop_table("run_events")
