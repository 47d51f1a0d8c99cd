"""Fencing in the publish statement: the checks it makes on the claims its drafts name and
the guards that cover their keys (pieces of store/artifact_writes.py's statement).

The storage checks the fencing, not the caller: a claim named must be live and the
author's (checked under a FOR SHARE lock on its row, by the clock); a key that a guard
covers takes only versions written under a live exclusive claim of the guard's role, for
the scope the key names; and (in the statement's `checked`) never a lower fencing token
than it has had. A version that names a role needs a live claim of it.
"""

from typing import Any

from blackboard.errors import (
    BlackboardError,
    ClaimRequired,
    FieldError,
    InvalidInput,
    RoleWithoutClaim,
    StaleClaim,
    WrongClaim,
)

# The claims the drafts name, locked FOR SHARE until commit (so a release or expiry cannot
# commit between the check and the write), in id order like every writer's row locks.
FENCE = """fence AS (
    -- The claims the drafts name, locked FOR SHARE in id order.
    SELECT c.id, c.board_id, c.agent_id, c.role, c.scope, c.exclusive, c.fencing_token,
           c.status, c.expires_at
    FROM claims c WHERE c.id IN (SELECT claim_id FROM drafts)
    ORDER BY c.id
    FOR SHARE OF c
), named AS (
    -- ...and any claim the statement itself makes.
    SELECT * FROM fence"""
# Each draft checked against its claim and the guard covering its key (the claim's
# liveness by the clock, once its row is locked), before the board's seq lock: a claim
# must be live and the author's; a guarded key needs a claim of the guard's role, exclusive,
# for the scope the key names; a role named needs a claim of it. `failed` is 0 or aborts.
VETTED = """vetted AS (
    -- Each draft against its claim and its key's guard: 0, or an abort.
    SELECT d.ord, coalesce(d.role, c.role) AS role, c.fencing_token, g.id IS NOT NULL AS guarded,
        CASE
        WHEN d.claim_id IS NOT NULL
             AND (c.id IS NULL OR c.agent_id <> d.author_id OR c.board_id <> %(board_id)s
                  OR c.status <> 'active' OR c.expires_at <= clock_timestamp())
            THEN blackboard_fail('StaleClaim', jsonb_build_object('index', d.ord - 1,
                 'claim_id', d.claim_id,
                 'status', CASE WHEN c.id IS NULL OR c.agent_id <> d.author_id THEN 'foreign'
                                WHEN c.board_id <> %(board_id)s THEN 'on another board'
                                WHEN c.status = 'active' THEN 'expired' ELSE c.status END))
        WHEN g.id IS NOT NULL AND d.claim_id IS NULL
            THEN blackboard_fail('ClaimRequired', jsonb_build_object('index', d.ord - 1,
                 'key', d.key, 'guard_id', g.id, 'role', g.role, 'scope', g.scope))
        WHEN g.id IS NOT NULL
             AND (c.role <> g.role OR NOT c.exclusive OR (g.scoped AND c.scope <> g.scope))
            THEN blackboard_fail('WrongClaim', jsonb_build_object('index', d.ord - 1,
                 'key', d.key, 'guard_id', g.id, 'role', g.role, 'scope', g.scope,
                 'claim_id', c.id, 'claim_role', c.role, 'claim_scope', NULLIF(c.scope, '')))
        WHEN d.role IS NOT NULL AND d.claim_id IS NOT NULL AND d.role <> c.role
            THEN blackboard_fail('RoleMismatch', jsonb_build_object('index', d.ord - 1,
                 'role', c.role))
        WHEN d.role IS NOT NULL AND d.claim_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM claims x
                             WHERE x.board_id = %(board_id)s AND x.agent_id = d.author_id
                               AND x.role = d.role AND x.status = 'active'
                               AND x.expires_at > clock_timestamp())
            THEN blackboard_fail('RoleWithoutClaim', jsonb_build_object('index', d.ord - 1,
                 'role', d.role))
        ELSE 0
        END AS failed
    FROM drafts d
    LEFT JOIN named c ON c.id = d.claim_id
    LEFT JOIN LATERAL (
        SELECT g.id, g.role, g.scoped,
               CASE WHEN g.scoped THEN (regexp_match(d.key, g.key_regex))[1] END AS scope
        FROM guards g WHERE g.board_id = %(board_id)s AND d.key ~ g.key_regex
        LIMIT 1
    ) g ON true
), """
VETTED_OK = "(SELECT coalesce(sum(failed), 0) FROM vetted) = 0"


def fencing_failure(code: str, detail: dict[str, Any], where: list[str]) -> BlackboardError | None:
    """The domain error for a failed fencing check (None for any other code); `where[i]`
    locates draft i in the request."""
    if code not in ("StaleClaim", "Outfenced", "ClaimRequired", "WrongClaim", "RoleMismatch",
                    "RoleWithoutClaim"):  # fmt: skip
        return None
    index = int(detail.pop("index"))
    at = where[index]
    if code == "StaleClaim":
        return StaleClaim(
            f"claim {detail['claim_id']} cannot fence this write: it is {detail['status']}",
            index=index,
            **detail,
        )
    if code == "Outfenced":
        return StaleClaim(
            f"key {detail['key']!r} was written under fencing token {detail['highest']}; "
            f"this claim's token {detail['fencing_token']} is older",
            index=index,
            **detail,
        )
    if code == "ClaimRequired":
        return ClaimRequired(
            f"key {detail['key']!r} is guarded: write it under your claim of role "
            f"{detail['role']!r}" + (f" for scope {detail['scope']!r}" if detail["scope"] else ""),
            index=index,
            **detail,
        )
    if code == "WrongClaim":
        return WrongClaim(
            f"key {detail['key']!r} needs an exclusive claim of role {detail['role']!r}"
            + (f" for scope {detail['scope']!r}" if detail["scope"] else "")
            + f", not of {detail['claim_role']!r}"
            + (f" for scope {detail['claim_scope']!r}" if detail["claim_scope"] else ""),
            index=index,
            **detail,
        )
    role = detail["role"]
    if code == "RoleMismatch":
        return InvalidInput(
            f"the claim is for role {role!r}",
            errors=[FieldError(at + "/role", f"must be {role!r} (the claim's role)")],
            index=index,
        )
    return RoleWithoutClaim(
        f"you hold no live claim of role {role!r}: claim it first (and name the claim)",
        errors=[FieldError(at + "/role", "needs a live claim of this role by you")],
        index=index,
        role=role,
    )
