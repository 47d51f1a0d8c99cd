"""The README's SDK example runs as written, against a real server."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.api import ADMIN_TOKEN

README = Path(__file__).resolve().parents[2] / "README.md"


def sdk_example() -> str:
    text = README.read_text()
    match = re.search(r"<!-- sdk-example[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its SDK example"
    return match.group(1)


async def test_the_readme_sdk_example_runs(live_server: Any) -> None:
    env = {**os.environ, "BB_URL": live_server.url, "BB_TOKEN": ADMIN_TOKEN}
    # run in a thread-free subprocess: the example is blocking code, the server is in this loop
    import asyncio

    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", sdk_example()],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "the key is at version 2" in result.stdout
    assert "1 board.created" in result.stdout and "3 artifact.published" in result.stdout
