"""Artifacts: publish (single and batch), read, list, history, lineage, retract."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response

from api.deps import CurrentAgent, DatabaseDep, PrincipalDep, SchemasDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import ArtifactPage, Items
from api.services import services_of
from blackboard.drafts import ArtifactBatch, ArtifactDraft, RetractionDraft
from blackboard.records import Artifact, Lineage
from blackboard.services import artifacts
from blackboard.services.artifacts import Published
from blackboard.store.artifacts import ArtifactFilter, Listing

router = APIRouter(
    route_class=CheckedRoute,
    prefix="/v1/boards/{board_id}",
    tags=["artifacts"],
    responses=ERROR_RESPONSES,
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat a request with the same key to get the same result, written once.",
    ),
]


def _mark_replay(response: Response, published: Published) -> None:
    if published.replayed:
        response.headers["Idempotent-Replayed"] = "true"


@router.post("/artifacts", status_code=201)
async def publish(
    board_id: UUID,
    draft: ArtifactDraft,
    agent: CurrentAgent,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Artifact:
    """Publish a version of an artifact: version 1 of a new key, or n+1 of an existing one."""
    # The busiest route: its collaborators come straight from the services rather than
    # as a dependency, which FastAPI would resolve on every request.
    services = services_of(request)
    published = await services.database.run(
        lambda conn: artifacts.publish(
            conn,
            board_id=board_id,
            author=agent,
            drafts=[draft],
            idempotency_key=idempotency_key,
            schemas=services.schemas,
            grouped=services.board_writes,
        ),
        atomic=False,  # the publish is one statement, or its own transaction when fenced
    )
    _mark_replay(response, published)
    return published.artifacts[0]


@router.post("/artifacts/batch", status_code=201)
async def publish_batch(
    board_id: UUID,
    batch: ArtifactBatch,
    agent: CurrentAgent,
    db: DatabaseDep,
    schemas: SchemasDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Items[Artifact]:
    """Publish up to 1,000 artifacts in one transaction: all are written or none."""
    published = await db.run(
        lambda conn: artifacts.publish(
            conn,
            board_id=board_id,
            author=agent,
            drafts=batch.items,
            idempotency_key=idempotency_key,
            schemas=schemas,
            batch=True,
        ),
        atomic=False,
    )
    _mark_replay(response, published)
    return Items(items=published.artifacts)


@router.get("/artifacts", response_model=ArtifactPage)
async def list_artifacts(
    board_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    type: Annotated[str | None, Query(max_length=64)] = None,
    key: Annotated[
        list[str] | None,
        Query(
            max_length=100,
            description="Only these keys (repeat, up to 100): with `latest`, the current "
            "version of each in one request.",
        ),
    ] = None,
    key_prefix: Annotated[
        str | None, Query(max_length=256, description="Only keys starting with this.")
    ] = None,
    author: Annotated[UUID | None, Query(description="Author agent id.")] = None,
    role: Annotated[str | None, Query(max_length=128)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    latest: Annotated[bool, Query(description="Only each key's current version.")] = True,
    as_of: Annotated[
        int | None, Query(ge=0, description="The board as it stood at this seq.")
    ] = None,
    after: Annotated[int, Query(ge=0, description="Return items with seq above this.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500, description="At most 500.")] = 50,
) -> Response:
    """List artifacts in seq order; page with `after=<next_after>`."""
    async with db.connection() as conn:
        page = await artifacts.list_page(
            conn,
            board_id=board_id,
            listing=Listing(
                ArtifactFilter(
                    type=type,
                    keys=key,
                    key_prefix=key_prefix,
                    author_id=author,
                    role=role,
                    tag=tag,
                ),
                latest=latest,
                as_of=as_of,
                after=after,
                limit=limit,
            ),
        )
    return Response(page, media_type="application/json")  # written by PostgreSQL


@router.get("/artifacts/{artifact_id}")
async def get_artifact(
    board_id: UUID, artifact_id: UUID, _: PrincipalDep, db: DatabaseDep
) -> Artifact:
    """Return one artifact version."""
    async with db.connection() as conn:
        return await artifacts.get(conn, board_id=board_id, artifact_id=artifact_id)


@router.get("/keys/{key:path}/history")
async def key_history(
    board_id: UUID, key: str, _: PrincipalDep, db: DatabaseDep
) -> Items[Artifact]:
    """Return every version of a key, oldest first, retracted ones included and marked."""
    async with db.connection() as conn:
        return Items(items=await artifacts.history(conn, board_id=board_id, key=key))


@router.get("/artifacts/{artifact_id}/lineage")
async def lineage(
    board_id: UUID,
    artifact_id: UUID,
    _: PrincipalDep,
    db: DatabaseDep,
    direction: Literal["up", "down"] = "up",
    depth: Annotated[int, Query(ge=1, le=artifacts.MAX_LINEAGE_DEPTH)] = 10,
) -> Lineage:
    """Return the artifact's ancestors (up) or descendants (down) and the links among them."""
    async with db.connection() as conn:
        return await artifacts.lineage(
            conn, board_id=board_id, artifact_id=artifact_id, direction=direction, depth=depth
        )


@router.post("/artifacts/{artifact_id}/retract")
async def retract(
    board_id: UUID,
    artifact_id: UUID,
    draft: RetractionDraft,
    principal: PrincipalDep,
    db: DatabaseDep,
) -> Artifact:
    """Retract a version: it stays in history, marked, and the key falls back to the version
    before it. Only its author or the operator may."""
    return await db.run(
        atomic=False,
        work=lambda conn: artifacts.retract(
            conn,
            board_id=board_id,
            artifact_id=artifact_id,
            actor=principal.agent,
            reason=draft.reason,
        ),
    )
