"""Serve the bare baseline (baseline_app.py) exactly as `blackboard serve --workers N`
serves the API: the same supervisor, each worker listening on a socket of its own
(blackboard/cli/workers.py), uvloop and httptools, no access log.

    python bench/serve_baseline.py --port 8123 --workers 2

Run by harness.baseline_server, with BENCH_BASELINE_DATABASE_URL set.
"""

import argparse
import sys

import uvicorn

from blackboard.cli.workers import Workers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = uvicorn.Config(
        "baseline_app:app",  # importable: this script's folder is on sys.path, and spawned
        host=args.host,  # workers inherit sys.path
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )
    return Workers(config, args.workers).run()


if __name__ == "__main__":
    sys.exit(main())
