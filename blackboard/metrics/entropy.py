"""Communication entropy: how varied the words agents publish are, window by window.

A window's entropy is read from its token sums (store/rollup_reads.py): with N tokens
in all and n_i of token i, H = log2(N) - Σ n_i·log2(n_i) / N, so the roll-ups need
only give N, the number of distinct tokens and Σ n_i·ln(n_i) per window.
"""

import math
from collections.abc import Mapping
from datetime import datetime

from blackboard.metrics.models import EntropyWindow


def shannon_bits(counts: Mapping[str, int]) -> float:
    """Return the Shannon entropy, in bits, of the distribution `counts` describes."""
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum(n / total * math.log2(n / total) for n in counts.values() if n)


def entropy_window(
    start: datetime, end: datetime, *, artifacts: int, tokens: int, distinct: int, nlogn: float
) -> EntropyWindow:
    """Return the entropy figures of one window from its token sums (`nlogn`: Σ n·ln n)."""
    bits = max(math.log2(tokens) - nlogn / tokens / math.log(2), 0.0) if tokens else 0.0
    return EntropyWindow(
        start=start,
        end=end,
        artifacts=artifacts,
        tokens=tokens,
        distinct_tokens=distinct,
        entropy_bits=round(bits, 6),
        normalized=round(bits / math.log2(distinct), 6) if distinct >= 2 else None,
    )
