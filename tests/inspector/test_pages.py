"""The inspector over HTTP: who may look, and that every page shows the real data (escaped)."""

import re
from typing import Any
from uuid import uuid4

import httpx
import pytest
from markupsafe import escape

from tests.support.api import ADMIN, ADMIN_TOKEN, Actors
from tests.support.runs import finished, population, start
from tests.support.scenario import CLAIM_V1, CLAIM_V2, HOSTILE, Scenario, build, publish
from tests.support.servers import SSE

LOGIN = "/inspector/login"


@pytest.fixture
async def scenario(client: httpx.AsyncClient) -> Scenario:
    return await build(client)


async def log_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(LOGIN, data={"token": token})


def pages(s: Scenario) -> list[str]:
    return [
        "/inspector/",
        f"/inspector/boards/{s.board['id']}",
        f"/inspector/artifacts/{s.v2['id']}",
        f"/inspector/runs/{s.run['id']}",
        f"/inspector/compare?run_id={s.run['id']}",
    ]


def section(page: str, element_id: str) -> str:
    """The text of the element with this id, up to the end of its section or article."""
    start = page.index(f'id="{element_id}"')
    ends = [
        i for tag in ("</section>", "</article>", "</main>") if (i := page.find(tag, start)) != -1
    ]
    return page[start : min(ends)]


