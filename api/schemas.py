"""Response shapes that are HTTP-only (records from `blackboard.records` are the rest)."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from blackboard.drafts import Compatibility
from blackboard.records import Abstention, Agent, Artifact, Event, Task, TypeVersion

T = TypeVar("T")


class ErrorItem(BaseModel):
    """One problem at one place in the request."""

    path: str = Field(description="JSON pointer into the request (e.g. /body/title).")
    message: str


class ErrorBody(BaseModel):
    """Every error response: the error class, a sentence, and sometimes more fields."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="The error class, e.g. VersionConflict.")
    detail: str = Field(description="A human sentence saying what went wrong.")
    errors: list[ErrorItem] | None = Field(default=None, description="Validation problems (422).")


class AgentCreated(Agent):
    """A newly registered agent, with its token: shown this once, stored only hashed."""

    token: str


class TypeDetail(BaseModel):
    """An artifact type: its newest version and the list of all versions."""

    name: str
    latest: TypeVersion
    versions: list[int]
    compatibility: Compatibility  # what the type's next versions are checked under


class Page(BaseModel, Generic[T]):
    """A page of items in seq order; pass `next_after` as `after` for the next page."""

    items: list[T]
    next_after: int


class ArtifactPage(Page[Artifact]):
    """A page of artifacts."""


class EventPage(Page[Event]):
    """A page of events."""


class AbstentionCounts(BaseModel):
    """How many abstentions per agent id and per role ("" = no role named)."""

    by_agent: dict[str, int]
    by_role: dict[str, int]


class AbstentionPage(Page[Abstention]):
    """A page of abstentions and the counts over all that match."""

    counts: AbstentionCounts


class TaskCompleted(BaseModel):
    """A completed task and the result artifact published with it."""

    task: Task
    artifact: Artifact


class Items(BaseModel, Generic[T]):
    """A plain list of items."""

    items: list[T]


class Health(BaseModel):
    """The service answers and its database does too."""

    status: str = "ok"
