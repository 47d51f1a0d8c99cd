"""The SVG charts, on hand-made metrics: what they draw is what the numbers say."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from api.inspector.charts import holding_chart, interaction_graph, role_chart
from blackboard.metrics.models import (
    Edge,
    HoldingMetrics,
    HoldingWindow,
    InteractionGraph,
    Node,
    RoleMetrics,
    RoleWindow,
)

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # raises unless it is well-formed XML


def roles_of(windows: list[dict[str, int]]) -> RoleMetrics:
    totals: dict[str, int] = {}
    for claims in windows:
        for role, n in claims.items():
            totals[role] = totals.get(role, 0) + n
    return RoleMetrics(
        window_s=60,
        windows=[
            RoleWindow(
                start=T0 + timedelta(minutes=i),
                end=T0 + timedelta(minutes=i + 1),
                claims=claims,
                distinct_roles=len(claims),
            )
            for i, claims in enumerate(windows)
        ],
        totals=totals,
        distinct_roles=len(totals),
        agents=[],
    )


def test_role_chart_bars_are_proportional_to_the_claims_in_each_window() -> None:
    chart = role_chart(roles_of([{"planner": 2, "critic": 1}, {"planner": 4}, {"critic": 3}]))
    svg = parse(chart)
    bars = svg.findall(f"{SVG}rect[@class='bar']")
    drawn = {(b.get("data-window"), b.get("data-role")): float(b.get("height", 0)) for b in bars}
    assert set(drawn) == {("0", "planner"), ("0", "critic"), ("1", "planner"), ("2", "critic")}
    unit = drawn[("1", "planner")] / 4  # the busiest window is full height
    assert unit > 0
    assert abs(drawn[("0", "planner")] - 2 * unit) < 0.05
    assert abs(drawn[("0", "critic")] - 1 * unit) < 0.05
    assert abs(drawn[("2", "critic")] - 3 * unit) < 0.05
    # one colour per role, the same in every window, and a legend naming each with its total
    colours = {b.get("data-role"): set() for b in bars}
    for b in bars:
        colours[b.get("data-role")].add(b.get("fill"))
    assert all(len(c) == 1 for c in colours.values())
    assert colours["planner"] != colours["critic"]
    legend = [t.text for t in svg.findall(f"{SVG}text[@class='legend']")]
    assert legend == ["critic (4)", "planner (6)"]


def test_role_chart_stacks_a_window_bottom_up_without_overlap() -> None:
    svg = parse(role_chart(roles_of([{"a": 1, "b": 2}])))
    bars = {r.get("data-role"): r for r in svg.findall(f"{SVG}rect[@class='bar']")}
    top_of_a = float(bars["a"].get("y", 0))
    bottom_of_b = float(bars["b"].get("y", 0)) + float(bars["b"].get("height", 0))
    assert abs(top_of_a - bottom_of_b) < 0.05  # b sits right on top of a


def test_role_chart_escapes_role_names_and_says_when_there_is_nothing() -> None:
    chart = role_chart(roles_of([{"<script>alert(1)</script>": 1}]))
    assert "<script>" not in chart
    assert "&lt;script&gt;" in chart
    parse(chart)
    empty = role_chart(roles_of([]))
    assert "no role claims" in parse(empty).findall(f"{SVG}text")[0].text  # type: ignore[operator]


def graph_of(
    names: list[str], edges: list[tuple[int, int, int]]
) -> tuple[InteractionGraph, list[UUID]]:
    ids = [uuid4() for _ in names]
    return (
        InteractionGraph(
            nodes=[
                Node(agent_id=i, name=n, published=k)
                for k, (i, n) in enumerate(zip(ids, names, strict=True))
            ],
            edges=[
                Edge(producer=ids[p], consumer=ids[c], built_on=w, shown=0, weight=w)
                for p, c, w in edges
            ],
        ),
        ids,
    )


def test_interaction_graph_draws_every_node_and_each_edge_with_its_weight() -> None:
    graph, ids = graph_of(["planner", "researcher", "critic"], [(0, 1, 3), (1, 2, 1)])
    svg = parse(interaction_graph(graph))
    nodes = svg.findall(f"{SVG}g[@class='node']")
    assert [n.get("data-agent") for n in nodes] == [str(i) for i in ids]
    assert [n.find(f"{SVG}text[@class='name']").text for n in nodes] == [  # type: ignore[union-attr]
        "planner",
        "researcher",
        "critic",
    ]
    edges = svg.findall(f"{SVG}g[@class='edge']")
    assert [(e.get("data-producer"), e.get("data-consumer")) for e in edges] == [
        (str(ids[0]), str(ids[1])),
        (str(ids[1]), str(ids[2])),
    ]
    assert [e.find(f"{SVG}text").text for e in edges] == ["3", "1"]  # type: ignore[union-attr]
    widths = [float(e.find(f"{SVG}line").get("stroke-width", 0)) for e in edges]  # type: ignore[union-attr]
    assert widths[0] > widths[1]  # the heavier edge is drawn thicker
    assert all(e.find(f"{SVG}line").get("marker-end") for e in edges)  # type: ignore[union-attr]


def test_interaction_graph_nodes_sit_on_a_circle() -> None:
    graph, _ = graph_of(["a", "b", "c", "d"], [])
    svg = parse(interaction_graph(graph))
    centres = [(float(c.get("cx", 0)), float(c.get("cy", 0))) for c in svg.iter(f"{SVG}circle")]
    assert len(centres) == 4
    cx, cy = float(svg.get("width", 0)) / 2, float(svg.get("height", 0)) / 2
    radii = {round(((x - cx) ** 2 + (y - cy) ** 2) ** 0.5, 1) for x, y in centres}
    assert len(radii) == 1 and radii.pop() > 0
    assert len(set(centres)) == 4


def test_interaction_graph_escapes_agent_names_and_handles_no_agents() -> None:
    graph, _ = graph_of(['<img src=x onerror="alert(1)">', "b"], [(0, 1, 2)])
    markup = interaction_graph(graph)
    assert "<img" not in markup
    parse(markup)
    empty = parse(interaction_graph(InteractionGraph(nodes=[], edges=[])))
    assert empty.findall(f"{SVG}g[@class='node']") == []


def test_holding_chart_shows_a_role_in_every_window_it_was_held() -> None:
    ann, bob = uuid4(), uuid4()
    held = HoldingMetrics(
        window_s=60,
        windows=[
            HoldingWindow(
                start=T0 + timedelta(minutes=i),
                end=T0 + timedelta(minutes=i + 1),
                roles=roles,
                distinct_roles=len(roles),
            )
            for i, roles in enumerate(
                [{"planner": [ann]}, {"planner": [ann], "critic": [ann, bob]}, {"critic": [bob]}]
            )
        ],
    )
    # one claim each: the legend counts claims, the bars the agents holding a role
    svg = parse(holding_chart(held, {"planner": 1, "critic": 2}))
    bars = [
        (r.get("data-window"), r.get("data-role"), r.get("data-count"))
        for r in svg.iter(f"{SVG}rect")
        if r.get("class") == "bar"
    ]
    assert bars == [
        ("0", "planner", "1"),
        ("1", "critic", "2"),
        ("1", "planner", "1"),
        ("2", "critic", "1"),
    ]
    legend = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "legend"]
    assert legend == ["critic (2)", "planner (1)"]
    empty = holding_chart(HoldingMetrics(window_s=60, windows=[]), {})
    assert "no roles held" in str(empty)
