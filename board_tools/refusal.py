"""A refused call as a model reads it: the error's name first, then what to repair."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError


def pointer(loc: tuple[int | str, ...]) -> str:
    """`loc` (a pydantic error location) as a JSON pointer."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in loc)


@dataclass
class Refusal(Exception):
    """The service's `{"error", "detail", "errors", ...}` answer to a call."""

    error: str
    detail: str
    errors: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def invalid_arguments(cls, exc: ValidationError) -> "Refusal":
        """Arguments that do not match the tool's schema, as REST answers a bad body."""
        return cls(
            "ValidationFailed",
            "the arguments do not match the tool's schema",
            [{"path": pointer(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()],
        )

    @classmethod
    def from_body(cls, body: dict[str, Any], status: int) -> "Refusal":
        """The refusal a REST error body states."""
        extra = {k: v for k, v in body.items() if k not in ("error", "detail", "errors")}
        return cls(
            str(body.get("error") or f"HTTP{status}"),
            str(body.get("detail") or ""),
            [e for e in body.get("errors") or [] if isinstance(e, dict)],
            extra,
        )

    def body(self) -> dict[str, Any]:
        """The REST error body."""
        found: dict[str, Any] = {"error": self.error, "detail": self.detail, **self.extra}
        if self.errors:
            found["errors"] = self.errors
        return found

    def text(self) -> str:
        """`Name: detail`, then one line per problem (`/pointer: message`), then the rest."""
        lines = [f"{self.error}: {self.detail}"]
        lines += [f"{e.get('path') or '/'}: {e.get('message', '')}" for e in self.errors]
        lines += [f"{k}: {v}" for k, v in self.extra.items()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()
