"""Model calls through langchain-core: decide(), the scripted model, and model specs.

No database: these drive real langchain-core chat models (the scripted one, and
langchain-core's own fake) through `decide`.
"""

import json
import sys
import types
import uuid
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatResult
from pydantic import Field, ValidationError

from artifacts.standard import STANDARD_TYPES
from blackboard.controller.llm import (
    DECISION_FORMAT,
    SYSTEM_PROMPT,
    ModelCall,
    TurnDecision,
    decide,
    model_from_spec,
    parse_decision,
)
from blackboard.controller.scripted import ScriptedChatModel

TYPES = ["plan", "proposal", "finding", "critique", "decision", "result"]
VALIDATORS = {
    name: Draft202012Validator(model.model_json_schema()) for name, model in STANDARD_TYPES.items()
}


def schema_problems(decision: TurnDecision) -> list[str]:
    """The caller's check: every artifact body against its standard JSON Schema."""
    problems = []
    for i, artifact in enumerate(decision.artifacts):
        for error in VALIDATORS[artifact.type].iter_errors(artifact.body):
            problems.append(f"artifacts.{i}.body: {error.message}")
    return problems


def artifact(type_: str, body: dict[str, Any], role: str = "someone") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "key": None,
        "version": 1,
        "author_id": str(uuid.uuid4()),
        "role": role,
        "body": body,
    }


def bundle(*artifacts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "goal": {"title": "Why is the sky blue", "description": "Explain it to a child"},
        "artifacts": list(artifacts),
        "artifact_types": TYPES,
        **extra,
    }


PLAN = {"summary": "A plan", "steps": [{"description": "one"}, {"description": "two"}]}
FINDING = {"claim": "Rayleigh scattering", "evidence": ["a textbook"], "confidence": 0.9}


async def run(
    capabilities: list[str], the_bundle: dict[str, Any], **flags: bool
) -> tuple[ModelCall, TurnDecision]:
    model = ScriptedChatModel(capabilities=capabilities, **flags)
    call = await decide(
        model, bundle=the_bundle, validate=schema_problems, model_name="scripted:test"
    )
    assert call.decision is not None, call.errors
    return call, call.decision


# --- each capability and phase ------------------------------------------------------------


async def test_planner_publishes_a_valid_plan_when_there_is_none() -> None:
    call, decision = await run(["planner"], bundle())
    assert (call.outcome, decision.action, decision.role) == ("acted", "act", "planner")
    assert [a.type for a in decision.artifacts] == ["plan"]
    body = decision.artifacts[0].body
    assert 2 <= len(body["steps"]) <= 3
    assert "Why is the sky blue" in body["summary"]
    assert call.errors == [] and not call.repaired


async def test_planner_abstains_when_a_plan_exists() -> None:
    call, decision = await run(["planner"], bundle(artifact("plan", PLAN, "planner")))
    assert call.outcome == "abstained"
    assert decision.reason is not None and "plan already exists" in decision.reason
    assert decision.artifacts == []


async def test_an_assignment_plan_is_not_a_work_plan_for_the_planner() -> None:
    assignments = {**PLAN, "assignments": {"a1": "As planner: plan the work"}}
    call, decision = await run(["planner"], bundle(artifact("plan", assignments, "coordinator")))
    assert (call.outcome, decision.role) == ("acted", "planner")


async def test_research_publishes_a_finding_about_the_goal() -> None:
    call, decision = await run(["research"], bundle())
    assert (call.outcome, decision.role) == ("acted", "researcher")
    (finding,) = decision.artifacts
    assert finding.type == "finding"
    assert "Why is the sky blue" in finding.body["claim"]
    assert finding.body["evidence"] and finding.body["confidence"] == 0.7


async def test_research_abstains_when_a_researchers_finding_exists() -> None:
    call, decision = await run(["research"], bundle(artifact("finding", FINDING, "researcher")))
    assert call.outcome == "abstained"
    assert decision.reason is not None and "already answers" in decision.reason
    # A finding by someone else in another role does not count.
    call, _ = await run(["research"], bundle(artifact("finding", FINDING, "critic")))
    assert call.outcome == "acted"


