"""Runs end to end: protocols driven by the in-process controller, with scripted models
and external agents over HTTP."""

import asyncio
from typing import Any

import httpx
import psycopg
import pytest

from blackboard.config import Settings
from tests.support.api import ADMIN, Actors, count_rows
from tests.support.runs import finished, offered, population, start


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"run_lease_s": 2.0})


async def test_sequential_run_with_scripted_agents(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = await population(actors)
    run = await start(client, board, protocol="sequential", roster=[a["id"] for a in agents])
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed"
    turns = detail["turns"]
    assert [t["step"] for t in turns] == list(range(1, 5))
    assert [t["agent_id"] for t in turns] == [a["id"] for a in agents]
    assert turns[0]["status"] == "completed" and turns[0]["role"] == "planner"
    # each agent saw what its predecessors in this run produced, not more
    seen_by_second = {s["id"] for s in turns[1]["manifest"]["shown"]}
    assert seen_by_second == {str(x) for x in turns[0]["artifact_ids"]}
    assert turns[0]["manifest"]["shown"] == []
    calls = (await client.get(f"/v1/runs/{run['id']}/calls", headers=ADMIN)).json()["items"]
    assert len(calls) == 4
    assert all(c["model"] and c["latency_ms"] is not None for c in calls)
    assert all(c["tokens_in"] and c["tokens_out"] for c in calls)
    assert {c["manifest"]["outcome"] for c in calls} <= {"acted", "abstained"}


async def test_eight_scripted_agents_finish_three_sequential_rounds(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = await population(actors) + await population(actors, "-2")
    run = await start(
        client, board, protocol="sequential", roster=[a["id"] for a in agents], rounds=3
    )
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]["stop_reason"]
    assert len(detail["turns"]) == 24
    assert {t["round"] for t in detail["turns"]} == {1, 2, 3}


async def test_publishing_the_same_content_again_stops_the_run_as_a_loop(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    looping = await actors.agent()
    run = await start(client, board, protocol="solo", roster=[looping["id"]], rounds=3)
    for _ in range(2):
        turn = await offered(client, looping)
        r = await client.post(
            f"/v1/turns/{turn['id']}/complete",
            json={"role": "parrot", "artifacts": [{"type": "finding", "body": {"claim": "same"}}]},
            headers=looping["headers"],
        )
        assert r.status_code == 200, r.text
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "stopped"
    assert detail["run"]["stop_reason"].startswith("repeat:")
    assert len(detail["turns"]) == 2


async def test_a_custom_program_registered_by_name_runs(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    # the README's example, verbatim in substance
    from blackboard.controller.program import Program, Stop, stalled
    from blackboard.controller.protocols import PROTOCOLS, register
    from blackboard.controller.views import View

    async def critics_last(p: Program) -> str:
        makers = [a for a in p.roster if "critique" not in a.capabilities]
        critics = [a for a in p.roster if "critique" in a.capabilities]
        made = await p.turns([(a, {"phase": "act", "round": 1}) for a in makers])
        if stalled(made):
            raise Stop("stalled: nobody produced anything to review")
        await p.turns(
            [
                (a, {"phase": "review", "round": 1, "view": p.view(types=["finding", "plan"])})
                for a in critics
            ]
        )
        return "made, then reviewed"

    register("critics-last", critics_last, default_view=View(scope="run"))
    try:
        board = await actors.board()
        agents = await population(actors)
        run = await start(client, board, protocol="critics-last", roster=[a["id"] for a in agents])
        detail = await finished(client, run["id"])
        assert detail["run"]["stop_reason"] == "made, then reviewed"
        review = [t for t in detail["turns"] if t["phase"] == "review"]
        assert len(review) == 1 and review[0]["status"] == "completed"
        assert {s["type"] for s in review[0]["manifest"]["shown"]} <= {"finding", "plan"}
    finally:
        PROTOCOLS.pop("critics-last", None)


async def test_unknown_protocol_or_roster_is_422_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    r = await client.post(
        f"/v1/boards/{board['id']}/runs",
        json={"protocol": "nope", "roster": [agent["id"]], "goal": "g"},
        headers=ADMIN,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "/protocol"
    r = await client.post(
        f"/v1/boards/{board['id']}/runs",
        json={"protocol": "solo", "roster": [board["id"]], "goal": "g"},
        headers=ADMIN,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "/roster/0"
    runs = (await client.get(f"/v1/boards/{board['id']}/runs", headers=ADMIN)).json()["items"]
    assert runs == []


async def test_an_agent_changing_roles_between_turns_is_recorded_as_a_role_flip(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    run = await start(client, board, protocol="solo", roster=[agent["id"]], rounds=3)
    for round_, role in enumerate(["researcher", "researcher", "critic"], 1):
        turn = await offered(client, agent)
        r = await client.post(
            f"/v1/turns/{turn['id']}/complete",
            json={
                "role": role,
                "artifacts": [{"type": "finding", "body": {"claim": f"c{round_}"}}],
            },
            headers=agent["headers"],
        )
        assert r.status_code == 200, r.text
    detail = await finished(client, run["id"])
    flips = [t["manifest"]["role_flip"] for t in detail["turns"]]
    assert flips == [None, None, {"from": "researcher", "to": "critic"}]
    events = (
        await client.get(
            f"/v1/boards/{board['id']}/events", params={"kind": "turn.completed"}, headers=ADMIN
        )
    ).json()["items"]
    assert [e["data"]["role_flip"] for e in events][-1] == {"from": "researcher", "to": "critic"}


async def test_what_answering_a_turn_returns_is_what_the_run_then_records(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    run = await start(client, board, protocol="solo", roster=[agent["id"]], rounds=2)
    first = await offered(client, agent)
    done = await client.post(
        f"/v1/turns/{first['id']}/complete",
        json={
            "role": "researcher",
            "rationale": "I read first",
            "artifacts": [{"type": "finding", "body": {"claim": "water boils at 100 C"}}],
        },
        headers=agent["headers"],
    )
    assert done.status_code == 200, done.text
    second = await offered(client, agent)
    declined = await client.post(
        f"/v1/turns/{second['id']}/abstain",
        json={"reason": "nothing to add"},
        headers=agent["headers"],
    )
    assert declined.status_code == 200, declined.text
    await finished(client, run["id"])
    for answered in (done.json()["turn"], declined.json()):
        stored = await client.get(f"/v1/turns/{answered['id']}", headers=ADMIN)
        assert stored.json() == answered
    assert done.json()["turn"]["manifest"]["outcome"] == "acted"
    assert declined.json()["manifest"]["outcome"] == "abstained"


async def test_a_turn_answer_logs_the_claim_the_artifacts_and_the_close_with_consecutive_seqs(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    await start(client, board, protocol="solo", roster=[agent["id"]], rounds=1)
    turn = await offered(client, agent)
    done = await client.post(
        f"/v1/turns/{turn['id']}/complete",
        json={
            "role": "researcher",
            "artifacts": [
                {"type": "finding", "body": {"claim": "one"}},
                {"type": "finding", "body": {"claim": "two"}},
            ],
        },
        headers=agent["headers"],
    )
    assert done.status_code == 200, done.text
    body = done.json()
    claim_id = body["turn"]["claim_id"]
    assert [a["claim_id"] for a in body["artifacts"]] == [claim_id, claim_id]
    assert [a["role"] for a in body["artifacts"]] == ["researcher", "researcher"]
    rows = db.execute(
        "SELECT seq, kind, subject_id::text FROM events WHERE kind <> 'turn.offered' "
        "AND seq > (SELECT seq FROM events WHERE kind = 'turn.offered') ORDER BY seq"
    ).fetchall()
    first = rows[0][0]
    assert rows[:4] == [
        (first, "role.claimed", claim_id),
        (first + 1, "artifact.published", body["artifacts"][0]["id"]),
        (first + 2, "artifact.published", body["artifacts"][1]["id"]),
        (first + 3, "turn.completed", turn["id"]),
    ]
    claimed = db.execute("SELECT role, scope, status FROM claims").fetchall()
    assert claimed == [("researcher", f"run:{turn['run_id']}:step:{turn['step']}", "active")]


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        ("complete", {"role": "late", "artifacts": [{"type": "finding", "body": {"claim": "x"}}]}),
        ("abstain", {"reason": "too late anyway"}),
    ],
)
async def test_a_turn_that_times_out_while_its_answer_waits_for_the_turn_writes_nothing(
    client: httpx.AsyncClient,
    actors: Actors,
    db: psycopg.Connection[Any],
    database_url: str,
    answer: str,
    body: dict[str, Any],
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    await start(client, board, protocol="solo", roster=[agent["id"]], turn_timeout_s=0.6)
    turn = await offered(client, agent)
    async with await psycopg.AsyncConnection.connect(database_url) as blocker:
        await blocker.execute("SELECT 1 FROM turns WHERE id = %s FOR UPDATE", (turn["id"],))
        late = asyncio.create_task(
            client.post(f"/v1/turns/{turn['id']}/{answer}", json=body, headers=agent["headers"])
        )
        await asyncio.sleep(1.0)  # the answer queues on the turn's row past its deadline
        assert not late.done()
        await blocker.commit()
        refused = await late
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "LeaseLost"
    assert refused.json()["status"] == "timed_out"
    for table in ("claims", "artifacts", "abstentions"):
        assert count_rows(db, table) == 0, table
    kinds = {k for (k,) in db.execute("SELECT kind FROM events").fetchall()}
    assert not kinds & {"role.claimed", "artifact.published", "turn.completed", "agent.abstained"}


async def test_a_turn_answer_with_a_bad_artifact_points_at_it_and_writes_nothing(
    client: httpx.AsyncClient, actors: Actors, db: psycopg.Connection[Any]
) -> None:
    board = await actors.board()
    agent = await actors.agent()
    taken = await client.post(
        f"/v1/boards/{board['id']}/artifacts",
        json={
            "type": "plan",
            "key": "the-plan",
            "body": {"summary": "s", "steps": [{"description": "d"}]},
        },
        headers=agent["headers"],
    )
    assert taken.status_code == 201, taken.text
    await start(client, board, protocol="solo", roster=[agent["id"]])
    turn = await offered(client, agent)
    before = count_rows(db, "events")
    for artifacts, path in [
        ([{"type": "finding", "body": {"confidence": 2}}], "/artifacts/0/body"),
        (
            [
                {"type": "finding", "body": {"claim": "fine"}},
                {"type": "finding", "key": "the-plan", "body": {"claim": "wrong key"}},
            ],
            "/artifacts/1/type",
        ),
    ]:
        r = await client.post(
            f"/v1/turns/{turn['id']}/complete",
            json={"role": "researcher", "artifacts": artifacts},
            headers=agent["headers"],
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["path"].startswith(path), r.json()
    assert count_rows(db, "events") == before
    assert count_rows(db, "claims") == 0
    assert (await client.get(f"/v1/turns/{turn['id']}", headers=ADMIN)).json()[
        "status"
    ] == "offered"
