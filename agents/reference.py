"""Reference agents built with the runtime: a Planner, a Researcher, a Critic and a
Synthesiser. Each is deterministic (simple rules, no model) and competent at one thing —
the artifact type it produces — and abstains, saying why, from tasks and turns outside it.

Run one against a service with the command line:

    blackboard agent run agents.reference:critic --url http://127.0.0.1:8000 \
        --token bbagent_... --board <board id>

`planner`, `researcher`, `critic` and `synthesiser` are ready-made agents; `make_planner()`
and friends build fresh ones (another name, another lease).

The planner writes the board's plan at `PLAN_KEY` holding the `planner` role while it does, so
a board that guards `plan/*` for planners (`POST /v1/boards/{id}/guards`) takes its plans.
"""

from typing import Any

from agents.client import Artifact, Task, Turn
from agents.runtime import Abstain, Agent, Context, Draft
from artifacts import Critique, Finding, Plan, PlanStep, Result

__all__ = [
    "PLAN_KEY",
    "critic",
    "make_critic",
    "make_planner",
    "make_researcher",
    "make_synthesiser",
    "planner",
    "researcher",
    "synthesiser",
]

TurnAnswer = tuple[str, list[Draft]]

PLAN_KEY = "plan/main"
"""Where the planner keeps the board's plan: each plan task writes a new version of it."""


# --- reading a turn's bundle ------------------------------------------------------------


def _goal(turn: Turn) -> tuple[str, str]:
    goal = turn.bundle.get("goal")
    goal = goal if isinstance(goal, dict) else {}
    return str(goal.get("title") or "the goal"), str(goal.get("description") or "")


def _seen(turn: Turn, *types: str) -> list[dict[str, Any]]:
    listed = turn.bundle.get("artifacts")
    items = [a for a in (listed if isinstance(listed, list) else []) if isinstance(a, dict)]
    return [a for a in items if not types or a.get("type") in types]


def _body(item: dict[str, Any]) -> dict[str, Any]:
    body = item.get("body")
    return body if isinstance(body, dict) else {}


def _allowed(turn: Turn, type_: str) -> None:
    """Abstain when this step does not allow publishing `type_`."""
    types = turn.bundle.get("artifact_types")
    if isinstance(types, list) and types and type_ not in types:
        raise Abstain(f"I publish {type_!r} artifacts, which this step does not allow")


def _outside(agent: Agent, does: str) -> None:
    """A catch-all task handler that declines, naming the agent's competence."""

    @agent.on_task
    def decline(task: Task) -> Draft:
        raise Abstain(
            f"{agent.name} only {does}; this task wants {task.wants_type or 'anything'!r}",
            confidence=0.9,
        )


# --- rules shared by tasks and turns -------------------------------------------------------


def _plan(title: str) -> Plan:
    return Plan(
        summary=f"Plan for {title!r}: research, review, synthesise",
        steps=[
            PlanStep(description=f"Research the facts about {title!r}", role="researcher"),
            PlanStep(description="Review the findings and point out gaps", role="critic"),
            PlanStep(description=f"Answer {title!r} from the findings", role="synthesiser"),
        ],
    )


def _finding(title: str, description: str) -> Finding:
    evidence = [f"the question: {title}"] + ([f"its details: {description}"] if description else [])
    return Finding(
        claim=f"On {title!r}: the key facts are those stated in the question"
        + (f" ({description})" if description else ""),
        evidence=evidence,
        confidence=0.6,
    )


def _critique(target: str, type_: str | None, body: dict[str, Any]) -> Critique:
    issues = []
    if type_ == "finding" and not body.get("evidence"):
        issues.append("the finding gives no evidence")
    if type_ == "plan" and len(body.get("steps") or []) < 2:
        issues.append("the plan has fewer than two steps")
    if type_ == "result" and body.get("status", "succeeded") != "succeeded":
        issues.append("the result is not complete")
    return Critique(
        target=target,
        verdict="revise" if issues else "accept",
        issues=issues,
        suggestions=["address the issues listed"] if issues else [],
    )


def _result(title: str, sources: list[tuple[str, dict[str, Any]]]) -> Result:
    lines = []
    for type_, body in sources:
        if type_ == "plan":
            lines.append(f"- plan: {body.get('summary', '(no summary)')}")
        elif type_ == "finding":
            lines.append(f"- finding: {body.get('claim', '(no claim)')}")
        elif type_ == "critique":
            lines.append(f"- review of {body.get('target', '?')}: {body.get('verdict', '?')}")
    findings = sum(1 for t, _ in sources if t == "finding")
    return Result(
        summary=f"Result for {title!r} from {findings} finding(s)",
        content="\n".join(lines) or "Nothing has been found yet.",
        status="succeeded" if findings else "partial",
    )


# --- the agents -----------------------------------------------------------------------------


