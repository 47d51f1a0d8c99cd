"""Holding a role: claim it (waiting out the holder's lease), renew it in the background,
and say when it is lost — as a context manager on both clients (`hold_role`).

Inside the block, `claim_id` and `fencing_token` name the claim; `publish` writes under
it. When the claim is lost (a renewal refused, or renewals failing until the lease ran
out), `lost` is set, `on_lost` is called once, and the next write through the hold raises
`LeaseLost` without reaching the service. Leaving the block releases the claim (a write
through the hold after that raises `LeaseLost` too, without calling `on_lost`).
"""

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agents.client import errors
from agents.client._artifacts import Body
from agents.client._core import Id
from agents.client.models import Artifact, Claim

if TYPE_CHECKING:
    from agents.client._clients import AsyncClient, Client

MAX_POLL_S = 1.0  # how long to wait at most before asking for a taken role again
_GONE = (errors.LeaseLost, errors.StaleClaim, errors.NotFound, errors.Forbidden)


class _Hold:
    """What both kinds of hold share: the claim, its renewal timing, and losing it."""

    def __init__(
        self,
        board_id: Id,
        role: str,
        *,
        scope: str | None,
        ttl_s: float,
        wait_s: float | None,
        on_lost: Callable[[Claim], Any] | None,
    ) -> None:
        self.board_id, self.role, self.scope, self.ttl_s = board_id, role, scope, ttl_s
        self.wait_s = wait_s
        self.on_lost = on_lost
        self._claim: Claim | None = None
        self._lost_flag = False
        self._ended = False  # the block was left: the claim was released, not lost

    @property
    def claim(self) -> Claim:
        """The claim held (as of its last renewal)."""
        if self._claim is None:
            raise RuntimeError("the role is not held: enter the block first")
        return self._claim

    @property
    def claim_id(self) -> str:
        """The claim's id, for `claim_id=` on writes."""
        return str(self.claim.id)

    @property
    def fencing_token(self) -> int:
        """The claim's fencing token."""
        return self.claim.fencing_token

    def _retry_in(self, taken: errors.RoleTaken, deadline: float | None) -> float:
        """How long to wait before claiming again after `taken`: until the holder's lease
        would lapse, at most MAX_POLL_S (it may be released sooner); RoleTaken again if that
        would pass `deadline`."""
        until = MAX_POLL_S
        expires = taken.body.get("expires_at")
        if isinstance(expires, str):
            left = (datetime.fromisoformat(expires) - datetime.now(UTC)).total_seconds()
            until = min(max(left + 0.02, 0.02), MAX_POLL_S)
        if deadline is not None and time.monotonic() + until > deadline:
            raise taken
        return until

    def _lapsed(self) -> bool:
        return self._claim is not None and self._claim.expires_at <= datetime.now(UTC)

    def _lose(self) -> bool:
        """Mark the claim lost; True the first time (so `on_lost` is called once)."""
        if self._lost_flag:
            return False
        self._lost_flag = True
        if self.on_lost is not None and self._claim is not None:
            self.on_lost(self._claim)
        return True

    def _lost_error(self) -> errors.LeaseLost:
        how = "released when its block ended" if self._ended else "lost"
        detail = f"the claim of role {self.role!r} was {how}"
        return errors.LeaseLost(409, "LeaseLost", detail, {"claim_id": self.claim_id})


class RoleHold(_Hold):
    """A role held by a blocking `Client` (see the module doc); renewed by a thread."""

    def __init__(self, client: "Client", board_id: Id, role: str, **options: Any) -> None:
        super().__init__(board_id, role, **options)
        self.client = client
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def __enter__(self) -> "RoleHold":
        deadline = None if self.wait_s is None else time.monotonic() + self.wait_s
        while self._claim is None:
            try:
                self._claim = self.client.claim_role(
                    self.board_id, self.role, scope=self.scope, ttl_s=self.ttl_s
                )
            except errors.RoleTaken as taken:
                time.sleep(self._retry_in(taken, deadline))
        self._renewer = threading.Thread(target=self._renew, daemon=True)
        self._renewer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if not self.lost.is_set():
            with contextlib.suppress(*_GONE):
                self.client.release_claim(self.claim_id)
        self._ended = True

    def _renew(self) -> None:
        while not self._stop.wait(self.ttl_s / 3):
            try:
                self._claim = self.client.renew_claim(self.claim_id, ttl_s=self.ttl_s)
            except _GONE:
                self._mark_lost()
                return
            except (errors.TransportError, errors.ServerError):
                if self._lapsed():
                    self._mark_lost()
                    return

    def _mark_lost(self) -> None:
        self.lost.set()
        self._lose()

    def publish(self, type: str, body: Body, **fields: Any) -> Artifact:
        """Publish under the claim; LeaseLost (nothing sent) once the claim is lost, and
        once the service fences the write off."""
        if self._ended:
            raise self._lost_error()
        if self.lost.is_set() or self._lapsed():
            self._mark_lost()
            raise self._lost_error()
        try:
            return self.client.publish(self.board_id, type, body, claim_id=self.claim_id, **fields)
        except errors.StaleClaim as exc:
            self._mark_lost()
            raise self._lost_error() from exc


class AsyncRoleHold(_Hold):
    """A role held by an `AsyncClient` (see the module doc); renewed by a task."""

    def __init__(self, client: "AsyncClient", board_id: Id, role: str, **options: Any) -> None:
        super().__init__(board_id, role, **options)
        self.client = client
        self.lost = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "AsyncRoleHold":
        deadline = None if self.wait_s is None else time.monotonic() + self.wait_s
        while self._claim is None:
            try:
                self._claim = await self.client.claim_role(
                    self.board_id, self.role, scope=self.scope, ttl_s=self.ttl_s
                )
            except errors.RoleTaken as taken:
                await asyncio.sleep(self._retry_in(taken, deadline))
        self._renewer = asyncio.create_task(self._renew())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)
        if not self.lost.is_set():
            with contextlib.suppress(*_GONE):
                await self.client.release_claim(self.claim_id)
        self._ended = True

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                self._claim = await self.client.renew_claim(self.claim_id, ttl_s=self.ttl_s)
            except _GONE:
                self._mark_lost()
                return
            except (errors.TransportError, errors.ServerError):
                if self._lapsed():
                    self._mark_lost()
                    return

    def _mark_lost(self) -> None:
        self.lost.set()
        self._lose()

    async def publish(self, type: str, body: Body, **fields: Any) -> Artifact:
        """Publish under the claim; LeaseLost (nothing sent) once the claim is lost, and
        once the service fences the write off."""
        if self._ended:
            raise self._lost_error()
        if self.lost.is_set() or self._lapsed():
            self._mark_lost()
            raise self._lost_error()
        try:
            return await self.client.publish(
                self.board_id, type, body, claim_id=self.claim_id, **fields
            )
        except errors.StaleClaim as exc:
            self._mark_lost()
            raise self._lost_error() from exc
