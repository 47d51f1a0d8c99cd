"""What the client raises. Every error the service answers with becomes an `APIError`
subclass named after the body's `"error"` field (falling back on the status code).

BlackboardError
├── TransportError               the service could not be reached, or the connection broke
└── APIError                     the service answered with an error (status, error, detail, body)
    ├── BadRequest               400: malformed request (e.g. MalformedJSON)
    ├── Unauthenticated          401: no token, or a token that matches nobody
    ├── Forbidden                403: authenticated, but not allowed
    ├── NotFound                 404: unknown id or name
    ├── Conflict                 409: collides with the current state
    │   ├── VersionConflict      expected_version did not match (see .current_version)
    │   ├── RoleTaken            another agent holds the role
    │   ├── LeaseLost            the claim, task lease or turn is no longer yours
    │   ├── StaleClaim           a publish fenced off by an expired or foreign claim
    │   ├── ClaimRequired        a write to a guarded key that names no claim
    │   ├── WrongClaim           a guarded key written under another role's or scope's claim
    │   ├── GuardOverlaps        a guard covering keys an existing guard covers
    │   ├── IdempotencyKeyReused the same Idempotency-Key with a different request
    │   ├── NameTaken            a unique name that already exists
    │   └── IncompatibleSchema   a type's new schema breaks its compatibility (see .reasons)
    ├── PayloadTooLarge          413: the request body is too large
    ├── UnsupportedMediaType     415: the body is not JSON
    ├── ValidationFailed         422: the content is not acceptable (see .errors)
    │   ├── SchemaViolation      an artifact body fails its type's schema
    │   ├── UnknownType          an artifact type that is not registered
    │   ├── InvalidSchema        a type schema that is not valid JSON Schema
    │   ├── UnknownParent        a parent that is not an artifact on this board
    │   ├── RoleWithoutClaim     a role named without holding a live claim of it
    │   └── InvalidPattern       a malformed guard key pattern
    └── ServerError              5xx: the service failed (e.g. Unavailable, InternalError)
"""

from typing import Any

import httpx


class BlackboardError(Exception):
    """Root of everything the client raises on purpose."""


class TransportError(BlackboardError):
    """The request did not get an answer: connection refused, reset, timed out."""


class APIError(BlackboardError):
    """The service answered with an error status and a `{"error", "detail", ...}` body."""

    def __init__(self, status: int, error: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.body = body


class BadRequest(APIError):
    """400: the request is malformed."""


class Unauthenticated(APIError):
    """401: no token, or a token that matches nobody."""


class Forbidden(APIError):
    """403: the caller is known but may not do this."""


class NotFound(APIError):
    """404: the thing asked for does not exist."""


class Conflict(APIError):
    """409: the request collides with the current state."""


class VersionConflict(Conflict):
    """`expected_version` did not match the key's latest version."""

    @property
    def current_version(self) -> int | None:
        """The key's version at the time of the conflict."""
        value = self.body.get("current_version")
        return int(value) if value is not None else None


class RoleTaken(Conflict):
    """Another agent holds an active claim that excludes this one."""


class LeaseLost(Conflict):
    """The claim, task lease or turn ran out or was given up."""


class StaleClaim(Conflict):
    """A write was fenced off: its claim is expired, released, or someone else's."""


class ClaimRequired(Conflict):
    """A write to a guarded key named no claim (see `.body["role"]`, `["scope"]`)."""


class WrongClaim(Conflict):
    """A write to a guarded key named a claim of another role or scope than the guard's."""


class GuardOverlaps(Conflict):
    """A new guard would cover keys an existing guard covers (see `.body["guard"]`)."""


class IdempotencyKeyReused(Conflict):
    """An Idempotency-Key seen before came with a different request."""


class NameTaken(Conflict):
    """A name that must be unique is already used."""


class IncompatibleSchema(Conflict):
    """A type's new schema breaks the type's compatibility mode."""

    @property
    def reasons(self) -> list[dict[str, str]]:
        """One per problem, each `{"path": <JSON pointer into the schema>, "message": ...}`."""
        items = self.body.get("reasons") or []
        return [
            {"path": str(e.get("path", "")), "message": str(e.get("message", ""))}
            for e in items
            if isinstance(e, dict)
        ]


class PayloadTooLarge(APIError):
    """413: the request body is larger than the service accepts."""


class UnsupportedMediaType(APIError):
    """415: the request body is not JSON."""


class ValidationFailed(APIError):
    """422: the request's content is not acceptable; `errors` says where and why."""

    @property
    def errors(self) -> list[dict[str, str]]:
        """The problems, each `{"path": <JSON pointer>, "message": ...}`."""
        items = self.body.get("errors") or []
        return [
            {"path": str(e.get("path", "")), "message": str(e.get("message", ""))}
            for e in items
            if isinstance(e, dict)
        ]


class SchemaViolation(ValidationFailed):
    """An artifact body does not satisfy its type's schema."""


class UnknownType(ValidationFailed):
    """The artifact type is not registered."""


class InvalidSchema(ValidationFailed):
    """A submitted type schema is not valid JSON Schema (draft 2020-12)."""


class UnknownParent(ValidationFailed):
    """A parent id is not an artifact on this board."""


class RoleWithoutClaim(ValidationFailed):
    """A version named a role that its author holds no live claim of."""


class InvalidPattern(ValidationFailed):
    """A guard's key pattern is malformed."""


class ServerError(APIError):
    """5xx: the service failed or is unavailable."""


_BY_NAME: dict[str, type[APIError]] = {
    cls.__name__: cls
    for cls in (
        BadRequest,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        VersionConflict,
        RoleTaken,
        LeaseLost,
        StaleClaim,
        ClaimRequired,
        WrongClaim,
        GuardOverlaps,
        IdempotencyKeyReused,
        NameTaken,
        IncompatibleSchema,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        SchemaViolation,
        UnknownType,
        InvalidSchema,
        UnknownParent,
        RoleWithoutClaim,
        InvalidPattern,
    )
}
_BY_NAME["MalformedJSON"] = BadRequest
_BY_NAME["InvalidInput"] = ValidationFailed

_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
}


def error_class(status: int, error: str) -> type[APIError]:
    """Return the exception class for an error response: by name, else by status."""
    by_name = _BY_NAME.get(error)
    if by_name is not None:
        return by_name
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)


def from_response(response: httpx.Response) -> APIError:
    """Build the typed error for an error response (any body, even a non-JSON one)."""
    body: dict[str, Any]
    try:
        parsed = response.json()
        body = parsed if isinstance(parsed, dict) else {"value": parsed}
    except ValueError:
        body = {}
    status = response.status_code
    error = str(body.get("error") or _BY_STATUS.get(status, APIError).__name__)
    if status >= 500 and not body.get("error"):
        error = "ServerError"
    detail = str(body.get("detail") or response.text[:500] or response.reason_phrase)
    return error_class(status, error)(status, error, detail, body)