async def test_critique_targets_the_newest_non_critique_artifact() -> None:
    plan = artifact("plan", PLAN)
    finding = artifact("finding", {"claim": "no evidence here"})
    critique = artifact("critique", {"target": plan["id"], "verdict": "accept"})
    call, decision = await run(["critique"], bundle(plan, finding, critique))
    assert (call.outcome, decision.role) == ("acted", "critic")
    (out,) = decision.artifacts
    assert out.type == "critique"
    assert out.body["target"] == finding["id"]
    assert out.body["verdict"] == "revise"  # the finding gives no evidence
    assert out.parents == [uuid.UUID(finding["id"])]
    _, decision = await run(["critique"], bundle(plan))
    assert decision.artifacts[0].body["verdict"] == "accept"


async def test_critique_abstains_with_nothing_to_review() -> None:
    only_critiques = artifact("critique", {"target": "x", "verdict": "accept"})
    for the_bundle in (bundle(), bundle(only_critiques)):
        call, decision = await run(["critique"], the_bundle)
        assert call.outcome == "abstained"
        assert decision.reason is not None and "nothing to review yet" in decision.reason


async def test_synthesis_summarises_findings_and_plans() -> None:
    plan, finding = artifact("plan", PLAN), artifact("finding", FINDING)
    call, decision = await run(["synthesis"], bundle(plan, finding))
    assert (call.outcome, decision.role) == ("acted", "synthesiser")
    (result,) = decision.artifacts
    assert result.type == "result"
    assert "Rayleigh scattering" in result.body["content"]
    assert "A plan" in result.body["content"]
    assert set(result.parents) == {uuid.UUID(plan["id"]), uuid.UUID(finding["id"])}


async def test_synthesis_abstains_without_material_but_the_synthesize_phase_always_publishes() -> (
    None
):
    call, _ = await run(["synthesis"], bundle())
    assert call.outcome == "abstained"
    call, decision = await run(["synthesis"], bundle(phase="synthesize"))
    assert call.outcome == "acted"
    assert [a.type for a in decision.artifacts] == ["result"]


async def test_assign_phase_assigns_roles_to_the_roster_by_capability() -> None:
    roster = [
        {"id": "a1", "name": "ada", "capabilities": ["research"]},
        {"id": "a2", "name": "bob", "capabilities": ["critique"]},
        {"id": "a3", "name": "cy", "capabilities": []},
    ]
    call, decision = await run(["planner"], bundle(phase="assign", roster=roster))
    assert (call.outcome, decision.role) == ("acted", "coordinator")
    (plan,) = decision.artifacts
    assert plan.type == "plan"
    assert [s["role"] for s in plan.body["steps"]] == ["researcher", "critic", "generalist"]
    assignments = plan.body["assignments"]
    assert set(assignments) == {"a1", "a2", "a3"}
    assert "researcher" in assignments["a1"] and "critic" in assignments["a2"]
    call, _ = await run(["planner"], bundle(phase="assign", roster=[]))
    assert call.outcome == "abstained"


async def test_assignments_from_the_assign_phase_are_executed_by_the_assignee() -> None:
    roster = [{"id": "a1", "name": "ada", "capabilities": ["research"]}]
    _, plan = await run(["planner"], bundle(phase="assign", roster=roster))
    plan_artifact = artifact("plan", plan.artifacts[0].body, "coordinator")
    assignment = plan.artifacts[0].body["assignments"]["a1"]
    # An agent able to plan and research does only its assignment (research), and the
    # coordinator's assignment plan does not count as a work plan for the planner rule.
    execute = bundle(plan_artifact, phase="execute", assignment=assignment)
    call, decision = await run(["planner", "research"], execute)
    assert (call.outcome, decision.role) == ("acted", "researcher")
    call, decision = await run(["critique"], execute)
    assert call.outcome == "abstained"
    assert decision.reason is not None and "outside my competence" in decision.reason


async def test_intent_phase_announces_a_role() -> None:
    call, decision = await run(["research", "critique"], bundle(phase="intent"))
    assert (call.outcome, decision.role) == ("acted", "researcher")
    (proposal,) = decision.artifacts
    assert proposal.type == "proposal"
    assert proposal.body["title"] == "I will act as researcher"


