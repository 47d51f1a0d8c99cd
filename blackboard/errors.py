"""Domain errors. The HTTP adapter maps each class to a status; nothing here knows HTTP.

BlackboardError
├── NotFound                 an id or name that does not exist (or is not visible)
├── Unauthenticated          no credentials, or credentials that match nobody
├── Forbidden                authenticated, but not allowed to do this
├── Conflict                 the request is valid but collides with current state
│   ├── VersionConflict      expected_version did not match the key's latest version
│   ├── IdempotencyKeyReused the same Idempotency-Key with a different request
│   ├── RoleTaken            another agent holds an active claim that excludes this one
│   ├── LeaseLost            a task's, turn's or claim's lease ran out or was given up
│   ├── StaleClaim           a write under a claim that lapsed, is someone else's or out-fenced
│   ├── ClaimRequired        a write to a guarded key that names no claim
│   ├── WrongClaim           a write to a guarded key under another role's or scope's claim
│   ├── GuardOverlaps        a guard that would cover keys an existing guard covers
│   ├── NameTaken            a unique name that already exists
│   └── IncompatibleSchema   a type's new schema breaks the type's compatibility mode
├── Retry                    lost a race that a fresh attempt of the transaction resolves
└── InvalidInput             the request is well-formed but its content is not acceptable
    ├── SchemaViolation      an artifact body that fails its type's JSON Schema
    ├── UnknownType          an artifact type that is not registered
    ├── InvalidSchema        a type schema that is not valid JSON Schema 2020-12
    ├── UnknownParent        a parent that is not an artifact on this board
    ├── RoleWithoutClaim     a version naming a role its author holds no live claim of
    └── InvalidPattern       a guard's key pattern that is malformed
"""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One problem at one place of the request, as a JSON pointer."""

    path: str
    message: str


class BlackboardError(Exception):
    """Root of every error the domain raises on purpose."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(BlackboardError):
    """The thing asked for does not exist."""


class Unauthenticated(BlackboardError):
    """No credentials, or credentials that match nobody."""


class Forbidden(BlackboardError):
    """The caller is known but may not do this."""

    @classmethod
    def not_your_turn(cls, turn_id: str) -> "Forbidden":
        """A turn answered by an agent it was not offered to."""
        return cls("this turn was offered to another agent", turn_id=turn_id)


class Conflict(BlackboardError):
    """The request collides with the current state."""


class VersionConflict(Conflict):
    """`expected_version` did not match the key's latest version."""


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key seen before came with a different request."""


class RoleTaken(Conflict):
    """Another agent holds an active claim that excludes this one."""


class LeaseLost(Conflict):
    """The lease ran out or was given up; the caller no longer holds it."""

    @classmethod
    def on_task(cls, task_id: str, status: str) -> "LeaseLost":
        """A task its caller holds no running lease on (any more)."""
        return cls("you do not hold a running lease on this task", task_id=task_id, status=status)

    @classmethod
    def on_turn(cls, turn_id: str, status: str) -> "LeaseLost":
        """A turn answered after it closed (answered, declined, timed out)."""
        return cls(f"the turn is closed ({status})", turn_id=turn_id, status=status)


class StaleClaim(Conflict):
    """A write was fenced off: its claim is expired, released, or someone else's."""


class ClaimRequired(Conflict):
    """A write to a key a guard covers named no claim."""


class WrongClaim(Conflict):
    """A write to a guarded key named a claim of another role or scope than the guard's."""


class GuardOverlaps(Conflict):
    """A new guard would cover keys that an existing guard on the board covers."""


class NameTaken(Conflict):
    """A name that must be unique is already used."""


class IncompatibleSchema(Conflict):
    """A new version of a type's schema breaks the type's compatibility mode.

    `reasons`: one {path, message} per problem, the path a JSON pointer into the schema."""


class Retry(BlackboardError):
    """The transaction lost a race that running it again resolves (never reaches a client)."""


class InvalidInput(BlackboardError):
    """The request's content is not acceptable; `errors` says where and why."""

    def __init__(self, detail: str, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.errors = errors or []


class SchemaViolation(InvalidInput):
    """An artifact body does not satisfy its type's schema."""


class UnknownType(InvalidInput):
    """The artifact type is not registered."""


class InvalidSchema(InvalidInput):
    """A submitted type schema is not valid JSON Schema (draft 2020-12)."""


class UnknownParent(InvalidInput):
    """A parent id is not an artifact on this board."""


class RoleWithoutClaim(InvalidInput):
    """A version names a role that its author holds no live claim of."""


class InvalidPattern(InvalidInput):
    """A guard's key pattern is malformed."""
