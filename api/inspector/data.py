"""What each inspector page shows, gathered through the domain services (read-only)."""

import difflib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from api.inspector import charts, timeline
from blackboard.errors import NotFound
from blackboard.metrics.board import board_metrics
from blackboard.metrics.runs import run_metrics
from blackboard.records import Artifact, Lineage
from blackboard.services import abstentions, artifacts, boards, guards, runs
from blackboard.services.feed import Feeds
from blackboard.store import artifacts as artifact_store
from blackboard.store.database import Database

LATEST_ARTIFACTS = 50
ABSTENTIONS = 200
RUNS = 50
LINEAGE_DEPTH = 10


async def board_page(
    db: Database, feeds: Feeds, board_id: UUID, before: int | None = None
) -> dict[str, Any]:
    """The board with its charts, a page of its events (the newest, or those before the
    seq `before`), its abstentions, artifacts, runs and guards."""
    async with db.connection() as conn:
        board = await boards.get(conn, board_id=board_id)
    # through the live feed (as the stream continues from it), before taking a connection
    # for the rest: the feed may need one of its own
    events, paging = await timeline.recent(
        feeds, board_id=board_id, last_seq=board.last_seq, before=before
    )
    async with db.connection() as conn:
        latest = await artifact_store.newest_current(
            conn, board_id=board_id, limit=LATEST_ARTIFACTS
        )
        declined, by_agent, _ = await abstentions.list_abstentions(
            conn,
            board_id=board_id,
            agent_id=None,
            role=None,
            task_id=None,
            after=0,
            limit=ABSTENTIONS,
        )
        board_runs = await runs.list_runs(conn, board_id=board_id, limit=RUNS)
        board_guards = await guards.list_guards(conn, board_id=board_id)
        names = await timeline.names_of(
            conn,
            {a.author_id for a in latest}
            | {a.agent_id for a in declined}
            | {e.actor_id for e in events if e.actor_id is not None},
        )
    metrics = await board_metrics(db, board_id)
    return {
        "board": board,
        "rows": [timeline.row(e, names) for e in events],
        "after": events[0].seq if events else 0,
        "paging": paging,
        "metrics": metrics,
        "role_chart": charts.holding_chart(metrics.holdings, metrics.roles.totals),
        "graph": charts.interaction_graph(metrics.interactions),
        "abstentions": declined,
        "abstention_total": sum(by_agent.values()),
        "artifacts": latest,
        "runs": board_runs,
        "guards": board_guards,
        "names": names,
    }


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff and what it is: file, hunk, add, del or ctx."""

    kind: str
    text: str


def _lines(body: dict[str, Any]) -> list[str]:
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def diff(old: Artifact, new: Artifact) -> list[DiffLine]:
    """The unified diff of two versions' bodies, pretty-printed with sorted keys (so a
    reordering of keys is not a change)."""
    lines = difflib.unified_diff(
        _lines(old.body),
        _lines(new.body),
        fromfile=f"version {old.version}",
        tofile=f"version {new.version}",
        lineterm="",
    )
    out = []
    for text in lines:
        if text.startswith(("---", "+++")):
            kind = "file"
        elif text.startswith("@@"):
            kind = "hunk"
        else:
            kind = {"+": "add", "-": "del"}.get(text[:1], "ctx")
        out.append(DiffLine(kind, text))
    return out


@dataclass(frozen=True)
class Branch:
    """An artifact in a lineage tree and the branches hanging off it."""

    artifact: Artifact
    branches: list["Branch"]


def lineage_tree(lineage: Lineage) -> list[Branch]:
    """The root's parents (direction up) or children (down), each with theirs, as a tree.

    An artifact reachable two ways appears under both; the walk is bounded by the depth
    the lineage was read with."""
    by_id = {a.id: a for a in lineage.nodes}
    nxt: dict[UUID, list[UUID]] = {}
    for edge in lineage.edges:
        src, dst = (
            (edge.child, edge.parent) if lineage.direction == "up" else (edge.parent, edge.child)
        )
        nxt.setdefault(src, []).append(dst)

    def grow(node: UUID, path: frozenset[UUID]) -> list[Branch]:
        return [
            Branch(by_id[n], grow(n, path | {n}))
            for n in nxt.get(node, [])
            if n in by_id and n not in path
        ]

    return grow(lineage.root, frozenset({lineage.root}))


async def artifact_page(db: Database, artifact_id: UUID, against: int | None) -> dict[str, Any]:
    """An artifact version, its key's history, a diff against another version, its lineage."""
    async with db.connection() as conn:
        found = await artifact_store.get_many(conn, ids=[artifact_id])
        if not found:
            raise NotFound("no artifact with this id", artifact_id=str(artifact_id))
        artifact = found[0]
        board = await boards.get(conn, board_id=artifact.board_id)
        versions = await artifacts.history(conn, board_id=board.id, key=artifact.key)
        up, down = [
            await artifacts.lineage(
                conn,
                board_id=board.id,
                artifact_id=artifact.id,
                direction=direction,
                depth=LINEAGE_DEPTH,
            )
            for direction in ("up", "down")
        ]
        names = await timeline.names_of(
            conn, {a.author_id for a in [*versions, *up.nodes, *down.nodes]}
        )
    wanted = artifact.version - 1 if against is None else against
    base = next((v for v in versions if v.version == wanted), None)
    if against is not None and base is None:
        raise NotFound(f"the key {artifact.key!r} has no version {against}")
    return {
        "artifact": artifact,
        "board": board,
        "versions": versions,
        "base": base,
        "diff": diff(base, artifact) if base is not None else [],
        "ancestors": lineage_tree(up),
        "descendants": lineage_tree(down),
        "names": names,
    }


async def run_page(db: Database, run_id: UUID) -> dict[str, Any]:
    """A run, each turn with what it was shown and what it did, and the run's metrics."""
    async with db.connection() as conn:
        run, turns, claims, declined = await runs.detail(conn, run_id=run_id)
        board = await boards.get(conn, board_id=run.board_id)
        ids = [a for t in turns for a in t.artifact_ids]
        published = await artifact_store.get_many(conn, ids=ids) if ids else []
        names = await timeline.names_of(conn, set(run.roster) | {t.agent_id for t in turns})
    metrics = await run_metrics(db, run_id)
    return {
        "run": run,
        "board": board,
        "turns": turns,
        "claims": claims,
        "abstentions": declined,
        "published": {a.id: a for a in published},
        "names": names,
        "metrics": metrics,
        "graph": charts.interaction_graph(metrics.interactions),
    }
