"""Metrics fixtures: a finished run whose turns were taken as scripted here."""

from typing import Any

import httpx
import pytest

from tests.support.api import Actors
from tests.support.runs import finished, start
from tests.support.turns import FINDING, abstain, complete


@pytest.fixture
async def run(client: httpx.AsyncClient, actors: Actors) -> dict[str, Any]:
    """Two sequential rounds of ann, bob, cat: cat abstains, bob builds on ann's finding,
    ann turns critic in round two, and bob repeats ann's finding word for word — which the
    controller's repeat guard answers by stopping the run before cat's second turn."""
    board = await actors.board()
    ann, bob, cat = [await actors.agent(n) for n in ("ann", "bob", "cat")]
    run = await start(
        client, board, protocol="sequential", roster=[x["id"] for x in (ann, bob, cat)], rounds=2
    )
    first = await complete(client, ann, "planner", FINDING)
    parent = first["artifacts"][0]["id"]
    critique = {"target": "plan", "verdict": "revise", "issues": ["beta"]}
    await complete(
        client, bob, "critic", {"type": "critique", "body": critique, "parents": [parent]}
    )
    await abstain(client, cat)
    await complete(
        client, ann, "critic", {"type": "critique", "body": {"target": "x", "verdict": "accept"}}
    )
    await complete(client, bob, "critic", FINDING)
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "stopped", detail["run"]
    return {"run": run, "detail": detail, "ann": ann, "bob": bob, "cat": cat}
