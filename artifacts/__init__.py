"""Standard artifact types: pydantic models and their JSON Schemas. Imports nothing of ours."""

from typing import Any

from artifacts.standard import (
    STANDARD_TYPES,
    Critique,
    Decision,
    Finding,
    Goal,
    Plan,
    PlanStep,
    Proposal,
    Result,
)


def json_schema(name: str) -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the standard type `name`."""
    schema = STANDARD_TYPES[name].model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


__all__ = [
    "STANDARD_TYPES",
    "Critique",
    "Decision",
    "Finding",
    "Goal",
    "Plan",
    "PlanStep",
    "Proposal",
    "Result",
    "json_schema",
]
