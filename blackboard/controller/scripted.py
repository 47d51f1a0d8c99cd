"""A deterministic, scripted langchain-core chat model for tests and the offline demo.

`ScriptedChatModel` is a real `BaseChatModel`: it reads the context bundle from the last user
message that parses as a JSON object (so a repair request after it is looked past) and answers
with the JSON of a TurnDecision, decided only from that bundle and its capabilities:

- phase "assign" (coordinator): a "plan" assigning a role to each roster member by capability,
  with {"assignments": {agent_id: task}} in the body;
- phase "intent" (broadcast): a "proposal" titled "I will act as <role>";
- phase "synthesize": always a "result" (role "synthesiser");
- otherwise the rules of its capabilities, in the order given, the first that acts wins:
  "planner" (a plan when there is none), "research" (a finding about the goal unless a
  researcher's finding exists), "critique" (a critique of the newest non-critique artifact),
  "synthesis" (a result summarising findings and plans). With an assignment, only the
  capabilities the assignment names apply. Anything else: abstain, naming the capabilities.

It reports `usage_metadata` (about four characters a token) so token accounting can be tested.

With `revise` (the demo's agents) artifacts go under readable keys (`plan/main`,
`finding/<topic>`, `critique/<key>`, `result/main`), the first plan lacks a review step, the
critic reviews what nobody has reviewed yet (plans first) and asks for a revision of such a
plan, and the planner publishes the plan's next version. `think_s`: a real model's pace.
"""

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

__all__ = ["ROLES", "ScriptedChatModel"]

ROLES: dict[str, str] = {
    "planner": "planner",
    "research": "researcher",
    "critique": "critic",
    "synthesis": "synthesiser",
}
"""Capability → the role a scripted agent takes for it."""

_TASKS: dict[str, str] = {
    "planner": "plan the work on {title!r} and publish a plan",
    "research": "research {title!r} and publish a finding",
    "critique": "review the newest artifact and publish a critique",
    "synthesis": "synthesise the findings and plans on {title!r} into a result",
}

Answer = dict[str, Any]
"""A TurnDecision as JSON-ready data."""

_FILLER = {"a", "an", "the", "is", "are", "why", "how", "what", "explain", "does", "do", "of"}
_REVIEW_STEP = {"description": "Review the findings and point out gaps", "role": "critic"}
_VERBS = {"researcher": "research", "critic": "review", "synthesiser": "synthesise"}


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        block if isinstance(block, str) else str(block.get("text", ""))
        for block in content
        if isinstance(block, str) or (isinstance(block, dict) and block.get("type") == "text")
    )


def _find_bundle(messages: list[BaseMessage]) -> dict[str, Any] | None:
    """The last user message that parses as a JSON object."""
    for message in reversed(messages):
        if not isinstance(message, HumanMessage):
            continue
        try:
            data = json.loads(_text(message))
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            return data
    return None


def _role_for(capability: str) -> str:
    return ROLES.get(capability, capability)


def _uuids(ids: list[Any]) -> list[str]:
    """The ids that are UUIDs (parents must be), as strings."""
    found = []
    for value in ids:
        try:
            found.append(str(UUID(str(value))))
        except ValueError:
            continue
    return found


def _abstain(reason: str) -> Answer:
    return {"action": "abstain", "reason": reason}


