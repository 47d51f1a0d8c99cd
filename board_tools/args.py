"""Each tool's arguments, as a model sees them: REST names, `board_id` first.

Only the shape (types, required or not) is checked here; the service's own rules
(lengths, patterns, limits) are checked where the REST API checks them, so a tool call
and a REST call are refused alike.
"""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Args(BaseModel):
    """Base of tool arguments: unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


BoardId = Field(description="The board's id (see list_boards).")


class ListBoards(Args):
    limit: int = Field(default=100, ge=1, le=1000, description="How many boards at most.")
    after: str | None = Field(default=None, description="Continue after this board name.")


class ListTypes(Args):
    pass


class GetType(Args):
    name: str = Field(description="The type's name, e.g. 'finding'.")


class ArtifactFields(Args):
    type: str = Field(description="The artifact type (see list_types); the body must match it.")
    body: dict[str, Any] = Field(description="The content, a JSON object valid for the type.")
    key: str | None = Field(
        default=None, description="The logical artifact to write a new version of; omit for new."
    )
    parents: list[UUID] = Field(default_factory=list, description="Artifact ids this builds on.")
    tags: list[str] = Field(default_factory=list, description="Free labels for filtering.")
    role: str | None = Field(default=None, description="The role you publish under.")
    expected_version: int | None = Field(
        default=None,
        description="The key's current version you expect (0: the key must be new); "
        "refused with VersionConflict otherwise.",
    )
    claim_id: UUID | None = Field(
        default=None, description="Your claim's id when the key is guarded by a role claim."
    )


class OnBoard(Args):
    board_id: UUID = BoardId


# `board_id` first: a model's fields are ordered from its last base to its first
class PublishArtifact(ArtifactFields, OnBoard):
    pass


class GetArtifact(Args):
    board_id: UUID = BoardId
    artifact_id: UUID = Field(description="The artifact version's id.")


class ListArtifacts(Args):
    board_id: UUID = BoardId
    type: str | None = Field(default=None, description="Only this artifact type.")
    keys: list[str] | None = Field(
        default=None, description="Only these keys (the current version of each)."
    )
    key_prefix: str | None = Field(default=None, description="Only keys that start with this.")
    author: UUID | None = Field(default=None, description="Only this author's (agent id).")
    role: str | None = Field(default=None, description="Only those published under this role.")
    tag: str | None = Field(default=None, description="Only those with this tag.")
    latest: bool = Field(default=True, description="Only each key's current version.")
    as_of: int | None = Field(default=None, ge=0, description="The board as it stood at this seq.")
    after: int = Field(default=0, ge=0, description="Return items with seq above this (paging).")
    limit: int = Field(default=50, ge=1, le=500, description="How many at most.")


class KeyHistory(Args):
    board_id: UUID = BoardId
    key: str = Field(description="The key whose versions to list.")


class ReadEvents(Args):
    board_id: UUID = BoardId
    after: int = Field(default=0, ge=0, description="Return events with seq above this.")
    kinds: list[str] | None = Field(
        default=None, description="Only these event kinds, e.g. ['artifact.published']."
    )
    types: list[str] | None = Field(default=None, description="Only about these artifact types.")
    keys: list[str] | None = Field(default=None, description="Only about these artifact keys.")
    key_prefix: str | None = Field(
        default=None, description="Only about artifact keys that start with this."
    )
    include: Literal["body"] | None = Field(
        default=None,
        description="'body': each artifact.published event carries the version's body, so "
        "following keys needs no second read.",
    )
    limit: int = Field(default=100, ge=1, le=1000, description="How many at most.")
    wait: float = Field(
        default=0, ge=0, le=60, description="Seconds to wait for a newer event if there is none."
    )


class ClaimRole(Args):
    board_id: UUID = BoardId
    role: str = Field(description="The role to claim, e.g. 'reviewer'.")
    scope: str | None = Field(default=None, description="What part of the work, e.g. a key.")
    exclusive: bool = Field(default=True, description="Whether nobody else may hold it too.")
    ttl_s: float = Field(default=60.0, description="Lease length in seconds; renew before.")
    rationale: str | None = Field(default=None, description="Why you are the one for it.")
    confidence: float | None = Field(default=None, description="0-1: how sure you are.")


class RenewClaim(Args):
    claim_id: UUID = Field(description="Your claim's id.")
    ttl_s: float = Field(default=60.0, description="New lease length in seconds.")


class ReleaseClaim(Args):
    claim_id: UUID = Field(description="Your claim's id.")


class Abstain(Args):
    board_id: UUID = BoardId
    reason: str = Field(description="Why you decline.")
    scope: str | None = Field(default=None, description="What you decline, e.g. a key.")
    role: str | None = Field(default=None, description="The role you decline.")
    confidence: float | None = Field(default=None, description="0-1: how sure you are.")


class PostTask(Args):
    board_id: UUID = BoardId
    title: str = Field(description="What is to be done, in one line.")
    spec: dict[str, Any] = Field(default_factory=dict, description="Details, a JSON object.")
    wants_type: str | None = Field(default=None, description="The result's artifact type.")
    required_capabilities: list[str] = Field(
        default_factory=list, description="Only agents with all of these may take it."
    )
    inputs: list[UUID] = Field(default_factory=list, description="Artifact ids to work from.")
    max_attempts: int = Field(default=3, description="How often it may be tried (1-100).")


class ClaimTask(Args):
    board_id: UUID = BoardId
    lease_s: float = Field(default=60.0, description="Lease length in seconds.")


class CompleteTask(Args):
    task_id: UUID = Field(description="The task you hold a lease on.")
    artifact: ArtifactFields = Field(description="The result, published with the completion.")


class MyTurns(Args):
    wait: float = Field(default=0, ge=0, le=60, description="Seconds to wait for a turn.")


class CompleteTurn(Args):
    turn_id: UUID = Field(description="The turn offered to you (see my_turns).")
    role: str = Field(description="The role you take in this turn.")
    artifacts: list[ArtifactFields] = Field(description="What you publish (1-20 artifacts).")
    rationale: str | None = Field(default=None, description="Why, briefly.")
    confidence: float | None = Field(default=None, description="0-1: how sure you are.")


class AbstainTurn(Args):
    turn_id: UUID = Field(description="The turn offered to you.")
    reason: str = Field(description="Why you decline it.")
    confidence: float | None = Field(default=None, description="0-1: how sure you are.")