def make_planner(name: str = "planner", **options: Any) -> Agent:
    """An agent that writes plans (tasks wanting a "plan"; a turn when there is no plan)."""
    agent = Agent(name, capabilities=["planner"], description="writes plans", **options)

    @agent.on_task(wants_type="plan")
    async def plan_task(task: Task, ctx: Context) -> Draft:
        plan = _plan(task.title)
        # the role is held while the guarded key is written, so the version carries the
        # claim and its fencing token; the task's result then points at that version
        async with ctx.hold_role("planner") as hold:
            kept = await hold.publish("plan", plan.model_dump(mode="json"), key=PLAN_KEY)
        return {"type": "plan", "body": plan, "parents": [kept.id]}

    @agent.on_turn
    def plan_turn(turn: Turn) -> TurnAnswer:
        if [p for p in _seen(turn, "plan") if p.get("role") != "coordinator"]:
            raise Abstain("a plan already exists")
        _allowed(turn, "plan")
        # the service claims the turn's role for it, which a `plan/*` guard accepts
        return "planner", [{"type": "plan", "body": _plan(_goal(turn)[0]), "key": PLAN_KEY}]

    _outside(agent, "writes plans")
    return agent


def make_researcher(name: str = "researcher", **options: Any) -> Agent:
    """An agent that states findings (tasks wanting a "finding"; a turn without findings)."""
    agent = Agent(name, capabilities=["research"], description="states findings", **options)

    @agent.on_task(wants_type="finding")
    def research_task(task: Task) -> Draft:
        return _finding(task.title, str(task.spec.get("description") or ""))

    @agent.on_turn
    def research_turn(turn: Turn) -> TurnAnswer:
        if any(f.get("role") == "researcher" for f in _seen(turn, "finding")):
            raise Abstain("a researcher's finding already answers the goal")
        _allowed(turn, "finding")
        plans = [str(p["id"]) for p in _seen(turn, "plan") if p.get("id")][-1:]
        finding = _finding(*_goal(turn))
        return "researcher", [{"type": "finding", "body": finding, "parents": plans}]

    _outside(agent, "states findings")
    return agent


def make_critic(name: str = "critic", **options: Any) -> Agent:
    """An agent that reviews artifacts (tasks wanting a "critique" of their first input or of
    `spec["target"]`; a turn reviewing the newest non-critique artifact)."""
    agent = Agent(name, capabilities=["critique"], description="reviews artifacts", **options)

    @agent.on_task(wants_type="critique")
    async def critique_task(task: Task, ctx: Context) -> Draft:
        target = task.inputs[0] if task.inputs else task.spec.get("target")
        if not target:
            raise Abstain("the task names nothing to review")
        reviewed: Artifact = await ctx.client.get_artifact(task.board_id, str(target))
        critique = _critique(str(reviewed.id), reviewed.type, reviewed.body)
        return {"type": "critique", "body": critique, "parents": [reviewed.id]}

    @agent.on_turn
    def critique_turn(turn: Turn) -> TurnAnswer:
        candidates = [a for a in _seen(turn) if a.get("type") != "critique"]
        if not candidates:
            raise Abstain("nothing to review yet")
        _allowed(turn, "critique")
        target = candidates[-1]
        target_id = str(target.get("id") or target.get("key") or "unknown")
        critique = _critique(target_id, target.get("type"), _body(target))
        parents = [target["id"]] if target.get("id") else []
        return "critic", [{"type": "critique", "body": critique, "parents": parents}]

    _outside(agent, "reviews artifacts")
    return agent


def make_synthesiser(name: str = "synthesiser", **options: Any) -> Agent:
    """An agent that writes results from the plans, findings and critiques it sees."""
    agent = Agent(name, capabilities=["synthesis"], description="writes results", **options)

    @agent.on_task(wants_type="result")
    async def result_task(task: Task, ctx: Context) -> Draft:
        sources: list[tuple[str, dict[str, Any]]] = []
        parents = []
        for type_ in ("plan", "finding", "critique"):
            page = await ctx.client.list_artifacts(task.board_id, type=type_, limit=50)
            for item in page.items:
                if item.retracted is None:
                    sources.append((item.type, item.body))
                    parents.append(item.id)
        if not sources:
            raise Abstain("there is nothing to synthesise yet")
        return {"type": "result", "body": _result(task.title, sources), "parents": parents}

    @agent.on_turn
    def result_turn(turn: Turn) -> TurnAnswer:
        seen = _seen(turn, "plan", "finding", "critique")
        if not seen and turn.phase not in ("synthesize", "synthesise"):
            raise Abstain("nothing to synthesise yet")
        _allowed(turn, "result")
        result = _result(_goal(turn)[0], [(str(a.get("type")), _body(a)) for a in seen])
        parents = [str(a["id"]) for a in seen if a.get("id")]
        return "synthesiser", [{"type": "result", "body": result, "parents": parents}]

    _outside(agent, "writes results")
    return agent


planner = make_planner()
researcher = make_researcher()
critic = make_critic()
synthesiser = make_synthesiser()
