"""What callers ask the domain to create: validated input shapes.

The REST API uses these as request bodies, so their constraints are the API's input
rules and appear in the OpenAPI spec.
"""

import math
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

MAX_JSON_DEPTH = 100
"""How deeply a JSON document (an artifact body, a type schema) may nest."""


def _json_problem(value: Any, at: str, depth: int) -> str | None:
    """Return what in `value` cannot be stored as JSONB and hashed, and where; else None."""
    if depth > MAX_JSON_DEPTH:
        return f"nests deeper than {MAX_JSON_DEPTH} levels at {at}"
    if isinstance(value, str):
        if "\x00" in value:
            return f"has the NUL character (\\u0000) at {at or '/'}"
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                return f"has an unpaired UTF-16 surrogate at {at or '/'}"
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if not -(2**63) <= value < 2**64:
            return f"has an integer that does not fit in 64 bits at {at}"
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"has NaN or Infinity, which JSON cannot express, at {at}"
    elif isinstance(value, dict):
        for k, v in value.items():
            here = f"{at}/{k.replace('~', '~0').replace('/', '~1')}"
            problem = _json_problem(k, at, depth) or _json_problem(v, here, depth + 1)
            if problem:
                return problem
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problem = _json_problem(v, f"{at}/{i}", depth + 1)
            if problem:
                return problem
    return None


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse JSON the store cannot keep faithfully (Python's parser accepts more than JSON)."""
    problem = _json_problem(value, "", 1)
    if problem:
        raise ValueError(f"cannot be stored: it {problem}")
    return value


Compatibility = Literal["backward", "forward", "full", "none"]
"""How a type's new versions must relate to its newest (services/compatibility.py)."""

NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold the NUL character
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True, pattern=NO_NUL)
]
TypeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Key = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,256}$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f,]{1,64}$")]
Role = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_NUL)]
ModelSpec = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=NO_NUL)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=NO_NUL)]
Capability = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]


def _is_number(annotation: Any) -> bool:
    """Return whether a field's type is int or float (or an optional one)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_number(arg) for arg in get_args(annotation))
    return annotation in (int, float)


class Draft(BaseModel):
    """Base of input shapes: unknown fields are an error, not silently dropped, and a
    JSON boolean is not a number (pydantic would read `false` as 0)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _is_number(field.annotation):
            raise ValueError("must be a number, not a boolean")
        return value


class AgentDraft(Draft):
    """Register an agent."""

    name: Name
    capabilities: list[Capability] = Field(default_factory=list, max_length=64)
    description: Text | None = Field(default=None, max_length=4000)
    model: ModelSpec | None = Field(
        default=None,
        description="Make it model-backed: the controller calls this model for its turns"
        " ('scripted', 'scripted:<capabilities>', 'openai:<model>?base_url=…').",
    )


class BoardDraft(Draft):
    """Create a board."""

    name: Name
    mission: Text | None = Field(default=None, max_length=20000)


class TypeDraft(Draft):
    """Register a new version of an artifact type."""

    schema_: JsonObject = Field(alias="schema", description="A JSON Schema (draft 2020-12).")
    description: Text | None = Field(default=None, max_length=4000)
    compatibility: Compatibility | None = Field(
        default=None,
        description="The mode to check this change under (default: the type's). "
        "backward/forward/full also become the type's mode; none registers this one change "
        "unchecked, recorded on the version.",
    )


class TypeCheckDraft(Draft):
    """A candidate schema for a type, to judge without registering it."""

    schema_: JsonObject = Field(alias="schema", description="A JSON Schema (draft 2020-12).")
    compatibility: Compatibility | None = Field(
        default=None, description="The mode to judge it under (default: the type's)."
    )


class ArtifactDraft(Draft):
    """Publish one artifact version."""

    type: TypeName
    body: JsonObject
    key: Key | None = Field(default=None, description="Logical artifact; default: a new one.")
    parents: list[UUID] = Field(default_factory=list, max_length=100)
    role: Role | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=32)
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="The key's current version you expect; 0 = a new key.",
    )
    claim_id: UUID | None = None


