"""Every operation in the OpenAPI spec, whoever added it: no 5xx for a caller without a
token, with the admin's or with an agent's, errors in the documented shape, and 405 with
the path's full `Allow` list for every method the path does not serve."""

from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.support.api import ADMIN, Actors

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method.upper(), op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method.upper() in METHODS
    ]


def concrete(path: str, op: dict[str, Any]) -> str:
    """`path` with each parameter filled by a well-formed value naming nothing."""
    for param in op.get("parameters", []):
        if param["in"] != "path":
            continue
        schema = param.get("schema", {})
        value = str(uuid4()) if schema.get("format") == "uuid" else "nothing-here"
        if schema.get("type") == "integer":
            value = "1"
        path = path.replace("{" + param["name"] + "}", value)
    return path


async def answer(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    """The response, its body read unless it is an event stream (which would not end)."""
    async with client.stream(method, url, timeout=30, **kw) as r:
        if not r.headers.get("content-type", "").startswith("text/event-stream"):
            await r.aread()
        return r


def assert_error_shape(r: httpx.Response, where: str) -> None:
    assert r.headers["content-type"].startswith("application/json"), where
    body = r.json()
    assert isinstance(body.get("error"), str) and isinstance(body.get("detail"), str), where


async def test_every_operation_answers_every_caller_without_a_5xx(
    live_server: Any, actors: Actors
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        spec = (await client.get("/openapi.json")).json()
        agent = await actors.agent()
        callers = {"nobody": {}, "admin": ADMIN, "agent": agent["headers"]}
        seen = 0
        for path, method, op in operations(spec):
            url = concrete(path, op)
            for status, documented in op["responses"].items():
                if status[0] in "45":  # errors are JSON, also on a stream's route
                    assert list(documented.get("content", {})) in ([], ["application/json"])
            for who, headers in callers.items():
                body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
                r = await answer(client, method, url, headers=headers, **body)
                where = f"{who}: {method} {path} -> {r.status_code}"
                assert r.status_code < 500, where
                if r.status_code >= 400:
                    assert_error_shape(r, where)
                if who == "nobody" and op.get("security"):
                    assert r.status_code == 401, where
                seen += 1
        assert seen >= 3 * 50  # every operation, not a handful


async def test_every_path_answers_405_with_its_allow_list(live_server: Any) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        spec = (await client.get("/openapi.json")).json()
        for path, ops in spec["paths"].items():
            served = {m.upper() for m in ops}
            allowed = served | ({"HEAD"} if "GET" in served else set())
            url = concrete(path, next(iter(ops.values())))
            for method in set(METHODS) - served:
                r = await answer(client, method, url, headers=ADMIN)
                where = f"{method} {path}"
                assert r.status_code == 405, (where, r.status_code, r.text)
                assert_error_shape(r, where)
                assert set(r.headers["allow"].split(", ")) == allowed, where


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
async def test_methods_no_path_serves_are_405_too(live_server: Any, method: str) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        r = await client.request(method, "/v1/boards", headers=ADMIN)
        assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {
            "GET",
            "HEAD",
            "POST",
        }
