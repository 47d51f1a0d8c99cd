"""Body validation: the fast check (jsonschema-rs) never changes a verdict of the reference
(jsonschema), and schemas it might read differently are left to the reference alone."""

import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import artifacts
from blackboard.errors import SchemaViolation
from blackboard.services.validation import BodySchema, validate_body

SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2**64 + 1,
    0.0,
    -0.0,
    0.5,
    1.0,
    1.5,
    -7.25,
    1e308,
    "",
    "x",
    "é😀",
    "a" * 300,
]

EQUALITY_SCHEMA = {
    "type": "object",
    "properties": {
        "e": {"enum": [1, "1", None, [1], {"a": 1}]},
        "c": {"const": 1.0},
        "u": {"type": "array", "uniqueItems": True, "maxItems": 4},
        "n": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
        "s": {"type": "string", "minLength": 1, "maxLength": 2},
        "any": {"anyOf": [{"type": "string"}, {"type": "number", "maximum": 1}]},
    },
    "required": ["e"],
    "additionalProperties": False,
}


def value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value: mostly scalars, sometimes a list or an object."""
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        return [value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 2 and roll < 0.25:
        keys = ["a", "claim", "confidence", "evidence", "title"]
        return {rng.choice(keys): value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return rng.choice(SCALARS)


def valid(schema: dict[str, Any], root: dict[str, Any], rng: random.Random) -> Any:
    """A value that the (standard type's) subschema accepts, with some variety."""
    if "$ref" in schema:
        return valid(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root, rng)
    if "anyOf" in schema:
        return valid(rng.choice(schema["anyOf"]), root, rng)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {
            name: valid(sub, root, rng)
            for name, sub in props.items()
            if name in schema.get("required", []) or rng.random() < 0.5
        }
    if kind == "array":
        least = schema.get("minItems", 0)
        items = schema.get("items")
        return [
            value(rng) if items is None else valid(items, root, rng)
            for _ in range(rng.randint(least, least + 2))
        ]
    if kind in ("number", "integer"):
        return rng.choice([schema.get("minimum", 0), schema.get("maximum", 1), 0.5, 1])
    if kind == "null":
        return None
    return rng.choice(["x", "é😀", "a longer text"])


def mutations(schema: dict[str, Any], rng: random.Random, count: int) -> list[Any]:
    """Valid bodies, and near misses: properties mistyped, dropped, nested values broken."""
    bodies: list[Any] = [value(rng) for _ in range(count // 10)]
    for _ in range(count):
        body = valid(schema, schema, rng)
        for name in list(body):
            roll = rng.random()
            if roll < 0.15:
                body[name] = value(rng)
            elif roll < 0.25:
                del body[name]
            elif roll < 0.35 and isinstance(body[name], list) and body[name]:
                body[name][0] = value(rng)
        if rng.random() < 0.2:
            body["extra"] = value(rng)
        bodies.append(body)
    return bodies


def assert_same_verdicts(schema: dict[str, Any], bodies: list[Any]) -> None:
    compiled = BodySchema(schema)
    reference = Draft202012Validator(schema)
    assert compiled.fast
    for body in bodies:
        expected = sorted(
            (list(map(str, e.absolute_path)), e.message) for e in reference.iter_errors(body)
        )
        got = sorted((list(map(str, e.absolute_path)), e.message) for e in compiled.errors(body))
        assert got == expected, body


@pytest.mark.parametrize("name", sorted(artifacts.STANDARD_TYPES))
def test_every_standard_type_gets_the_fast_check_with_the_references_verdicts(name: str) -> None:
    schema = artifacts.json_schema(name)
    rng = random.Random(name)
    bodies = mutations(schema, rng, 1500)
    assert any(not Draft202012Validator(schema).is_valid(b) for b in bodies)
    assert any(Draft202012Validator(schema).is_valid(b) for b in bodies)
    assert_same_verdicts(schema, bodies)


def test_numbers_booleans_and_equal_values_get_the_references_verdicts() -> None:
    """1 == 1.0 but True is not 1, in enum, const and uniqueItems; integers past 64 bits."""
    rng = random.Random(7)
    bodies = mutations(EQUALITY_SCHEMA, rng, 3000)
    bodies += [
        {"e": 1.0},
        {"e": True},
        {"e": [True]},
        {"e": {"a": 1.0}},
        {"e": 1, "c": 1},
        {"e": 1, "c": True},
        {"e": 1, "u": [1, 1.0]},
        {"e": 1, "u": [1, True]},
        {"e": 1, "u": [[1], [1.0]]},
        {"e": 1, "n": 2**70},
        {"e": 1, "n": 3.0},
        {"e": 1, "s": "😀😀"},
        {"e": 1, "any": 2**70},
    ]
    assert_same_verdicts(EQUALITY_SCHEMA, bodies)


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ({"type": "number", "multipleOf": 0.1}, 0.3),  # Rust says yes, Python says no
        ({"type": "string", "pattern": "^a+$"}, "b"),
        ({"type": "object", "patternProperties": {"^x": {"type": "string"}}}, {"x1": 1}),
        ({"type": "object", "x-custom": True, "maxProperties": 0}, {"a": 1}),
        ({"properties": {"a": {"not": {"multipleOf": 2}}}}, {"a": 4}),
    ],
)
def test_a_schema_with_keywords_the_two_may_read_differently_is_checked_by_the_reference(
    schema: dict[str, Any], body: Any
) -> None:
    compiled = BodySchema(schema)
    assert not compiled.fast
    assert compiled.errors(body)
    with pytest.raises(SchemaViolation):
        validate_body(compiled, body, "/body")


def test_an_invalid_body_is_reported_with_the_references_paths_and_messages() -> None:
    compiled = BodySchema(artifacts.json_schema("finding"))
    with pytest.raises(SchemaViolation) as raised:
        validate_body(compiled, {"claim": "", "confidence": 2, "evidence": [1]}, "/drafts/0/body")
    assert [(e.path, e.message) for e in raised.value.errors] == [
        ("/drafts/0/body/claim", "'' should be non-empty"),
        ("/drafts/0/body/confidence", "2 is greater than the maximum of 1.0"),
        ("/drafts/0/body/evidence/0", "1 is not of type 'string'"),
    ]
