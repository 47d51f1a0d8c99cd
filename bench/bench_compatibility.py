"""What the compatibility check adds to registering a type version, in process.

For each standard type, and for the table of schema pairs the tests use, times
`problems(previous, new, mode)` against the baseline every `PUT /v1/types/{name}` already
pays in the same run: checking the new schema against the draft 2020-12 metaschema.
Prints per-call medians and the ratio. No server, no database: the check is pure.

    .venv/bin/python bench/bench_compatibility.py [--quick]
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import artifacts
from blackboard.services.compatibility import problems
from tests.support.schema_pairs import PAIRS


def median_us(call: Callable[[], Any], repeat: int) -> float:
    """The median time of one call, in microseconds, over `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    repeat = 50 if parser.parse_args().quick else 500
    cases: list[tuple[str, Any, Any]] = [
        (f"standard {name}", artifacts.json_schema(name), artifacts.json_schema(name))
        for name in artifacts.STANDARD_TYPES
    ]
    cases += [(f"pair: {p.name}", p.old, p.new) for p in PAIRS if isinstance(p.new, dict)]
    print(f"{'case':58} {'metaschema µs':>14} {'full check µs':>14} {'ratio':>6}")
    ratios = []
    for label, old, new in cases:
        base = median_us(lambda new=new: Draft202012Validator.check_schema(new), repeat)
        check = median_us(lambda old=old, new=new: problems(old, new, "full"), repeat)
        ratios.append(check / base)
        print(f"{label[:58]:58} {base:14.1f} {check:14.1f} {check / base:6.2f}")
    print(
        f"\n{len(cases)} cases, ratio check/metaschema: median {statistics.median(ratios):.2f}, "
        f"max {max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
