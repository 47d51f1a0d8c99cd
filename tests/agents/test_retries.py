"""Retries: a publish resent after a lost answer or a 5xx carries the same Idempotency-Key
and is written once; a request that is not safe to resend is never resent."""

import uuid

import httpx
import pytest

from agents.client import AsyncClient, ServerError, TransportError
from tests.support.api import ADMIN_TOKEN
from tests.support.clients import MakeClient


class LoseAnswers(httpx.AsyncBaseTransport):
    """Sends each request on, but loses the answer of the first `lose` requests to a path
    ending in `suffix` (the service did the work; the client sees a broken connection) and
    answers the next `unavailable` ones with a 503 without sending them on."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, suffix: str, lose: int = 1, unavailable: int = 0
    ) -> None:
        self.inner, self.suffix = inner, suffix
        self.lose, self.unavailable = lose, unavailable
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith(self.suffix):
            return await self.inner.handle_async_request(request)
        self.seen.append(request)
        if self.unavailable:
            self.unavailable -= 1
            return httpx.Response(503, json={"error": "Unavailable", "detail": "try later"})
        response = await self.inner.handle_async_request(request)
        if self.lose:
            self.lose -= 1
            await response.aread()
            raise httpx.ReadError("connection reset after the service answered")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def agent_token(admin: AsyncClient) -> str:
    return (await admin.register_agent(f"agent-{uuid.uuid4().hex[:8]}")).token


async def test_a_publish_whose_answer_was_lost_is_resent_with_the_same_key_and_written_once(
    admin: AsyncClient, make_client: MakeClient
) -> None:
    board = await admin.create_board("retries")
    wrappers: list[LoseAnswers] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        wrappers.append(LoseAnswers(inner, "/artifacts", lose=1, unavailable=1))
        return wrappers[0]

    agent = make_client(await agent_token(admin), wrap=wrap)
    artifact = await agent.publish(board.id, "finding", {"claim": "once"})
    sent = wrappers[0].seen
    assert len(sent) == 3  # 503, lost answer, replayed answer
    keys = {r.headers["Idempotency-Key"] for r in sent}
    assert len(keys) == 1 and uuid.UUID(keys.pop())
    page = await admin.list_artifacts(board.id, latest=False)
    assert [a.id for a in page.items] == [artifact.id]


async def test_a_batch_is_retried_the_same_way(admin: AsyncClient, make_client: MakeClient) -> None:
    board = await admin.create_board("retries-2")
    batch = make_client(
        await agent_token(admin), wrap=lambda inner: LoseAnswers(inner, "/artifacts/batch")
    )
    items = await batch.publish_batch(
        board.id, [{"type": "finding", "body": {"claim": str(n)}} for n in range(3)]
    )
    assert len((await admin.list_artifacts(board.id)).items) == len(items) == 3


async def test_a_task_completion_whose_answer_was_lost_is_replayed(
    admin: AsyncClient, make_client: MakeClient
) -> None:
    board = await admin.create_board("retries-3")
    task = await admin.post_task(board.id, "do it")
    finisher = make_client(
        await agent_token(admin), wrap=lambda inner: LoseAnswers(inner, "/complete")
    )
    assert await finisher.claim_task(board.id) is not None
    try:
        done = await finisher.complete_task(task.id, {"type": "finding", "body": {"claim": "ok"}})
    finally:  # whatever the answer, the result was written once
        assert len((await admin.list_artifacts(board.id)).items) == 1
        assert (await admin.get_task(task.id)).status == "completed"
    assert done.task.status == "completed"


async def test_requests_that_are_not_safe_to_resend_fail_at_once(
    admin: AsyncClient, make_client: MakeClient
) -> None:
    board = await admin.create_board("no-retries")
    wrapper: list[LoseAnswers] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        wrapper.append(LoseAnswers(inner, "/claims", lose=1))
        return wrapper[0]

    agent = make_client(await agent_token(admin), wrap=wrap)
    with pytest.raises(TransportError):
        await agent.claim_role(board.id, "critic")
    assert len(wrapper[0].seen) == 1
    assert len(await admin.list_claims(board.id)) == 1  # done once, answer lost


async def test_retries_give_up_with_the_last_error(
    admin: AsyncClient, make_client: MakeClient
) -> None:
    board = await admin.create_board("give-up")
    token = await agent_token(admin)
    down = make_client(
        token, retries=2, wrap=lambda inner: LoseAnswers(inner, "/artifacts", 0, unavailable=9)
    )
    with pytest.raises(ServerError) as unavailable:
        await down.publish(board.id, "finding", {"claim": "never"})
    assert unavailable.value.status == 503 and unavailable.value.error == "Unavailable"
    broken = make_client(
        token, retries=1, wrap=lambda inner: LoseAnswers(inner, "/artifacts", lose=9)
    )
    with pytest.raises(TransportError):
        await broken.publish(board.id, "finding", {"claim": "lost"}, idempotency_key="k-1")
    # both attempts reached the service and it wrote the artifact once
    assert len((await admin.list_artifacts(board.id)).items) == 1


async def test_nothing_listening_is_a_transport_error() -> None:
    closed = AsyncClient("http://127.0.0.1:9", ADMIN_TOKEN, retries=1, timeout=2)
    try:
        with pytest.raises(TransportError):
            await closed.health()
    finally:
        await closed.aclose()
