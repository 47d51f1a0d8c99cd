"""Communication entropy: how varied the words agents publish are, window by window.

Artifacts are append-only, so a window's token counts never change once its artifacts are
in: each process keeps the counts it has read and only reads artifacts newer than those.
"""

import asyncio
import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from blackboard.metrics.models import EntropyWindow
from blackboard.store import metrics as q
from blackboard.store.database import Conn


def shannon_bits(counts: Mapping[str, int]) -> float:
    """Return the Shannon entropy, in bits, of the distribution `counts` describes."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum(n / total * math.log2(n / total) for n in counts.values() if n)


def entropy_window(
    start: datetime, end: datetime, artifacts: int, tokens: Mapping[str, int]
) -> EntropyWindow:
    """Return the entropy figures of one window's token counts."""
    bits = shannon_bits(tokens)
    distinct = sum(1 for n in tokens.values() if n)
    return EntropyWindow(
        start=start,
        end=end,
        artifacts=artifacts,
        tokens=sum(tokens.values()),
        distinct_tokens=distinct,
        entropy_bits=round(bits, 6),
        normalized=round(bits / math.log2(distinct), 6) if distinct >= 2 else None,
    )


class TokenWindows:
    """Token counts per window of one board, for one window size, read incrementally."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.tokens: dict[datetime, Counter[str]] = {}
        self.artifacts: Counter[datetime] = Counter()
        # Two requests catching up at once would count the same artifacts twice.
        self._lock = asyncio.Lock()

    async def catch_up(
        self, conn: Conn, *, board_id: UUID, window_s: int, origin: datetime
    ) -> None:
        """Count the artifacts published since the last catch-up."""
        async with self._lock:
            rows = await q.token_counts_per_window(
                conn, board_id=board_id, after_seq=self.last_seq, window_s=window_s, origin=origin
            )
            seen: set[datetime] = set()
            for row in rows:
                start = row["start"]
                if start not in seen:
                    seen.add(start)
                    self.artifacts[start] += row["artifacts"]
                if row["token"] is not None:
                    self.tokens.setdefault(start, Counter())[row["token"]] += row["n"]
            if rows:
                self.last_seq = rows[0]["last_seq"]

    def window(self, start: datetime) -> tuple[int, Counter[str]]:
        """Return how many artifacts the window starting at `start` holds, and its tokens."""
        return self.artifacts[start], self.tokens.get(start, Counter())