class _Bundle:
    """Convenient, tolerant access to the bundle's parts."""

    def __init__(self, bundle: dict[str, Any], *, revise: bool = False) -> None:
        self.revise = revise
        goal = bundle.get("goal")
        goal = goal if isinstance(goal, dict) else {}
        self.title = str(goal.get("title") or "the goal")
        self.description = str(goal.get("description") or "")
        listed = bundle.get("artifacts")
        self.artifacts: list[dict[str, Any]] = [
            a for a in (listed if isinstance(listed, list) else []) if isinstance(a, dict)
        ]
        types = bundle.get("artifact_types")
        self.types: set[str] | None = None
        if isinstance(types, list):
            self.types = {t for t in types if isinstance(t, str)} | {
                t["name"] for t in types if isinstance(t, dict) and isinstance(t.get("name"), str)
            }
        assignment = bundle.get("assignment")
        self.assignment = str(assignment) if assignment else None
        phase = bundle.get("phase")
        self.phase = str(phase) if phase else None
        roster = bundle.get("roster")
        self.roster: list[dict[str, Any]] = [
            m for m in (roster if isinstance(roster, list) else []) if isinstance(m, dict)
        ]

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [a for a in self.artifacts if a.get("type") in types]

    def body(self, artifact: dict[str, Any]) -> dict[str, Any]:
        body = artifact.get("body")
        return body if isinstance(body, dict) else {}

    def topic(self) -> str:
        """The goal's title as a short key part: "Explain why the sky is blue" → "sky-blue"."""
        words = [w for w in re.findall(r"[a-z0-9]+", self.title.lower()) if w not in _FILLER]
        return "-".join(words[:3]) or "goal"

    def critiques_of(self, artifact: dict[str, Any], verdict: str) -> list[dict[str, Any]]:
        """The critiques of `artifact` with this verdict."""
        target = str(artifact.get("id"))
        return [
            c
            for c in self.of_type("critique")
            if self.body(c).get("target") == target and self.body(c).get("verdict") == verdict
        ]

    def act(
        self,
        role: str,
        type_: str,
        body: dict[str, Any],
        *,
        rationale: str,
        parents: list[Any] | None = None,
        confidence: float | None = None,
        key: str | None = None,
    ) -> Answer | str:
        """An answer publishing one artifact, or the reason it may not (type not allowed);
        under `key` when revising (else the service names it)."""
        if self.types is not None and type_ not in self.types:
            return f"I would publish a {type_!r}, which this step does not allow"
        artifact: dict[str, Any] = {"type": type_, "body": body}
        if self.revise and key:
            artifact["key"] = key
        if parents:
            artifact["parents"] = _uuids(parents)
        answer: Answer = {
            "action": "act",
            "role": role,
            "rationale": rationale,
            "artifacts": [artifact],
        }
        if confidence is not None:
            answer["confidence"] = confidence
        return answer


def _planner(b: _Bundle) -> Answer | str:
    # An assignment plan (role "coordinator") is not a work plan.
    plans = [p for p in b.of_type("plan") if p.get("role") != "coordinator"]
    if plans:
        return _revised_plan(b, plans[-1]) if b.revise else "a plan already exists"
    steps = [
        {"description": f"Research the facts about {b.title!r}", "role": "researcher"},
        _REVIEW_STEP,
        {"description": f"Answer {b.title!r} from the findings", "role": "synthesiser"},
    ]
    if b.revise:  # a first draft, for the critic to catch
        steps.remove(_REVIEW_STEP)
    work = ", ".join(_VERBS[str(step["role"])] for step in steps)
    body = {"summary": f"Plan for {b.title!r}: {work}", "steps": steps}
    return b.act(
        "planner",
        "plan",
        body,
        rationale="there is no plan yet",
        confidence=0.8,
        key="plan/main",
    )


def _revised_plan(b: _Bundle, plan: dict[str, Any]) -> Answer | str:
    asked = b.critiques_of(plan, "revise")
    if not asked:
        return "the plan stands: no critic asked for a revision"
    body = b.body(plan)
    steps = [s for s in body.get("steps") or [] if isinstance(s, dict)]
    issues = [str(i) for c in asked for i in b.body(c).get("issues") or []]
    if _REVIEW_STEP not in steps:
        steps.insert(max(len(steps) - 1, 0), _REVIEW_STEP)
    revised = {
        "summary": f"Plan for {b.title!r}, revised after review: "
        + ("; ".join(issues) or "as asked"),
        "steps": steps,
    }
    return b.act(
        "planner",
        "plan",
        revised,
        rationale="a critic asked for a revision",
        parents=[plan.get("id"), *(c.get("id") for c in asked)],
        confidence=0.9,
        key=str(plan.get("key") or "plan/main"),
    )


def _research(b: _Bundle) -> Answer | str:
    if any(f.get("role") == "researcher" for f in b.of_type("finding")):
        return "a researcher's finding already answers the goal"
    evidence = [f"the goal: {b.title}"]
    if b.description:
        evidence.append(f"the goal's description: {b.description}")
    evidence.append(f"{len(b.artifacts)} artifact(s) visible on the board")
    body = {
        "claim": f"On {b.title!r}: the key facts are those stated in the goal"
        + (f" ({b.description})" if b.description else ""),
        "evidence": evidence,
        "confidence": 0.7,
    }
    return b.act(
        "researcher",
        "finding",
        body,
        rationale="the goal needs facts",
        parents=[a.get("id") for a in b.of_type("plan")][-1:],
        confidence=0.7,
        key=f"finding/{b.topic()}",
    )