async def test_first_capability_that_acts_wins_in_order() -> None:
    plan = artifact("plan", PLAN, "planner")
    _, decision = await run(["planner", "critique"], bundle(plan))
    assert decision.role == "critic"  # a plan exists, so the critic rule acts
    _, decision = await run(["planner", "critique"], bundle())
    assert decision.role == "planner"


async def test_unknown_capabilities_abstain_naming_them() -> None:
    call, decision = await run(["juggling", "poetry"], bundle())
    assert call.outcome == "abstained"
    assert decision.reason is not None
    assert "juggling" in decision.reason and "poetry" in decision.reason
    call, decision = await run([], bundle())
    assert call.outcome == "abstained"


async def test_types_outside_the_bundles_artifact_types_are_not_published() -> None:
    call, decision = await run(["research"], bundle(artifact_types=["plan", "critique"]))
    assert call.outcome == "abstained"
    assert decision.reason is not None and "finding" in decision.reason


# --- what the model sees ------------------------------------------------------------------


class RecordingModel(ScriptedChatModel):
    """The scripted model, keeping every message list it is sent."""

    received: list[list[BaseMessage]] = Field(default_factory=list)

    async def _agenerate(self, messages: list[BaseMessage], *a: Any, **kw: Any) -> ChatResult:
        self.received.append(list(messages))
        return await super()._agenerate(messages, *a, **kw)


async def test_the_model_sees_only_the_instructions_and_the_bundle() -> None:
    the_bundle = bundle(artifact("plan", PLAN), phase="act")
    model = RecordingModel(capabilities=["critique"])
    call = await decide(model, bundle=the_bundle, validate=schema_problems, model_name="rec")
    assert [m["role"] for m in call.messages] == ["system", "user"]
    assert call.messages[0]["content"] == SYSTEM_PROMPT
    assert json.loads(call.messages[1]["content"]) == the_bundle
    (sent,) = model.received
    assert [type(m) for m in sent] == [SystemMessage, HumanMessage]
    assert sent[0].content == SYSTEM_PROMPT
    assert sent[1].content == call.messages[1]["content"]
    assert call.model == "rec"


def test_the_instructions_carry_the_turn_decision_schema() -> None:
    schema = json.dumps(TurnDecision.model_json_schema(), sort_keys=True)
    assert schema in SYSTEM_PROMPT
    assert "abstain" in SYSTEM_PROMPT and "artifact_types" in SYSTEM_PROMPT


async def test_the_scripted_model_decides_from_the_bundle_only() -> None:
    model = ScriptedChatModel(capabilities=["research"])
    the_bundle = json.dumps(bundle())
    a = await model.ainvoke([SystemMessage("whatever"), HumanMessage(the_bundle)])
    b = await model.ainvoke([SystemMessage("something else"), HumanMessage(the_bundle)])
    assert a.content == b.content
    # The synchronous path gives the same answer.
    assert model.invoke([HumanMessage(the_bundle)]).content == a.content
    # A repair request after the bundle is looked past.
    c = await model.ainvoke(
        [HumanMessage(the_bundle), AIMessage("oops"), HumanMessage("please fix: x")]
    )
    assert json.loads(str(c.content)) == json.loads(str(a.content))


# --- repair -------------------------------------------------------------------------------


async def test_invalid_first_answer_is_repaired() -> None:
    the_bundle = bundle()
    model = RecordingModel(capabilities=["planner"], invalid_first=True)
    call = await decide(model, bundle=the_bundle, validate=schema_problems, model_name="s")
    assert (call.outcome, call.repaired) == ("acted", True)
    assert call.decision is not None and call.decision.role == "planner"
    assert len(call.raw_outputs) == 2 and len(model.received) == 2
    assert [m["role"] for m in call.messages] == ["system", "user", "assistant", "user"]
    assert json.loads(call.messages[1]["content"]) == the_bundle
    assert call.messages[2]["content"] == call.raw_outputs[0]
    assert call.errors and all(e in call.messages[3]["content"] for e in call.errors)
    assert [m.content for m in model.received[1]] == [m["content"] for m in call.messages]


