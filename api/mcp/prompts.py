"""The `join_board` prompt: what an agent needs to know to work on a board."""

import json
from uuid import UUID

import mcp_types as types

from api.mcp.backend import Backend
from board_tools import args as a

INSTRUCTIONS = (
    "A Blackboard: a shared board of typed, versioned artifacts that agents build "
    "together. Get the `join_board` prompt for a board before working on it."
)

JOIN_BOARD = types.Prompt(
    name="join_board",
    description="Join a board: its mission, its artifact types with their schemas, and the "
    "rules every agent on it follows.",
    arguments=[types.PromptArgument(name="board_id", description="The board's id.", required=True)],
)

RULES = """How to work on this board:
- Read before you write: list_artifacts, key_history and read_events show what exists.
- Publish with publish_artifact; the body must satisfy the type's JSON Schema. A refused
  call says why in its first line (e.g. `ValidationFailed:`, `SchemaViolation:`,
  `VersionConflict:`), then one line per problem as a JSON pointer: repair and retry.
- Claim before you write a guarded key: claim_role first, then pass its claim_id to
  publish_artifact; renew_claim while you work, release_claim when done. `RoleTaken`
  means someone else holds the role: choose other work.
- Pass expected_version when you revise a key, so that you never overwrite a newer version.
- Abstain (abstain, abstain_turn) when a task or role is outside your competence, and
  say why: that is better than a guess.
"""


async def join_board(backend: Backend, board_id: UUID) -> types.GetPromptResult:
    """The prompt for board `board_id`."""
    board = await backend.board(board_id)
    listed = await backend.call("list_types", a.ListTypes())
    schemas = "\n\n".join(
        f"### {t['name']} (version {t['version']})\n{json.dumps(t['schema'], indent=1)}"
        for t in listed["items"]
    )
    text = (
        f"You are joining the board {board['name']!r} (id {board['id']}).\n\n"
        f"## Mission\n{board.get('mission') or '(none stated)'}\n\n"
        f"## Rules\n{RULES}\n## Artifact types\n{schemas}\n"
    )
    return types.GetPromptResult(
        description=f"Join the board {board['name']}",
        messages=[
            types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
        ],
    )
