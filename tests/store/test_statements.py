"""Every hot SQL statement, rendered whole, matches its golden file in statements/.

The statements are glued from pieces kept next to the checks and writes they serve; the
golden files are what a reviewer reads to see exactly what runs. After changing a
statement on purpose, rewrite them with BLACKBOARD_UPDATE_STATEMENTS=1 and review the diff.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from blackboard.store import (
    artifact_writes,
    claims,
    events,
    publish_sql,
    run_endings,
    runs,
    tasks,
    webhooks,
)

_GOLDEN = Path(__file__).parent / "statements"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Hot:
    """A statement as it runs, and who runs it."""

    name: str
    runner: str
    sql: str


_HOT = [
    Hot("publish", "store/artifact_writes.py publish", publish_sql.PUBLISH),
    Hot(
        "publish_completing_tasks",
        "store/artifact_writes.py publish (with TaskDone)",
        publish_sql.PUBLISH_COMPLETING_TASKS,
    ),
    Hot(
        "publish_completing_turn",
        "store/artifact_writes.py publish (with TurnDone)",
        publish_sql.PUBLISH_COMPLETING_TURN,
    ),
    Hot("retract", "store/artifact_writes.py retract", artifact_writes._RETRACT),
    Hot("event_append", "store/events.py append", events._APPEND),
    Hot("task_post", "store/tasks.py post_statement", tasks._POST),
    Hot("task_claim", "store/tasks.py claim_statement", tasks._CLAIM),
    Hot("task_expire_due", "store/tasks.py expire_due", tasks._EXPIRE_DUE),
    Hot("task_expire_on_board", "store/tasks.py expire_on_board", tasks._EXPIRE_ON_BOARD),
    Hot("claim_expire_due", "store/claims.py expire_due", claims._EXPIRE_DUE),
    Hot("run_take", "store/runs.py take_drivable", runs._TAKE),
    Hot("turn_offer", "store/runs.py offer_turn", runs._OFFER),
    Hot("turn_abstain", "store/runs.py abstain_turn", runs._ABSTAIN_TURN),
    Hot("run_finish", "store/run_endings.py finish", run_endings._FINISH),
    Hot("webhook_take_due", "store/webhooks.py take_due", webhooks._TAKE_DUE),
]


def rendered(hot: Hot) -> str:
    """The golden file's text: a header naming the runner and parameters, then the SQL."""
    params = sorted(set(_PLACEHOLDER.findall(hot.sql)))
    header = [f"-- Run by {hot.runner}.", "-- Parameters:"]
    for name in params:
        if len(header[-1]) + len(name) > 86:
            header.append("--")
        header[-1] += f" {name},"
    header[-1] = header[-1].rstrip(",") + "."
    return "\n".join(header) + "\n" + hot.sql.strip("\n") + "\n"


def test_every_statement_is_named_once() -> None:
    assert len({h.name for h in _HOT}) == len(_HOT)


@pytest.mark.parametrize("hot", _HOT, ids=[h.name for h in _HOT])
def test_statement_reads_as_its_golden_file(hot: Hot) -> None:
    path = _GOLDEN / f"{hot.name}.sql"
    text = rendered(hot)
    if os.environ.get("BLACKBOARD_UPDATE_STATEMENTS") == "1":
        path.write_text(text)
    assert path.exists(), f"no {path.name}: run with BLACKBOARD_UPDATE_STATEMENTS=1"
    assert path.read_text() == text, (
        f"{hot.runner} now runs other SQL than {path.name}: review the change and rewrite "
        "the golden files with BLACKBOARD_UPDATE_STATEMENTS=1"
    )


def test_no_golden_file_is_left_over() -> None:
    assert {p.stem for p in _GOLDEN.glob("*.sql")} == {h.name for h in _HOT}
