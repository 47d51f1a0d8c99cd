"""Server-side SVG charts for the inspector: role claims per time window, and the
producer → consumer interaction graph.

Plain string building, so the pages work offline and without a JavaScript chart library.
Every piece of text in them (role names, agent names) is agent-written and untrusted: it
goes through `markupsafe.escape`, and the result is `Markup` that Jinja inserts as is.
"""

import math
from datetime import datetime

from markupsafe import Markup, escape

from blackboard.metrics.models import HoldingMetrics, InteractionGraph, RoleMetrics

# Colour-blind-friendly (Okabe-Ito), cycled when there are more roles than colours.
PALETTE = [
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#000000",
]

CHART_W, CHART_H = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 24
LEGEND_ROW = 18


def _empty(message: str, width: int = CHART_W, height: int = 60) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart empty" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<text x="{width / 2:.1f}" y="{height / 2:.1f}" text-anchor="middle">'
        f"{escape(message)}</text></svg>"
    )


def _clock(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


def role_colours(roles: list[str]) -> dict[str, str]:
    """Return a stable colour per role (by sorted name, so pages agree with each other)."""
    return {role: PALETTE[i % len(PALETTE)] for i, role in enumerate(sorted(roles))}


def role_chart(roles: RoleMetrics) -> Markup:
    """A stacked bar per time window: how many claims of each role were made in it."""
    return _stacked_bars(
        [(w.start, w.end, w.claims) for w in roles.windows],
        roles.totals,
        what="role claims per window",
        empty="no role claims in this range",
    )


def holding_chart(holdings: HoldingMetrics, totals: dict[str, int]) -> Markup:
    """A stacked bar per time window: how many agents held each role at any moment of it
    (a role held all along shows in every window, not only where it was claimed). The
    legend counts each role's claims over the range (`totals`)."""
    return _stacked_bars(
        [(w.start, w.end, {r: len(a) for r, a in w.roles.items()}) for w in holdings.windows],
        totals,
        what="agents holding each role per window",
        empty="no roles held in this range",
    )


def _stacked_bars(
    windows: list[tuple[datetime, datetime, dict[str, int]]],
    totals: dict[str, int],
    *,
    what: str,
    empty: str,
) -> Markup:
    """A stacked bar per window, a segment per role.

    Bar heights are proportional to counts, on one scale for the whole chart (the busiest
    window is full height), so windows can be compared by eye.
    """
    names = sorted({r for _, _, counts in windows for r in counts} | set(totals))
    if not windows or not names:
        return _empty(empty)
    colours = role_colours(names)
    plot_w, plot_h = CHART_W - LEFT - RIGHT, CHART_H - TOP - BOTTOM
    peak = max(sum(counts.values()) for _, _, counts in windows) or 1
    slot = plot_w / len(windows)
    bar_w = max(slot * 0.8, 1.0)
    legend_h = LEGEND_ROW * len(names)
    height = CHART_H + 8 + legend_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart roles" width="{CHART_W}" '
        f'height="{height}" viewBox="0 0 {CHART_W} {height}" role="img" '
        f'aria-label="{what}">',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" '
        f'y2="{TOP + plot_h}" stroke="#888"/>',
        f'<text class="peak" x="{LEFT - 4}" y="{TOP + 10}" text-anchor="end">{peak}</text>',
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for i, (start, end, counts) in enumerate(windows):
        x = LEFT + i * slot + (slot - bar_w) / 2
        y = float(TOP + plot_h)
        for role in names:  # same stacking order in every bar
            count = counts.get(role, 0)
            if count == 0:
                continue
            h = count / peak * plot_h
            y -= h
            tip = f"{role}: {count} ({_clock(start)} to {_clock(end)})"
            parts.append(
                f'<rect class="bar" data-role="{escape(role)}" data-count="{count}" '
                f'data-window="{i}" x="{x:.2f}" y="{y:.2f}" width="{bar_w:.2f}" '
                f'height="{h:.2f}" fill="{colours[role]}"><title>{escape(tip)}</title></rect>'
            )
    # label the first and last windows only: the axis stays readable with many windows
    for i in sorted({0, len(windows) - 1}):
        x = LEFT + i * slot + slot / 2
        label = _clock(windows[i][0])
        parts.append(
            f'<text class="tick" x="{x:.2f}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle">{label}</text>'
        )
    for j, role in enumerate(names):
        y = CHART_H + 8 + j * LEGEND_ROW
        parts.append(
            f'<rect class="swatch" x="{LEFT}" y="{y}" width="12" height="12" '
            f'fill="{colours[role]}"/><text class="legend" x="{LEFT + 18}" y="{y + 11}">'
            f"{escape(role)} ({totals.get(role, 0)})</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


GRAPH_W, GRAPH_H = 680, 420
NODE_R = 18
NAME_CHARS = 20  # longer names are cut in the label (the tooltip has them whole)


def interaction_graph(graph: InteractionGraph) -> Markup:
    """Agents on a circle; an arrow from producer to consumer per edge, as thick as its
    weight relative to the heaviest, labelled with the weight."""
    if not graph.nodes:
        return _empty("no interactions yet", width=GRAPH_W)
    cx, cy = GRAPH_W / 2, GRAPH_H / 2
    radius = cy - NODE_R - 24  # room for the names outside the circle
    n = len(graph.nodes)
    at: dict[object, tuple[float, float]] = {}
    for i, node in enumerate(graph.nodes):
        angle = 2 * math.pi * i / n - math.pi / 2  # the first node at twelve o'clock
        at[node.agent_id] = (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
    edges = [e for e in graph.edges if e.producer in at and e.consumer in at]
    heaviest = max((e.weight for e in edges), default=1) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart graph" width="{GRAPH_W}" '
        f'height="{GRAPH_H}" viewBox="0 0 {GRAPH_W} {GRAPH_H}" role="img" '
        f'aria-label="interaction graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#555"/></marker></defs>',
    ]
    for edge in edges:
        (x1, y1), (x2, y2) = at[edge.producer], at[edge.consumer]
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        # shift sideways so that A→B and B→A are two visible arrows, not one line
        ox, oy = -uy * 5, ux * 5
        sx, sy = x1 + ux * NODE_R + ox, y1 + uy * NODE_R + oy
        ex, ey = x2 - ux * (NODE_R + 2) + ox, y2 - uy * (NODE_R + 2) + oy
        width = 1 + 4 * edge.weight / heaviest
        tip = f"built on {edge.built_on}, shown {edge.shown}"
        parts.append(
            f'<g class="edge" data-producer="{edge.producer}" data-consumer="{edge.consumer}" '
            f'data-weight="{edge.weight}"><title>{escape(tip)}</title>'
            f'<line x1="{sx:.2f}" y1="{sy:.2f}" x2="{ex:.2f}" y2="{ey:.2f}" stroke="#555" '
            f'stroke-width="{width:.2f}" marker-end="url(#arrow)"/>'
            f'<text class="weight" x="{(sx + ex) / 2 + ox * 2:.2f}" '
            f'y="{(sy + ey) / 2 + oy * 2:.2f}" text-anchor="middle">{edge.weight}</text></g>'
        )
    for node in graph.nodes:
        x, y = at[node.agent_id]
        # names go outside the circle, on the side of the node facing away from the centre
        out = (radius + NODE_R + 8) / radius
        lx, ly = cx + (x - cx) * out, cy + (y - cy) * out
        anchor = "middle" if abs(x - cx) < 1 else ("start" if x > cx else "end")
        label = node.name if len(node.name) <= NAME_CHARS else node.name[: NAME_CHARS - 1] + "…"
        parts.append(
            f'<g class="node" data-agent="{node.agent_id}"><title>{escape(node.name)}: '
            f"published {node.published}</title>"
            f'<circle cx="{x:.2f}" cy="{y:.2f}" r="{NODE_R}" fill="#e8f0fe" stroke="#0072b2"/>'
            f'<text x="{x:.2f}" y="{y + 4:.2f}" text-anchor="middle">{node.published}</text>'
            f'<text class="name" x="{lx:.2f}" y="{ly + 4:.2f}" text-anchor="{anchor}">'
            f"{escape(label)}</text></g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
