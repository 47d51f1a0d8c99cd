"""The blocking `Client` over real HTTP (the `live_server`), run in a worker thread so the
server keeps serving on the test's event loop: the same methods as `AsyncClient`."""

import asyncio
import time
import uuid
from typing import Any

import pytest

from agents.client import (
    ArtifactDraft,
    Client,
    LeaseLost,
    NotFound,
    RoleTaken,
    Unauthenticated,
    ValidationFailed,
    VersionConflict,
)
from artifacts import Finding
from tests.support.api import ADMIN_TOKEN


def _registry_and_artifacts(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as admin:
        assert admin.health().status == "ok"
        created = admin.register_agent("sync-agent", ["research"])
        assert [a.name for a in admin.list_agents()] == ["sync-agent"]
        board = admin.create_board("sync", mission="blocking calls")
        assert admin.get_board(board.id).mission == "blocking calls"
        assert [b.name for b in admin.list_boards(limit=5)] == ["sync"]
        schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
        assert admin.put_type("counter", schema).version == 1
        assert admin.get_type("counter").versions == [1]
        assert admin.get_type_version("counter", 1).schema_ == schema
        assert "counter" in {t.name for t in admin.list_types()}

        with Client(url, created.token) as agent:
            assert agent.me().id == created.id
            v1 = agent.publish(board.id, "finding", Finding(claim="a"), key="k/1")
            v2 = agent.publish(board.id, "finding", {"claim": "b"}, key="k/1", expected_version=1)
            with pytest.raises(VersionConflict) as conflict:
                agent.publish(board.id, "finding", {"claim": "c"}, key="k/1", expected_version=1)
            assert conflict.value.current_version == 2
            with pytest.raises(ValidationFailed) as invalid:
                agent.publish(board.id, "finding", {"claim": ""})
            assert [e["path"] for e in invalid.value.errors] == ["/body/claim"]
            batch = agent.publish_batch(
                board.id,
                [ArtifactDraft(type="counter", body={"n": 1}, parents=[v2.id], tags=["t"])],
            )
            assert batch[0].parents == [v2.id]
            assert [a.version for a in agent.history(board.id, "k/1")] == [1, 2]
            assert agent.get_artifact(board.id, v1.id).body["claim"] == "a"
            assert agent.list_artifacts(board.id, tag="t").items == batch
            assert len(agent.lineage(board.id, batch[0].id).edges) == 1
            assert agent.retract(board.id, batch[0].id, "wrong").retracted is not None
            page = agent.read_events(board.id, after=0, kinds=["artifact.retracted"], wait=5)
            assert [e.subject_id for e in page.items] == [batch[0].id]
            with pytest.raises(NotFound):
                agent.get_artifact(board.id, uuid.uuid4())
        with Client(url, "bbagent_nobody") as nobody, pytest.raises(Unauthenticated):
            nobody.me()


def _ledger_tasks_and_turns(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as admin:
        board = admin.create_board("ledger")
        one = Client(url, admin.register_agent("one", ["x"]).token)
        two = Client(url, admin.register_agent("two").token)
        with one, two:
            claim = one.claim_role(board.id, "critic", ttl_s=30)
            with pytest.raises(RoleTaken):
                two.claim_role(board.id, "critic")
            assert one.renew_claim(claim.id).status == "active"
            assert two.get_claim(claim.id).agent_id == claim.agent_id
            assert [c.id for c in two.list_claims(board.id, active=True)] == [claim.id]
            assert one.release_claim(claim.id).status == "released"
            two.abstain(board.id, "not mine", scope="s")
            assert two.list_abstentions(board.id).counts.by_agent == {str(two.me().id): 1}

            task = admin.post_task(board.id, "x-work", required_capabilities=["x"])
            assert two.claim_task(board.id) is None
            assert one.claim_task(board.id, lease_s=30) is not None
            one.heartbeat(task.id)
            done = one.complete_task(task.id, ArtifactDraft(type="finding", body={"claim": "done"}))
            assert done.task.status == "completed"
            with pytest.raises(LeaseLost):
                one.heartbeat(task.id)
            assert one.get_task(task.id).result_id == done.artifact.id
            retry = admin.post_task(board.id, "again")
            two.claim_task(board.id)
            assert two.fail_task(retry.id, "later", retry_after_s=0).status == "open"
            two.claim_task(board.id)
            assert two.abstain_task(retry.id, "no").status == "open"
            assert len(admin.list_tasks(board.id)) == 2

            run = admin.start_run(board.id, "solo", [one.me().id], "Say it", rounds=2)
            turns = one.my_turns(wait=10)
            assert one.get_turn(turns[0].id).run_id == run.id
            one.complete_turn(
                turns[0].id, "speaker", [{"type": "finding", "body": {"claim": "hi"}}]
            )
            nxt = one.my_turns(wait=10)
            while not nxt:
                nxt = one.my_turns(wait=10)
            assert one.abstain_turn(nxt[0].id, "done").status == "abstained"
            assert admin.get_run(run.id).run.id == run.id
            assert len(admin.run_calls(run.id)) == 2
            assert [r.id for r in admin.list_runs(board.id)] == [run.id]


async def test_sync_client_registry_and_artifacts(live_server: Any) -> None:
    await asyncio.to_thread(_registry_and_artifacts, live_server.url)


async def test_sync_client_ledger_tasks_and_turns(live_server: Any) -> None:
    await asyncio.to_thread(_ledger_tasks_and_turns, live_server.url)


def _holding_a_role(url: str) -> None:
    with Client(url, ADMIN_TOKEN) as admin:
        board = admin.create_board("sync-hold")
        admin.create_guard(board.id, "color/{scope}", "node")
        first, second = (admin.register_agent(f"sync-{i}-{uuid.uuid4().hex[:6]}") for i in (1, 2))
        with Client(url, first.token) as one, Client(url, second.token) as two:
            lost: list[Any] = []
            with one.hold_role(board.id, "node", "3", ttl_s=0.6, on_lost=lost.append) as hold:
                hold.publish("finding", {"claim": "red"}, key="color/3")
                time.sleep(0.8)  # renewed in the background meanwhile
                assert not hold.lost.is_set()
                with pytest.raises(RoleTaken):
                    two.claim_role(board.id, "node", scope="3")
            assert admin.get_claim(hold.claim_id).status == "released"
            with two.hold_role(board.id, "node", "3", wait_s=5) as heir:
                assert heir.fencing_token > hold.fencing_token
                with pytest.raises(LeaseLost):  # the old hold fences itself off
                    hold.publish("finding", {"claim": "late"}, key="color/3")
            assert lost == []  # released by leaving the block, not lost
        assert [a.body for a in admin.history(board.id, "color/3")] == [{"claim": "red"}]


async def test_sync_client_holds_a_role_in_a_block(live_server: Any) -> None:
    await asyncio.to_thread(_holding_a_role, live_server.url)
