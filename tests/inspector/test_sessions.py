"""Inspector logins are server-side sessions: the cookie holds a random id, never a
token; logging out ends the session for whoever holds a copy of the cookie; every page
carries the headers that keep it out of frames and other sites' reach."""

from typing import Any

import httpx
import pytest

from tests.support.api import ADMIN, ADMIN_TOKEN, Actors

LOGIN = "/inspector/login"


async def log_in(client: httpx.AsyncClient, token: str) -> str:
    r = await client.post(LOGIN, data={"token": token})
    assert r.status_code == 303, r.text
    return r.cookies["bb_inspector"]


@pytest.mark.parametrize("who", ["admin", "agent"])
async def test_the_cookie_holds_a_session_id_not_the_token(
    client: httpx.AsyncClient, actors: Actors, db: Any, who: str
) -> None:
    token = ADMIN_TOKEN if who == "admin" else (await actors.agent())["token"]
    session = await log_in(client, token)
    assert token not in session and len(session) >= 40
    r = await client.post(LOGIN, data={"token": token})
    assert r.cookies["bb_inspector"] != session, "each login is a session of its own"
    rows = db.execute(
        "SELECT id_hash, expires_at > now() + interval '1 hour' FROM inspector_sessions"
    )
    stored = rows.fetchall()
    assert len(stored) == 2 and all(live for _, live in stored)
    assert all(session.encode() not in bytes(h) for h, _ in stored), "only its hash is kept"


async def test_logout_ends_the_session_for_every_copy_of_the_cookie(
    client: httpx.AsyncClient, app: Any
) -> None:
    session = await log_in(client, ADMIN_TOKEN)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bb.test") as thief:
        thief.cookies.set("bb_inspector", session, path="/inspector")
        assert (await thief.get("/inspector/")).status_code == 200
        assert (await client.post("/inspector/logout")).status_code == 303
        r = await thief.get("/inspector/")
        assert r.status_code == 303 and r.headers["location"].startswith(LOGIN)


async def test_a_made_up_or_expired_session_is_no_login(client: httpx.AsyncClient, db: Any) -> None:
    client.cookies.set("bb_inspector", "made-up", path="/inspector")
    assert (await client.get("/inspector/")).status_code == 303
    session = await log_in(client, ADMIN_TOKEN)
    assert (await client.get("/inspector/")).status_code == 200
    db.execute("UPDATE inspector_sessions SET expires_at = now() - interval '1 second'")
    client.cookies.set("bb_inspector", session, path="/inspector")
    assert (await client.get("/inspector/")).status_code == 303


async def test_every_inspector_page_sends_the_security_headers(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    board = (await actors.board())["id"]
    for path in ("/inspector/login", "/inspector/", f"/inspector/boards/{board}"):
        r = await client.get(path, headers=ADMIN)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
