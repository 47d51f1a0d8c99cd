"""The run endpoints, on both clients: protocol runs, the turns they offer agents, the
calls made in them, and the population metrics of boards and runs."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import httpx

from agents.client._artifacts import Draft, _draft
from agents.client._core import Id, Request, _ids, _items, _json, _one, _query, _seg, endpoint
from agents.client.models import Call, Run, RunDetail, Turn, TurnDone

MetricPart = Literal[
    "roles", "abstentions", "claims", "tasks", "interactions", "entropy", "duplicates"
]


def _json_object(response: httpx.Response) -> dict[str, Any]:
    # Metrics come back as plain JSON: their shapes are documented in the OpenAPI spec, and
    # mirroring every one of them here as a model would only drift.
    data: dict[str, Any] = response.json()
    return data


def _compared(response: httpx.Response) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = response.json()["runs"]
    return runs


class RunEndpoints:
    """Start, inspect, compare and measure runs; take or decline the turns offered to you."""

    @endpoint
    def start_run(
        board_id: Id,
        protocol: str,
        roster: Sequence[Id],
        goal: str,
        *,
        rounds: int | None = None,
        turn_timeout_s: float | None = None,
        max_turns: int | None = None,
        max_tokens: int | None = None,
        max_wall_s: float | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> Request[Run]:
        """Start a run of a protocol with a roster of agents; a controller picks it up."""
        body = _json(
            protocol=protocol,
            roster=_ids(roster),
            goal=goal,
            rounds=rounds,
            turn_timeout_s=turn_timeout_s,
            max_turns=max_turns,
            max_tokens=max_tokens,
            max_wall_s=max_wall_s,
            view=None if view is None else dict(view),
        )
        return Request("POST", f"/v1/boards/{_seg(board_id)}/runs", _one(Run), json=body)

    @endpoint
    def get_run(run_id: Id) -> Request[RunDetail]:
        """A run with its turns, and the claims and abstentions made in it."""
        return Request("GET", f"/v1/runs/{_seg(run_id)}", _one(RunDetail), retry=True)

    @endpoint
    def run_calls(run_id: Id) -> Request[list[Call]]:
        """Every call of a run: its context manifest, model, tokens, latency and outcome."""
        return Request("GET", f"/v1/runs/{_seg(run_id)}/calls", _items(Call), retry=True)

    @endpoint
    def board_metrics(
        board_id: Id,
        part: MetricPart | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        window_s: int | None = None,
    ) -> Request[dict[str, Any]]:
        """The board's population metrics (all, or one `part`) as the service's JSON."""
        path = f"/v1/boards/{_seg(board_id)}/metrics" + (f"/{part}" if part else "")
        params = _query(
            since=since.isoformat() if since else None,
            until=until.isoformat() if until else None,
            window_s=window_s,
        )
        return Request("GET", path, _json_object, params=params, retry=True)

    @endpoint
    def run_metrics(run_id: Id) -> Request[dict[str, Any]]:
        """A run's population metrics as the service's JSON."""
        return Request("GET", f"/v1/runs/{_seg(run_id)}/metrics", _json_object, retry=True)

    @endpoint
    def compare_runs(run_ids: Sequence[Id]) -> Request[list[dict[str, Any]]]:
        """Runs side by side (in the order given): one summary per run."""
        params = _query(run_id=_ids(run_ids))
        return Request("GET", "/v1/runs/compare", _compared, params=params, retry=True)

    @endpoint
    def list_runs(board_id: Id, *, limit: int | None = None) -> Request[list[Run]]:
        """The board's runs, newest first."""
        path = f"/v1/boards/{_seg(board_id)}/runs"
        return Request("GET", path, _items(Run), params=_query(limit=limit), retry=True)

    @endpoint
    def my_turns(*, wait: float | None = None) -> Request[list[Turn]]:
        """Turns offered to you, each with its context bundle; `wait` long-polls for one."""
        return Request(
            "GET",
            "/v1/agents/me/turns",
            _items(Turn),
            params=_query(wait=wait),
            retry=True,
            wait_s=wait or 0.0,
        )

    @endpoint
    def get_turn(turn_id: Id) -> Request[Turn]:
        """One turn offered to you (any turn, for the operator)."""
        return Request("GET", f"/v1/turns/{_seg(turn_id)}", _one(Turn), retry=True)

    @endpoint
    def complete_turn(
        turn_id: Id,
        role: str,
        artifacts: Sequence[Draft],
        *,
        rationale: str | None = None,
        confidence: float | None = None,
    ) -> Request[TurnDone]:
        """Take your turn: the role you claim and what you publish in it."""
        body = _json(
            role=role,
            artifacts=[_draft(a) for a in artifacts],
            rationale=rationale,
            confidence=confidence,
        )
        return Request("POST", f"/v1/turns/{_seg(turn_id)}/complete", _one(TurnDone), json=body)

    @endpoint
    def abstain_turn(turn_id: Id, reason: str, *, confidence: float | None = None) -> Request[Turn]:
        """Decline your turn, saying why."""
        body = _json(reason=reason, confidence=confidence)
        return Request("POST", f"/v1/turns/{_seg(turn_id)}/abstain", _one(Turn), json=body)