async def test_always_invalid_ends_invalid() -> None:
    model = ScriptedChatModel(capabilities=["planner"], always_invalid=True)
    call = await decide(model, bundle=bundle(), validate=schema_problems, model_name="s")
    assert call.outcome == "invalid"
    assert call.decision is None and not call.repaired
    assert call.errors and len(call.raw_outputs) == 2 and len(call.messages) == 4


async def test_a_body_rejected_by_the_callers_check_goes_through_repair() -> None:
    seen: list[TurnDecision] = []

    def reject_once(decision: TurnDecision) -> list[str]:
        seen.append(decision)
        return ["artifacts.0.body: not good enough"] if len(seen) == 1 else []

    model = ScriptedChatModel(capabilities=["research"])
    call = await decide(model, bundle=bundle(), validate=reject_once, model_name="s")
    assert len(seen) == 2
    assert (call.outcome, call.repaired) == ("acted", True)
    assert call.errors == ["artifacts.0.body: not good enough"]
    assert "not good enough" in call.messages[3]["content"]

    call = await decide(model, bundle=bundle(), validate=lambda d: ["always wrong"], model_name="s")
    assert (call.outcome, call.decision) == ("invalid", None)
    assert call.errors == ["always wrong", "always wrong"]


async def test_schema_check_catches_spoiled_bodies_on_a_valid_turn_decision() -> None:
    # A well-formed decision whose body misses the plan's required fields.
    bad = {"action": "act", "role": "planner", "artifacts": [{"type": "plan", "body": {}}]}
    good = ScriptedChatModel(capabilities=["planner"]).answer(bundle())
    model = FakeListChatModel(responses=[json.dumps(bad), json.dumps(good)])
    call = await decide(model, bundle=bundle(), validate=schema_problems, model_name="fake")
    assert (call.outcome, call.repaired) == ("acted", True)
    assert any("summary" in e for e in call.errors) and any("steps" in e for e in call.errors)


async def test_fenced_and_chatty_answers_are_accepted() -> None:
    answer = json.dumps({"action": "abstain", "reason": "not my field"})
    for text in (f"```json\n{answer}\n```", f"Sure! Here it is:\n{answer}\nHope it helps."):
        model = FakeListChatModel(responses=[text])
        call = await decide(model, bundle=bundle(), validate=schema_problems, model_name="f")
        assert call.outcome == "abstained" and not call.repaired, call.errors
        assert call.decision is not None and call.decision.reason == "not my field"


async def test_types_outside_artifact_types_are_problems() -> None:
    answer = {"action": "act", "role": "x", "artifacts": [{"type": "goal", "body": {"title": "t"}}]}
    model = FakeListChatModel(responses=[json.dumps(answer)] * 2)
    call = await decide(model, bundle=bundle(), validate=lambda d: [], model_name="f")
    assert call.outcome == "invalid"
    assert "'goal' is not one of the allowed artifact_types" in call.errors[0]


# --- tokens -------------------------------------------------------------------------------


