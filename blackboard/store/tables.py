"""The schema, as SQLModel tables. Alembic revisions must match these tables exactly
(a test runs autogenerate against a migrated database and expects no difference).

Append-only by design: artifact versions, retractions and events are only ever
inserted. The mutable rows are `board_seqs` (the per-board event counter) and
`artifact_keys` (the per-key version counter and pointer to the current version).

Each family of tables has a module of its own; importing this one registers them all in
`metadata`, the one import point for Alembic (migrations/env.py) and its tests.
"""

# Imported for their tables, registered in `metadata`. The first import of table_base
# (by artifact_tables) sets the naming convention before any table is defined.
from blackboard.store import (
    artifact_tables,
    board_tables,
    claim_tables,
    inspector_sessions,
    rollup_tables,
    run_tables,
    task_tables,
    webhook_tables,
)
from blackboard.store.table_base import metadata

__all__ = [
    "artifact_tables",
    "board_tables",
    "claim_tables",
    "inspector_sessions",
    "metadata",
    "rollup_tables",
    "run_tables",
    "task_tables",
    "webhook_tables",
]
