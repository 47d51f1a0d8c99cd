"""Holding a role through the SDK: claim (waiting out a holder), renew quietly, lose it."""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from agents.client import AsyncClient, Claim, ClaimRequired, LeaseLost, RoleTaken

NewAgent = Callable[..., Awaitable[AsyncClient]]


async def test_a_held_role_writes_its_guarded_key_and_renews_without_events(
    admin: AsyncClient, new_agent: NewAgent
) -> None:
    board = await admin.create_board("hold")
    guard = await admin.create_guard(board.id, "color/{scope}", "node")
    assert [g.id for g in await admin.list_guards(board.id)] == [guard.id]
    agent = await new_agent()
    with pytest.raises(ClaimRequired):
        await agent.publish(board.id, "finding", {"claim": "red"}, key="color/7")
    async with agent.hold_role(board.id, "node", "7", ttl_s=0.6) as hold:
        written = await hold.publish("finding", {"claim": "red"}, key="color/7")
        assert written.claim_id is not None and str(written.claim_id) == hold.claim_id
        assert written.fencing_token == hold.fencing_token and written.role == "node"
        before = (await admin.read_events(board.id)).items
        await asyncio.sleep(0.8)  # a few renewals
        after = (await admin.read_events(board.id)).items
        assert after == before and not hold.lost.is_set()
        renewed = await admin.get_claim(hold.claim_id)
        assert renewed.renewals >= 2 and renewed.status == "active"
    released = await admin.get_claim(hold.claim_id)
    assert released.status == "released"
    # events about the key, with its body, for a follower of that key only
    page = await admin.read_events(board.id, keys=["color/7"], include_body=True)
    assert [e.data["body"] for e in page.items] == [{"claim": "red"}]
    current = await admin.list_artifacts(board.id, key=["color/7", "color/8"])
    assert [a.key for a in current.items] == ["color/7"]


async def test_a_second_holder_waits_out_the_lease_and_the_first_learns_it_lost(
    admin: AsyncClient, new_agent: NewAgent
) -> None:
    board = await admin.create_board("handover")
    await admin.create_guard(board.id, "color/{scope}", "node")
    first, second = await new_agent(), await new_agent()
    lost: list[Claim] = []
    hold = first.hold_role(board.id, "node", "7", ttl_s=0.5, on_lost=lost.append)
    await hold.__aenter__()
    with pytest.raises(RoleTaken):  # it gives up when told not to wait that long
        async with second.hold_role(board.id, "node", "7", wait_s=0.05):
            pass
    assert hold._renewer is not None
    hold._renewer.cancel()  # the holder stalls: its lease runs out
    async with second.hold_role(board.id, "node", "7", ttl_s=5, wait_s=5) as heir:
        assert heir.fencing_token > hold.fencing_token
        await heir.publish("finding", {"claim": "blue"}, key="color/7")
        with pytest.raises(LeaseLost):
            await hold.publish("finding", {"claim": "red"}, key="color/7")
        assert hold.lost.is_set() and [c.id for c in lost] == [hold.claim.id]
        with pytest.raises(LeaseLost):  # and again, without asking the service
            await hold.publish("finding", {"claim": "red"}, key="color/7")
    await hold.__aexit__(None, None, None)
    history = await admin.history(board.id, "color/7")
    assert [a.body for a in history] == [{"claim": "blue"}]
