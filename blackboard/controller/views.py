"""Views and context bundles: what one step of a program may see.

A view is a declaration — selectors, a projection, a token budget. The controller turns it
into a context bundle on the server: the artifacts the step may see, projected, within
budget, plus the goal and the step's instructions. Agents (external ones over REST, and
models in their prompt) get the bundle and nothing else; the manifest records what was
shown and what was hidden, by type.
"""

from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field

from blackboard.records import Run
from blackboard.store import artifacts as artifact_store
from blackboard.store import bundles as bundle_store
from blackboard.store.bundles import Candidate
from blackboard.store.database import Conn

CANDIDATES = 200  # artifacts considered per bundle, newest first (hidden counts are of these)


class View(BaseModel):
    """What a step may see."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["run", "board"] = Field(
        default="run", description="Only artifacts published in this run, or the whole board."
    )
    types: list[str] | None = Field(default=None, description="Only these artifact types.")
    keys: list[str] | None = None
    authors: list[UUID] | None = None
    roles: list[str] | None = None
    tags: list[str] | None = None
    latest_only: bool = Field(default=True, description="Only each key's newest version.")
    lineage_of_inputs: bool = Field(
        default=False, description="Only the step's inputs and their ancestors."
    )
    fields: dict[str, list[str]] | None = Field(
        default=None, description="Per type, the body fields to show (the rest is cut)."
    )
    token_budget: int = Field(default=4000, ge=100, le=200_000, strict=True)


def estimate_tokens(value: Any) -> int:
    """A model-agnostic token estimate: about four bytes of JSON per token."""
    return len(orjson.dumps(value)) // 4 + 1


def _shown(c: Candidate, fields: dict[str, list[str]] | None) -> dict[str, Any]:
    if fields is None or c.type not in fields:
        return c.entry
    body = {k: v for k, v in c.entry["body"].items() if k in fields[c.type]}
    return {**c.entry, "body": body}


def _selected(
    c: Candidate, view: View, allowed_ids: set[str] | None, authors: set[str] | None
) -> bool:
    entry = c.entry
    return (
        not c.retracted
        and (allowed_ids is None or entry["id"] in allowed_ids)
        and (view.types is None or c.type in view.types)
        and (view.keys is None or c.key in view.keys)
        and (authors is None or entry["author_id"] in authors)
        and (view.roles is None or entry["role"] in view.roles)
        and (view.tags is None or set(view.tags) <= set(c.tags))
    )


async def _lineage_ids(conn: Conn, run: Run, inputs: list[UUID]) -> set[UUID]:
    ids = set(inputs)
    for root in await artifact_store.get_many(conn, ids=inputs):
        nodes, _ = await artifact_store.lineage(
            conn, board_id=run.board_id, root=root, direction="up", depth=20
        )
        ids |= {n.id for n in nodes}
    return ids


async def build_bundle(
    conn: Conn,
    *,
    run: Run,
    view: View,
    header: dict[str, Any],
    inputs: list[UUID] | None = None,
    only_ids: list[UUID] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (bundle, manifest) for one step.

    `header` is what the step sees besides artifacts (goal, phase, instructions, roster or
    assignment); `only_ids`, when given, limits the step to those artifacts whatever the
    view says (e.g. an agent that may see only its own assignment).
    """
    if view.scope == "run":
        candidates = await bundle_store.tagged(
            conn, board_id=run.board_id, tag=f"run:{run.id}", limit=CANDIDATES
        )
        if view.latest_only:  # newest first: a key's first version left is its newest
            newest: dict[str, Candidate] = {}
            for c in candidates:
                if not c.retracted:
                    newest.setdefault(c.key, c)
            candidates = list(newest.values())
    else:
        candidates = await bundle_store.current(conn, board_id=run.board_id, limit=CANDIDATES)
    allowed: set[str] | None = {str(i) for i in only_ids} if only_ids is not None else None
    if view.lineage_of_inputs and inputs:
        lineage = {str(i) for i in await _lineage_ids(conn, run, inputs)}
        allowed = lineage if allowed is None else allowed & lineage
    # the entries carry ids as JSON strings
    authors = {str(a) for a in view.authors} if view.authors is not None else None
    budget = view.token_budget - estimate_tokens(header)
    shown: list[dict[str, Any]] = []
    hidden: dict[str, int] = {}
    for c in candidates:  # newest first: when the budget runs out, the oldest are cut
        entry = _shown(c, view.fields)
        cost = estimate_tokens(entry)
        if _selected(c, view, allowed, authors) and cost <= budget:
            shown.append(entry)
            budget -= cost
        else:
            hidden[c.type] = hidden.get(c.type, 0) + 1
    shown.reverse()  # oldest first reads like a story
    bundle = {**header, "artifacts": shown}
    manifest = {
        "shown": [
            {"id": e["id"], "type": e["type"], "key": e["key"], "version": e["version"]}
            for e in shown
        ],
        "hidden": hidden,
        "hidden_total": sum(hidden.values()),
        "token_estimate": estimate_tokens(bundle),
        "view": view.model_dump(mode="json"),
    }
    return bundle, manifest
