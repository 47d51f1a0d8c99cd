"""The webhook endpoints, on both clients: for agents that receive events without holding
a connection (see `verify_signature` for the receiving side)."""

import hashlib
import hmac
import time
from collections.abc import Sequence

from agents.client._core import Id, Request, _items, _json, _one, _query, _seg, endpoint
from agents.client.models import Webhook, WebhookCreated, WebhookDelivery


class WebhookEndpoints:
    """Register, inspect and stop webhooks; read their delivery attempts."""

    @endpoint
    def register_webhook(
        board_id: Id,
        url: str,
        *,
        kinds: Sequence[str] | None = None,
        types: Sequence[str] | None = None,
        after: int | None = None,
    ) -> Request[WebhookCreated]:
        """Have the board's events (only these kinds / artifact types; from `after`, else
        from now on) POSTed to `url`, in order; keep the answer's `secret` to check them."""
        body = _json(
            url=url,
            kinds=None if kinds is None else list(kinds),
            types=None if types is None else list(types),
            after=after,
        )
        path = f"/v1/boards/{_seg(board_id)}/webhooks"
        return Request("POST", path, _one(WebhookCreated), json=body)

    @endpoint
    def list_webhooks(board_id: Id) -> Request[list[Webhook]]:
        """The board's webhooks (all for the operator, your own for an agent)."""
        path = f"/v1/boards/{_seg(board_id)}/webhooks"
        return Request("GET", path, _items(Webhook), retry=True)

    @endpoint
    def get_webhook(webhook_id: Id) -> Request[Webhook]:
        """One webhook, with how far its delivery has come (`cursor`)."""
        return Request("GET", f"/v1/webhooks/{_seg(webhook_id)}", _one(Webhook), retry=True)

    @endpoint
    def remove_webhook(webhook_id: Id) -> Request[None]:
        """Stop delivering to a webhook (its history stays readable)."""
        return Request("DELETE", f"/v1/webhooks/{_seg(webhook_id)}", lambda _: None, retry=True)

    @endpoint
    def webhook_deliveries(
        webhook_id: Id, *, after: int | None = None, limit: int | None = None
    ) -> Request[list[WebhookDelivery]]:
        """Every delivery attempt, oldest first: the event's seq, outcome, status, error."""
        path = f"/v1/webhooks/{_seg(webhook_id)}/deliveries"
        params = _query(after=after, limit=limit)
        return Request("GET", path, _items(WebhookDelivery), params=params, retry=True)


def verify_signature(
    secret: str, body: bytes, header: str, *, tolerance_s: float = 300.0, now: float | None = None
) -> bool:
    """Whether `header` (the delivery's `Blackboard-Signature`) signs `body` with `secret`,
    at most `tolerance_s` ago (older ones may be replays)."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        stamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((time.time() if now is None else now) - stamp) <= tolerance_s
    return fresh and hmac.compare_digest(fields.get("v1", ""), expected)
