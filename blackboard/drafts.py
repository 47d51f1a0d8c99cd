"""What callers ask the domain to create: validated input shapes.

The REST API uses these as request bodies, so their constraints are the API's input
rules and appear in the OpenAPI spec.
"""

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
TypeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Key = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,256}$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f,]{1,64}$")]
Role = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Capability = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]


class Draft(BaseModel):
    """Base of input shapes: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class AgentDraft(Draft):
    """Register an agent."""

    name: Name
    capabilities: list[Capability] = Field(default_factory=list, max_length=64)
    description: str | None = Field(default=None, max_length=4000)


class BoardDraft(Draft):
    """Create a board."""

    name: Name
    mission: str | None = Field(default=None, max_length=20000)


class TypeDraft(Draft):
    """Register a new version of an artifact type."""

    schema_: dict[str, Any] = Field(alias="schema", description="A JSON Schema (draft 2020-12).")
    description: str | None = Field(default=None, max_length=4000)


class ArtifactDraft(Draft):
    """Publish one artifact version."""

    type: TypeName
    body: dict[str, Any]
    key: Key | None = Field(default=None, description="Logical artifact; default: a new one.")
    parents: list[UUID] = Field(default_factory=list, max_length=100)
    role: Role | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    expected_version: int | None = Field(
        default=None, ge=0, description="The key's current version you expect; 0 = a new key."
    )
    claim_id: UUID | None = None


class ArtifactBatch(Draft):
    """Publish up to 1,000 artifact versions, all or nothing."""

    items: list[ArtifactDraft] = Field(min_length=1, max_length=1000)


class RetractionDraft(Draft):
    """Retract an artifact version."""

    reason: str = Field(min_length=1, max_length=4000)
