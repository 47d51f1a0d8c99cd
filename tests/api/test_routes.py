"""Route order: routers are included busiest first (api/app.py), and no route may be
shadowed by one matched before it (`/v1/runs/compare` read as `/v1/runs/{run_id}`)."""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Match, Route

from api import create_app
from blackboard.config import Settings

PARAM = re.compile(r"\{[^}]+\}")


def in_matching_order(routes: list[BaseRoute]) -> Iterator[Route]:
    """Every endpoint, in the order a request is matched against them."""
    for route in routes:
        inner = getattr(route, "original_router", None)  # an included router
        if inner is not None:
            yield from in_matching_order(inner.routes)
        elif isinstance(route, Route) and route.methods:
            yield route


def first_match(routes: list[Route], method: str, path: str) -> Route | None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return next((r for r in routes if r.matches(scope)[0] == Match.FULL), None)


def test_every_route_answers_its_own_paths(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url="postgresql://unused/none", admin_token="t", data_dir=tmp_path)
    )
    routes = list(in_matching_order(app.router.routes))
    assert len(routes) > 50
    shadowed = []
    for route in routes:
        # an id in every parameter, and each parameter spelled as a word (`compare`-like)
        for path in {PARAM.sub("0b6e8a4e-6f0c-4d1e-9b8a-3c2d1e0f9a7b", route.path),
                     PARAM.sub(lambda m: m.group()[1:-1], route.path)}:  # fmt: skip
            for method in sorted(route.methods or ()):
                hit = first_match(routes, method, path)
                if hit is not route:
                    shadowed.append(f"{method} {path} -> {getattr(hit, 'path', None)}")
    assert shadowed == []


@pytest.mark.parametrize(
    "path", ["/v1/boards/{board_id}/tasks/claim", "/v1/tasks/{task_id}/complete"]
)
def test_the_busiest_routes_are_matched_before_the_rest(tmp_path: Path, path: str) -> None:
    app = create_app(
        Settings(database_url="postgresql://unused/none", admin_token="t", data_dir=tmp_path)
    )
    order = [r.path for r in in_matching_order(app.router.routes)]
    assert order.index(path) < order.index("/v1/agents")
