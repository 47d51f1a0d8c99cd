"""The board's MCP resources: a board, a key's current version, an artifact version.

Keys may hold any printable character, "/" included, so a key is percent-encoded as one
URI segment (`key_uri`)."""

from collections import Counter
from typing import Any
from urllib.parse import quote, unquote
from uuid import UUID

import mcp_types as types

from api.mcp.backend import Backend
from board_tools import Refusal
from board_tools import args as a

SCHEME = "blackboard://boards/"
_COUNTED_PAGES = 20  # a board overview counts at most this many pages of 500 keys

TEMPLATES = [
    types.ResourceTemplate(
        name="board",
        uri_template=SCHEME + "{board_id}",
        description="A board: its mission, the artifact types, and how many current "
        "artifacts of each type it holds.",
        mime_type="application/json",
    ),
    types.ResourceTemplate(
        name="key",
        uri_template=SCHEME + "{board_id}/keys/{key}",
        description="The current version of one key (percent-encoded). Subscribe to it to "
        "hear of each new version.",
        mime_type="application/json",
    ),
    types.ResourceTemplate(
        name="artifact",
        uri_template=SCHEME + "{board_id}/artifacts/{artifact_id}",
        description="One artifact version.",
        mime_type="application/json",
    ),
]


def board_uri(board_id: UUID) -> str:
    """The board's resource URI."""
    return f"{SCHEME}{board_id}"


def key_uri(board_id: UUID, key: str) -> str:
    """The resource URI of the key's current version."""
    return f"{SCHEME}{board_id}/keys/{quote(key, safe='')}"


def artifact_uri(board_id: UUID, artifact_id: UUID) -> str:
    """The resource URI of one artifact version."""
    return f"{SCHEME}{board_id}/artifacts/{artifact_id}"


def board_of(uri: str) -> UUID | None:
    """The board a resource URI names, if it names one."""
    if not uri.startswith(SCHEME):
        return None
    try:
        return UUID(uri[len(SCHEME) :].split("/", 1)[0])
    except ValueError:
        return None


def _not_found(uri: str) -> Refusal:
    return Refusal("NotFound", f"no resource at {uri}", extra={"uri": uri})


async def read(backend: Backend, uri: str) -> Any:
    """The resource at `uri` as JSON; refused with NotFound if it names nothing."""
    board_id = board_of(uri)
    if board_id is None:
        raise _not_found(uri)
    rest = uri[len(SCHEME) :].split("/", 2)[1:]
    if not rest:
        return await _overview(backend, board_id)
    if len(rest) == 2 and rest[0] == "keys" and rest[1]:
        page = await backend.call(
            "list_artifacts", a.ListArtifacts(board_id=board_id, keys=[unquote(rest[1])], limit=1)
        )
        if not page["items"]:
            raise _not_found(uri)
        return page["items"][0]
    if len(rest) == 2 and rest[0] == "artifacts":
        try:
            artifact_id = UUID(rest[1])
        except ValueError:
            raise _not_found(uri) from None
        return await backend.call(
            "get_artifact", a.GetArtifact(board_id=board_id, artifact_id=artifact_id)
        )
    raise _not_found(uri)


async def _overview(backend: Backend, board_id: UUID) -> dict[str, Any]:
    board = await backend.board(board_id)
    types_ = await backend.call("list_types", a.ListTypes())
    by_type: Counter[str] = Counter()
    after, complete = 0, False
    for _ in range(_COUNTED_PAGES):
        page = await backend.call(
            "list_artifacts", a.ListArtifacts(board_id=board_id, after=after, limit=500)
        )
        by_type.update(item["type"] for item in page["items"])
        if len(page["items"]) < 500:
            complete = True
            break
        after = page["next_after"]
    return {
        "board": board,
        "types": types_["items"],
        "counts": {
            "events": board["last_seq"],
            "keys": sum(by_type.values()),
            "keys_by_type": dict(by_type),
            "complete": complete,
        },
    }
