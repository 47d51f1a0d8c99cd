"""How soon `blackboard demo` shows its first status line, against how long the CLI takes
to start at all (`blackboard version`), measured in the same run.

The demo's promise is progress within 1 s of the command starting, before PostgreSQL (which
takes seconds). It is pointed at a database that refuses connections, so it fails right
after its first lines and no server is started; only the time to the first line counts.

    .venv/bin/python bench/bench_demo_start.py [--runs 5]
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

BLACKBOARD = str(Path(sys.executable).with_name("blackboard"))
TARGET_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOARD_")}
    # nothing listens there: the demo fails once it reaches the database
    env["BLACKBOARD_DATABASE_URL"] = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    env["BLACKBOARD_PORT"] = str(free_port())
    return env


def first_line_s(args: list[str]) -> float:
    """Seconds from starting `blackboard ARGS` to its first line of output."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [BLACKBOARD, *args],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.readline()
    took = time.perf_counter() - began
    process.stdout.read()
    process.wait(timeout=60)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    version = [first_line_s(["version"]) for _ in range(runs)]
    demo = [first_line_s(["demo", "--fast"]) for _ in range(runs)]
    v, d = statistics.median(version), statistics.median(demo)
    print(f"{'':<28}{'median s':>10}{'max s':>10}")
    print(f"{'blackboard version (base)':<28}{v:>10.3f}{max(version):>10.3f}")
    print(f"{'blackboard demo, 1st line':<28}{d:>10.3f}{max(demo):>10.3f}")
    print(
        f"ratio demo / version: {d / v:.2f}; target: first line within {TARGET_S:.1f} s: "
        f"{'met' if d <= TARGET_S else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
