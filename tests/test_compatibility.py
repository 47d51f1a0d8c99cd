"""The compatibility check over a table of schema pairs, one per rule, and as a property:
whatever it accepts, bodies of the previous version stay valid (Hypothesis)."""

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

import artifacts
from blackboard.services.compatibility import problems
from tests.support.schema_pairs import NOTE, PAIRS, Pair, note


def test_the_table_covers_thirty_rules_both_ways() -> None:
    assert len(PAIRS) >= 30
    assert len({p.name for p in PAIRS}) == len(PAIRS)
    assert sum(1 for p in PAIRS if p.backward) >= 15
    assert sum(1 for p in PAIRS if not p.backward) >= 15


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_backward_check_names_each_problem(pair: Pair) -> None:
    found = problems(pair.old, pair.new, "backward")
    assert sorted({r.path for r in found}) == sorted(pair.backward), found
    assert all(r.message for r in found)


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_forward_and_full_are_the_other_way_and_both(pair: Pair) -> None:
    assert (problems(pair.old, pair.new, "forward") == []) is pair.forward
    assert (problems(pair.new, pair.old, "backward") == []) is pair.forward
    full_ok = not pair.backward and pair.forward
    assert (problems(pair.old, pair.new, "full") == []) is full_ok
    assert problems(pair.old, pair.new, "none") == []


@pytest.mark.parametrize("pair", [p for p in PAIRS if p.witness is not None], ids=lambda p: p.name)
def test_every_witnessed_break_is_real(pair: Pair) -> None:
    """The refusals the table witnesses are not over-cautious: a body proves each."""
    assert Draft202012Validator(pair.old).is_valid(pair.witness)
    assert not Draft202012Validator(pair.new).is_valid(pair.witness)


# --- the property: what the check accepts keeps previous bodies valid ----------------------

_BOUNDED = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


def _mutations(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Small edits of a flat object schema, harmless and breaking alike."""
    props = sorted(schema.get("properties", {}))
    name = st.sampled_from([*props, "extra"])

    def edit(kind: str, prop: str, number: int) -> dict[str, Any]:
        new = copy.deepcopy(schema)
        properties = new.setdefault("properties", {})
        target = properties.setdefault(prop, {})
        if kind == "require":
            new["required"] = sorted({*new.get("required", []), prop})
        elif kind == "unrequire":
            new["required"] = [r for r in new.get("required", []) if r != prop]
        elif kind == "drop":
            properties.pop(prop, None)
        elif kind == "close":
            new["additionalProperties"] = False
        elif kind == "open":
            new.pop("additionalProperties", None)
        elif kind == "retype":
            target["type"] = ["string", "number", "integer", "boolean", "null"][number % 5]
        elif kind == "widen":
            target["type"] = ["string", "number", "boolean", "null", "array", "object"]
        elif kind == "bound":
            target["minimum" if number % 2 else "maximum"] = number - 3
        elif kind == "length":
            target["minLength" if number % 2 else "maxLength"] = number % 4
        elif kind == "enum":
            target["enum"] = ["a", "b", 1, None][: number % 4 + 1]
        elif kind == "loosen":
            properties[prop] = {}
        return new

    kinds = st.sampled_from(
        [
            "require",
            "unrequire",
            "drop",
            "close",
            "open",
            "retype",
            "widen",
            "bound",
            "length",
            "enum",
            "loosen",
        ]
    )
    return st.builds(edit, kinds, name, st.integers(0, 7))


BASES = [
    NOTE,
    note(additionalProperties=False),
    artifacts.json_schema("finding"),
    artifacts.json_schema("critique"),
    artifacts.json_schema("plan"),
]
# built once: hypothesis-jsonschema takes a schema apart anew for every strategy
BODIES = {id(base): from_schema(base) for base in BASES}


@pytest.mark.parametrize("old", BASES, ids=["note", "closed note", "finding", "critique", "plan"])
@_BOUNDED
@given(data=st.data())
def test_bodies_of_the_previous_version_stay_valid_under_accepted_versions(
    old: dict[str, Any], data: st.DataObject
) -> None:
    """Up to three edits in a row, each accepted as backward, then a body of the first
    version: every version it passed must take it."""
    versions = [old]
    for _ in range(data.draw(st.integers(1, 3))):
        candidate = data.draw(_mutations(versions[-1]))
        if problems(versions[-1], candidate, "backward") == []:
            versions.append(candidate)
    body = data.draw(BODIES[id(old)])
    for version in versions:
        assert Draft202012Validator(version).is_valid(body), (version, body)
