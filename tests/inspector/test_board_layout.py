"""A busy board's page: counters and charts first, then the timeline a page at a time
(the newest page live, older pages linked and still), then runs, artifacts, abstentions."""

import re

import httpx

from api.inspector.timeline import TIMELINE
from tests.support.api import ADMIN, Actors


def seqs(page: str) -> list[int]:
    timeline = page[
        page.index('id="timeline"') : page.index("</table>", page.index('id="timeline"'))
    ]
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', timeline)]


def links(page: str) -> dict[str, str]:
    start = page.index('id="timeline-pages"')
    nav = page[start : page.index("</nav>", start)]
    return {rel: href for href, rel in re.findall(r'href="([^"]+)" rel="(\w+)"', nav)}


async def test_the_timeline_comes_after_the_charts_a_page_at_a_time(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    agent = await actors.agent("prolific")
    board = await actors.board("busy")
    for i in range(2 * TIMELINE + 5):
        r = await client.post(
            f"/v1/boards/{board['id']}/artifacts",
            json={"type": "finding", "key": f"finding/{i}", "body": {"claim": f"fact {i}"}},
            headers=agent["headers"],
        )
        assert r.status_code == 201, r.text
    last = (await client.get(f"/v1/boards/{board['id']}", headers=ADMIN)).json()["last_seq"]
    url = f"/inspector/boards/{board['id']}"

    first = (await client.get(url, headers=ADMIN)).text
    order = [
        first.index(marker)
        for marker in (
            'class="counts"',
            "Role distribution over time",
            "Interaction graph",
            'id="timeline"',
            'id="artifacts"',
        )
    ]
    assert order == sorted(order), order
    assert seqs(first) == list(range(last, last - TIMELINE, -1))  # the newest page
    assert f'data-stream="{url}/stream?after={last}"' in first  # and it is live
    assert set(links(first)) == {"next"}

    older = (await client.get(url + links(first)["next"], headers=ADMIN)).text
    assert seqs(older) == list(range(last - TIMELINE, last - 2 * TIMELINE, -1))
    assert "data-stream" not in older  # an older page stays still
    assert f"of {last}" in older
    oldest = (await client.get(url + links(older)["next"], headers=ADMIN)).text
    assert seqs(oldest) == list(range(last - 2 * TIMELINE, 0, -1))
    assert set(links(oldest)) == {"first", "prev"}
    back = (await client.get(url + links(oldest)["prev"], headers=ADMIN)).text
    assert seqs(back) == seqs(older)
    assert links(back)["first"] == url


async def test_a_malformed_page_is_a_bad_request_page(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = await actors.board("paged")
    for before in ("soon", "0"):
        r = await client.get(f"/inspector/boards/{board['id']}?before={before}", headers=ADMIN)
        assert r.status_code == 400 and "before" in r.text
