"""The standard artifact types every board understands.

Each model is the single source of its JSON Schema: the service registers
`Model.model_json_schema()` under the type name at start-up, and agents build
bodies from the same models. Extra fields are allowed so that agents can attach
what they need without a new type, but the named fields are checked.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class Goal(_Body):
    """What the board is for: the objective agents work towards."""

    title: str = Field(min_length=1, max_length=500)
    description: str = ""
    success_criteria: list[str] = Field(default_factory=list)


class PlanStep(BaseModel):
    """One step of a plan, optionally naming the role expected to take it."""

    description: str = Field(min_length=1)
    role: str | None = None


class Plan(_Body):
    """An ordered decomposition of a goal into steps."""

    summary: str = Field(min_length=1)
    steps: list[PlanStep] = Field(min_length=1)


class Proposal(_Body):
    """A candidate answer or course of action put forward for consideration."""

    title: str = Field(min_length=1, max_length=500)
    content: str = Field(min_length=1)
    rationale: str = ""


class Finding(_Body):
    """A fact or observation, with where it came from and how sure its author is."""

    claim: str = Field(min_length=1)
    evidence: list[str] = Field(default_factory=list)
    confidence: float = Field(default=0.5, ge=0.0, le=1.0)


class Critique(_Body):
    """A review of another artifact: what is wrong with it and how to fix it."""

    target: str = Field(min_length=1, description="Id or key of the artifact under review.")
    verdict: Literal["accept", "revise", "reject"]
    issues: list[str] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list)


class Decision(_Body):
    """A choice made among options, with the reason for it."""

    question: str = Field(min_length=1)
    choice: str = Field(min_length=1)
    rationale: str = ""
    alternatives: list[str] = Field(default_factory=list)


class Result(_Body):
    """The outcome of a piece of work: the answer to a goal or a task."""

    summary: str = Field(min_length=1)
    content: str = ""
    status: Literal["succeeded", "partial", "failed"] = "succeeded"


STANDARD_TYPES: dict[str, type[BaseModel]] = {
    "goal": Goal,
    "plan": Plan,
    "proposal": Proposal,
    "finding": Finding,
    "critique": Critique,
    "decision": Decision,
    "result": Result,
}
"""Type name → model. Names are what `type` says in a publish request."""
