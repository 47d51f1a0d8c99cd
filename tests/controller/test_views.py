"""Views against a real board: each selector, latest-only, retractions, field projection,
the token budget and lineage decide exactly which versions a step is shown, and the
manifest counts the rest as hidden, by type."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from blackboard.controller.views import View, build_bundle
from blackboard.records import Run
from blackboard.store.database import Database
from tests.support.api import ADMIN, Actors

HEADER = {"goal": {"title": "Boil water"}, "phase": "act"}


class Board:
    """A board with a run's worth of artifacts, and one artifact outside the run."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        board: dict[str, Any],
        run: Run,
        alice: dict[str, Any],
        bob: dict[str, Any],
    ) -> None:
        self.client, self.board, self.run = client, board, run
        self.alice, self.bob = alice, bob
        self.tag = f"run:{run.id}"
        self.ids: dict[str, str] = {}

    async def publish(
        self, name: str, author: dict[str, Any], *, in_run: bool = True, **draft: Any
    ) -> str:
        draft["tags"] = [self.tag, *draft.get("tags", [])] if in_run else draft.get("tags", [])
        if "role" in draft:  # a version may name only a role its author holds
            claimed = await self.client.post(
                f"/v1/boards/{self.board['id']}/claims",
                json={"role": draft["role"], "exclusive": False},
                headers=author["headers"],
            )
            assert claimed.status_code == 201, claimed.text
        r = await self.client.post(
            f"/v1/boards/{self.board['id']}/artifacts", json=draft, headers=author["headers"]
        )
        assert r.status_code == 201, r.text
        self.ids[name] = r.json()["id"]
        return self.ids[name]


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=2)
    await db.open()
    yield db
    await db.close()


@pytest.fixture
async def board(client: httpx.AsyncClient, actors: Actors) -> Board:
    alice, bob = await actors.agent("alice"), await actors.agent("bob")
    created = await actors.board()
    run = Run(
        id=uuid4(),
        board_id=created["id"],
        protocol="sequential",
        roster=[alice["id"], bob["id"]],
        params={},
        status="running",
        turns_used=0,
        tokens_used=0,
        created_at=datetime.now(UTC),
    )
    b = Board(client, created, run, alice, bob)
    finding: dict[str, Any] = {"type": "finding", "key": "f", "role": "researcher"}
    for name, claim, confidence in [("f1", "at 90 C", 0.4), ("f2", "at 100 C", 0.9)]:
        body = {"claim": f"water boils {claim}", "confidence": confidence}
        await b.publish(name, alice, **finding, body=body)
    plan = {"summary": "heat it", "steps": [{"description": "light the stove"}]}
    await b.publish("p", bob, type="plan", key="p", role="planner", tags=["draft"], body=plan)
    await b.publish("c", bob, type="critique", key="c", body={"target": "f", "verdict": "reject"})
    r = await client.post(
        f"/v1/boards/{created['id']}/artifacts/{b.ids['c']}/retract",
        json={"reason": "wrong target"},
        headers=bob["headers"],
    )
    assert r.status_code == 200, r.text
    proposal = {"title": "kettle", "content": "use the kettle"}
    await b.publish("x", alice, type="proposal", key="x", parents=[b.ids["p"]], body=proposal)
    await b.publish("u", bob, in_run=False, type="finding", key="u", body={"claim": "unrelated"})
    return b


async def shown(
    database: Database, board: Board, view: View, **kw: Any
) -> tuple[list[str], dict[str, Any], list[dict[str, Any]]]:
    """The names of the versions the view shows (in bundle order), the manifest, entries."""
    async with database.connection() as conn:
        bundle, manifest = await build_bundle(conn, run=board.run, view=view, header=HEADER, **kw)
    names = {v: k for k, v in board.ids.items()}
    entries = bundle["artifacts"]
    assert manifest["shown"] == [
        {"id": e["id"], "type": e["type"], "key": e["key"], "version": e["version"]}
        for e in entries
    ]
    assert manifest["hidden_total"] == sum(manifest["hidden"].values())
    return [names[e["id"]] for e in entries], manifest, entries


