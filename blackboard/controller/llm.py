"""Model calls: one turn of a model-backed agent, through any langchain-core chat model.

`decide` shows the model the instructions and the context bundle — nothing else — parses its
answer into a `TurnDecision`, checks it, allows exactly one repair attempt, and reports what
happened as a `ModelCall` (the material of a context manifest). `model_from_spec` turns a short
text spec ("scripted:planner", "openai:gpt-4o-mini?base_url=...") into a chat model.
"""

import importlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Self
from urllib.parse import parse_qs
from uuid import UUID

import orjson
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError, model_validator

from blackboard.controller.scripted import ScriptedChatModel

__all__ = [
    "SYSTEM_PROMPT",
    "ArtifactOut",
    "ModelCall",
    "TurnDecision",
    "decide",
    "model_from_spec",
    "parse_decision",
    "repair_prompt",
]


class ArtifactOut(BaseModel):
    """One artifact a model publishes in its turn."""

    type: str = Field(min_length=1, description="One of the bundle's artifact_types.")
    body: dict[str, Any] = Field(description="Valid against the JSON Schema of `type`.")
    key: str | None = Field(default=None, description="Optional stable key (a new version).")
    parents: list[UUID] = Field(
        default_factory=list, description="Ids of the artifacts this one builds on."
    )