def _to_review(b: _Bundle) -> dict[str, Any] | None:
    candidates = [a for a in b.artifacts if a.get("type") != "critique"]
    if not b.revise:
        return candidates[-1] if candidates else None
    reviewed = {str(b.body(c).get("target")) for c in b.of_type("critique")}
    fresh = [a for a in candidates if str(a.get("id")) not in reviewed]
    # plans first: everything else follows from them
    fresh.sort(key=lambda a: a.get("type") != "plan" or a.get("role") == "coordinator")
    return fresh[0] if fresh else None


def _critique(b: _Bundle) -> Answer | str:
    target = _to_review(b)
    if target is None:
        return "nothing new to review" if b.revise else "nothing to review yet"
    body = b.body(target)
    issues: list[str] = []
    work_plan = target.get("type") == "plan" and target.get("role") != "coordinator"
    if b.revise and work_plan and _REVIEW_STEP not in body.get("steps", []):
        issues.append("the plan has no review step: nobody checks the findings")
    if target.get("type") == "finding" and not body.get("evidence"):
        issues.append("the finding gives no evidence")
    if target.get("type") == "plan" and len(body.get("steps") or []) < 2:
        issues.append("the plan has fewer than two steps")
    if target.get("type") == "result" and body.get("status", "succeeded") != "succeeded":
        issues.append("the result is not complete")
    critique = {
        "target": str(target.get("id") or target.get("key") or "unknown"),
        "verdict": "revise" if issues else "accept",
        "issues": issues,
        "suggestions": ["address the issues listed"] if issues else [],
    }
    return b.act(
        "critic",
        "critique",
        critique,
        rationale=f"reviewed the {'unreviewed' if b.revise else 'newest'} {target.get('type')}",
        parents=[target.get("id")],
        key=f"critique/{target.get('key') or target.get('type')}",
    )


def _synthesis(b: _Bundle, *, always: bool = False) -> Answer | str:
    sources = b.of_type("plan", "finding")
    if not sources and not always:
        return "nothing to synthesise yet"
    lines = []
    for source in sources:
        body = b.body(source)
        if source.get("type") == "plan":
            lines.append(f"- plan: {body.get('summary', '(no summary)')}")
        else:
            lines.append(f"- finding: {body.get('claim', '(no claim)')}")
    # Reviews refine the result: a synthesiser that has seen new critiques writes anew.
    critiques = b.of_type("critique")
    for critique in critiques:
        body = b.body(critique)
        lines.append(f"- review of {body.get('target', '?')}: {body.get('verdict', '?')}")
    findings, plans = len(b.of_type("finding")), len(b.of_type("plan"))
    result = {
        "summary": f"Result for {b.title!r} from {findings} finding(s), {plans} plan(s)"
        f" and {len(critiques)} review(s)",
        "content": "\n".join(lines) or "Nothing has been found or planned yet.",
        "status": "succeeded" if findings else "partial",
    }
    return b.act(
        "synthesiser",
        "result",
        result,
        rationale="combined the findings and plans visible to me",
        parents=[s.get("id") for s in sources],
        key="result/main",
    )


_RULES: dict[str, Callable[[_Bundle], Answer | str]] = {
    "planner": _planner,
    "research": _research,
    "critique": _critique,
    "synthesis": _synthesis,
}


