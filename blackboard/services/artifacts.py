"""Publishing and reading artifacts: validation, versions, idempotency, lineage, retraction."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from psycopg.pq import TransactionStatus

from blackboard import telemetry
from blackboard.content import content_hash
from blackboard.drafts import ArtifactDraft
from blackboard.errors import (
    Conflict,
    FieldError,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    UnknownType,
)
from blackboard.records import Agent, Artifact, Lineage, Retraction, Task
from blackboard.services import boards
from blackboard.services.board_writes import BoardWrites
from blackboard.services.schemas import SchemaCache
from blackboard.services.validation import validate_body
from blackboard.store import artifact_writes as writes
from blackboard.store import artifacts as artifact_store
from blackboard.store.artifact_writes import NewVersion, TaskDone, TurnDone, TypeChanged
from blackboard.store.artifacts import Listing
from blackboard.store.database import Conn

MAX_LINEAGE_DEPTH = 100


@dataclass(frozen=True)
class Published:
    """What a publish returns: the versions, and whether they were replayed, not written."""

    artifacts: list[Artifact]
    replayed: bool = False
    completed_task: Task | None = None  # the task the same statement completed, if asked
    # for a turn it completed: the turn's completed_at and role_flip, as written
    closed_turn: dict[str, Any] | None = None


def _where(index: int | None, items_at: str) -> str:
    """Return the JSON pointer of one draft in the request: the body itself or an item."""
    return "" if index is None else f"{items_at}/{index}"


async def publish(
    conn: Conn,
    *,
    board_id: UUID,
    author: Agent,
    drafts: list[ArtifactDraft],
    idempotency_key: str | None,
    schemas: SchemaCache,
    batch: bool = False,
    items_at: str = "/items",
    grouped: BoardWrites | None = None,
    completing: TaskDone | TurnDone | None = None,
) -> Published:
    """Validate and write `drafts` as new versions, all or nothing; return them in order.
    Errors point at a `batch`'s drafts as items of the list at `items_at` in the request.

    With an idempotency key, a repeat of the same request returns what the first one
    wrote and writes nothing; the same key with a different request is a conflict.
    Drafts that name a claim are written only while that claim is the author's and active
    (then the claim's role and fencing token are the version's); a key a guard covers only
    under the guard's claim; a role only by an author holding a live claim of it.
    With `grouped` (only outside a transaction), the write may share a statement with
    concurrent publishes (and task completions) to the same board. With `completing`, the
    same statement also
    completes that task with the first version as its result, or claims that turn's role,
    publishes under the claim and closes the turn (see store.artifact_writes).
    """
    where = [_where(i if batch else None, items_at) for i in range(len(drafts))]
    try:
        type_versions = await _validate(conn, drafts, schemas, where)
    except InvalidInput:
        await boards.require(conn, board_id=board_id)  # an unknown board is the first problem
        raise

    request_hashes: list[str | None] = [None] * len(drafts)
    idem_keys: list[str | None] = [None] * len(drafts)
    if idempotency_key is not None:
        request_hashes = [content_hash(d.model_dump(mode="json")) for d in drafts]
        idem_keys = [
            idempotency_key if not batch else f"{idempotency_key}#{i}" for i in range(len(drafts))
        ]
        replay = await _replay(conn, board_id, author, [k for k in idem_keys if k], request_hashes)
        if replay is not None:
            return Published(replay, replayed=True)

    turn = completing if isinstance(completing, TurnDone) else None
    ids = [uuid4() for _ in drafts]
    new = [
        NewVersion(
            id=ids[i],
            author_id=author.id,
            type=d.type,
            type_version=type_versions[d.type],
            key=d.key if d.key is not None else str(ids[i]),  # a new logical artifact
            expected_version=d.expected_version,
            body=d.body,
            # in a turn, a version that names no claim of its own is the turn's role's
            role=turn.role if turn is not None and d.claim_id is None else d.role,
            claim_id=d.claim_id if turn is None or d.claim_id is not None else turn.claim_id,
            parents=list(dict.fromkeys(d.parents)),
            tags=list(dict.fromkeys(d.tags)),
            content_hash=content_hash(d.body),
            idempotency_key=idem_keys[i],
            request_hash=request_hashes[i],
        )
        for i, d in enumerate(drafts)
    ]
    task = [completing] if isinstance(completing, TaskDone) else []
    try:
        # The statement itself checks the claims, guards and fencing tokens
        # (store/fencing.py), so fenced writes group like any other.
        if grouped is not None and turn is None:
            rows = await grouped.publish(
                conn, board_id=board_id, versions=new, where=where, tasks=task
            )
        else:
            rows = await writes.publish(
                conn,
                board_id=board_id,
                versions=new,
                where=where,
                completing=turn if turn is not None else task,
            )
    except TypeChanged:
        schemas.forget({d.type for d in drafts})
        raise
    written = [_record(board_id, author, v, row) for v, row in zip(new, rows, strict=True)]
    alone = conn.info.transaction_status == TransactionStatus.IDLE
    if alone:  # committed; inside a transaction, its owner counts what it commits
        telemetry.ARTIFACTS_PUBLISHED.inc(len(written))
    if isinstance(completing, TaskDone):
        return Published(written, completed_task=Task.model_validate(rows[0]["task"]))
    if isinstance(completing, TurnDone):
        closed = {"completed_at": rows[0]["completed_at"], "role_flip": rows[0]["role_flip"]}
        return Published(written, closed_turn=closed)
    return Published(written)


def _record(board_id: UUID, author: Agent, v: NewVersion, row: dict[str, Any]) -> Artifact:
    # Values validated on the way in and numbered by the database. Validating them again
    # in pydantic's core costs less than model_construct's Python loop over the fields.
    return Artifact(
        id=v.id,
        board_id=board_id,
        type=v.type,
        type_version=v.type_version,
        key=v.key,
        version=row["version"],
        body=v.body,
        author_id=author.id,
        role=row["role"],
        claim_id=v.claim_id,
        fencing_token=row["fencing_token"],
        parents=v.parents,
        tags=v.tags,
        seq=row["seq"],
        content_hash=v.content_hash,
        created_at=row["created_at"],
    )


async def _validate(
    conn: Conn, drafts: list[ArtifactDraft], schemas: SchemaCache, where: list[str]
) -> dict[str, int]:
    """Check each body against its type's newest schema; return type → version used."""
    validators = await schemas.validators(conn, names=[d.type for d in drafts])
    for i, draft in enumerate(drafts):
        if draft.type not in validators:
            raise UnknownType(
                f"artifact type {draft.type!r} is not registered",
                errors=[FieldError(where[i] + "/type", "unknown artifact type")],
                index=i,
            )
        try:
            validate_body(validators[draft.type][1], draft.body, where[i] + "/body")
        except InvalidInput as exc:
            exc.extra["index"] = i
            raise
    return {d.type: validators[d.type][0] for d in drafts}