class TurnDecision(BaseModel):
    """A model's structured answer to one turn: act in a role, or abstain with a reason."""

    action: Literal["act", "abstain"]
    role: str | None = Field(default=None, description="The role you take; required to act.")
    rationale: str | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    artifacts: list[ArtifactOut] = Field(
        default_factory=list, description="What you publish; at least one to act, none to abstain."
    )
    reason: str | None = Field(default=None, description="Why you abstain; required to abstain.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.action == "act":
            if not (self.role and self.role.strip()):
                raise ValueError("role is required when action is 'act'")
            if not self.artifacts:
                raise ValueError("at least one artifact is required when action is 'act'")
        else:
            if not (self.reason and self.reason.strip()):
                raise ValueError("reason is required when action is 'abstain'")
            if self.artifacts:
                raise ValueError("an abstention publishes no artifacts")
        return self


Outcome = Literal["acted", "abstained", "invalid"]


@dataclass
class ModelCall:
    """What happened in one model call (all attempts): the material of a context manifest."""

    decision: TurnDecision | None
    """None when the output stayed invalid after the repair attempt."""
    outcome: Outcome
    messages: list[dict[str, str]]
    """Exactly what the model was sent, all attempts: [{"role", "content"}]."""
    raw_outputs: list[str]
    errors: list[str]
    """Problems found, first attempt then repair (empty when the first answer was valid)."""
    repaired: bool
    """True when the first answer was invalid and the repair attempt produced a valid one."""
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: float
    model: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (for storing the manifest)."""
        return {
            "decision": None if self.decision is None else self.decision.model_dump(mode="json"),
            "outcome": self.outcome,
            "messages": [dict(m) for m in self.messages],
            "raw_outputs": list(self.raw_outputs),
            "errors": list(self.errors),
            "repaired": self.repaired,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_ms": self.latency_ms,
            "model": self.model,
        }


SYSTEM_PROMPT = (
    "You are one agent among several working on a shared blackboard: a board of typed, "
    "versioned artifacts (goals, plans, proposals, findings, critiques, decisions, results). "
    "The user message is your context bundle, a JSON object: the goal, the artifacts you may "
    'see, the artifact types you may publish ("artifact_types"), and, depending on the '
    "protocol, a phase, an assignment and a roster. It is all you know about the board.\n\n"
    "Decide what to do in this turn:\n"
    '- act: choose a role for yourself (free text, e.g. "researcher") and publish one or more '
    "artifacts. Each artifact's type must be one of the bundle's artifact_types and its body "
    "must be valid against that type's JSON Schema (where the bundle gives schemas, for "
    'example under "artifact_schemas", follow them). Put the ids of the artifacts you build '
    'on in "parents". If the bundle gives you an assignment, do only that.\n'
    "- abstain: when the step is outside your competence or there is nothing useful for you "
    "to add, abstain and give the reason. Abstaining is better than publishing something "
    "you cannot stand behind.\n\n"
    "Answer ONLY with one JSON object valid against this JSON Schema (TurnDecision), with no "
    "text before or after it:\n" + json.dumps(TurnDecision.model_json_schema(), sort_keys=True)
)
"""The instructions every model call starts with (constant, so that it can be cached)."""


def repair_prompt(problems: list[str]) -> str:
    """The user message that asks a model to fix its previous answer."""
    listed = "\n".join(f"- {p}" for p in problems)
    return (
        "Your answer could not be accepted:\n"
        f"{listed}\n"
        "Answer again with ONLY a corrected JSON object valid against the TurnDecision schema."
    )


_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\r?\n?(.*?)```", re.DOTALL)


def _json_text(text: str) -> str:
    """The JSON inside a reply: a ```json fence's contents, or from the first { to the last }."""
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1).strip()
    stripped = text.strip()
    if not stripped.startswith("{"):
        start, end = stripped.find("{"), stripped.rfind("}")
        if start != -1 and end > start:
            return stripped[start : end + 1]
    return stripped


def _pydantic_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return problems


def _type_names(bundle: dict[str, Any]) -> set[str] | None:
    """The type names the bundle allows (strings, or objects with a "name"); None: not given."""
    listed = bundle.get("artifact_types")
    if not isinstance(listed, list):
        return None
    names: set[str] = set()
    for item in listed:
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            names.add(item["name"])
    return names


def parse_decision(
    text: str, *, allowed_types: set[str] | None = None
) -> tuple[TurnDecision | None, list[str]]:
    """Parse a model's reply into a TurnDecision; return it (or None) and the problems found."""
    try:
        data = json.loads(_json_text(text))
    except json.JSONDecodeError as exc:
        return None, [f"the answer is not valid JSON: {exc}"]
    if not isinstance(data, dict):
        return None, ["the answer must be one JSON object"]
    try:
        decision = TurnDecision.model_validate(data)
    except ValidationError as exc:
        return None, _pydantic_problems(exc)
    problems = []
    if allowed_types is not None:
        for i, artifact in enumerate(decision.artifacts):
            if artifact.type not in allowed_types:
                problems.append(
                    f"artifacts.{i}.type: {artifact.type!r} is not one of the allowed "
                    f"artifact_types {sorted(allowed_types)}"
                )
    return decision, problems


def _to_langchain(messages: list[dict[str, str]]) -> list[BaseMessage]:
    kinds: dict[str, type[BaseMessage]] = {
        "system": SystemMessage,
        "user": HumanMessage,
        "assistant": AIMessage,
    }
    return [kinds[m["role"]](content=m["content"]) for m in messages]


def _reply_text(reply: BaseMessage) -> str:
    content = reply.content
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


async def decide(
    model: BaseChatModel,
    *,
    bundle: dict[str, Any],
    validate: Callable[[TurnDecision], list[str]],
    model_name: str,
) -> ModelCall:
    """Ask `model` for its decision on one turn, given only the instructions and `bundle`.

    The answer is parsed (```json fences tolerated), validated as a TurnDecision, checked
    against the bundle's artifact_types, then passed to `validate` (the caller's checks, e.g.
    artifact bodies against their JSON Schemas; it returns problem strings). On any problem
    the model gets exactly one repair attempt; if that fails too the outcome is "invalid".
    Errors raised by the model itself (network, timeouts) propagate to the caller.
    """
    allowed = _type_names(bundle)
    messages: list[dict[str, str]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        # compact JSON (no spaces after separators): fewer tokens for the model to read
        {"role": "user", "content": orjson.dumps(bundle).decode()},
    ]
    raw_outputs: list[str] = []
    errors: list[str] = []
    tokens_in: int | None = None
    tokens_out: int | None = None
    decision: TurnDecision | None = None
    problems: list[str] = []
    started = time.perf_counter()
    for attempt in range(2):
        if attempt:
            messages.append({"role": "assistant", "content": raw_outputs[-1]})
            messages.append({"role": "user", "content": repair_prompt(problems)})
        reply = await model.ainvoke(_to_langchain(messages))
        usage = reply.usage_metadata if isinstance(reply, AIMessage) else None
        if usage is not None:
            tokens_in = (tokens_in or 0) + usage["input_tokens"]
            tokens_out = (tokens_out or 0) + usage["output_tokens"]
        text = _reply_text(reply)
        raw_outputs.append(text)
        candidate, problems = parse_decision(text, allowed_types=allowed)
        if candidate is not None and not problems:
            problems = list(validate(candidate))
        if not problems:
            decision = candidate
            break
        errors.extend(problems)
    latency_ms = (time.perf_counter() - started) * 1000
    outcome: Outcome
    if decision is None:
        outcome = "invalid"
    else:
        outcome = "acted" if decision.action == "act" else "abstained"
    return ModelCall(
        decision=decision,
        outcome=outcome,
        messages=messages,
        raw_outputs=raw_outputs,
        errors=errors,
        repaired=decision is not None and len(raw_outputs) > 1,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        latency_ms=latency_ms,
        model=model_name,
    )


_SPEC_FORMS = (
    '"scripted", "scripted:<capability>,<capability>" (optionally "?invalid_first=true", '
    '"?always_invalid=true", "?revise=true", "?think_s=<seconds>"), '
    'or "openai:<model>" (optionally "?base_url=<url>&api_key_env=<NAME>&temperature=<t>")'
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _query(spec: str, text: str, allowed: set[str]) -> dict[str, str]:
    try:
        parsed = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError as exc:
        raise ValueError(f"model spec {spec!r}: bad options {text!r}") from exc
    unknown = sorted(set(parsed) - allowed)
    if unknown:
        raise ValueError(
            f"model spec {spec!r}: unknown option(s) {unknown}; accepted: {sorted(allowed)}"
        )
    return {name: values[-1] for name, values in parsed.items()}


def _flag(spec: str, options: dict[str, str], name: str) -> bool:
    value = options.get(name, "false").lower()
    if value not in _TRUE | _FALSE:
        raise ValueError(f"model spec {spec!r}: {name} must be true or false, not {value!r}")
    return value in _TRUE


def _seconds(spec: str, options: dict[str, str], name: str) -> float:
    try:
        value = float(options.get(name, "0"))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise ValueError(f"model spec {spec!r}: {name} must be seconds from 0 to 60")
    return value


def model_from_spec(spec: str) -> BaseChatModel:
    """Build a chat model from a short spec.

    - "scripted" or "scripted:planner,research": a deterministic ScriptedChatModel;
      "?invalid_first=true" / "?always_invalid=true" exercise the repair path;
      "?revise=true" gives readable keys and revisions, "?think_s=0.3" a model's pace.
    - "openai:<model>?base_url=...&api_key_env=NAME&temperature=0": langchain_openai.ChatOpenAI
      (any OpenAI-compatible server: vLLM, Ollama, llama.cpp, ...); the key is read from the
      environment variable NAME (default OPENAI_API_KEY), "none" when unset. Needs the
      optional extra blackboard[openai].
    """
    base, _, query = spec.strip().partition("?")
    prefix, _, head = base.partition(":")
    if prefix == "scripted":
        options = _query(spec, query, {"invalid_first", "always_invalid", "revise", "think_s"})
        capabilities = [c.strip() for c in head.split(",") if c.strip()]
        return ScriptedChatModel(
            capabilities=capabilities,
            invalid_first=_flag(spec, options, "invalid_first"),
            always_invalid=_flag(spec, options, "always_invalid"),
            revise=_flag(spec, options, "revise"),
            think_s=_seconds(spec, options, "think_s"),
        )
    if prefix == "openai":
        model_name = head.strip()
        if not model_name:
            raise ValueError(f"model spec {spec!r}: name the model, as in openai:<model>")
        options = _query(spec, query, {"base_url", "api_key_env", "temperature"})
        try:
            module = importlib.import_module("langchain_openai")
        except ImportError as exc:
            raise ValueError(
                f"model spec {spec!r} needs langchain-openai: install blackboard[openai] "
                "(pip install 'blackboard[openai]')"
            ) from exc
        kwargs: dict[str, Any] = {
            "model": model_name,
            "api_key": os.environ.get(options.get("api_key_env") or "OPENAI_API_KEY", "none"),
        }
        if options.get("base_url"):
            kwargs["base_url"] = options["base_url"]
        if "temperature" in options:
            try:
                kwargs["temperature"] = float(options["temperature"])
            except ValueError as exc:
                raise ValueError(f"model spec {spec!r}: temperature must be a number") from exc
        chat = module.ChatOpenAI(**kwargs)
        if not isinstance(chat, BaseChatModel):
            raise ValueError(
                f"model spec {spec!r}: langchain_openai.ChatOpenAI is not a chat model"
            )
        return chat
    raise ValueError(f"unknown model spec {spec!r}; accepted forms: {_SPEC_FORMS}")
