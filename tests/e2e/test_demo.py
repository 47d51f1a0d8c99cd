"""`blackboard demo` as a new user meets it: on serve's data dir, it leaves boards that a
later `blackboard serve` shows, and the curl commands it printed work against that service,
verbatim; run again while the service is up, it joins it; --keep serves until told to stop.
In-process (`run_demo`): --fresh cleans up after itself, and every protocol's figures agree
with the service's."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from blackboard.cli import demo_command
from blackboard.cli.demo_command import PROTOCOLS, run_demo
from blackboard.cli.demo_driver import DemoSummary, RunSummary, TurnLine
from blackboard.config import Settings
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

BLACKBOARD = str(Path(sys.executable).with_name("blackboard"))


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh directory outside pytest's tmp_path: pytest resets its /tmp/pytest-of-<user>
    to mode 0700 whenever a session starts, which would lock the embedded server's system
    user out mid-run when tests run as root."""
    with tempfile.TemporaryDirectory(prefix="bb-demo-") as tmp:
        yield Path(tmp)


def environment(workdir: Path, port: int) -> dict[str, str]:
    """A user's environment: nothing of ours set but the data dir and the port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLACKBOARD_")}
    env.update(BLACKBOARD_DATA_DIR=str(workdir / "data"), BLACKBOARD_PORT=str(port))
    env["COLUMNS"] = "200"  # a wide terminal: one message a line (commands never wrap)
    return env


def demo(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [BLACKBOARD, "demo", "--fast", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """`blackboard serve` in its own process; yield its URL once /healthz answers."""
    url = f"http://127.0.0.1:{env['BLACKBOARD_PORT']}"
    with log.open("w") as out:
        process = subprocess.Popen([BLACKBOARD, "serve"], env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "serve did not come up:\n" + log.read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, log.read_text()


def run_printed(exports: list[str], command: str, curlrc: Path) -> tuple[int, Any]:
    """Run a printed command verbatim in bash after the printed exports; return the HTTP
    status (written by curl's config file, not by the command) and the JSON it printed."""
    env = {**os.environ, "CURL_HOME": str(curlrc.parent)}
    script = "\n".join([*exports, command])
    out = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30, check=True
    ).stdout
    body, _, status = out.rpartition("\n")
    return int(status), json.loads(body)


