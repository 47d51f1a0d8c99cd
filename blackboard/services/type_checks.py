"""Judging a candidate schema for a type before registering it: by structure and by data.

The structural verdict is what `PUT /v1/types/{name}` would answer. The data verdict says
what the operator risks by overriding it: how many current artifact versions (each key's
newest, not retracted) on each board the candidate would refuse, with a few examples.
"""

from typing import Any
from uuid import UUID

from referencing.exceptions import Unresolvable

from blackboard.records import (
    BoardTally,
    CompatibilityReason,
    FailingArtifact,
    TypeCheck,
)
from blackboard.services.compatibility import problems
from blackboard.services.schemas import check_schema, get_type
from blackboard.services.validation import BodySchema, pointer
from blackboard.store import types as type_store
from blackboard.store.database import Conn

MAX_EXAMPLES = 10
_PAGE = 500  # bodies read per query: memory stays flat however many artifacts exist


def _first_error(compiled: BodySchema, body: dict[str, Any]) -> CompatibilityReason | None:
    """The first thing wrong with `body` under the candidate (None: it is valid)."""
    try:
        errors = compiled.errors(body)
    except Unresolvable as exc:
        return CompatibilityReason(path="", message=f"unresolvable reference: {exc}")
    if not errors:
        return None
    return CompatibilityReason(path=pointer(errors[0].absolute_path), message=errors[0].message)


async def check(
    conn: Conn, *, name: str, schema: dict[str, Any], compatibility: str | None
) -> TypeCheck:
    """Judge `schema` as the next version of type `name` (NotFound if there is no such
    type, InvalidSchema if it is no schema); register nothing."""
    check_schema(schema)
    latest, _, standing = await get_type(conn, name=name)
    mode = compatibility or standing
    reasons = problems(latest.schema_, schema, mode)
    compiled = BodySchema(schema)
    tallies: dict[UUID, list[int]] = {}
    examples: list[FailingArtifact] = []
    after: tuple[UUID, str] | None = None
    while True:
        rows = await type_store.current_bodies(conn, name=name, after=after, limit=_PAGE)
        for row in rows:
            tally = tallies.setdefault(row["board_id"], [0, 0])
            tally[0] += 1
            error = _first_error(compiled, row["body"])
            if error is None:
                continue
            tally[1] += 1
            if len(examples) < MAX_EXAMPLES:
                examples.append(
                    FailingArtifact(
                        board_id=row["board_id"],
                        key=row["key"],
                        version=row["version"],
                        error=error,
                    )
                )
        if len(rows) < _PAGE:
            break
        after = (rows[-1]["board_id"], rows[-1]["key"])
    return TypeCheck(
        name=name,
        previous_version=latest.version,
        compatibility=mode,
        compatible=not reasons,
        reasons=[CompatibilityReason(path=r.path, message=r.message) for r in reasons],
        checked=sum(t[0] for t in tallies.values()),
        failing=sum(t[1] for t in tallies.values()),
        boards=[
            BoardTally(board_id=board_id, checked=t[0], failing=t[1])
            for board_id, t in tallies.items()
        ],
        examples=examples,
    )
