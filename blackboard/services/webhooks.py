"""Webhooks: a board's events POSTed, signed, to URLs, for agents that hold no connection.

Registering returns a secret once. Each delivery is one event, as JSON, with the header
`Blackboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`, so
a receiver can check who sent it and refuse replays. Events go out in seq order, each
until the receiver answers 2xx; a failure is retried after a backoff that doubles, and
after `max_attempts` the event is recorded as failed and skipped. Every attempt is
recorded. Delivery runs in a background task of every API process, apart from the
requests: a slow or failing receiver never slows publishing.

Delivery is at least once: a process that stalls past its lease may repeat an event the
next holder sends too, so receivers should ignore a `Blackboard-Event-Seq` they have had.
"""

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson

from blackboard.drafts import WebhookDraft
from blackboard.errors import Forbidden, NotFound
from blackboard.records import Agent, Event, Webhook, WebhookCreated, WebhookDelivery
from blackboard.services import boards
from blackboard.services.feed import Feeds
from blackboard.store import events as event_store
from blackboard.store import webhooks as webhook_store
from blackboard.store.database import Conn, Database

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Blackboard-Signature"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How deliveries are made and retried."""

    timeout_s: float = 5.0
    max_attempts: int = 8
    backoff_s: float = 1.0  # before the first retry; doubles after each failure
    max_backoff_s: float = 300.0
    poll_s: float = 1.0  # the longest a new event waits if its NOTIFY was lost
    # Passes start at most this often: a busy board moves hundreds of times a second, and
    # one look for due webhooks per burst is enough.
    min_interval_s: float = 0.05
    events_per_pass: int = 20  # per webhook, before its lease is given back

    @property
    def lease_s(self) -> float:
        """Long enough for a whole pass against a receiver that times out every time."""
        return self.events_per_pass * self.timeout_s + 10.0

    def retry_delay_s(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure in a row."""
        return float(min(self.backoff_s * 2 ** (failures - 1), self.max_backoff_s))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for a delivery body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


async def register(
    conn: Conn, *, board_id: UUID, owner: Agent | None, draft: WebhookDraft
) -> WebhookCreated:
    """Register a webhook on the board; its secret is in the answer, and only there."""
    created = await webhook_store.insert(
        conn,
        webhook_id=uuid4(),
        board_id=board_id,
        url=draft.url,
        secret="whsec_" + secrets.token_urlsafe(32),
        kinds=sorted(set(draft.kinds)),
        types=sorted(set(draft.types)),
        owner_id=owner.id if owner else None,
        after=draft.after,
    )
    if created is None:
        raise NotFound("no board with this id", board_id=str(board_id))
    return created


async def list_webhooks(conn: Conn, *, board_id: UUID, caller: Agent | None) -> list[Webhook]:
    """Return the board's webhooks: all for the operator, an agent's own for an agent."""
    await boards.require(conn, board_id=board_id)
    return await webhook_store.list_for_board(
        conn, board_id=board_id, owner_id=caller.id if caller else None
    )


async def get_owned(conn: Conn, *, webhook_id: UUID, caller: Agent | None) -> Webhook:
    """Return the webhook if the caller registered it (or is the operator)."""
    webhook = await webhook_store.get(conn, webhook_id=webhook_id)
    if webhook is None:
        raise NotFound("no webhook with this id", webhook_id=str(webhook_id))
    if caller is not None and webhook.owner_id != caller.id:
        raise Forbidden("only the webhook's owner (or the operator) may see or change it")
    return webhook


async def remove(conn: Conn, *, webhook_id: UUID, caller: Agent | None) -> None:
    """Stop delivering to the webhook; its history stays readable."""
    await get_owned(conn, webhook_id=webhook_id, caller=caller)
    await webhook_store.deactivate(conn, webhook_id=webhook_id)


async def deliveries(
    conn: Conn, *, webhook_id: UUID, caller: Agent | None, after: int, limit: int
) -> list[WebhookDelivery]:
    """Return the webhook's delivery attempts, oldest first."""
    await get_owned(conn, webhook_id=webhook_id, caller=caller)
    return await webhook_store.deliveries(conn, webhook_id=webhook_id, after=after, limit=limit)


async def _post(
    http: httpx.AsyncClient, hook: dict[str, Any], event: Event
) -> tuple[int | None, str | None]:
    """POST one event; return (status code, error) — error None when it was accepted."""
    body = orjson.dumps(
        {
            "webhook_id": str(hook["id"]),
            "board_id": str(hook["board_id"]),
            "event": event.model_dump(mode="json"),
        }
    )
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(hook["secret"], int(time.time()), body),
        "Blackboard-Webhook-Id": str(hook["id"]),
        "Blackboard-Event-Seq": str(event.seq),
    }
    try:
        response = await http.post(hook["url"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def _deliver(
    db: Database, http: httpx.AsyncClient, hook: dict[str, Any], policy: DeliveryPolicy
) -> None:
    """Deliver the leased webhook's next events in order, until one fails or none are left."""
    webhook_id, token = hook["id"], hook["lease_token"]
    cursor, failures = hook["cursor"], hook["attempts"]
    async with db.connection() as conn:
        upto = await event_store.last_seq(conn, board_id=hook["board_id"])
        events = await event_store.read(
            conn,
            board_id=hook["board_id"],
            after=cursor,
            limit=policy.events_per_pass,
            kinds=hook["kinds"] or None,
            types=hook["types"] or None,
            upto=upto,
        )
    # every event up to `upto` that the filter passed over needs no delivery
    scanned = events[-1].seq if len(events) == policy.events_per_pass else upto
    for event in events:
        started = time.perf_counter()
        status, error = await _post(http, hook, event)
        took_ms = (time.perf_counter() - started) * 1000
        attempt = failures + 1
        if error is None:
            outcome, cursor, failures, delay = "delivered", event.seq, 0, 0.0
        elif attempt >= policy.max_attempts:
            outcome, cursor, failures, delay = "failed", event.seq, 0, 0.0
        else:
            outcome, failures, delay = "retrying", attempt, policy.retry_delay_s(attempt)
        async with db.connection() as conn:
            going_on = await webhook_store.record_attempt(
                conn,
                webhook_id=webhook_id,
                lease_token=token,
                seq=event.seq,
                kind=event.kind,
                attempt=attempt,
                outcome=outcome,
                status_code=status,
                error=error,
                duration_ms=took_ms,
                cursor=cursor,
                attempts=failures,
                delay_s=delay,
            )
            if not going_on:
                # removed (nothing more goes out), or the lease went to another process,
                # which carries on from here
                return
            if outcome == "retrying":  # in order: nothing after it goes out before it
                await webhook_store.release(
                    conn, webhook_id=webhook_id, lease_token=token, cursor=cursor
                )
                return
    async with db.connection() as conn:
        await webhook_store.release(conn, webhook_id=webhook_id, lease_token=token, cursor=scanned)


async def deliver_due(db: Database, http: httpx.AsyncClient, policy: DeliveryPolicy) -> int:
    """Lease the webhooks that have events to deliver and deliver them, each on its own
    (a slow receiver holds up only itself); return how many were leased."""
    async with db.connection() as conn:
        due = await webhook_store.take_due(conn, limit=50, lease_s=policy.lease_s)
    results = await asyncio.gather(
        *(_deliver(db, http, hook, policy) for hook in due), return_exceptions=True
    )
    for failure in results:
        if isinstance(failure, Exception):
            log.error("webhook delivery pass failed", exc_info=failure)
    return len(due)


async def run_deliveries(db: Database, feeds: Feeds, policy: DeliveryPolicy) -> None:
    """Deliver webhooks until cancelled: whenever any board moves, and every `poll_s`.

    While no board has a webhook, only every `poll_s`: a busy board moves hundreds of times
    a second, and looking for due webhooks on each of its bursts was a few per cent of a
    publishing process's CPU. A webhook registered meanwhile (in any process) then gets
    its first delivery up to `poll_s` later."""
    following = False  # board changes (notifications) matter only while webhooks exist
    async with httpx.AsyncClient(timeout=policy.timeout_s, follow_redirects=False) as http:
        try:
            while True:
                changed = feeds.any_changed
                busy, hooked = 0, True
                try:
                    busy = await deliver_due(db, http, policy)
                    if not busy:
                        async with db.connection() as conn:
                            hooked = await webhook_store.any_active(conn)
                except Exception:
                    log.exception("webhook delivery failed; trying again")
                if hooked and not following:
                    feeds.follow()
                elif following and not hooked:
                    feeds.unfollow()
                following = hooked
                if busy:
                    continue
                if not hooked:
                    await asyncio.sleep(policy.poll_s)
                    continue
                try:
                    async with asyncio.timeout(policy.poll_s):
                        await changed.wait()
                except TimeoutError:
                    continue
                await asyncio.sleep(policy.min_interval_s)
        finally:
            if following:
                feeds.unfollow()