async def _replay(
    conn: Conn,
    board_id: UUID,
    author: Agent,
    idem_keys: list[str],
    request_hashes: list[str | None],
) -> list[Artifact] | None:
    """Return what an earlier identical request wrote, None if there was none."""
    found = await artifact_store.find_idempotent(
        conn, board_id=board_id, author_id=author.id, idempotency_keys=idem_keys
    )
    if not found:
        return None
    if len(found) != len(idem_keys) or any(
        found[k].request_hash != h for k, h in zip(idem_keys, request_hashes, strict=True)
    ):
        raise IdempotencyKeyReused("this Idempotency-Key was already used for a different request")
    return [found[k].artifact for k in idem_keys]


async def get(conn: Conn, *, board_id: UUID, artifact_id: UUID) -> Artifact:
    """Return one artifact version or raise NotFound."""
    artifact = await artifact_store.get(conn, board_id=board_id, artifact_id=artifact_id)
    if artifact is None:
        await boards.require(conn, board_id=board_id)
        raise NotFound("no artifact with this id on this board", artifact_id=str(artifact_id))
    return artifact


async def list_page(conn: Conn, *, board_id: UUID, listing: Listing) -> str:
    """Return a page of artifacts in seq order, as the JSON of an `ArtifactPage` (see
    store.artifacts.list_page); NotFound if there is no such board."""
    page, count = await artifact_store.list_page(conn, board_id=board_id, listing=listing)
    if not count:  # boards are never deleted: a page with items is of a board that exists
        await boards.require(conn, board_id=board_id)
    return page


async def history(conn: Conn, *, board_id: UUID, key: str) -> list[Artifact]:
    """Return every version of `key`, oldest first; NotFound if the key has none."""
    versions = await artifact_store.history(conn, board_id=board_id, key=key)
    if not versions:
        await boards.require(conn, board_id=board_id)
        raise NotFound("no artifact with this key on this board", key=key)
    return versions


async def lineage(
    conn: Conn, *, board_id: UUID, artifact_id: UUID, direction: str, depth: int
) -> Lineage:
    """Return the ancestors or descendants of an artifact, with the parent links among them."""
    root = await get(conn, board_id=board_id, artifact_id=artifact_id)
    nodes, edges = await artifact_store.lineage(
        conn, board_id=board_id, root=root, direction=direction, depth=min(depth, MAX_LINEAGE_DEPTH)
    )
    return Lineage(root=root.id, direction=direction, nodes=[root, *nodes], edges=edges)


async def retract(
    conn: Conn, *, board_id: UUID, artifact_id: UUID, actor: Agent | None, reason: str
) -> Artifact:
    """Mark a version retracted (its author or the operator only); return it as it now reads."""
    artifact = await get(conn, board_id=board_id, artifact_id=artifact_id)
    if actor is not None and actor.id != artifact.author_id:
        raise Forbidden("only the artifact's author (or the operator) may retract it")
    if artifact.retracted is not None:
        raise Conflict("this artifact version is already retracted")
    retraction: Retraction = await writes.retract(
        conn,
        board_id=board_id,
        artifact_id=artifact.id,
        key=artifact.key,
        type=artifact.type,
        version=artifact.version,
        actor_id=actor.id if actor else None,
        reason=reason,
    )
    return artifact.model_copy(update={"retracted": retraction})