def test_the_demo_leaves_boards_that_serve_shows_and_its_commands_work(workdir: Path) -> None:
    env = environment(workdir, free_port())
    out = demo(env)

    lines = out.splitlines()
    # progress from the first line on: where the database comes from, then each stage
    assert lines[0].startswith("… ")
    assert any(line.startswith("… starting PostgreSQL in ") for line in lines), out
    assert "… migrating the database" in lines
    assert "sequential completed: completed 2 round(s)" in out  # the stop reason, as it ends
    assert "wall time (the service's)" in out
    assert "plan/main's versions were written under fencing tokens (2 of 2)" in out
    board_pages = [line.split()[-1] for line in lines if " board  http" in line]
    run_pages = [line.split()[-1] for line in lines if " run    http" in line]
    assert len(board_pages) == len(run_pages) == 1, out
    exports = [line for line in lines if line.startswith("export ")]
    curls = [line for line in lines if line.startswith("curl -s ")]
    assert [e.split("=")[0] for e in exports] == ["export BB", "export TOKEN"]
    assert len(curls) >= 7, out
    assert "has stopped; its boards stay in" in out
    assert not (workdir / "data" / "pgdata" / "postmaster.pid").exists()  # it stopped

    curlrc = workdir / ".curlrc"
    curlrc.write_text('write-out = "\\n%{http_code}"\n')
    with serving(env, workdir / "serve.log") as url:
        started = (workdir / "serve.log").read_text()
        assert f"inspector   {url}/inspector/" in started
        assert f"docs        {url}/docs" in started
        answers = {command: run_printed(exports, command, curlrc) for command in curls}
        assert [status for status, _ in answers.values()] == [200] * len(curls), answers
        by_path = {c.split('"')[1].split("?")[0]: body for c, (_, body) in answers.items()}

        # the data the summary described: a revised plan, its critique, the run's turns
        [artifacts] = [b for p, b in by_path.items() if p.endswith("/artifacts")]
        keys = [(a["key"], a["version"]) for a in artifacts["items"]]
        assert ("plan/main", 1) in keys and ("critique/plan/main", 1) in keys
        [run] = [b for p, b in by_path.items() if p.count("/") == 3 and "/v1/runs/" in p]
        assert run["run"]["status"] == "completed" and len(run["turns"]) == 8
        assert ("plan/main", 2) in keys  # the planner revised it after the critique
        history = {p.split("/keys/")[1]: b for p, b in by_path.items() if "/keys/" in p}
        assert "plan/main/history" in history
        assert all(len(h["items"]) >= 2 for h in history.values()), history
        [calls] = [b for p, b in by_path.items() if p.endswith("/calls")]
        assert len(calls["items"]) == 8
        # the plan is guarded: only the planner's turns wrote it, each under its claim
        [guards] = [b for p, b in by_path.items() if p.endswith("/guards")]
        assert [(g["key_pattern"], g["role"]) for g in guards["items"]] == [
            ("plan/main", "planner")
        ]
        plans = [a for a in artifacts["items"] if a["key"] == "plan/main"]
        assert plans and all(a["claim_id"] and a["fencing_token"] for a in plans), plans
        # the inspector pages it named are there (behind the login; a session cookie holds
        # no token, so the admin's bearer token it is)
        bearer = {"Authorization": f"Bearer {admin_token(workdir)}"}
        page = httpx.get(run_pages[0], headers=bearer)
        assert page.status_code == 200 and "sequential" in page.text

        # run again while serve is up: the demo joins that service and leaves it running
        again = demo(env)
        assert f"service {url} (already running" in again
        assert "keeps running" in again
        assert "planner-2" in again  # new agents beside the first demo's
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        boards = httpx.get(
            f"{url}/v1/boards", headers={"Authorization": f"Bearer {admin_token(workdir)}"}
        ).json()["items"]
        assert {"demo-sequential", "demo-sequential-2"} <= {b["name"] for b in boards}

        # with a token that service does not know, it says so and changes nothing
        wrong = subprocess.run(
            [BLACKBOARD, "demo", "--fast"],
            env={**env, "BLACKBOARD_ADMIN_TOKEN": "bbadmin_not-this-one"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert wrong.returncode == 1, wrong.stdout + wrong.stderr
        assert f"the service at {url} refused" in wrong.stdout
        assert "Traceback" not in wrong.stdout + wrong.stderr
        after = httpx.get(
            f"{url}/v1/boards", headers={"Authorization": f"Bearer {admin_token(workdir)}"}
        ).json()["items"]
        assert len(after) == len(boards)


def test_keep_serves_until_told_to_stop(workdir: Path) -> None:
    env = environment(workdir, free_port())
    process = subprocess.Popen(
        [BLACKBOARD, "demo", "--fast", "--fresh", "--keep"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Serving at "):
                break
        url = lines[-1].split()[2]
        assert url.startswith("http://127.0.0.1:"), "".join(lines)
        assert any(line.startswith("curl -s ") for line in lines)
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200  # still serving
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)
    assert not (workdir / "data").exists()  # --fresh: serve's data dir was never touched


def admin_token(workdir: Path) -> str:
    return (workdir / "data" / "admin_token").read_text().strip()


class Recorder:
    """An observer that keeps what it is told."""

    def __init__(self) -> None:
        self.stages: list[str] = []
        self.turns: list[tuple[str, TurnLine]] = []
        self.done: list[RunSummary] = []

    def stage(self, what: str) -> None:
        self.stages.append(what)

    def ready(self, summary: DemoSummary) -> None:
        self.stages.append("ready")

    def turn(self, protocol: str, turn: TurnLine) -> None:
        self.turns.append((protocol, turn))

    def run_done(self, run: RunSummary) -> None:
        self.done.append(run)


def fresh_settings(workdir: Path) -> Settings:
    """Embedded PostgreSQL whatever the environment says, on an unused data dir."""
    return Settings(database_url=None, admin_token=None, data_dir=workdir / "unused")


def api_figures(summary: DemoSummary) -> dict[str, dict[str, Any]]:
    """Per protocol: what the API itself reports for that run's board."""
    figures: dict[str, dict[str, Any]] = {}
    headers = {"Authorization": f"Bearer {summary.agent_token}"}
    with httpx.Client(base_url=summary.url, headers=headers, timeout=10) as c:
        for run in summary.runs:
            artifacts = c.get(
                f"/v1/boards/{run.board_id}/artifacts", params={"latest": "false", "limit": 500}
            ).json()["items"]
            detail = c.get(f"/v1/runs/{run.run_id}").json()
            compared = c.get("/v1/runs/compare", params={"run_id": run.run_id}).json()
            figures[run.protocol] = {
                "artifacts": len(artifacts),
                "turns": len(detail["turns"]),
                "status": detail["run"]["status"],
                "stop_reason": detail["run"]["stop_reason"],
                "tokens": detail["run"]["tokens_used"],
                "wall_s": compared["runs"][0]["wall_time_s"],
            }
    return figures


def test_a_fresh_demo_runs_every_protocol_and_cleans_up(workdir: Path) -> None:
    seen = Recorder()
    reported: dict[str, dict[str, Any]] = {}
    summary = run_demo(
        fresh_settings(workdir),
        PROTOCOLS,
        fresh=True,
        fast=True,
        observer=seen,
        hold=lambda s: reported.update(api_figures(s)),
    )

    assert seen.stages[0].startswith("starting PostgreSQL in ")
    assert summary.started_service and summary.data_dir is None
    assert [r.protocol for r in summary.runs] == list(PROTOCOLS)
    assert len({r.board_id for r in summary.runs}) == 5
    for run in summary.runs:
        api = reported[run.protocol]
        assert run.status == api["status"] and run.stop_reason == api["stop_reason"], run
        assert run.artifact_count == api["artifacts"], run.protocol
        assert len(run.turns) == api["turns"], run.protocol
        assert run.tokens == api["tokens"] > 0, run.protocol
        assert run.wall_s == api["wall_s"], run.protocol  # the service's figure, not ours
        assert run.stop_reason, run.protocol
    assert [r.protocol for r in seen.done] == list(PROTOCOLS)
    assert [t.step for p, t in seen.turns if p == "sequential"] == [
        t.step for t in summary.runs[0].turns
    ]
    # readable keys, the same names everywhere
    keys = {k for r in summary.runs for k in r.versions_by_key}
    assert {"plan/main", "finding/sky-blue", "result/main"} <= keys
    assert {t.agent for t in summary.runs[-1].turns} == {"generalist"}
    # everything was stopped and removed: the port no longer answers, no data dir is left
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{summary.url}/healthz", timeout=2)
    assert not (workdir / "unused").exists()
    pgdata = Path(seen.stages[0].removeprefix("starting PostgreSQL in "))
    assert not pgdata.parent.exists()


def cli() -> typer.Typer:
    app = typer.Typer()
    demo_command.register(app)

    @app.command()
    def other() -> None:  # a second command, so that `demo` is addressed by name
        """Nothing."""

    return app


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--protocol", "chaos"], "choose one of"),
        (["--compare", "--protocol", "shared"], "--compare runs every protocol"),
    ],
)
def test_the_cli_rejects_options_it_would_ignore(args: list[str], complaint: str) -> None:
    result = CliRunner().invoke(cli(), ["demo", *args])
    assert result.exit_code == 2
    assert complaint in result.output