class ArtifactBatch(Draft):
    """Publish up to 1,000 artifact versions, all or nothing."""

    items: list[ArtifactDraft] = Field(min_length=1, max_length=1000)


class RetractionDraft(Draft):
    """Retract an artifact version."""

    reason: Text = Field(min_length=1, max_length=4000)


Seconds = Annotated[float, Field(gt=0, le=86_400)]


class ClaimDraft(Draft):
    """Claim a role on a board, optionally for a scope, with a lease."""

    role: Role
    scope: Scope | None = None
    exclusive: bool = True
    ttl_s: Seconds = 60.0
    rationale: Text | None = Field(default=None, max_length=4000)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class GuardDraft(Draft):
    """Guard keys: writes to a key the pattern covers need a live claim of the role."""

    key_pattern: str = Field(
        description="A literal key with at most one {scope} (one segment, no '/') and an "
        "optional trailing '*', e.g. 'color/{scope}'.",
        max_length=256,
    )
    role: Role


class RenewDraft(Draft):
    """Extend a lease."""

    ttl_s: Seconds = 60.0


class AbstentionDraft(Draft):
    """Decline a scope or role, saying why."""

    scope: Scope | None = None
    role: Role | None = None
    reason: Text = Field(min_length=1, max_length=4000)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class TaskDraft(Draft):
    """Post a task on a board."""

    title: Text = Field(min_length=1, max_length=500)
    spec: JsonObject = Field(default_factory=dict)
    wants_type: TypeName | None = None
    required_capabilities: list[Capability] = Field(default_factory=list, max_length=32)
    inputs: list[UUID] = Field(default_factory=list, max_length=100)
    max_attempts: int = Field(default=3, ge=1, le=100)


class TaskClaimDraft(Draft):
    """Ask for the next task this agent can do."""

    lease_s: Seconds = 60.0


class HeartbeatDraft(Draft):
    """Keep a task lease alive."""

    lease_s: Seconds = 60.0


class TaskCompletion(Draft):
    """Finish a task by publishing its result artifact."""

    artifact: ArtifactDraft


class TaskFailure(Draft):
    """Give up on a task attempt."""

    reason: Text = Field(min_length=1, max_length=4000)
    retry: bool = True
    retry_after_s: float | None = Field(
        default=None, ge=0, le=86_400, description="Backoff before it is offered again."
    )


class TaskAbstention(Draft):
    """Decline a task so that it goes to someone else."""

    reason: Text = Field(min_length=1, max_length=4000)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class RunDraft(Draft):
    """Start a run of a coordination protocol on a board."""

    protocol: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
    roster: list[UUID] = Field(min_length=1, max_length=64, description="Agents, in order.")
    goal: Text = Field(min_length=1, max_length=20000)
    rounds: int = Field(default=1, ge=1, le=50)
    turn_timeout_s: float = Field(default=60.0, gt=0, le=86_400)
    max_turns: int | None = Field(default=None, ge=1, le=10_000)
    max_tokens: int | None = Field(default=None, ge=1)
    max_wall_s: float | None = Field(default=None, gt=0, le=86_400)
    view: dict[str, Any] | None = Field(
        default=None, description="Override the protocol's default view (see View)."
    )


class TurnCompletion(Draft):
    """Finish a turn: the role you take, and what you publish in it."""

    role: Role
    artifacts: list[ArtifactDraft] = Field(min_length=1, max_length=20)
    rationale: Text | None = Field(default=None, max_length=4000)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class TurnAbstention(Draft):
    """Decline a turn."""

    reason: Text = Field(min_length=1, max_length=4000)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


EventKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]


class WebhookDraft(Draft):
    """Register a URL to receive the board's events (only these kinds / artifact types)."""

    url: Annotated[
        str, StringConstraints(min_length=8, max_length=2000, pattern=r"^https?://[^\s\x00]+$")
    ]
    kinds: list[EventKind] = Field(default_factory=list, max_length=64)
    types: list[TypeName] = Field(default_factory=list, max_length=64)
    after: int | None = Field(
        default=None, ge=0, description="Deliver events after this seq (default: from now on)."
    )
