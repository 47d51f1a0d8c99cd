"""The inspector in a real headless browser (Debian's chromium, driven by Playwright):
log in through the form, follow links, watch the live timeline pick up an artifact
published meanwhile, read a diff and a turn's manifest. Writes a screenshot of the board
page to test-artifacts/inspector-board.png.

And a newcomer's tour after `blackboard demo`: `/` leads to the inspector, a demo board, its
revised plan's diff, its run, and the API reference at /docs with the network closed to
everything but the service; screenshots of each page go to test-artifacts/screenshots/."""

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from blackboard.cli.demo_command import run_demo
from blackboard.config import Settings
from tests.support.api import ADMIN_TOKEN
from tests.support.scenario import CLAIM_V2, build, publish

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "Chromium not found: install Debian's chromium (apt-get install chromium) "
        "to run the browser tests",
        allow_module_level=True,
    )
playwright_api = pytest.importorskip(
    "playwright.async_api", reason="Playwright is not installed: pip install -e '.[test]'"
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "inspector-board.png"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh Chromium profile (a browser context): no cookies, no cache."""
    try:
        driver = await playwright_api.async_playwright().start()
    except Exception as exc:  # the driver is a bundled program; it may fail to run here
        pytest.skip(f"Playwright could not start its driver: {exc}")
    try:
        context = await driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            await context.close()
    finally:
        await driver.stop()


async def new_page(browser: Any) -> tuple[Any, list[str]]:
    """A page, and the list its script errors and failed loads are collected in."""
    page = await browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on(
        "console",
        lambda msg: problems.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} for {r.url}") if r.status >= 400 else None,
    )
    return page, problems


async def log_in(page: Any, base: str, token: str) -> None:
    await page.goto(base + "/inspector/")
    await page.wait_for_url("**/inspector/login**")  # no token yet: the form
    await page.fill("#token", token)
    await page.click("form.login button[type=submit]")


async def test_a_wrong_token_shows_the_form_again_with_a_message(
    live_server: Any, browser: Any
) -> None:
    page, _ = await new_page(browser)
    await log_in(page, live_server.url, "bbadmin_wrong")
    await playwright_api.expect(page.locator(".error")).to_contain_text("not valid")
    assert await browser.cookies() == []


async def test_browse_a_board_watch_it_live_and_read_a_diff_and_a_manifest(
    live_server: Any, browser: Any
) -> None:
    expect = playwright_api.expect
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as api:
        s = await build(api)
        page, problems = await new_page(browser)
        await log_in(page, live_server.url, ADMIN_TOKEN)
        await page.wait_for_url(live_server.url + "/inspector/")
        await expect(page.locator("#boards")).to_contain_text("Check the handbook")

        await page.click("text=boiling-points")
        await expect(page.locator("h1")).to_contain_text("boiling-points")
        await expect(page.locator("#artifacts")).to_contain_text("finding/water")
        await expect(page.locator("#abstentions")).to_contain_text("outside my competence")
        await expect(page.locator("svg.chart.roles rect.bar").first).to_be_visible()
        await expect(page.locator("svg.chart.graph g.node").first).to_be_visible()
        await expect(page.locator("#timeline-status")).to_have_text("live", timeout=WAIT_MS)

        fresh = await publish(
            api,
            s.board["id"],
            s.researcher,
            type="finding",
            key="finding/steam",
            body={"claim": "steam is hotter than boiling water"},
        )
        row = page.locator(f'#timeline tbody tr[data-seq="{fresh["seq"]}"]')
        await expect(row).to_be_visible(timeout=WAIT_MS)
        await expect(row).to_contain_text("finding/steam")
        await expect(page.locator("#timeline tbody tr").first).to_have_attribute(
            "data-seq", str(fresh["seq"])
        )  # on top: newest first

        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.unlink(missing_ok=True)
        await page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size > 20_000  # a rendered page, not a blank one

        # the live row links to the artifact; the key's current version shows its diff
        await page.click('#artifacts a:text("finding/water")')
        await expect(page.locator("h1")).to_contain_text("finding/water")
        await expect(page.locator("#diff .add").first).to_contain_text(CLAIM_V2)
        await expect(page.locator("#descendants a")).to_contain_text("critique/water")

        # a run's page: each turn with what it was shown and what was hidden from it
        await page.go_back()
        await page.click(f'#runs a[href="/inspector/runs/{s.run["id"]}"]')
        last = s.detail["turns"][-1]
        turn = page.locator(f'article[id="turn-{last["id"]}"]')
        await expect(turn).to_contain_text(f"Hidden ({last['manifest']['hidden_total']})")
        await expect(turn.locator(".manifest.shown")).to_contain_text(
            f"Shown ({len(last['manifest']['shown'])})"
        )
        await page.close()
    assert problems == []


async def screenshot(page: Any, name: str) -> None:
    """Keep what the page looks like for a reviewer (see the README's Testing section)."""
    path = SCREENSHOTS / f"{name}.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank one


async def test_a_newcomers_tour_after_the_demo(live_server: Any, browser: Any) -> None:
    expect = playwright_api.expect
    host, port = live_server.url.removeprefix("http://").split(":")
    # the demo finds the service answering at its address and runs there
    summary = await asyncio.to_thread(
        run_demo,
        Settings(host=host, port=int(port), admin_token=ADMIN_TOKEN, database_url=None),
        fast=True,
    )
    [run] = summary.runs
    assert not summary.started_service and "plan/main" in run.revised_keys

    page, problems = await new_page(browser)
    await page.goto(live_server.url + "/")
    await page.wait_for_url("**/inspector/login**")
    await page.fill("#token", ADMIN_TOKEN)
    await page.click("form.login button[type=submit]")
    await page.wait_for_url(live_server.url + "/inspector/")
    await expect(page.locator("#boards")).to_contain_text(run.board_name)
    await screenshot(page, "boards")

    await page.click(f"text={run.board_name}")
    await expect(page.locator("h1")).to_contain_text(run.board_name)
    await expect(page.locator("#timeline-status")).to_have_text("live", timeout=WAIT_MS)
    await expect(page.locator("svg.chart.roles rect.bar").first).to_be_visible()
    await screenshot(page, "board")

    # the revised plan: its current version, and what the revision changed
    await page.click('#artifacts a:text-is("plan/main")')
    await expect(page.locator("h1")).to_contain_text("plan/main")
    await expect(page.locator("#history")).to_contain_text("v2")
    await expect(page.locator("#diff .add").first).to_contain_text("Review the findings")
    await screenshot(page, "artifact-diff")

    await page.go_back()
    await page.click(f'#runs a[href="/inspector/runs/{run.run_id}"]')
    await expect(page.locator("article.turn")).to_have_count(len(run.turns))
    await expect(page.locator("#run-meta")).to_contain_text(run.stop_reason or "?")
    await screenshot(page, "run")
    assert problems == []

    # the API reference, with every request away from the service refused
    refused: list[str] = []

    async def only_the_service(route: Any) -> None:
        if route.request.url.startswith(live_server.url + "/"):
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort()

    docs, problems = await new_page(browser)
    await docs.route("**/*", only_the_service)
    await docs.goto(live_server.url + "/docs")
    await expect(docs.locator(".opblock").first).to_be_visible(timeout=WAIT_MS)
    await expect(docs.locator(".opblock-summary-path").first).to_contain_text("/v1/")
    assert await docs.locator(".opblock").count() > 20  # the operations, listed
    await screenshot(docs, "docs")
    assert refused == [] and problems == []