async def test_a_run_view_shows_each_key_s_newest_live_version_oldest_first(
    database: Database, board: Board
) -> None:
    names, manifest, entries = await shown(database, board, View(scope="run"))
    # f1 is superseded, c retracted, u not of this run
    assert names == ["f2", "p", "x"]
    assert manifest["hidden"] == {}
    f2 = entries[0]
    assert list(f2) == ["id", "type", "key", "version", "author_id", "role", "body"]
    assert f2 == {
        "id": board.ids["f2"],
        "type": "finding",
        "key": "f",
        "version": 2,
        "author_id": board.alice["id"],
        "role": "researcher",
        "body": {"claim": "water boils at 100 C", "confidence": 0.9},
    }

    names, manifest, _ = await shown(database, board, View(scope="run", latest_only=False))
    assert names == ["f1", "f2", "p", "x"]
    assert manifest["hidden"] == {"critique": 1}  # the retracted version


async def test_each_selector_narrows_what_a_step_sees_and_the_rest_counts_as_hidden(
    database: Database, board: Board
) -> None:
    bob = board.bob
    cases: list[tuple[dict[str, Any], list[str], dict[str, int]]] = [
        ({"types": ["plan", "proposal"]}, ["p", "x"], {"finding": 1}),
        ({"keys": ["f"]}, ["f2"], {"plan": 1, "proposal": 1}),
        ({"authors": [UUID(bob["id"])]}, ["p"], {"finding": 1, "proposal": 1}),
        ({"roles": ["planner", "researcher"]}, ["f2", "p"], {"proposal": 1}),
        ({"tags": ["draft"]}, ["p"], {"finding": 1, "proposal": 1}),
    ]
    for selectors, expected, hidden in cases:
        names, manifest, _ = await shown(database, board, View(scope="run", **selectors))
        assert (names, manifest["hidden"]) == (expected, hidden), selectors


async def test_fields_cut_bodies_and_the_budget_cuts_the_oldest_first(
    database: Database, board: Board
) -> None:
    names, _, entries = await shown(
        database, board, View(scope="run", fields={"finding": ["claim"]})
    )
    assert entries[0]["body"] == {"claim": "water boils at 100 C"}
    assert entries[1]["body"]["steps"] == [{"description": "light the stove"}]  # not a finding

    _, full, _ = await shown(database, board, View(scope="run"))
    budget = full["token_estimate"] - 10  # a little less than all three need
    names, manifest, _ = await shown(database, board, View(scope="run", token_budget=budget))
    assert names == ["p", "x"]
    assert manifest["hidden"] == {"finding": 1}


async def test_lineage_and_only_ids_limit_a_step_to_those_versions(
    database: Database, board: Board
) -> None:
    x, f2 = UUID(board.ids["x"]), UUID(board.ids["f2"])
    names, _, _ = await shown(
        database, board, View(scope="run", lineage_of_inputs=True), inputs=[x]
    )
    assert names == ["p", "x"]  # the input and its parent
    names, manifest, _ = await shown(database, board, View(scope="run"), only_ids=[f2])
    assert names == ["f2"]
    assert manifest["hidden"] == {"plan": 1, "proposal": 1}


async def test_a_board_view_shows_the_current_version_of_every_key(
    database: Database, board: Board, client: httpx.AsyncClient
) -> None:
    names, manifest, _ = await shown(database, board, View(scope="board"))
    assert sorted(names) == ["f2", "p", "u", "x"]
    assert names[-1] == "u"  # the most recently changed key comes last (oldest first)
    r = await client.get(
        f"/v1/boards/{board.board['id']}/artifacts",
        params={"latest": "true", "limit": 100},
        headers=ADMIN,
    )
    assert sorted(a["key"] for a in r.json()["items"]) == ["f", "p", "u", "x"]
    assert manifest["hidden"] == {}
