"""The role-claim endpoints, on both clients: leasing a role on a board, or saying why you
decline one (an abstention)."""

from agents.client._core import Id, Request, _items, _json, _one, _query, _seg, endpoint
from agents.client.models import Abstention as AbstentionRecord
from agents.client.models import AbstentionPage, Claim, Guard


class ClaimEndpoints:
    """Claim, renew, release and list roles; record and list abstentions."""

    @endpoint
    def claim_role(
        board_id: Id,
        role: str,
        *,
        scope: str | None = None,
        exclusive: bool | None = None,
        ttl_s: float | None = None,
        rationale: str | None = None,
        confidence: float | None = None,
    ) -> Request[Claim]:
        """Claim a role (optionally for a scope) with a lease; RoleTaken if someone holds it."""
        body = _json(
            role=role,
            scope=scope,
            exclusive=exclusive,
            ttl_s=ttl_s,
            rationale=rationale,
            confidence=confidence,
        )
        return Request("POST", f"/v1/boards/{_seg(board_id)}/claims", _one(Claim), json=body)

    @endpoint
    def renew_claim(claim_id: Id, *, ttl_s: float | None = None) -> Request[Claim]:
        """Extend your claim's lease; LeaseLost if it already ran out or was released."""
        path = f"/v1/claims/{_seg(claim_id)}/renew"
        return Request("POST", path, _one(Claim), json=_json(ttl_s=ttl_s))

    @endpoint
    def release_claim(claim_id: Id) -> Request[Claim]:
        """Release your claim; LeaseLost if it is no longer active."""
        return Request("DELETE", f"/v1/claims/{_seg(claim_id)}", _one(Claim))

    @endpoint
    def get_claim(claim_id: Id) -> Request[Claim]:
        """One claim."""
        return Request("GET", f"/v1/claims/{_seg(claim_id)}", _one(Claim), retry=True)

    @endpoint
    def list_claims(
        board_id: Id,
        *,
        active: bool | None = None,
        role: str | None = None,
        agent: Id | None = None,
        limit: int | None = None,
    ) -> Request[list[Claim]]:
        """The board's claims, newest first."""
        params = _query(
            active=active, role=role, agent=None if agent is None else str(agent), limit=limit
        )
        path = f"/v1/boards/{_seg(board_id)}/claims"
        return Request("GET", path, _items(Claim), params=params, retry=True)

    @endpoint
    def create_guard(board_id: Id, key_pattern: str, role: str) -> Request[Guard]:
        """(Admin) Guard the keys `key_pattern` covers (e.g. 'color/{scope}'): writes to
        them need a live exclusive claim of `role` for the scope; GuardOverlaps if an
        existing guard covers some of the same keys."""
        body = {"key_pattern": key_pattern, "role": role}
        return Request("POST", f"/v1/boards/{_seg(board_id)}/guards", _one(Guard), json=body)

    @endpoint
    def list_guards(board_id: Id) -> Request[list[Guard]]:
        """The board's guards, oldest first."""
        path = f"/v1/boards/{_seg(board_id)}/guards"
        return Request("GET", path, _items(Guard), retry=True)

    @endpoint
    def delete_guard(guard_id: Id) -> Request[Guard]:
        """(Admin) Remove a guard; returns it."""
        return Request("DELETE", f"/v1/guards/{_seg(guard_id)}", _one(Guard))

    @endpoint
    def abstain(
        board_id: Id,
        reason: str,
        *,
        scope: str | None = None,
        role: str | None = None,
        confidence: float | None = None,
    ) -> Request[AbstentionRecord]:
        """Record that you decline a scope or role, and why."""
        body = _json(reason=reason, scope=scope, role=role, confidence=confidence)
        path = f"/v1/boards/{_seg(board_id)}/abstentions"
        return Request("POST", path, _one(AbstentionRecord), json=body)

    @endpoint
    def list_abstentions(
        board_id: Id,
        *,
        agent: Id | None = None,
        role: str | None = None,
        task: Id | None = None,
        after: int | None = None,
        limit: int | None = None,
    ) -> Request[AbstentionPage]:
        """Abstentions in seq order, with counts per agent and per role."""
        params = _query(
            agent=None if agent is None else str(agent),
            role=role,
            task=None if task is None else str(task),
            after=after,
            limit=limit,
        )
        path = f"/v1/boards/{_seg(board_id)}/abstentions"
        return Request("GET", path, _one(AbstentionPage), params=params, retry=True)
