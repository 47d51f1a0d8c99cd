"""Board metrics computed from scratch — straight from the event log and the artifact rows,
in Python — to hold the roll-ups' figures against. Ranges and windows are whole seconds
from the board's creation, as the API aligns them."""

import itertools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row


@dataclass
class Log:
    origin: datetime
    events: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]


def read_log(url: str, board_id: str) -> Log:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        origin = conn.execute("SELECT created_at FROM boards WHERE id = %s", [board_id]).fetchone()
        events = conn.execute(
            "SELECT * FROM events WHERE board_id = %s ORDER BY seq", [board_id]
        ).fetchall()
        artifacts = conn.execute(
            "SELECT * FROM artifacts WHERE board_id = %s ORDER BY seq", [board_id]
        ).fetchall()
    assert origin is not None
    return Log(origin["created_at"], events, artifacts)


def seconds(log: Log, at: datetime) -> float:
    return (at - log.origin).total_seconds()


def in_range(log: Log, at: datetime, lo: int | None, hi: int | None) -> bool:
    s = seconds(log, at)
    return (lo is None or s >= lo) and (hi is None or s < hi)


def words(value: Any) -> list[str]:
    if isinstance(value, str):
        return [w for w in re.split(r"[^a-z0-9_]+", value.lower()) if w]
    if isinstance(value, dict):
        return [w for v in value.values() for w in words(v)]
    if isinstance(value, list):
        return [w for v in value for w in words(v)]
    return []


def from_scratch(
    log: Log, *, lo: int | None, hi: int | None, window_s: int, starts: list[int]
) -> dict[str, Any]:
    """The figures the metrics report, for [lo, hi) and windows starting at `starts`
    (seconds since the origin)."""
    evs = [e for e in log.events if in_range(log, e["at"], lo, hi)]
    arts = [a for a in log.artifacts if in_range(log, a["created_at"], lo, hi)]
    kinds = Counter(e["kind"] for e in evs)
    claimed = [e for e in evs if e["kind"] == "role.claimed"]

    claims_per_window: dict[int, Counter[str]] = defaultdict(Counter)
    for e in claimed:
        claims_per_window[math.floor(seconds(log, e["at"]) / window_s)][e["data"]["role"]] += 1
    flips: dict[UUID, list[str]] = defaultdict(list)
    for e in claimed:
        flips[e["actor_id"]].append(e["data"]["role"])

    # holdings: a claim over the whole seconds from its claimed event to its released or
    # expired event, in a window if the two overlap (a window cut to nothing, or a claim
    # claimed and ended at the same whole second, holds nothing)
    ends = {
        e["subject_id"]: seconds(log, e["at"])
        for e in log.events
        if e["kind"] in ("role.released", "role.expired")
    }
    held: list[dict[str, set[str]]] = []
    for start in starts:
        w_lo = max(start, lo) if lo is not None else start
        w_hi = min(start + window_s, hi) if hi is not None else start + window_s
        roles: dict[str, set[str]] = defaultdict(set)
        for e in log.events:
            if e["kind"] != "role.claimed":
                continue
            begin, end = math.floor(seconds(log, e["at"])), ends.get(e["subject_id"])
            until = w_hi if end is None else math.ceil(end)
            if max(begin, w_lo) < min(until, w_hi):
                roles[e["data"]["role"]].add(str(e["actor_id"]))
        held.append(dict(roles))

    tokens: dict[int, Counter[str]] = defaultdict(Counter)
    per_window_artifacts: Counter[int] = Counter()
    for a in log.artifacts:  # entropy counts whole windows
        k = math.floor(seconds(log, a["created_at"]) / window_s)
        per_window_artifacts[k] += 1
        tokens[k].update(words(a["body"]))

    by_hash: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in arts:
        by_hash[a["content_hash"]].append(a)
    groups = {
        h: (len(v), sorted(str(a["author_id"]) for a in v), [str(a["id"]) for a in v][:50])
        for h, v in by_hash.items()
        if len({a["author_id"] for a in v}) > 1
    }
    groups = {h: (n, sorted(set(agents)), ids) for h, (n, agents, ids) in groups.items()}

    authors = {a["id"]: a["author_id"] for a in log.artifacts}
    built_on: Counter[tuple[str, str]] = Counter()
    for a in arts:
        for parent in a["parents"]:
            if authors[parent] != a["author_id"]:
                built_on[(str(authors[parent]), str(a["author_id"]))] += 1
    return {
        "events": len(evs),
        "claims_per_window": {k: dict(c) for k, c in claims_per_window.items()},
        "totals": dict(sum(claims_per_window.values(), Counter())),
        "flips": {
            str(agent): (len(r), len(set(r)), sum(a != b for a, b in itertools.pairwise(r)))
            for agent, r in flips.items()
        },
        "holdings": held,
        "claimed": kinds["role.claimed"],
        "released": kinds["role.released"],
        "expired": kinds["role.expired"],
        "abstained": kinds["agent.abstained"],
        "posted": kinds["task.posted"],
        "completed": kinds["task.completed"],
        "tokens": {k: (per_window_artifacts[k], c) for k, c in tokens.items()},
        "duplicates": groups,
        "duplicate_total": sum(n - 1 for n, _, _ in groups.values()),
        "built_on": dict(built_on),
        "published": dict(Counter(str(a["author_id"]) for a in arts)),
    }


def shannon(counts: Counter[str]) -> float:
    total = sum(counts.values())
    return -sum(n / total * math.log2(n / total) for n in counts.values()) if total else 0.0


def offset(log: Log, at: str) -> int:
    return round(seconds(log, datetime.fromisoformat(at)))


def window_start(log: Log, k: int, window_s: int) -> datetime:
    return log.origin + timedelta(seconds=k * window_s)
