"""The artifact endpoints, on both clients: publishing versions, reading them back with
their history and lineage, and the board's event log that records every change."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel

from agents.client._core import Id, Request, _ids, _items, _json, _one, _query, _seg, endpoint
from agents.client.models import Artifact, ArtifactDraft, Event, Lineage, Page

Body = Mapping[str, Any] | BaseModel
Draft = ArtifactDraft | Mapping[str, Any]


def _body(body: Body) -> dict[str, Any]:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json")
    return dict(body)


def _draft(draft: Draft) -> dict[str, Any]:
    if isinstance(draft, ArtifactDraft):
        return draft.to_json()
    return ArtifactDraft.model_validate(
        {**draft, "body": _body(draft["body"])} if "body" in draft else draft
    ).to_json()


def _idempotent(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4())}


class ArtifactEndpoints:
    """Publish, read, trace and retract artifact versions; read the board's events."""

    # artifacts

    @endpoint
    def publish(
        board_id: Id,
        type: str,
        body: Body,
        *,
        key: str | None = None,
        parents: Sequence[Id] | None = None,
        role: str | None = None,
        tags: Sequence[str] | None = None,
        expected_version: int | None = None,
        claim_id: Id | None = None,
        idempotency_key: str | None = None,
    ) -> Request[Artifact]:
        """Publish an artifact version. Sent with an Idempotency-Key (a fresh one unless
        given) and resent with the same key after a broken connection or a 5xx, so a retry
        never writes twice."""
        payload = _json(
            type=type,
            body=_body(body),
            key=key,
            parents=_ids(parents),
            role=role,
            tags=None if tags is None else list(tags),
            expected_version=expected_version,
            claim_id=claim_id,
        )
        path = f"/v1/boards/{_seg(board_id)}/artifacts"
        headers = _idempotent(idempotency_key)
        return Request("POST", path, _one(Artifact), json=payload, headers=headers, retry=True)

    @endpoint
    def publish_batch(
        board_id: Id, items: Sequence[Draft], *, idempotency_key: str | None = None
    ) -> Request[list[Artifact]]:
        """Publish up to 1,000 artifacts, all or none (idempotent and retried like publish)."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/batch"
        payload = {"items": [_draft(d) for d in items]}
        headers = _idempotent(idempotency_key)
        return Request("POST", path, _items(Artifact), json=payload, headers=headers, retry=True)

    @endpoint
    def list_artifacts(
        board_id: Id,
        *,
        type: str | None = None,
        key: str | Sequence[str] | None = None,
        key_prefix: str | None = None,
        author: Id | None = None,
        role: str | None = None,
        tag: str | None = None,
        latest: bool | None = None,
        as_of: int | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> Request[Page[Artifact]]:
        """A page of artifacts in seq order (latest versions only unless `latest=False`;
        `as_of`: the board as it stood at that seq). `key` may be several keys (up to 100):
        the current version of each in one request."""
        params = _query(
            type=type,
            key=key,
            key_prefix=key_prefix,
            author=None if author is None else str(author),
            role=role,
            tag=tag,
            latest=latest,
            as_of=as_of,
            after=after,
            limit=limit,
        )
        path = f"/v1/boards/{_seg(board_id)}/artifacts"
        return Request("GET", path, _one(Page[Artifact]), params=params, retry=True)

    @endpoint
    def get_artifact(board_id: Id, artifact_id: Id) -> Request[Artifact]:
        """One artifact version."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/{_seg(artifact_id)}"
        return Request("GET", path, _one(Artifact), retry=True)

    @endpoint
    def history(board_id: Id, key: str) -> Request[list[Artifact]]:
        """Every version of a key, oldest first, retracted ones included and marked."""
        path = f"/v1/boards/{_seg(board_id)}/keys/{_seg(key)}/history"
        return Request("GET", path, _items(Artifact), retry=True)

    @endpoint
    def lineage(
        board_id: Id,
        artifact_id: Id,
        *,
        direction: Literal["up", "down"] = "up",
        depth: int | None = None,
    ) -> Request[Lineage]:
        """The artifact's ancestors (up) or descendants (down), and the links among them."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/{_seg(artifact_id)}/lineage"
        params = _query(direction=direction, depth=depth)
        return Request("GET", path, _one(Lineage), params=params, retry=True)

    @endpoint
    def retract(board_id: Id, artifact_id: Id, reason: str) -> Request[Artifact]:
        """Withdraw a version you published: it stays in history, marked."""
        path = f"/v1/boards/{_seg(board_id)}/artifacts/{_seg(artifact_id)}/retract"
        return Request("POST", path, _one(Artifact), json={"reason": reason})

    # events

    @endpoint
    def read_events(
        board_id: Id,
        *,
        after: int = 0,
        limit: int | None = None,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        key_prefix: str | None = None,
        include_body: bool = False,
        wait: float | None = None,
    ) -> Request[Page[Event]]:
        """Events after a seq, oldest first; with `wait` (seconds), long-poll until one
        exists. Continue from `next_after`, which may pass the last item under a filter.
        `keys`/`key_prefix` keep the events about those artifact keys; `include_body` puts
        each published version's body in its event's data."""
        params = _query(
            after=after,
            limit=limit,
            kind=kinds,
            type=types,
            key=keys,
            key_prefix=key_prefix,
            include="body" if include_body else None,
            wait=wait,
        )
        path = f"/v1/boards/{_seg(board_id)}/events"
        return Request(
            "GET", path, _one(Page[Event]), params=params, retry=True, wait_s=wait or 0.0
        )
