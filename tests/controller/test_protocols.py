"""The built-in protocols end to end, against the real app and database: who acts when,
what each step is shown (and what is hidden from it), what every call records, and how
runs end (completed, stalled, out of budget) — with scripted model agents and external
agents that take their turns over HTTP."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest

from api import create_app
from blackboard.config import Settings
from blackboard.controller.driver import Controller
from blackboard.controller.views import estimate_tokens
from blackboard.store import runs as run_store
from tests.support.api import ADMIN, Actors
from tests.support.runs import finished, offered, population, scripted, start

OUTCOMES = {
    "completed": "acted",
    "abstained": "abstained",
    "timed_out": "timed_out",
    "invalid": "invalid",
}
"""Turn status → the outcome its manifest records."""


async def calls_of(client: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/runs/{run_id}/calls", headers=ADMIN)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def artifact(client: httpx.AsyncClient, board_id: str, artifact_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/boards/{board_id}/artifacts/{artifact_id}", headers=ADMIN)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def publish(
    client: httpx.AsyncClient, board_id: str, author: dict[str, Any], type_: str, body: Any
) -> dict[str, Any]:
    r = await client.post(
        f"/v1/boards/{board_id}/artifacts",
        json={"type": type_, "body": body},
        headers=author["headers"],
    )
    assert r.status_code == 201, r.text
    published: dict[str, Any] = r.json()
    return published


def shown_ids(turn: dict[str, Any]) -> list[str]:
    return [a["id"] for a in turn["bundle"]["artifacts"]]


def sent_text(call: dict[str, Any]) -> str:
    """Everything a model was sent (all attempts) and answered, as one string."""
    return json.dumps(call["call"].get("messages", [])) + json.dumps(
        call["call"].get("raw_outputs", [])
    )


async def check_calls(
    client: httpx.AsyncClient, detail: dict[str, Any], models: dict[str, str]
) -> list[dict[str, Any]]:
    """Every call's manifest is complete and matches what the turn was shown.

    `models`: agent id → model spec, for the model-backed agents of the run.
    """
    calls = await calls_of(client, detail["run"]["id"])
    turns = {t["id"]: t for t in detail["turns"]}
    assert [c["turn_id"] for c in calls] == [t["id"] for t in detail["turns"]]
    for c in calls:
        turn, manifest = turns[c["turn_id"]], c["manifest"]
        bundle = turn["bundle"]
        assert c["manifest"] == turn["manifest"]
        # what the manifest says was shown is exactly what the bundle carried
        assert manifest["shown"] == [
            {"id": a["id"], "type": a["type"], "key": a["key"], "version": a["version"]}
            for a in bundle["artifacts"]
        ]
        assert all(isinstance(n, int) and n > 0 for n in manifest["hidden"].values())
        assert manifest["hidden_total"] == sum(manifest["hidden"].values())
        assert manifest["token_estimate"] == estimate_tokens(bundle) > 0
        assert manifest["outcome"] == OUTCOMES[c["status"]], c
        if c["status"] == "completed":
            assert manifest["role"] == c["role"] == turn["role"]
        if c["agent_id"] in models:
            assert c["model"] == models[c["agent_id"]]
            assert c["latency_ms"] is not None and c["latency_ms"] >= 0
            assert c["tokens_in"] > 0 and c["tokens_out"] > 0
            sent = c["call"]["messages"]
            # the model was sent the instructions and this bundle, nothing else
            assert [m["role"] for m in sent[:2]] == ["system", "user"]
            assert json.loads(sent[1]["content"]) == bundle
        else:
            assert c["model"] is None and c["call"] == {}
    return calls


def models_of(*agents: dict[str, Any]) -> dict[str, str]:
    return {a["id"]: a["model"] for a in agents if a.get("model")}


# --- the protocols ----------------------------------------------------------------------


async def test_coordinator_assigns_workers_see_only_their_assignment_then_synthesis(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    boss = await scripted(actors, "boss", ["synthesis"])
    researcher = await scripted(actors, "worker-researcher", ["research"])
    planner = await scripted(actors, "worker-planner", ["planner"])
    roster = [boss, researcher, planner]
    run = await start(client, board, protocol="coordinator", roster=[a["id"] for a in roster])
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    assert detail["run"]["stop_reason"] == "assigned, executed, synthesised"
    turns = detail["turns"]
    assert [(t["phase"], t["agent_id"]) for t in turns] == [
        ("assign", boss["id"]),
        ("execute", researcher["id"]),
        ("execute", planner["id"]),
        ("synthesize", boss["id"]),
    ]
    assert all(t["status"] == "completed" for t in turns), [t["reason"] for t in turns]

    # the coordinator saw the roster of workers and published the assignments
    assert [m["id"] for m in turns[0]["bundle"]["roster"]] == [researcher["id"], planner["id"]]
    (plan_id,) = turns[0]["artifact_ids"]
    plan = await artifact(client, board["id"], plan_id)
    assert plan["type"] == "plan" and plan["role"] == "coordinator"
    assignments = plan["body"]["assignments"]
    assert set(assignments) == {researcher["id"], planner["id"]}

    calls = await check_calls(client, detail, models_of(*roster))
    for worker, turn, call, other in [
        (researcher, turns[1], calls[1], planner),
        (planner, turns[2], calls[2], researcher),
    ]:
        bundle = turn["bundle"]
        # only the goal and its own assignment: no artifacts, no roster, nobody else's task
        assert bundle["goal"] == {"title": "Boil water"}
        assert bundle["assignment"] == assignments[worker["id"]]
        assert bundle["artifacts"] == [] and turn["manifest"]["shown"] == []
        assert "roster" not in bundle
        assert assignments[other["id"]] not in json.dumps(bundle)
        assert assignments[other["id"]] not in sent_text(call)
        assert plan_id not in json.dumps(bundle) and plan_id not in sent_text(call)
    # the plan was hidden from the first worker; the plan and the finding from the second
    assert turns[1]["manifest"]["hidden"] == {"plan": 1}
    assert turns[2]["manifest"]["hidden"] == {"plan": 1, "finding": 1}

    # each worker did its own assignment
    finding = await artifact(client, board["id"], turns[1]["artifact_ids"][0])
    work_plan = await artifact(client, board["id"], turns[2]["artifact_ids"][0])
    assert (finding["type"], finding["role"]) == ("finding", "researcher")
    assert (work_plan["type"], work_plan["role"]) == ("plan", "planner")

    # the synthesis saw the workers' outputs and built on them
    synth = turns[3]
    assert {finding["id"], work_plan["id"]} <= set(shown_ids(synth))
    (result_id,) = synth["artifact_ids"]
    result = await artifact(client, board["id"], result_id)
    assert result["type"] == "result" and result["body"]["status"] == "succeeded"
    assert {finding["id"], work_plan["id"]} <= set(result["parents"])
    assert finding["body"]["claim"] in result["body"]["content"]


async def test_broadcast_intentions_first_then_actions_that_see_all_intentions(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    roster = [
        await scripted(actors, "b-planner", ["planner"]),
        await scripted(actors, "b-researcher", ["research"]),
        await scripted(actors, "b-synthesiser", ["synthesis"]),
    ]
    run = await start(client, board, protocol="broadcast", roster=[a["id"] for a in roster])
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    turns = detail["turns"]
    ids = [a["id"] for a in roster]
    assert [t["phase"] for t in turns] == ["intent"] * 3 + ["act"] * 3
    assert [t["agent_id"] for t in turns] == ids + ids
    intents, acts = turns[:3], turns[3:]

    intentions = []
    for turn, role in zip(intents, ["planner", "researcher", "synthesiser"], strict=True):
        assert turn["status"] == "completed" and turn["role"] == role
        # an intention is made blind to the others': the intent view shows goals only
        assert turn["bundle"]["artifacts"] == []
        (proposal_id,) = turn["artifact_ids"]
        proposal = await artifact(client, board["id"], proposal_id)
        assert proposal["type"] == "proposal"
        assert proposal["body"]["title"] == f"I will act as {role}"
        intentions.append(proposal_id)

    # the actions are offered only once every intention is in, and each sees them all
    last_intent = max(datetime.fromisoformat(t["completed_at"]) for t in intents)
    assert all(datetime.fromisoformat(t["created_at"]) >= last_intent for t in acts)
    for turn in acts:
        assert set(intentions) <= set(shown_ids(turn))
    assert acts[0]["status"] == "completed" and acts[0]["role"] == "planner"
    await check_calls(client, detail, models_of(*roster))


async def test_shared_shows_the_whole_board_including_work_from_outside_the_run(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    outsider = await actors.agent("outsider")
    claim = "Water boils at 100 C at sea level"
    before = await publish(
        client, board["id"], outsider, "finding", {"claim": claim, "confidence": 0.9}
    )
    critic = await scripted(actors, "s-critic", ["critique"])
    synthesiser = await scripted(actors, "s-synthesiser", ["synthesis"])
    run = await start(client, board, protocol="shared", roster=[critic["id"], synthesiser["id"]])
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    turns = detail["turns"]
    assert [t["agent_id"] for t in turns] == [critic["id"], synthesiser["id"]]
    assert all(t["phase"] == "act" and t["round"] == 1 for t in turns)
    assert all(t["status"] == "completed" for t in turns), [t["reason"] for t in turns]
    for turn in turns:
        assert turn["manifest"]["view"]["scope"] == "board"
        assert before["id"] in shown_ids(turn)
    # both built on the finding that was on the board before the run began
    critic_turn, synth_turn = turns
    critique = await artifact(client, board["id"], critic_turn["artifact_ids"][0])
    newest = [a for a in critic_turn["bundle"]["artifacts"] if a["type"] != "critique"][-1]
    assert critique["type"] == "critique" and critique["body"]["target"] == newest["id"]
    result = await artifact(client, board["id"], synth_turn["artifact_ids"][0])
    assert result["type"] == "result" and before["id"] in result["parents"]
    assert claim in result["body"]["content"]
    await check_calls(client, detail, models_of(critic, synthesiser))


async def test_solo_one_agent_takes_every_turn_and_sees_only_this_run(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    outsider = await actors.agent("outsider")
    before = await publish(
        client, board["id"], outsider, "finding", {"claim": "Not part of this run"}
    )
    solo = await scripted(actors, "solo", ["planner", "research", "critique"])
    bystander = await scripted(actors, "bystander", ["planner"])
    run = await start(
        client, board, protocol="solo", roster=[solo["id"], bystander["id"]], rounds=3
    )
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    assert detail["run"]["stop_reason"] == "completed 3 round(s)"
    turns = detail["turns"]
    assert [t["round"] for t in turns] == [1, 2, 3]
    assert all(t["agent_id"] == solo["id"] for t in turns)
    assert [t["role"] for t in turns] == ["planner", "researcher", "critic"]
    # each round builds on the rounds before it, and on nothing outside the run
    published: list[str] = []
    for turn in turns:
        assert shown_ids(turn) == published
        assert turn["manifest"]["hidden"] == {}
        assert before["id"] not in json.dumps(turn["bundle"])
        published += [str(a) for a in turn["artifact_ids"]]
    await check_calls(client, detail, models_of(solo))


# --- external agents in the roster -------------------------------------------------------


async def test_mixed_roster_external_agent_takes_its_turn_over_http(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    planner = await scripted(actors, "m-planner", ["planner"])
    human = await actors.agent("human-researcher", ["research"])
    synthesiser = await scripted(actors, "m-synthesiser", ["synthesis"])
    roster = [planner, human, synthesiser]
    run = await start(client, board, protocol="sequential", roster=[a["id"] for a in roster])

    turn = await offered(client, human)
    assert turn["run_id"] == run["id"] and turn["step"] == 2
    bundle = turn["bundle"]
    assert bundle["you"]["id"] == human["id"] and bundle["goal"] == {"title": "Boil water"}
    (plan,) = bundle["artifacts"]  # the predecessor's plan, and nothing else
    assert plan["type"] == "plan" and plan["author_id"] == planner["id"]
    claim = "Water boils at 100 C at sea level"
    r = await client.post(
        f"/v1/turns/{turn['id']}/complete",
        json={
            "role": "researcher",
            "rationale": "I looked it up",
            "artifacts": [
                {
                    "type": "finding",
                    "body": {"claim": claim, "evidence": ["a kettle"], "confidence": 0.9},
                    "parents": [plan["id"]],
                }
            ],
        },
        headers=human["headers"],
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["turn"]["status"] == "completed"

    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    turns = detail["turns"]
    assert [t["status"] for t in turns] == ["completed"] * 3
    mine = turns[1]
    assert mine["id"] == turn["id"] and mine["role"] == "researcher"
    assert mine["rationale"] == "I looked it up" and mine["claim_id"]
    # the finding was published under the turn's role claim (fenced), as the human
    (finding_id,) = mine["artifact_ids"]
    finding = await artifact(client, board["id"], finding_id)
    assert finding["claim_id"] == mine["claim_id"]
    assert finding["role"] == "researcher" and finding["author_id"] == human["id"]
    assert finding["parents"] == [plan["id"]] and f"run:{run['id']}" in finding["tags"]
    (held,) = [c for c in detail["claims"] if c["id"] == mine["claim_id"]]
    assert (held["agent_id"], held["role"]) == (human["id"], "researcher")
    # the model that came next built on the external agent's finding
    assert finding_id in shown_ids(turns[2])
    result = await artifact(client, board["id"], turns[2]["artifact_ids"][0])
    assert claim in result["body"]["content"] and finding_id in result["parents"]
    await check_calls(client, detail, models_of(planner, synthesiser))


async def test_an_external_agent_that_never_answers_times_out_and_the_run_moves_on(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    planner = await scripted(actors, "t-planner", ["planner"])
    silent = await actors.agent("silent", ["research"])
    synthesiser = await scripted(actors, "t-synthesiser", ["synthesis"])
    roster = [planner, silent, synthesiser]
    run = await start(
        client,
        board,
        protocol="sequential",
        roster=[a["id"] for a in roster],
        turn_timeout_s=0.5,
    )
    detail = await finished(client, run["id"], within_s=10)
    assert detail["run"]["status"] == "completed", detail["run"]
    turns = detail["turns"]
    assert [t["status"] for t in turns] == ["completed", "timed_out", "completed"]
    late = turns[1]
    assert late["agent_id"] == silent["id"] and late["artifact_ids"] == []
    assert late["reason"] == "no answer by the deadline"
    # the next agent was offered its turn only after the deadline had passed
    assert datetime.fromisoformat(turns[2]["created_at"]) >= datetime.fromisoformat(
        late["deadline"]
    )
    await check_calls(client, detail, models_of(planner, synthesiser))
    # too late: nothing is offered any more, and answering now is refused
    r = await client.get("/v1/agents/me/turns", headers=silent["headers"])
    assert r.json()["items"] == []
    r = await client.post(
        f"/v1/turns/{late['id']}/complete",
        json={"role": "researcher", "artifacts": [{"type": "finding", "body": {"claim": "x"}}]},
        headers=silent["headers"],
    )
    assert r.status_code == 409 and r.json()["error"] == "LeaseLost", r.text
    r = await client.get(
        f"/v1/boards/{board['id']}/artifacts", params={"author": silent["id"]}, headers=ADMIN
    )
    assert r.json()["items"] == []


async def test_an_external_abstention_and_the_run_events_in_order(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    human = await actors.agent("human-abstainer")
    planner = await scripted(actors, "e-planner", ["planner"])
    run = await start(client, board, protocol="sequential", roster=[human["id"], planner["id"]])

    turn = await offered(client, human)
    r = await client.post(
        f"/v1/turns/{turn['id']}/abstain",
        json={"reason": "planning is not my thing"},
        headers=human["headers"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "abstained"

    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    turns = detail["turns"]
    assert [t["status"] for t in turns] == ["abstained", "completed"]
    assert turns[0]["reason"] == "planning is not my thing"
    (abstention,) = detail["abstentions"]
    assert abstention["agent_id"] == human["id"]
    assert abstention["reason"] == "planning is not my thing"
    await check_calls(client, detail, models_of(planner))

    r = await client.get(f"/v1/boards/{board['id']}/events", params={"limit": 1000}, headers=ADMIN)
    assert r.status_code == 200, r.text
    events = [e for e in r.json()["items"] if e["kind"].split(".")[0] in ("run", "turn")]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert [(e["kind"], e["data"].get("agent_id")) for e in events] == [
        ("run.created", None),
        ("run.started", None),
        ("turn.offered", human["id"]),
        ("turn.abstained", human["id"]),
        ("turn.offered", planner["id"]),
        ("turn.completed", planner["id"]),
        ("run.completed", None),
    ]
    assert [e["subject_id"] for e in events[2:6]] == [
        turns[0]["id"],
        turns[0]["id"],
        turns[1]["id"],
        turns[1]["id"],
    ]
    assert all(e["subject_id"] == run["id"] for e in events[:2] + events[-1:])
    assert events[3]["data"]["reason"] == "planning is not my thing"
    assert events[5]["data"]["role"] == "planner"
    assert events[5]["data"]["artifact_ids"] == turns[1]["artifact_ids"]
    assert events[-1]["data"]["turns"] == 2


# --- information hiding ------------------------------------------------------------------


async def test_a_view_that_excludes_a_type_hides_it_from_every_bundle_and_every_model(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    outsider = await actors.agent("outsider")
    marker = f"SECRET-{uuid4()}"
    secret = await publish(
        client, board["id"], outsider, "finding", {"claim": f"The answer is {marker}"}
    )
    roster = [
        await scripted(actors, "h-planner", ["planner"]),
        await scripted(actors, "h-researcher", ["research"]),
        await scripted(actors, "h-critic", ["critique"]),
    ]
    run = await start(
        client,
        board,
        protocol="sequential",
        roster=[a["id"] for a in roster],
        view={"scope": "board", "types": ["plan"]},
    )
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    turns = detail["turns"]
    assert [t["status"] for t in turns] == ["completed"] * 3
    (plan_id,) = turns[0]["artifact_ids"]
    (finding_id,) = turns[1]["artifact_ids"]  # made in the run, but not a plan either

    calls = await check_calls(client, detail, models_of(*roster))
    for turn, call in zip(turns, calls, strict=True):
        assert turn["manifest"]["view"]["types"] == ["plan"]
        assert {a["type"] for a in turn["bundle"]["artifacts"]} <= {"plan"}
        for hidden in (marker, secret["id"]):
            assert hidden not in json.dumps(turn["bundle"])
            assert hidden not in sent_text(call)
    assert finding_id not in json.dumps(turns[2]["bundle"]) + sent_text(calls[2])
    # hidden, and counted as hidden by type
    assert [t["manifest"]["hidden"] for t in turns] == [
        {"finding": 1},
        {"finding": 1},
        {"finding": 2},
    ]
    assert shown_ids(turns[1]) == shown_ids(turns[2]) == [plan_id]
    # what the critic could see is what it reviewed
    critique = await artifact(client, board["id"], turns[2]["artifact_ids"][0])
    assert critique["body"]["target"] == plan_id


# --- invalid output, stalls and budgets ---------------------------------------------------


async def test_invalid_output_gets_one_repair_and_otherwise_is_recorded_as_invalid(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    shaky = await scripted(actors, "shaky-planner", ["planner"], invalid_first="true")
    broken = await scripted(actors, "broken-researcher", ["research"], always_invalid="true")
    critic = await scripted(actors, "i-critic", ["critique"])
    roster = [shaky, broken, critic]
    run = await start(client, board, protocol="sequential", roster=[a["id"] for a in roster])
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "completed", detail["run"]
    turns = detail["turns"]
    assert [t["status"] for t in turns] == ["completed", "invalid", "completed"]
    calls = await check_calls(client, detail, models_of(*roster))

    repaired = calls[0]["call"]
    assert repaired["repaired"] is True and repaired["outcome"] == "acted"
    assert [m["role"] for m in repaired["messages"]] == ["system", "user", "assistant", "user"]
    assert len(repaired["raw_outputs"]) == 2 and repaired["errors"]
    assert turns[0]["role"] == "planner" and len(turns[0]["artifact_ids"]) == 1

    invalid = turns[1]
    assert invalid["artifact_ids"] == [] and invalid["role"] is None and invalid["reason"]
    bad = calls[1]["call"]
    assert bad["repaired"] is False and bad["outcome"] == "invalid"
    assert len(bad["raw_outputs"]) == 2 and len(bad["messages"]) == 4
    assert invalid["reason"] == "; ".join(bad["errors"])
    r = await client.get(
        f"/v1/boards/{board['id']}/artifacts", params={"author": broken["id"]}, headers=ADMIN
    )
    assert r.json()["items"] == []
    # the run went on: the critic saw the repaired plan and reviewed it
    assert shown_ids(turns[2]) == [str(a) for a in turns[0]["artifact_ids"]]
    assert detail["run"]["turns_used"] == 3


@pytest.mark.parametrize("protocol", ["sequential", "shared", "broadcast"])
async def test_a_round_where_everyone_abstains_stops_the_run_as_stalled(
    client: httpx.AsyncClient, actors: Actors, protocol: str
) -> None:
    board = await actors.board()
    roster = [await scripted(actors, f"idler-{c}", [c]) for c in ("juggling", "knitting")]
    run = await start(client, board, protocol=protocol, roster=[a["id"] for a in roster], rounds=3)
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "stopped"
    assert detail["run"]["stop_reason"] == "stalled: every agent abstained in round 1"
    acts = [t for t in detail["turns"] if t["phase"] == "act"]
    assert len(acts) == 2 and all(t["status"] == "abstained" for t in acts)
    # each says why: none of its capabilities applies
    assert [c in t["reason"] for t, c in zip(acts, ("juggling", "knitting"), strict=True)] == [
        True,
        True,
    ]
    assert all(t["round"] == 1 for t in detail["turns"])  # no second round was started
    assert len(detail["abstentions"]) == 2
    await check_calls(client, detail, models_of(*roster))


async def test_a_turn_budget_stops_the_run_after_exactly_that_many_turns(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = await population(actors)
    run = await start(
        client, board, protocol="sequential", roster=[a["id"] for a in agents], max_turns=2
    )
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "stopped"
    assert "turn budget" in detail["run"]["stop_reason"]
    assert "2" in detail["run"]["stop_reason"]
    assert len(detail["turns"]) == 2 and detail["run"]["turns_used"] == 2
    assert [t["agent_id"] for t in detail["turns"]] == [a["id"] for a in agents[:2]]
    r = await client.get(
        f"/v1/boards/{board['id']}/events", params={"kind": "run.stopped"}, headers=ADMIN
    )
    (stopped,) = r.json()["items"]
    assert stopped["data"]["reason"] == detail["run"]["stop_reason"]


async def test_a_token_budget_stops_the_run_once_it_is_spent(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    agents = await population(actors)
    run = await start(
        client, board, protocol="sequential", roster=[a["id"] for a in agents], max_tokens=1
    )
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "stopped"
    assert "token budget" in detail["run"]["stop_reason"]
    assert len(detail["turns"]) == 1 and detail["run"]["tokens_used"] > 1
    call = (await calls_of(client, run["id"]))[0]
    assert detail["run"]["tokens_used"] == call["tokens_in"] + call["tokens_out"]


async def test_a_turn_budget_holds_for_turns_offered_at_once(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    roster = [
        await scripted(actors, "p-planner", ["planner"]),
        await scripted(actors, "p-researcher", ["research"]),
        await scripted(actors, "p-critic", ["critique"]),
    ]
    run = await start(
        client, board, protocol="shared", roster=[a["id"] for a in roster], rounds=3, max_turns=4
    )
    detail = await finished(client, run["id"])
    assert detail["run"]["status"] == "stopped"
    assert detail["run"]["stop_reason"] == "turn budget of 4 used up"
    assert len(detail["turns"]) == 4 and detail["run"]["turns_used"] == 4
    assert [t["round"] for t in detail["turns"]] == [1, 1, 1, 2]


# --- concurrency: turns offered at once ---------------------------------------------------


async def test_a_run_ends_only_once_every_turn_offered_at_once_has_closed(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board()
    # two planners publish the very same plan at once (a repeat), while a third agent's
    # turn is still open
    twins = [await scripted(actors, f"twin-{i}", ["planner"]) for i in range(2)]
    slow = await actors.agent("slow")
    run = await start(
        client,
        board,
        protocol="shared",
        roster=[*(a["id"] for a in twins), slow["id"]],
        turn_timeout_s=1,
    )
    detail = await finished(client, run["id"], within_s=10)
    assert detail["run"]["status"] == "stopped"
    assert detail["run"]["stop_reason"].startswith("repeat:")
    statuses = {t["agent_id"]: t["status"] for t in detail["turns"]}
    assert statuses[slow["id"]] == "timed_out", statuses  # not left open by a finished run
    r = await client.get("/v1/agents/me/turns", headers=slow["headers"])
    assert r.json()["items"] == []
    r = await client.get(f"/v1/boards/{board['id']}/events", params={"limit": 1000}, headers=ADMIN)
    kinds = [e["kind"] for e in r.json()["items"] if e["kind"].startswith(("run.", "turn."))]
    assert kinds[-1] == "run.stopped"  # no turn event after the run ended


async def test_parallel_turns_closing_invalid_and_valid_at_once_do_not_break_the_run(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    broken = [
        await scripted(actors, f"broken-{i}", ["planner"], always_invalid="true") for i in range(4)
    ]
    working = [
        await scripted(actors, f"working-{cap}", [cap])
        for cap in ("planner", "research", "critique", "synthesis")
    ]
    roster = [a["id"] for pair in zip(broken, working, strict=True) for a in pair]
    for _ in range(4):
        board = await actors.board()
        run = await start(client, board, protocol="shared", roster=roster)
        detail = await finished(client, run["id"], within_s=10)
        assert detail["run"]["status"] == "completed", detail["run"]["stop_reason"]
        assert detail["run"]["lease_token"] == 1  # driven once, by one controller
        statuses = [t["status"] for t in detail["turns"]]
        assert sorted(statuses[0::2]) == ["invalid"] * 4, statuses
        assert detail["run"]["turns_used"] == 8


# --- a controller that dies mid-run -------------------------------------------------------


@pytest.fixture
async def bare_app(settings: Settings) -> AsyncIterator[Any]:
    """The app with no controller of its own: the test runs controllers itself."""
    app = create_app(settings.model_copy(update={"controller_in_process": False}))
    async with app.router.lifespan_context(app):
        yield app


async def test_a_controller_whose_run_was_taken_over_writes_no_turn_and_no_artifact(
    bare_app: Any,
) -> None:
    """A model is called while its turn's offer is written; if the run was taken over in
    the meantime, the offer is refused and the model's answer is thrown away."""
    transport = httpx.ASGITransport(app=bare_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as client:
        actors = Actors(client)
        board = await actors.board()
        planner = await scripted(actors, "t-planner", ["planner"])
        run = await start(client, board, protocol="solo", roster=[planner["id"]])
        db = bare_app.state.services.database
        stale = Controller(db, bare_app.state.services.schemas)
        async with db.connection() as conn:
            taken = await run_store.take_drivable(conn, controller=stale.name, lease_s=0.05)
            assert taken is not None and str(taken.id) == run["id"]
            await asyncio.sleep(0.1)  # its lease runs out before it starts driving
            newer = await run_store.take_drivable(conn, controller="newer", lease_s=60)
            assert newer is not None and newer.lease_token > taken.lease_token

        await stale.drive(taken)

        detail = (await client.get(f"/v1/runs/{run['id']}", headers=ADMIN)).json()
        assert detail["turns"] == []
        assert detail["run"]["controller"] == "newer" and detail["run"]["status"] == "running"
        r = await client.get(f"/v1/boards/{board['id']}/artifacts", headers=ADMIN)
        assert r.json()["items"] == []


async def test_a_run_resumed_after_its_controller_died_does_not_redo_parallel_turns(
    bare_app: Any,
) -> None:
    transport = httpx.ASGITransport(app=bare_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as client:
        actors = Actors(client)
        board = await actors.board()
        planner = await scripted(actors, "r-planner", ["planner"])
        human = await actors.agent("r-human", ["research"])
        run = await start(client, board, protocol="broadcast", roster=[planner["id"], human["id"]])

        def controller() -> Controller:
            return Controller(
                bare_app.state.services.database, bare_app.state.services.schemas, lease_s=0.5
            )

        first = controller()
        looping = asyncio.create_task(first.run_forever())
        intent = await offered(client, human)
        assert intent["phase"] == "intent"
        for _ in range(200):  # the planner's intention is in
            detail = (await client.get(f"/v1/runs/{run['id']}", headers=ADMIN)).json()
            if detail["turns"][0]["status"] != "offered":
                break
            await asyncio.sleep(0.02)
        assert [t["status"] for t in detail["turns"]] == ["completed", "offered"]
        planner_intent = detail["turns"][0]
        # the controller dies with the human's turn open
        driving = [looping, *first.active.values()]
        assert len(driving) == 2
        for task in driving:
            task.cancel()
        await asyncio.gather(*driving, return_exceptions=True)

        r = await client.post(
            f"/v1/turns/{intent['id']}/complete",
            json={
                "role": "researcher",
                "artifacts": [
                    {
                        "type": "proposal",
                        "body": {"title": "I will act as researcher", "content": "Look it up"},
                    }
                ],
            },
            headers=human["headers"],
        )
        assert r.status_code == 200, r.text

        second = controller()
        resuming = asyncio.create_task(second.run_forever())
        try:
            act = await offered(client, human)
            assert act["phase"] == "act" and act["step"] == 4
            r = await client.post(
                f"/v1/turns/{act['id']}/abstain",
                json={"reason": "the plan covers it"},
                headers=human["headers"],
            )
            assert r.status_code == 200, r.text
            detail = await finished(client, run["id"], within_s=10)
        finally:
            resuming.cancel()
            await asyncio.gather(resuming, *second.active.values(), return_exceptions=True)
        assert detail["run"]["status"] == "completed", detail["run"]["stop_reason"]
        assert detail["run"]["controller"] == second.name and detail["run"]["lease_token"] == 2
        turns = detail["turns"]
        assert [(t["step"], t["phase"], t["status"]) for t in turns] == [
            (1, "intent", "completed"),
            (2, "intent", "completed"),
            (3, "act", "completed"),
            (4, "act", "abstained"),
        ]
        # the planner's intention was not asked for again
        assert turns[0] == planner_intent
        proposals = (
            await client.get(
                f"/v1/boards/{board['id']}/artifacts",
                params={"type": "proposal", "author": planner["id"]},
                headers=ADMIN,
            )
        ).json()["items"]
        assert len(proposals) == 1
        assert detail["run"]["turns_used"] == 4
