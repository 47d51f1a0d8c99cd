"""Where the store meets the database: constraint violations become domain errors, by name."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg.errors

from blackboard.errors import BlackboardError, Conflict, NameTaken, NotFound, Retry


class DuplicateIdempotencyKey(Retry):
    """Two identical idempotent requests raced; the transaction retries and replays the winner."""


_BY_CONSTRAINT: dict[str, Callable[[], BlackboardError]] = {
    "uq_agents_name": lambda: NameTaken("an agent with this name already exists"),
    "uq_boards_name": lambda: NameTaken("a board with this name already exists"),
    "uq_artifacts_idempotency": lambda: DuplicateIdempotencyKey("idempotency key raced"),
    "pk_artifact_retractions": lambda: Conflict("this artifact version is already retracted"),
    "fk_artifact_keys_board_id_boards": lambda: NotFound("no such board"),
    "fk_events_board_id_boards": lambda: NotFound("no such board"),
}


@contextmanager
def translated() -> Iterator[None]:
    """Re-raise integrity errors on known constraints as the domain error they mean."""
    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        name = exc.diag.constraint_name
        factory = _BY_CONSTRAINT.get(name or "")
        if factory is None:
            raise
        raise factory() from exc


def failed_check(exc: psycopg.Error) -> tuple[str, dict[str, Any]] | None:
    """(code, detail) of a check a statement failed through `blackboard_fail` (SQLSTATE
    BB001, see migration 0003); None for any other error."""
    if exc.sqlstate != "BB001":
        return None
    return exc.diag.message_primary or "", orjson.loads(exc.diag.message_detail or "{}")
