"""A board's timeline: events as rows (kind, seq, actor, subject link, summary), rendered the
same way on the page and in the live relay, so a live row looks like a loaded one."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from fastapi.sse import ServerSentEvent

from api.inspector.render import render
from blackboard.records import Event
from blackboard.services import events
from blackboard.services.event_filter import EventFilter
from blackboard.services.feed import Feeds
from blackboard.store import agents as agent_store
from blackboard.store.database import Conn, Database

TIMELINE = 25  # events per page of the timeline; on the first page newer ones arrive live

# Event data fields worth a glance, in the order they read best; the rest is in the API.
_SUMMARY_FIELDS = [
    "type",
    "key",
    "version",
    "role",
    "scope",
    "title",
    "status",
    "protocol",
    "phase",
    "step",
    "round",
    "name",
    "goal",
    "reason",
]
_FIELD_CHARS = 80
_SUMMARY_CHARS = 200


@dataclass(frozen=True)
class Row:
    """One event as the timeline shows it."""

    seq: int
    kind: str
    at: datetime
    actor_id: UUID | None
    actor: str | None
    subject_id: UUID | None
    subject_href: str | None
    summary: str


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(event: Event) -> str:
    """A short line saying what happened, from the event's data."""
    parts = [
        f"{name}: {_clip(str(event.data[name]), _FIELD_CHARS)}"
        for name in _SUMMARY_FIELDS
        if event.data.get(name) not in (None, "", [], {})
    ]
    return _clip(", ".join(parts), _SUMMARY_CHARS)


def subject_href(event: Event) -> str | None:
    """The inspector page of what the event is about, when there is one."""
    subject, kind = event.subject_id, event.kind
    if subject is None:
        return None
    if kind.startswith("artifact."):
        return f"/inspector/artifacts/{subject}"
    if kind.startswith("run."):
        return f"/inspector/runs/{subject}"
    if kind.startswith("turn.") and event.data.get("run_id"):
        return f"/inspector/runs/{event.data['run_id']}#turn-{subject}"
    if kind == "board.created":
        return f"/inspector/boards/{subject}"
    return None


def row(event: Event, names: dict[UUID, str]) -> Row:
    """Return the timeline row of `event`; `names` maps agent ids to names."""
    return Row(
        seq=event.seq,
        kind=event.kind,
        at=event.at,
        actor_id=event.actor_id,
        actor=names.get(event.actor_id) if event.actor_id else None,
        subject_id=event.subject_id,
        subject_href=subject_href(event),
        summary=summary(event),
    )


async def names_of(conn: Conn, agent_ids: set[UUID]) -> dict[UUID, str]:
    """Return agent id → name for these agents (unknown ones left out)."""
    if not agent_ids:
        return {}
    found = await agent_store.get_many(conn, agent_ids=list(agent_ids))
    return {a.id: a.name for a in found}


@dataclass(frozen=True)
class Paging:
    """Which page of the timeline is shown (the newest is live), and the `before=` of its
    neighbours."""

    live: bool
    newer: int | None
    older: int | None


async def recent(
    feeds: Feeds, *, board_id: UUID, last_seq: int, before: int | None = None
) -> tuple[list[Event], Paging]:
    """A page of the board's events, newest first: the newest up to `last_seq`, or those
    before the seq `before` (seqs have no gaps, so a page is a range)."""
    end = last_seq if before is None else max(0, min(last_seq, before - 1))
    start = max(0, end - TIMELINE)
    found: list[Event] = []
    if end > start:
        found, _ = await feeds.read(board_id, after=start, limit=end - start, only=EventFilter())
    # the page after this one, unless that is the newest (which has a link of its own)
    newer = end + TIMELINE + 1 if end + TIMELINE < last_seq else None
    paging = Paging(live=before is None, newer=newer, older=start + 1 if start > 0 else None)
    return list(reversed(found)), paging


async def relay(
    db: Database, feeds: Feeds, *, board_id: UUID, after: int
) -> AsyncIterator[ServerSentEvent]:
    """Yield each event after `after`, as it is committed, as a rendered timeline row.

    The same feed as the API's event stream; the row is HTML rendered (and escaped) here,
    so the browser only inserts it."""
    names: dict[UUID, str] = {}
    async for event in events.stream(feeds, board_id=board_id, after=after, only=EventFilter()):
        if event.actor_id is not None and event.actor_id not in names:
            async with db.connection() as conn:
                names.update(await names_of(conn, {event.actor_id}))
        # one line, so every SSE client reads it as one `data:` field (in a table row a
        # newline and a space look the same)
        html = " ".join(render("_event_row.html", row=row(event, names)).splitlines()).strip()
        yield ServerSentEvent(id=str(event.seq), event="row", raw_data=html)