async def test_tokens_are_summed_over_attempts() -> None:
    model = ScriptedChatModel(capabilities=["planner"], invalid_first=True)
    call = await decide(model, bundle=bundle(), validate=schema_problems, model_name="s")
    first_prompt = sum(len(m["content"]) for m in call.messages[:2])
    second_prompt = sum(len(m["content"]) for m in call.messages)
    assert call.tokens_in == first_prompt // 4 + second_prompt // 4
    assert call.tokens_out == sum(len(r) // 4 for r in call.raw_outputs)
    assert call.latency_ms >= 0


async def test_tokens_are_none_when_the_model_reports_no_usage() -> None:
    model = FakeListChatModel(responses=['{"action": "abstain", "reason": "no"}'])
    call = await decide(model, bundle=bundle(), validate=schema_problems, model_name="f")
    assert (call.tokens_in, call.tokens_out) == (None, None)


async def test_the_call_serialises_to_json() -> None:
    model = ScriptedChatModel(capabilities=["critique"])
    call = await decide(
        model, bundle=bundle(artifact("plan", PLAN)), validate=schema_problems, model_name="s"
    )
    data = json.loads(json.dumps(call.to_dict()))
    assert data["outcome"] == "acted"
    assert data["decision"]["artifacts"][0]["parents"] == [bundle_id(call)]


def bundle_id(call: ModelCall) -> str:
    assert call.decision is not None
    return str(call.decision.artifacts[0].parents[0])


# --- parsing and the decision model -------------------------------------------------------


def test_parse_decision_reports_problems() -> None:
    assert parse_decision("not json at all")[1][0].startswith("the answer is not valid JSON")
    assert parse_decision("[1, 2]")[1] == ["the answer must be one JSON object"]
    decision, problems = parse_decision('{"action": "act", "role": "r"}')
    assert decision is None and any("at least one artifact" in p for p in problems)


def test_turn_decision_rules() -> None:
    art = {"type": "finding", "body": {"claim": "c"}}
    TurnDecision.model_validate({"action": "act", "role": "r", "artifacts": [art]})
    TurnDecision.model_validate({"action": "abstain", "reason": "not mine"})
    bad = [
        {"action": "act", "artifacts": [art]},
        {"action": "act", "role": "r", "artifacts": []},
        {"action": "abstain"},
        {"action": "abstain", "reason": "r", "artifacts": [art]},
        {"action": "act", "role": "r", "artifacts": [art], "confidence": 1.5},
        {"action": "maybe", "reason": "r"},
        {"action": "act", "role": "r", "artifacts": [{**art, "parents": ["not-a-uuid"]}]},
    ]
    for data in bad:
        with pytest.raises(ValidationError):
            TurnDecision.model_validate(data)


# --- model specs --------------------------------------------------------------------------


def test_scripted_specs() -> None:
    model = model_from_spec("scripted")
    assert isinstance(model, ScriptedChatModel) and model.capabilities == []
    model = model_from_spec("scripted:planner, research")
    assert isinstance(model, ScriptedChatModel)
    assert model.capabilities == ["planner", "research"]
    assert not model.invalid_first and not model.always_invalid
    model = model_from_spec("scripted:critique?invalid_first=true")
    assert isinstance(model, ScriptedChatModel)
    assert model.invalid_first and not model.always_invalid
    model = model_from_spec("scripted?always_invalid=1")
    assert isinstance(model, ScriptedChatModel) and model.always_invalid


@pytest.mark.parametrize(
    "spec",
    ["anthropic:claude", "gpt-4o", "", "scripted:x?colour=red", "scripted?invalid_first=perhaps"],
)
def test_bad_specs_are_rejected(spec: str) -> None:
    with pytest.raises(ValueError) as raised:
        model_from_spec(spec)
    if spec in ("anthropic:claude", "gpt-4o", ""):
        assert "scripted" in str(raised.value) and "openai:" in str(raised.value)


def test_openai_spec_without_the_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # import fails
    with pytest.raises(ValueError, match=r"blackboard\[openai\]"):
        model_from_spec("openai:gpt-4o-mini")


def test_openai_spec_builds_chat_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []

    def chat_openai(**kwargs: Any) -> ScriptedChatModel:
        built.append(kwargs)
        return ScriptedChatModel()

    fake = types.ModuleType("langchain_openai")
    fake.ChatOpenAI = chat_openai  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain_openai", fake)
    monkeypatch.setenv("MY_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    spec = "openai:llama3.1:8b?base_url=http://localhost:11434/v1&api_key_env=MY_KEY"
    assert isinstance(model_from_spec(spec), ScriptedChatModel)
    assert built[-1] == {
        "model": "llama3.1:8b",
        "base_url": "http://localhost:11434/v1",
        "api_key": "sk-test",
        "model_kwargs": {"response_format": DECISION_FORMAT},
    }
    model_from_spec("openai:gpt-4o-mini?temperature=0&structured_output=false")
    assert built[-1] == {"model": "gpt-4o-mini", "api_key": "none", "temperature": 0.0}
    with pytest.raises(ValueError, match="name the model"):
        model_from_spec("openai:")
