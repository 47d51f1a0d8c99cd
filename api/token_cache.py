"""Recently authenticated agent tokens."""

import time

from blackboard.records import Agent
from blackboard.services import credentials


class TokenCache:
    """Recently authenticated agent tokens, so that a busy agent costs no lookup per request.

    Keyed by the token's SHA-256, never the token itself. Entries live `ttl_s` seconds.
    """

    def __init__(self, ttl_s: float = 30.0, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[float, Agent]] = {}

    def get(self, token: str) -> Agent | None:
        """Return the cached agent for `token` if still fresh."""
        entry = self._entries.get(credentials.hash_token(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, agent: Agent) -> None:
        """Remember that `token` belongs to `agent`."""
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[credentials.hash_token(token)] = (time.monotonic() + self.ttl_s, agent)