class ScriptedChatModel(BaseChatModel):
    """A deterministic chat model that answers a context bundle according to its capabilities."""

    capabilities: list[str] = Field(default_factory=list)
    invalid_first: bool = False
    """Make the first answer of a conversation invalid (to exercise the repair path)."""
    always_invalid: bool = False
    """Make every answer invalid."""
    revise: bool = False
    """Readable keys, and a critic and a planner that revise (see the module's docstring)."""
    think_s: float = 0.0
    """How long each answer takes."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "capabilities": list(self.capabilities),
            "invalid_first": self.invalid_first,
            "always_invalid": self.always_invalid,
            "revise": self.revise,
            "think_s": self.think_s,
        }

    def answer(self, bundle: dict[str, Any]) -> Answer:
        """The (valid) decision this model makes for `bundle`."""
        b = _Bundle(bundle, revise=self.revise)
        caps = ", ".join(self.capabilities) or "none"
        if b.phase == "assign":
            return self._assign(b)
        if b.phase == "intent":
            return self._intent(b)
        if b.phase in ("synthesize", "synthesise"):
            outcome = _synthesis(b, always=True)
            return outcome if isinstance(outcome, dict) else _abstain(outcome)
        capabilities = list(self.capabilities)
        if b.assignment is not None:
            wanted = b.assignment.lower()
            capabilities = [
                c for c in capabilities if c.lower() in wanted or _role_for(c).lower() in wanted
            ]
            if not capabilities:
                return _abstain(
                    f"my assignment {b.assignment!r} is outside my competence "
                    f"(my capabilities: {caps})"
                )
        reasons = []
        for capability in capabilities:
            rule = _RULES.get(capability)
            if rule is None:
                reasons.append(f"I have no rule for {capability!r}")
                continue
            outcome = rule(b)
            if isinstance(outcome, dict):
                return outcome
            reasons.append(outcome)
        detail = "; ".join(reasons) if reasons else "I have no capabilities"
        return _abstain(f"nothing for me to do (my capabilities: {caps}): {detail}")

    def _assign(self, b: _Bundle) -> Answer:
        if not b.roster:
            return _abstain("there is no roster to assign roles to")
        steps, assignments = [], {}
        for member in b.roster:
            capabilities = [str(c) for c in member.get("capabilities") or []]
            capability = capabilities[0] if capabilities else "general"
            role = _role_for(capability) if capabilities else "generalist"
            task = _TASKS.get(capability, "contribute to {title!r} with " + capability)
            text = f"As {role}: " + task.format(title=b.title)
            name = member.get("name") or member.get("id")
            steps.append({"description": f"{name}: {text}", "role": role})
            assignments[str(member.get("id"))] = text
        body = {
            "summary": f"Assignments for {b.title!r}",
            "steps": steps,
            "assignments": assignments,
        }
        outcome = b.act(
            "coordinator",
            "plan",
            body,
            rationale="roles assigned by capability",
            confidence=0.9,
            key="plan/assignments",
        )
        return outcome if isinstance(outcome, dict) else _abstain(outcome)

    def _intent(self, b: _Bundle) -> Answer:
        if not self.capabilities:
            return _abstain("I have no capabilities to offer")
        role = _role_for(self.capabilities[0])
        body = {
            "title": f"I will act as {role}",
            "content": f"I intend to work on {b.title!r} as {role}.",
            "rationale": f"my capabilities: {', '.join(self.capabilities)}",
        }
        outcome = b.act(
            role, "proposal", body, rationale=f"{role} fits my capabilities", key=f"proposal/{role}"
        )
        return outcome if isinstance(outcome, dict) else _abstain(outcome)

    def _reply(self, messages: list[BaseMessage]) -> str:
        bundle = _find_bundle(messages)
        answer = self.answer(bundle) if bundle is not None else _abstain("no context bundle")
        first = not any(isinstance(m, AIMessage) for m in messages)
        if self.always_invalid or (self.invalid_first and first):
            answer = _spoil(answer)
        return json.dumps(answer)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        time.sleep(self.think_s)
        return self._answered(messages)

    def _answered(self, messages: list[BaseMessage]) -> ChatResult:
        text = self._reply(messages)
        prompt_chars = sum(len(_text(m)) for m in messages)
        usage = UsageMetadata(
            input_tokens=prompt_chars // 4,
            output_tokens=len(text) // 4,
            total_tokens=prompt_chars // 4 + len(text) // 4,
        )
        message = AIMessage(content=text, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await asyncio.sleep(self.think_s)
        return self._answered(messages)


def _spoil(answer: Answer) -> Answer:
    """A deliberately invalid version of `answer`: role missing and bodies emptied when acting,
    reason missing when abstaining — wrong both as a TurnDecision and against the schemas."""
    if answer.get("action") == "act":
        return {
            "action": "act",
            "rationale": "deliberately invalid",
            "artifacts": [{"type": a["type"], "body": {}} for a in answer.get("artifacts", [])],
        }
    return {"action": "abstain", "rationale": "deliberately invalid"}
