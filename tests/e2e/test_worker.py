"""Controllers as separate `blackboard worker` processes: kill one mid-run, another resumes
the run from its stored state and no turn runs twice."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from blackboard.config import Settings
from tests.support.api import ADMIN, ADMIN_TOKEN

pytestmark = pytest.mark.e2e

BLACKBOARD = str(Path(sys.executable).with_name("blackboard"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # the API drives no runs itself: only the worker processes do
    return settings.model_copy(update={"controller_in_process": False})


def start_worker(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOARD_")}
    env.update(
        BLACKBOARD_DATABASE_URL=database_url,
        BLACKBOARD_ADMIN_TOKEN=ADMIN_TOKEN,
        BLACKBOARD_RUN_LEASE_S="1",
    )
    return subprocess.Popen(
        [BLACKBOARD, "worker"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


async def agent(c: httpx.AsyncClient, name: str, model: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "capabilities": ["planner", "research"]}
    if model:
        body["model"] = model
    created: dict[str, Any] = (await c.post("/v1/agents", json=body, headers=ADMIN)).json()
    created["headers"] = {"Authorization": f"Bearer {created['token']}"}
    return created


async def test_a_killed_worker_s_run_is_resumed_by_another_without_repeating_turns(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    planner = await agent(client, "planner", "scripted:planner")
    human = await agent(client, "external", None)
    researcher = await agent(client, "researcher", "scripted:research")
    board = (await client.post("/v1/boards", json={"name": "resume"}, headers=ADMIN)).json()
    run = (
        await client.post(
            f"/v1/boards/{board['id']}/runs",
            json={
                "protocol": "sequential",
                "goal": "Boil water",
                "roster": [planner["id"], human["id"], researcher["id"]],
                "turn_timeout_s": 120,
            },
            headers=ADMIN,
        )
    ).json()
    first = start_worker(database_url, tmp_path / "worker-a.log")
    second = None
    try:
        # worker A drives the planner's turn and offers the second turn to the external agent
        offered: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not offered and time.monotonic() < deadline:
            r = await client.get(
                "/v1/agents/me/turns", params={"wait": 1}, headers=human["headers"]
            )
            offered = r.json()["items"]
        assert offered, (tmp_path / "worker-a.log").read_text()
        before = (await client.get(f"/v1/runs/{run['id']}", headers=ADMIN)).json()
        assert [t["status"] for t in before["turns"]] == ["completed", "offered"]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        second = start_worker(database_url, tmp_path / "worker-b.log")
        await asyncio.sleep(0.5)
        done = await client.post(
            f"/v1/turns/{offered[0]['id']}/complete",
            json={
                "role": "fact-checker",
                "artifacts": [{"type": "finding", "body": {"claim": "water boils at 100 C"}}],
            },
            headers=human["headers"],
        )
        assert done.status_code == 200, done.text
        detail: dict[str, Any] = {}
        for _ in range(300):
            detail = (await client.get(f"/v1/runs/{run['id']}", headers=ADMIN)).json()
            if detail["run"]["status"] != "running":
                break
            await asyncio.sleep(0.05)
        assert detail["run"]["status"] == "completed", detail["run"]
        assert detail["run"]["controller"] != before["run"]["controller"]
        assert detail["run"]["lease_token"] > before["run"]["lease_token"]
        steps = [(t["step"], t["agent_id"], t["status"]) for t in detail["turns"]]
        assert steps == [
            (1, planner["id"], "completed"),
            (2, human["id"], "completed"),
            (3, researcher["id"], "completed"),
        ]
        # the planner's finished turn was not run again: one plan, one model call
        plans = (
            await client.get(
                f"/v1/boards/{board['id']}/artifacts",
                params={"author": planner["id"], "latest": "false"},
                headers=ADMIN,
            )
        ).json()["items"]
        assert len(plans) == 1
        offered_events = (
            await client.get(
                f"/v1/boards/{board['id']}/events", params={"kind": "turn.offered"}, headers=ADMIN
            )
        ).json()["items"]
        assert [e["data"]["step"] for e in offered_events] == [1, 2, 3]
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=10)
