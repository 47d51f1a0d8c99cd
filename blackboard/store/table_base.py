"""What every table module shares: the naming convention of constraints, set on
SQLModel's one metadata before any table is defined, and the `created_at`-style column.
"""

from typing import Any

from sqlalchemy import Column, DateTime, MetaData, text
from sqlmodel import SQLModel

# Stable constraint names: the store translates violations by name (e.g.
# uq_artifacts_idempotency → the same artifact again), so names must not drift.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata: MetaData = SQLModel.metadata


def now_column() -> Column[Any]:
    """A timestamp column that the database sets to the insert's time."""
    return Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
