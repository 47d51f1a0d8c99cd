"""The board's tools: one name, one argument model and one description each, shared by
the MCP server in the service, `blackboard mcp` over stdio and the LangChain tools.

Descriptions are written for a model: when to use the tool, and what it returns.
"""

from dataclasses import dataclass

from board_tools import args as a


@dataclass(frozen=True)
class ToolSpec:
    """One tool as a model sees it."""

    name: str
    args: type[a.Args]
    description: str
    read_only: bool = False


_RETURNS_ARTIFACT = "Returns the artifact version (id, key, version, body, author, seq, ...)."

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "list_boards",
        a.ListBoards,
        "List the boards you can work on, by name. Use it first to find a board's id. "
        "Returns {items: [board]}, each with id, name, mission and last_seq.",
        read_only=True,
    ),
    ToolSpec(
        "list_types",
        a.ListTypes,
        "List the artifact types at their newest version, with their JSON Schemas. Use it "
        "before publishing to pick a type and shape the body. Returns {items: [type]}.",
        read_only=True,
    ),
    ToolSpec(
        "get_type",
        a.GetType,
        "Return one artifact type: its newest version (with the JSON Schema a body must "
        "satisfy) and the list of its versions.",
        read_only=True,
    ),
    ToolSpec(
        "publish_artifact",
        a.PublishArtifact,
        "Publish an artifact on the board: a new key (omit key) or the next version of an "
        "existing key. The body must satisfy the type's schema, else ValidationFailed or "
        "SchemaViolation lists each problem as a JSON pointer: fix those and retry. Pass "
        "expected_version to avoid overwriting someone's newer version (VersionConflict), "
        "and claim_id when the key is guarded by a role you claimed. " + _RETURNS_ARTIFACT,
    ),
    ToolSpec(
        "get_artifact",
        a.GetArtifact,
        "Read one artifact version by id. " + _RETURNS_ARTIFACT,
        read_only=True,
    ),
    ToolSpec(
        "list_artifacts",
        a.ListArtifacts,
        "List the board's artifacts in seq order, filtered by type, key, author, role or "
        "tag; by default only each key's current version. Returns {items, next_after}: "
        "pass next_after as after for the next page.",
        read_only=True,
    ),
    ToolSpec(
        "key_history",
        a.KeyHistory,
        "Every version of one key, oldest first, retracted ones marked. Use it to see how "
        "an artifact evolved and who changed it. Returns {items: [artifact]}.",
        read_only=True,
    ),
    ToolSpec(
        "read_events",
        a.ReadEvents,
        "Read the board's event log after a seq (what was published, claimed, abstained, "
        "...), oldest first, optionally filtered by kinds, artifact types or keys. With "
        "wait, blocks up to that many seconds until something new happens: use it to "
        "follow the board. Returns {items, next_after}: pass next_after as after next time.",
        read_only=True,
    ),
    ToolSpec(
        "claim_role",
        a.ClaimRole,
        "Claim a role (optionally for a scope) with a lease before you write what it "
        "guards, so that two agents do not do the same work. Refused with RoleTaken if "
        "someone else holds it: then pick other work or abstain. Returns the claim; keep "
        "its id for publish_artifact, renew_claim and release_claim.",
    ),
    ToolSpec(
        "renew_claim",
        a.RenewClaim,
        "Extend your claim's lease while you still work under it. Refused with LeaseLost "
        "if it already ran out or was released. Returns the claim.",
    ),
    ToolSpec(
        "release_claim",
        a.ReleaseClaim,
        "Give up your claim when you are done, so that others may take the role. "
        "Returns the claim, released.",
    ),
    ToolSpec(
        "abstain",
        a.Abstain,
        "Say that you decline a scope or role because it is outside your competence, and "
        "why. Abstaining is better than guessing: others see it and take over. Returns "
        "the abstention.",
    ),
    ToolSpec(
        "post_task",
        a.PostTask,
        "Post a task on the board for an agent with the required capabilities to take. "
        "Returns the task (id, status open).",
    ),
    ToolSpec(
        "claim_task",
        a.ClaimTask,
        "Take the oldest open task you can do, with a lease. Returns the task (work on "
        "it, then complete_task), or nothing when no task is open for you.",
    ),
    ToolSpec(
        "complete_task",
        a.CompleteTask,
        "Finish a task you hold by publishing its result artifact, atomically. Returns "
        "{task, artifact}. Refused with LeaseLost if your lease ran out.",
    ),
    ToolSpec(
        "my_turns",
        a.MyTurns,
        "The turns a run offers you, each with the context you get to see. With wait, "
        "blocks up to that many seconds until one is offered. Returns {items: [turn]}.",
        read_only=True,
    ),
    ToolSpec(
        "complete_turn",
        a.CompleteTurn,
        "Take your turn: claim a role and publish artifacts under it, all at once. "
        "Returns {turn, artifacts}. Refused with LeaseLost once the turn closed.",
    ),
    ToolSpec(
        "abstain_turn",
        a.AbstainTurn,
        "Decline your turn when it is outside your competence, saying why. Returns the turn.",
    ),
)

BY_NAME = {spec.name: spec for spec in TOOLS}
