"""`blackboard demo`: embedded PostgreSQL + the API in-process + scripted agents, end to end;
its summary agrees with what the API reports for each board."""

import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from blackboard.cli import demo_command
from blackboard.cli.demo_command import PROTOCOLS, DemoSummary, TurnLine, run_demo
from blackboard.config import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory outside pytest's tmp_path: pytest resets its
    /tmp/pytest-of-<user> to mode 0700 whenever a session starts, which would lock the
    embedded server's system user out mid-run when tests run as root."""
    with tempfile.TemporaryDirectory(prefix="bb-demo-") as tmp:
        yield Path(tmp) / "data"


def embedded_settings() -> Settings:
    """Settings that use the embedded PostgreSQL, whatever the environment says."""
    return Settings(database_url=None, admin_token=None)


def compared_by_service(summary: DemoSummary) -> dict[str, Any]:
    """What the printed compare command answers."""
    url = summary.compare_command().split('"')[1]
    headers = {"Authorization": f"Bearer {summary.admin_token}"}
    compared: dict[str, Any] = httpx.get(url, headers=headers, timeout=10).json()
    return compared


def api_figures(summary: DemoSummary) -> dict[str, dict[str, Any]]:
    """Per protocol: what the API itself reports for that run's board."""
    figures: dict[str, dict[str, Any]] = {}
    headers = {"Authorization": f"Bearer {summary.admin_token}"}
    with httpx.Client(base_url=summary.url, headers=headers, timeout=10) as c:
        for run in summary.runs:
            artifacts = c.get(
                f"/v1/boards/{run.board_id}/artifacts", params={"latest": "false", "limit": 500}
            ).json()["items"]
            abstentions = c.get(f"/v1/boards/{run.board_id}/abstentions").json()
            detail = c.get(f"/v1/runs/{run.run_id}").json()
            calls = c.get(f"/v1/runs/{run.run_id}/calls").json()["items"]
            curl_status = []
            for command in summary.curl_commands(run):
                url = command.split('"')[1]
                curl_status.append(c.get(url.removeprefix(summary.url)).status_code)
            figures[run.protocol] = {
                "curl_status": curl_status,
                "by_type": dict(Counter(a["type"] for a in artifacts)),
                "abstentions": len(abstentions["items"]),
                "abstention_reasons": [a["reason"] for a in abstentions["items"]],
                "turns": len(detail["turns"]),
                "status": detail["run"]["status"],
                "stop_reason": detail["run"]["stop_reason"],
                "tokens": detail["run"]["tokens_used"],
                "roles": dict(Counter(c["role"] for c in detail["claims"])),
                "context": [
                    (c["step"], len(c["manifest"].get("shown", [])), c["manifest"]["hidden_total"])
                    for c in sorted(calls, key=lambda c: c["step"])
                ],
            }
    return figures


def test_the_demo_runs_end_to_end_on_a_fresh_embedded_database(data_dir: Path) -> None:
    seen: list[tuple[str, TurnLine]] = []
    reported: dict[str, dict[str, Any]] = {}

    def check_while_serving(summary: DemoSummary) -> None:
        reported.update(api_figures(summary))

    summary = run_demo(
        embedded_settings(),
        data_dir=data_dir,
        fast=True,
        rounds=5,  # --fast keeps it at 1
        on_turn=lambda protocol, turn: seen.append((protocol, turn)),
        hold=check_while_serving,
    )

    assert summary.embedded and summary.data_dir == data_dir.resolve()
    [run] = summary.runs
    api = reported["sequential"]
    assert run.protocol == "sequential" and run.status == api["status"] == "completed"
    assert run.stop_reason == api["stop_reason"] == "completed 1 round(s)"
    assert run.artifacts_by_type == api["by_type"]
    assert run.artifact_count > 0
    assert run.abstentions == api["abstentions"]
    assert run.abstention_reasons == api["abstention_reasons"]
    assert len(run.turns) == api["turns"] == 4  # one round of the four reference agents
    assert run.tokens == api["tokens"] > 0
    assert run.roles_claimed == api["roles"]
    assert [(t.step, t.shown, t.hidden) for t in run.turns] == api["context"]
    assert run.duplicates == 0
    assert api["curl_status"] == [200] * 7  # the printed commands work
    # progress was reported live, one line per finished turn, in order
    assert [t.step for _, t in seen] == [t.step for t in run.turns]
    # everything was stopped: PostgreSQL is down and the port no longer answers
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{summary.url}/healthz", timeout=2)


