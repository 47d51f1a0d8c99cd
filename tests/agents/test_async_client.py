"""`AsyncClient` against the real app in-process (httpx.ASGITransport): every endpoint
method at least once, and the typed errors."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest

from agents.client import (
    AsyncClient,
    Forbidden,
    IdempotencyKeyReused,
    IncompatibleSchema,
    LeaseLost,
    NotFound,
    PayloadTooLarge,
    RoleTaken,
    SchemaViolation,
    StaleClaim,
    Task,
    Unauthenticated,
    UnknownType,
    ValidationFailed,
    VersionConflict,
)
from artifacts import Finding
from tests.support.clients import MakeClient

NewAgent = Callable[..., Awaitable[AsyncClient]]


async def test_health_agents_boards_and_types(admin: AsyncClient, new_agent: NewAgent) -> None:
    assert (await admin.health()).status == "ok"
    created = await admin.register_agent("researcher-1", ["research"], description="reads")
    assert created.token and created.capabilities == ["research"]
    assert "researcher-1" in [a.name for a in await admin.list_agents(limit=10)]
    assert await admin.list_agents(after="researcher-1") == []
    agent = await new_agent("writer")
    assert (await agent.me()).name == "writer"

    board = await admin.create_board("boiling-points", mission="Check the handbook")
    assert board.mission == "Check the handbook"
    assert [b.id for b in await agent.list_boards()] == [board.id]
    assert (await agent.get_board(str(board.id))).name == "boiling-points"

    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    first = await admin.put_type("counter", schema, description="a number")
    again = await admin.put_type("counter", schema)
    assert first.version == again.version == 1 and first.schema_ == schema
    assert "counter" in {t.name for t in await agent.list_types()}
    detail = await agent.get_type("counter")
    assert detail.latest.version == 1 and detail.versions == [1]
    assert (await agent.get_type_version("finding", 1)).name == "finding"
    assert detail.compatibility == "backward"
    stricter = {**schema, "properties": {"n": {"type": "integer", "minimum": 0}}}
    with pytest.raises(IncompatibleSchema) as refused:
        await admin.put_type("counter", stricter)
    assert [r["path"] for r in refused.value.reasons] == ["/properties/n/minimum"]
    verdict = await admin.check_type("counter", stricter)
    assert not verdict.compatible and verdict.checked == 0
    forced = await admin.put_type("counter", stricter, compatibility="none")
    assert (forced.version, forced.overrode, forced.registered_by) == (2, "backward", "operator")


async def test_artifacts_publish_list_history_lineage_retract(
    admin: AsyncClient, new_agent: NewAgent
) -> None:
    board = await admin.create_board("artifacts")
    agent = await new_agent()
    me = await agent.me()
    v1 = await agent.publish(
        board.id, "finding", Finding(claim="water boils at 100 C"), key="finding/water"
    )
    await agent.claim_role(board.id, "researcher")  # a version names only a role held
    v2 = await agent.publish(
        board.id,
        "finding",
        {"claim": "water boils at 100 C at sea level", "confidence": 0.9},
        key="finding/water",
        expected_version=1,
        role="researcher",
        tags=["physics"],
    )
    assert (v1.version, v2.version) == (1, 2) and v2.author_id == me.id
    critique = await agent.publish(
        board.id,
        "critique",
        {"target": "finding/water", "verdict": "accept", "reasons": ["fine"]},
        parents=[v2.id],
    )
    batch = await agent.publish_batch(
        board.id,
        [
            {"type": "finding", "body": {"claim": "ice melts at 0 C"}, "tags": ["physics"]},
            {"type": "finding", "body": Finding(claim="salt lowers it")},
        ],
    )
    assert [a.type for a in batch] == ["finding", "finding"]

    latest = await agent.list_artifacts(board.id, type="finding")
    assert {a.key for a in latest.items} == {"finding/water", batch[0].key, batch[1].key}
    assert latest.next_after == latest.items[-1].seq
    every = await agent.list_artifacts(board.id, key="finding/water", latest=False)
    assert [a.version for a in every.items] == [1, 2]
    mine = await agent.list_artifacts(board.id, author=me.id, role="researcher", tag="physics")
    assert [a.id for a in mine.items] == [v2.id]
    then = await agent.list_artifacts(board.id, as_of=v1.seq)
    assert [a.id for a in then.items] == [v1.id]
    page = await agent.list_artifacts(board.id, after=v1.seq, limit=1)
    assert len(page.items) == 1 and page.items[0].seq > v1.seq

    assert (await agent.get_artifact(board.id, v2.id)).body["confidence"] == 0.9
    assert [a.version for a in await agent.history(board.id, "finding/water")] == [1, 2]
    up = await agent.lineage(board.id, critique.id, direction="up", depth=2)
    assert {n.id for n in up.nodes} >= {v2.id} and up.edges[0].parent == v2.id
    down = await agent.lineage(board.id, v2.id, direction="down")
    assert critique.id in {n.id for n in down.nodes}

    retracted = await agent.retract(board.id, v2.id, "overstated")
    assert retracted.retracted is not None and retracted.retracted.reason == "overstated"
    current = await agent.list_artifacts(board.id, key="finding/water")
    assert [a.version for a in current.items] == [1]


async def test_events_read_and_long_poll(admin: AsyncClient, new_agent: NewAgent) -> None:
    board = await admin.create_board("events")
    agent = await new_agent()
    await agent.publish(board.id, "finding", {"claim": "a"})
    page = await agent.read_events(board.id, after=0, kinds=["artifact.published"])
    assert [e.kind for e in page.items] == ["artifact.published"]
    empty = await agent.read_events(board.id, after=page.next_after, types=["plan"], limit=5)
    assert empty.items == []

    async def publish_later() -> None:
        await asyncio.sleep(0.3)
        await agent.publish(board.id, "finding", {"claim": "b"})

    waited, _ = await asyncio.gather(
        agent.read_events(board.id, after=page.next_after, wait=10), publish_later()
    )
    assert [e.seq for e in waited.items] == [page.next_after + 1]


async def test_claims_and_abstentions(admin: AsyncClient, new_agent: NewAgent) -> None:
    board = await admin.create_board("claims")
    critic, rival = await new_agent(), await new_agent()
    claim = await critic.claim_role(
        board.id, "critic", scope="finding/water", ttl_s=30, rationale="I review", confidence=0.8
    )
    assert claim.status == "active" and claim.fencing_token >= 1
    with pytest.raises(RoleTaken) as taken:
        await rival.claim_role(board.id, "critic", scope="finding/water")
    assert taken.value.status == 409 and taken.value.error == "RoleTaken"
    renewed = await critic.renew_claim(claim.id, ttl_s=120)
    assert renewed.expires_at > claim.expires_at
    assert (await rival.get_claim(claim.id)).role == "critic"
    me = await critic.me()
    listed = await rival.list_claims(board.id, active=True, role="critic", agent=me.id, limit=5)
    assert [c.id for c in listed] == [claim.id]
    released = await critic.release_claim(claim.id)
    assert released.status == "released"
    with pytest.raises(LeaseLost):
        await critic.release_claim(claim.id)
    with pytest.raises(StaleClaim):
        await critic.publish(board.id, "finding", {"claim": "late"}, claim_id=claim.id)

    abstention = await rival.abstain(board.id, "not my field", role="critic", confidence=0.9)
    assert abstention.reason == "not my field"
    page = await critic.list_abstentions(board.id, role="critic", after=0, limit=10)
    assert [a.id for a in page.items] == [abstention.id]
    assert page.counts.by_role == {"critic": 1}
    by_agent = await critic.list_abstentions(board.id, agent=abstention.agent_id)
    assert len(by_agent.items) == 1


async def test_tasks(admin: AsyncClient, new_agent: NewAgent) -> None:
    board = await admin.create_board("tasks")
    worker, other = await new_agent(capabilities=["research"]), await new_agent()
    posted = await admin.post_task(
        board.id,
        "Find the boiling point",
        spec={"liquid": "water"},
        wants_type="finding",
        required_capabilities=["research"],
        max_attempts=2,
    )
    assert posted.status == "open"
    assert await other.claim_task(board.id) is None  # lacks the capability
    leased = await worker.claim_task(board.id, lease_s=30)
    assert isinstance(leased, Task) and leased.id == posted.id and leased.status == "leased"
    assert (await worker.heartbeat(posted.id, lease_s=60)).holder_id == leased.holder_id
    done = await worker.complete_task(posted.id, {"type": "finding", "body": {"claim": "100 C"}})
    assert done.task.status == "completed" and done.task.result_id == done.artifact.id
    fetched = await other.get_task(posted.id)
    assert fetched.attempts is not None and fetched.attempts[0].outcome == "completed"
    assert [t.id for t in await other.list_tasks(board.id, status="completed")] == [posted.id]

    second = await admin.post_task(board.id, "Try again", max_attempts=1)
    assert (await other.claim_task(board.id)) is not None
    assert (await other.fail_task(second.id, "no luck", retry=False)).status == "failed"
    third = await admin.post_task(board.id, "Decline me")
    await other.claim_task(board.id)
    declined = await other.abstain_task(third.id, "outside my competence", confidence=0.7)
    assert declined.status == "open" and declined.holder_id is None
    assert len(await other.list_tasks(board.id, limit=10)) == 3
    with pytest.raises(LeaseLost):
        await other.heartbeat(third.id)


async def test_runs_and_turns(admin: AsyncClient, new_agent: NewAgent) -> None:
    board = await admin.create_board("runs")
    agent = await new_agent()
    me = await agent.me()
    run = await admin.start_run(
        board.id, "solo", [me.id], "Boil water", rounds=2, turn_timeout_s=30, max_turns=5
    )
    assert run.protocol == "solo" and run.roster == [me.id]
    turns = await agent.my_turns(wait=10)
    assert len(turns) == 1 and turns[0].run_id == run.id
    assert (await agent.get_turn(turns[0].id)).status == "offered"
    done = await agent.complete_turn(
        turns[0].id,
        "researcher",
        [{"type": "finding", "body": {"claim": "100 C"}}],
        rationale="I know this",
        confidence=0.9,
    )
    assert done.turn.status == "completed" and len(done.artifacts) == 1
    nxt = await agent.my_turns(wait=10)
    while not nxt:
        nxt = await agent.my_turns(wait=10)
    declined = await agent.abstain_turn(nxt[0].id, "nothing to add", confidence=0.5)
    assert declined.status == "abstained"

    detail = await admin.get_run(run.id)
    for _ in range(200):
        if detail.run.status in ("completed", "stopped"):
            break
        await asyncio.sleep(0.05)
        detail = await admin.get_run(run.id)
    assert {t.status for t in detail.turns} == {"completed", "abstained"}
    calls = await admin.run_calls(run.id)
    assert [c.status for c in calls] == ["completed", "abstained"]
    assert [r.id for r in await admin.list_runs(board.id, limit=5)] == [run.id]

    metrics = await admin.run_metrics(run.id)
    assert metrics["summary"]["turns"]["completed"] == 1
    assert metrics["summary"]["roles"] == {"researcher": 1}
    (compared,) = await admin.compare_runs([run.id])
    assert compared == metrics["summary"] | {"wall_time_s": compared["wall_time_s"]}
    roles = await agent.board_metrics(board.id, "roles", window_s=3600)
    assert roles["totals"] == {"researcher": 1} and roles["window_s"] == 3600
    whole = await agent.board_metrics(board.id, since=run.created_at)
    assert whole["abstentions"]["total"] == 1 and whole["roles"] == roles | {
        "window_s": whole["roles"]["window_s"],
        "windows": whole["roles"]["windows"],
    }
    with pytest.raises(ValidationFailed):
        await agent.board_metrics(board.id, window_s=0)


async def test_errors_are_typed(
    admin: AsyncClient, new_agent: NewAgent, make_client: MakeClient
) -> None:
    board = await admin.create_board("errors")
    agent = await new_agent()
    with pytest.raises(NotFound) as missing:
        await agent.get_board(uuid.uuid4())
    assert missing.value.status == 404 and missing.value.detail

    await agent.publish(board.id, "finding", {"claim": "x"}, key="k")
    with pytest.raises(VersionConflict) as conflict:
        await agent.publish(board.id, "finding", {"claim": "y"}, key="k", expected_version=3)
    assert conflict.value.current_version == 1 and conflict.value.status == 409

    with pytest.raises(ValidationFailed) as invalid:
        await agent.publish(board.id, "finding", {"claim": 42, "confidence": 7})
    assert isinstance(invalid.value, SchemaViolation) and invalid.value.status == 422
    assert {"/body/claim", "/body/confidence"} <= {e["path"] for e in invalid.value.errors}
    with pytest.raises(ValidationFailed) as shape:
        await agent.claim_role(board.id, "critic", ttl_s=-1)
    assert [e["path"] for e in shape.value.errors] == ["/ttl_s"]
    with pytest.raises(UnknownType):
        await agent.publish(board.id, "no-such-type", {"a": 1})

    with pytest.raises(Unauthenticated) as unauthenticated:
        await make_client("bbagent_wrong").me()
    assert unauthenticated.value.status == 401
    with pytest.raises(Unauthenticated):
        await make_client(None).list_boards()
    with pytest.raises(Forbidden):
        await agent.create_board("not mine")

    await agent.publish(board.id, "finding", {"claim": "once"}, idempotency_key="same")
    with pytest.raises(IdempotencyKeyReused):
        await agent.publish(board.id, "finding", {"claim": "twice"}, idempotency_key="same")
    with pytest.raises(PayloadTooLarge) as large:
        await agent.publish(board.id, "finding", {"claim": "x" * 300_000})
    assert large.value.status == 413


async def test_webhooks_deliver_signed_events_the_sdk_can_verify(
    admin: AsyncClient, new_agent: NewAgent
) -> None:
    from agents.client import verify_signature
    from tests.support.webhooks import Receiver, until

    receiver = Receiver()
    try:
        agent, other = await new_agent(), await new_agent()
        board = await admin.create_board(f"hooks-{uuid.uuid4().hex[:6]}")
        hook = await agent.register_webhook(board.id, receiver.url, types=["finding"])
        assert hook.secret and hook.types == ["finding"] and hook.active
        published = await agent.publish(board.id, "finding", {"claim": "delivered"})
        await until(lambda: len(receiver.requests) == 1)
        request = receiver.requests[0]
        signature = request["headers"]["Blackboard-Signature"]
        assert verify_signature(hook.secret, request["body"], signature)
        assert not verify_signature("whsec_wrong", request["body"], signature)
        assert not verify_signature(hook.secret, request["body"] + b" ", signature)
        stamp = int(signature.split(",")[0].removeprefix("t="))
        assert not verify_signature(hook.secret, request["body"], signature, now=stamp + 301)
        assert [w.id for w in await agent.list_webhooks(board.id)] == [hook.id]
        assert await other.list_webhooks(board.id) == []
        for _ in range(300):  # recorded once the receiver's answer is in
            deliveries = await agent.webhook_deliveries(hook.id)
            if deliveries:
                break
            await asyncio.sleep(0.05)
        [delivery] = deliveries
        assert (delivery.seq, delivery.outcome) == (published.seq, "delivered")
        with pytest.raises(Forbidden):
            await other.remove_webhook(hook.id)
        await agent.remove_webhook(hook.id)
        assert (await admin.get_webhook(hook.id)).active is False
    finally:
        receiver.server.shutdown()


async def test_cancel_task(admin: AsyncClient, new_agent: NewAgent) -> None:
    board = await admin.create_board("cancels")
    poster, other = await new_agent(), await new_agent()
    posted = await poster.post_task(board.id, "Not needed after all")
    with pytest.raises(Forbidden):
        await other.cancel_task(posted.id)
    assert (await poster.cancel_task(posted.id)).status == "cancelled"
    assert await other.claim_task(board.id) is None
    assert [t.id for t in await poster.list_tasks(board.id, status="cancelled")] == [posted.id]