async def test_a_wrong_token_is_refused_with_the_form_and_no_cookie(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    r = await log_in(client, "bbadmin_not-the-token")
    assert r.status_code == 401
    assert "That token is not valid" in r.text
    assert 'name="token"' in r.text  # the form again
    assert "set-cookie" not in r.headers
    assert not client.cookies
    r = await client.get("/inspector/")
    assert r.status_code == 303 and r.headers["location"].startswith(LOGIN)


@pytest.mark.parametrize("who", ["admin", "agent"])
async def test_admin_and_agent_tokens_log_in_see_pages_and_log_out(
    client: httpx.AsyncClient, scenario: Scenario, who: str
) -> None:
    token = ADMIN_TOKEN if who == "admin" else scenario.researcher["token"]
    r = await log_in(client, token)
    assert r.status_code == 303 and r.headers["location"] == "/inspector/"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/inspector" in cookie
    assert "secure" not in cookie  # plain http here; https gets a Secure cookie
    for path in pages(scenario):
        r = await client.get(path)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("text/html")
    signed_in_as = "admin" if who == "admin" else "researcher-ana"
    assert f"signed in as <strong>{signed_in_as}</strong>" in r.text
    r = await client.post("/inspector/logout")
    assert r.status_code == 303 and r.headers["location"] == LOGIN
    r = await client.get("/inspector/")
    assert r.status_code == 303


async def test_login_returns_to_the_page_first_asked_for_and_never_elsewhere(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    board_page = f"/inspector/boards/{scenario.board['id']}"
    r = await client.get(board_page)
    assert r.status_code == 303
    form = await client.get(r.headers["location"])
    assert f'name="next" value="{board_page}"' in form.text
    r = await client.post(LOGIN, data={"token": ADMIN_TOKEN, "next": board_page})
    assert r.headers["location"] == board_page
    for elsewhere in ["https://evil.example/", "//evil.example/", "/inspector/../v1/agents"]:
        r = await client.post(LOGIN, data={"token": ADMIN_TOKEN, "next": elsewhere})
        assert r.headers["location"] == "/inspector/"


async def test_without_a_token_every_page_redirects_to_login_and_shows_no_data(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    for path in pages(scenario):
        r = await client.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith(LOGIN + "?next=")
        assert "boiling-points" not in r.text and "finding/water" not in r.text
    r = await client.get(f"/inspector/boards/{scenario.board['id']}/stream")
    assert r.status_code == 401
    # a bearer header (curl, scripts) works like the cookie
    r = await client.get(f"/inspector/boards/{scenario.board['id']}", headers=ADMIN)
    assert r.status_code == 200 and "boiling-points" in r.text
    bad = {"Authorization": "Bearer bbadmin_wrong"}
    r = await client.get(f"/inspector/boards/{scenario.board['id']}", headers=bad)
    assert r.status_code == 303


async def test_boards_list_and_board_page_show_the_real_board(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    await log_in(client, ADMIN_TOKEN)
    boards = (await client.get("/inspector/")).text
    assert "boiling-points" in boards and "Check the handbook" in boards
    assert f'href="/inspector/boards/{scenario.board["id"]}"' in boards

    page = (await client.get(f"/inspector/boards/{scenario.board['id']}")).text
    last_seq = (await client.get(f"/v1/boards/{scenario.board['id']}", headers=ADMIN)).json()[
        "last_seq"
    ]
    timeline = section(page, "timeline")
    seqs = [int(s) for s in re.findall(r'data-seq="(\d+)"', timeline)]
    assert seqs == sorted(seqs, reverse=True) and seqs[0] == last_seq  # newest first
    assert f'stream?after={last_seq}"' in timeline
    assert "artifact.published" in timeline and "agent.abstained" in timeline
    # published versions link to their page (the run's released turn claims may have pushed
    # the scenario's first versions to the next page of the timeline)
    assert re.search(r'href="/inspector/artifacts/[0-9a-f-]{36}"', timeline)
    assert f'href="/inspector/runs/{scenario.run["id"]}"' in timeline

    abstentions = section(page, "abstentions")
    assert "critic-bo" in abstentions and "chemist" in abstentions
    assert escape(HOSTILE) in abstentions and "0.8" in abstentions

    artifacts = section(page, "artifacts")
    assert f'href="/inspector/artifacts/{scenario.v2["id"]}">finding/water</a>' in artifacts
    assert "researcher-ana" in artifacts

    runs = section(page, "runs")
    assert f'href="/inspector/runs/{scenario.run["id"]}"' in runs and "sequential" in runs
    assert f'name="run_id" value="{scenario.run["id"]}"' in runs  # the compare form

    # the charts are drawn from the board's claims and interactions
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart roles"' in page
    assert 'data-role="researcher"' in page and 'data-role="planner"' in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart graph"' in page
    assert f'href="/v1/boards/{scenario.board["id"]}/metrics"' in page


async def test_artifact_page_shows_history_the_diff_and_lineage(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    await log_in(client, ADMIN_TOKEN)
    page = (await client.get(f"/inspector/artifacts/{scenario.v2['id']}")).text
    assert "finding/water" in page and "researcher-ana" in page
    history = section(page, "history")
    assert f'href="/inspector/artifacts/{scenario.v1["id"]}">v1' in history
    assert f'href="/inspector/artifacts/{scenario.v2["id"]}">v2' in history
    # the diff against the previous version, by default: the changed line, both ways
    diff = section(page, "diff")
    assert f'<span class="del">-  &#34;claim&#34;: &#34;{CLAIM_V1}&#34;,</span>' in diff
    assert f'<span class="add">+  &#34;claim&#34;: &#34;{CLAIM_V2}&#34;,</span>' in diff
    assert '<span class="add">+  &#34;confidence&#34;: 0.9</span>' in diff
    # lineage: the critique built on this version
    descendants = section(page, "descendants")
    assert f'href="/inspector/artifacts/{scenario.critique["id"]}"' in descendants
    parent = (await client.get(f"/inspector/artifacts/{scenario.critique['id']}")).text
    assert f'href="/inspector/artifacts/{scenario.v2["id"]}"' in section(parent, "ancestors")
    # version 1 has nothing before it; diffing against a version that does not exist is a 404
    first = (await client.get(f"/inspector/artifacts/{scenario.v1['id']}")).text
    assert "nothing earlier to compare with" in first
    r = await client.get(f"/inspector/artifacts/{scenario.v1['id']}?against=2")
    assert r.status_code == 200 and '<span class="add">+  &#34;claim&#34;' in r.text
    r = await client.get(f"/inspector/artifacts/{scenario.v1['id']}?against=9")
    assert r.status_code == 404 and "no version 9" in r.text


async def test_run_page_shows_each_turns_manifest_and_outcome(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    await log_in(client, ADMIN_TOKEN)
    page = (await client.get(f"/inspector/runs/{scenario.run['id']}")).text
    run = scenario.detail["run"]
    assert run["protocol"] in page and "Boil water" in page and run["status"] in page
    turns = scenario.detail["turns"]
    assert len(turns) == 4
    hid_something = False
    for turn in turns:
        block = section(page, f"turn-{turn['id']}")
        manifest = turn["manifest"]
        assert f"Step {turn['step']}" in block and turn["status"] in block
        assert f"Shown ({len(manifest['shown'])})" in block
        for shown in manifest["shown"]:
            assert f'href="/inspector/artifacts/{shown["id"]}">{shown["key"]}</a>' in block
        assert f"Hidden ({manifest['hidden_total']})" in block
        for type_, count in manifest["hidden"].items():
            assert f'<td>{type_}</td><td class="num">{count}</td>' in block
            hid_something = True
        assert f"token estimate {manifest['token_estimate']}" in block
        assert f"tokens in {turn['call']['tokens_in']}" in block
        for artifact_id in turn["artifact_ids"]:
            assert f'href="/inspector/artifacts/{artifact_id}"' in block
        if turn["status"] == "abstained":
            assert escape(turn["reason"]) in block
    assert hid_something  # the run's view hid findings and critiques from later turns
    summary = section(page, "run-summary")
    assert f"<strong>{len(turns)}</strong> turns" in summary


async def test_compare_puts_runs_of_different_protocols_side_by_side(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    await log_in(client, ADMIN_TOKEN)
    r = await client.get("/inspector/compare")
    assert r.status_code == 200 and "Pick runs to compare" in r.text
    roster = [a["id"] for a in await population(Actors(client), "-again")]
    other = await start(client, scenario.board, protocol="broadcast", roster=roster)
    await finished(client, other["id"])
    ids = [scenario.run["id"], other["id"]]
    query = "&".join(f"run_id={i}" for i in ids)
    summaries = (await client.get(f"/v1/runs/compare?{query}", headers=ADMIN)).json()["runs"]
    table = section((await client.get(f"/inspector/compare?{query}")).text, "comparison")
    for run_id, protocol in zip(ids, ["sequential", "broadcast"], strict=True):
        assert f'href="/inspector/runs/{run_id}">{protocol}</a>' in table
    assert table.index("sequential</a>") < table.index("broadcast</a>")  # in the order asked
    for label, figure in [
        ("Turns", lambda r: r["turns"]["total"]),
        ("abstained", lambda r: r["turns"]["abstained"]),
        ("Distinct roles", lambda r: r["distinct_roles"]),
        ("Tokens", lambda r: r["tokens"]),
        ("Artifacts", lambda r: r["artifacts"]),
        ("Duplicate artifacts", lambda r: r["duplicate_artifacts"]),
    ]:
        cells = "".join(f'<td class="num">{figure(r)}</td>' for r in summaries)
        assert f"<tr><th>{label}</th>{cells}</tr>" in table, label


async def test_agent_written_markup_is_shown_as_text_never_run(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    hostile = await publish(
        client,
        scenario.board["id"],
        scenario.researcher,
        type="finding",
        key="<img src=x onerror=alert(1)>",
        role="<script>alert('role')</script>",
        body={"claim": "<script>alert('body')</script>"},
    )
    await log_in(client, ADMIN_TOKEN)
    for path in [
        f"/inspector/boards/{scenario.board['id']}",
        f"/inspector/artifacts/{hostile['id']}",
    ]:
        page = (await client.get(path)).text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page
    board = (await client.get(f"/inspector/boards/{scenario.board['id']}")).text
    assert "&lt;img src=x onerror=alert(1)&gt;" in board


async def test_unknown_ids_are_a_not_found_page(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    await log_in(client, ADMIN_TOKEN)
    for path in [
        f"/inspector/boards/{uuid4()}",
        f"/inspector/artifacts/{uuid4()}",
        f"/inspector/runs/{uuid4()}",
        f"/inspector/compare?run_id={uuid4()}",
        "/inspector/boards/not-an-id",
    ]:
        r = await client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html")
        assert "<h1>Not found</h1>" in r.text
    r = await client.get(f"/inspector/boards/{uuid4()}/stream")
    assert r.status_code == 404


async def test_the_live_stream_relays_new_events_as_escaped_rows(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as c:
        s = await build(c)
        await log_in(c, ADMIN_TOKEN)
        head = (await c.get(f"/v1/boards/{s.board['id']}", headers=ADMIN)).json()["last_seq"]
        url = f"/inspector/boards/{s.board['id']}/stream?after={head}"
        async with c.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            fresh = await publish(
                c,
                s.board["id"],
                s.researcher,
                type="finding",
                key="finding/<ice>",
                body={"claim": "ice melts at 0 C"},
            )
            [event] = await SSE(response).read(1)
    assert event["event"] == "row" and event["id"] == str(fresh["seq"])
    assert f'data-seq="{fresh["seq"]}"' in event["data"]
    assert f'href="/inspector/artifacts/{fresh["id"]}"' in event["data"]
    assert "finding/&lt;ice&gt;" in event["data"] and "researcher-ana" in event["data"]


async def test_guards_show_on_the_board_and_fencing_tokens_on_versions(
    client: httpx.AsyncClient, scenario: Scenario
) -> None:
    board_id, researcher = scenario.board["id"], scenario.researcher
    r = await client.post(
        f"/v1/boards/{board_id}/guards",
        json={"key_pattern": "note/{scope}", "role": "scribe"},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/v1/boards/{board_id}/claims",
        json={"role": "scribe", "scope": "boil"},
        headers=researcher["headers"],
    )
    assert r.status_code == 201, r.text
    claim = r.json()
    r = await client.post(
        f"/v1/boards/{board_id}/artifacts",
        json={
            "type": "finding",
            "key": "note/boil",
            "claim_id": claim["id"],
            "body": {"claim": "it boils", "confidence": 0.5},
        },
        headers=researcher["headers"],
    )
    assert r.status_code == 201, r.text
    fenced = r.json()
    assert fenced["fencing_token"] == claim["fencing_token"]

    await log_in(client, ADMIN_TOKEN)
    board = (await client.get(f"/inspector/boards/{board_id}")).text
    guards = section(board, "guards")
    assert "<code>note/{scope}</code>" in guards and "<td>scribe</td>" in guards

    page = (await client.get(f"/inspector/artifacts/{fenced['id']}")).text
    meta = section(page, "artifact-meta").split("</table>")[0]
    assert f"<code>{claim['id']}</code>" in meta
    assert f"<th>Fencing token</th><td>{claim['fencing_token']}</td>" in meta
    assert f'<td class="num">{claim["fencing_token"]}</td>' in section(page, "history")
    # a version written under no claim shows neither
    unfenced = (await client.get(f"/inspector/artifacts/{scenario.v2['id']}")).text
    plain = section(unfenced, "artifact-meta").split("</table>")[0]
    assert "Fencing token" not in plain and "<th>Claim</th>" not in plain
