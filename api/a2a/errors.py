"""Our errors as A2A JSON-RPC errors: an A2A error code, and our error shape in its data.

The SDK puts an error's `data` into the JSON-RPC error as a `google.rpc.ErrorInfo`'s
`metadata`, so a client reads `{"error": "NotFound", "detail": ..., ...}` there, as
everywhere else in the API. Codes are the A2A ones (the SDK picks them by the error's
class): -32001 TaskNotFound, -32002 TaskNotCancelable, -32602 InvalidParams, -32600
InvalidRequest for anything else a caller did wrong.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from a2a.utils.errors import (
    A2AError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotCancelableError,
    TaskNotFoundError,
)
from pydantic import ValidationError

from blackboard.errors import BlackboardError, Conflict, FieldError, InvalidInput, NotFound


def shaped(error: str, detail: str, **extra: Any) -> dict[str, Any]:
    """Our error shape, as an A2A error's data."""
    return {"error": error, "detail": detail, **extra}


def field_errors(errors: list[FieldError]) -> list[dict[str, str]]:
    """Our `errors` list; `field` as well as `path`, which the SDK turns into a BadRequest."""
    return [{"path": e.path, "field": e.path, "message": e.message} for e in errors]


def invalid_params(
    detail: str, errors: list[FieldError], name: str = "ValidationFailed"
) -> A2AError:
    """A request whose content is not acceptable (-32602)."""
    return InvalidParamsError(detail, data=shaped(name, detail, errors=field_errors(errors)))


def a2a_error(exc: BlackboardError) -> A2AError:
    """Return the A2A error for one of ours."""
    extra = {k: v for k, v in exc.extra.items() if v is not None}
    data = shaped(type(exc).__name__, exc.detail, **extra)
    if isinstance(exc, InvalidInput):
        data["errors"] = field_errors(exc.errors)
        return InvalidParamsError(exc.detail, data=data)
    if isinstance(exc, NotFound):
        if "task_id" in exc.extra:
            return TaskNotFoundError(exc.detail, data=data)
        return InvalidParamsError(exc.detail, data=data)  # the board a contextId names
    if isinstance(exc, Conflict) and "task_id" in exc.extra:
        return TaskNotCancelableError(exc.detail, data=data)
    return InvalidRequestError(exc.detail, data=data)


def validation_error(exc: ValidationError, where: Callable[[str], str]) -> A2AError:
    """A draft built from the request that our models reject; `where` says where in the
    request (a JSON pointer) each of the draft's fields came from."""
    errors = [
        FieldError(
            where(str(problem["loc"][0])) + "".join(f"/{p}" for p in problem["loc"][1:]),
            problem["msg"],
        )
        for problem in exc.errors()
    ]
    return invalid_params("the request does not make a valid task", errors)


@contextmanager
def translated() -> Iterator[None]:
    """Raise our errors as A2A errors within the block."""
    try:
        yield
    except BlackboardError as exc:
        raise a2a_error(exc) from exc