def test_compare_runs_every_protocol_on_its_own_board(data_dir: Path) -> None:
    reported: dict[str, dict[str, Any]] = {}
    summary = run_demo(
        embedded_settings(),
        PROTOCOLS,
        data_dir=data_dir,
        fast=True,
        hold=lambda s: reported.update(api_figures(s), compare=compared_by_service(s)),
    )

    assert [r.protocol for r in summary.runs] == list(PROTOCOLS) and len(summary.runs) == 5
    assert len({r.board_id for r in summary.runs}) == 5
    for run in summary.runs:
        api = reported[run.protocol]
        assert run.status == api["status"], run
        assert run.artifacts_by_type == api["by_type"], run.protocol
        assert run.abstentions == api["abstentions"], run.protocol
        assert len(run.turns) == api["turns"], run.protocol
        assert run.tokens == api["tokens"], run.protocol
    # the printed comparison agrees with the service's own
    compare_url = summary.compare_command().split('"')[1]
    assert all(f"run_id={r.run_id}" in compare_url for r in summary.runs)
    compared = reported["compare"]["runs"]
    assert [c["protocol"] for c in compared] == list(PROTOCOLS)
    for run, row in zip(summary.runs, compared, strict=True):
        assert row["turns"]["total"] == len(run.turns), run.protocol
        assert row["turns"]["abstained"] == run.abstentions, run.protocol
        assert row["distinct_roles"] == run.distinct_roles, run.protocol
        assert row["duplicate_artifacts"] == run.duplicates, run.protocol
        assert row["tokens"] == run.tokens, run.protocol
    solo = summary.runs[-1]
    assert {t.agent for t in solo.turns} == {"generalist"}


def test_the_cli_prints_the_summary_and_curl_commands(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BLACKBOARD_DATABASE_URL", raising=False)
    monkeypatch.delenv("BLACKBOARD_ADMIN_TOKEN", raising=False)
    app = typer.Typer()
    demo_command.register(app)

    @app.command()
    def other() -> None:  # a second command, so that `demo` is addressed by name
        """Nothing."""

    result = CliRunner().invoke(app, ["demo", "--fast", "--data-dir", str(data_dir)])

    assert result.exit_code == 0, result.output
    out = result.output
    token = (data_dir / "admin_token").read_text().strip()
    for heading in ("Artifacts per type", "Roles claimed", "Abstentions", "Context per turn"):
        assert heading in out
    assert "stop reason: completed 1 round(s)" in out
    assert "wall time" in out
    curls = [line for line in out.splitlines() if line.startswith("curl -s ")]
    assert len(curls) == 7, out
    assert all(f"Bearer {token}" in line and "http://127.0.0.1:" in line for line in curls)
    assert any("/artifacts?latest=false" in line for line in curls)
    assert any("/events?after=0" in line for line in curls)
    assert any("/calls" in line for line in curls)
    assert any("/history" in line for line in curls)
    assert any("/metrics" in line for line in curls)


def test_the_cli_rejects_an_unknown_protocol() -> None:
    app = typer.Typer()
    demo_command.register(app)

    @app.command()
    def other() -> None:
        """Nothing."""

    result = CliRunner().invoke(app, ["demo", "--protocol", "chaos"])
    assert result.exit_code != 0
