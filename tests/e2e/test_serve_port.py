"""`blackboard serve` on a port that is already taken says so before doing anything else:
no database started, no token printed or generated, no 'startup complete'."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BLACKBOARD = str(Path(sys.executable).with_name("blackboard"))


def test_serve_on_a_busy_port_fails_at_once_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOARD_")}
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [BLACKBOARD, "serve", "--port", str(port), "--data-dir", str(data_dir)],
            env={**env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"cannot listen on 127.0.0.1:{port}" in out
    assert "--port" in out  # what to do about it
    assert "admin token" not in out and "startup complete" not in out
    assert not data_dir.exists()  # no token generated, no PostgreSQL initialised
