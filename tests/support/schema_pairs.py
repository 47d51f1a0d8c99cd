"""A table of schema pairs, one per compatibility rule: compatible and breaking changes."""

import copy
from dataclasses import dataclass
from typing import Any

import artifacts

NOTE = {
    "type": "object",
    "properties": {"text": {"type": "string"}, "score": {"type": "number"}},
    "required": ["text"],
}


def note(**changes: Any) -> dict[str, Any]:
    """NOTE with top-level keywords replaced (None: removed)."""
    schema = copy.deepcopy(NOTE)
    for k, v in changes.items():
        if v is None:
            schema.pop(k, None)
        else:
            schema[k] = v
    return schema


def field(schema: dict[str, Any], **props: Any) -> dict[str, Any]:
    """An object with one property `x` of `schema`, plus the named others."""
    return {"type": "object", "properties": {"x": schema, **props}}


@dataclass(frozen=True)
class Pair:
    """Two versions; the paths the backward check must name (none: compatible); whether
    forward holds; a body valid under `old` that `new` refuses, when a break is real."""

    name: str
    old: Any
    new: Any
    backward: list[str]
    forward: bool
    witness: Any = None


PLAN = artifacts.json_schema("plan")
PLAN_ROLE_REQUIRED = copy.deepcopy(PLAN)
PLAN_ROLE_REQUIRED["$defs"]["PlanStep"]["required"] = ["description", "role"]
TREE = {
    "type": "object",
    "properties": {"n": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#"}}},
}
TREE_WIDER = copy.deepcopy(TREE)
TREE_WIDER["properties"]["n"] = {"type": "number"}

PAIRS = [
    Pair("unchanged", NOTE, NOTE, [], True),
    Pair("only annotations change", NOTE, note(title="Note", description="d"), [], True),
    Pair(
        "newly required property",
        NOTE,
        note(required=["text", "score"]),
        ["/required/1"],
        True,
        {"text": "t"},
    ),
    Pair("requirement dropped", NOTE, note(required=None), [], False),
    Pair(
        "optional property added to an open object",
        NOTE,
        note(properties={**NOTE["properties"], "tag": {"type": "string"}}),
        ["/properties/tag"],
        True,
        {"text": "t", "tag": 5},
    ),
    Pair(
        "unconstrained property added",
        NOTE,
        note(properties={**NOTE["properties"], "tag": {}}),
        [],
        True,
    ),
    Pair(
        "property removed under additionalProperties false",
        note(additionalProperties=False),
        note(additionalProperties=False, properties={"text": {"type": "string"}}),
        ["/properties/score"],
        True,
        {"text": "t", "score": 1},
    ),
    Pair(
        "property removed from an open object",
        NOTE,
        note(properties={"text": {"type": "string"}}),
        [],
        False,
    ),
    Pair(
        "object closed",
        NOTE,
        note(additionalProperties=False),
        ["/additionalProperties"],
        True,
        {"text": "t", "other": 1},
    ),
    Pair("object opened", note(additionalProperties=False), NOTE, [], False),
    Pair(
        "type narrowed",
        field({"type": "number"}),
        field({"type": "integer"}),
        ["/properties/x/type"],
        True,
        {"x": 1.5},
    ),
    Pair("type widened", field({"type": "integer"}), field({"type": "number"}), [], False),
    Pair(
        "type list widened",
        field({"type": "string"}),
        field({"type": ["string", "null"]}),
        [],
        False,
    ),
    Pair(
        "anyOf widens to null",
        field({"type": "string"}),
        field({"anyOf": [{"type": "string"}, {"type": "null"}]}),
        [],
        False,
    ),
    Pair(
        "anyOf narrowed to one alternative",
        field({"anyOf": [{"type": "string"}, {"type": "null"}]}),
        field({"type": "string"}),
        ["/properties/x/type"],
        True,
        {"x": None},
    ),
    Pair(
        "enum value removed",
        field({"enum": ["a", "b", "c"]}),
        field({"enum": ["a", "b"]}),
        ["/properties/x/enum"],
        True,
        {"x": "c"},
    ),
    Pair("enum value added", field({"enum": ["a"]}), field({"enum": ["a", "b"]}), [], False),
    Pair(
        "enum imposed on a string",
        field({"type": "string"}),
        field({"type": "string", "enum": ["a"]}),
        ["/properties/x/enum"],
        True,
        {"x": "z"},
    ),
    Pair(
        "enum inside a wider type",
        field({"enum": ["a", "b"]}),
        field({"type": "string", "minLength": 1}),
        [],
        False,
    ),
    Pair(
        "const imposed",
        field({"type": "string"}),
        field({"const": "a"}),
        ["/properties/x/const"],
        True,
        {"x": "b"},
    ),
    Pair(
        "minimum raised",
        field({"type": "number", "minimum": 0}),
        field({"type": "number", "minimum": 1}),
        ["/properties/x/minimum"],
        True,
        {"x": 0.5},
    ),
    Pair(
        "minimum lowered",
        field({"type": "number", "minimum": 1}),
        field({"type": "number", "minimum": 0}),
        [],
        False,
    ),
    Pair(
        "maximum made exclusive",
        field({"type": "number", "maximum": 1}),
        field({"type": "number", "exclusiveMaximum": 1}),
        ["/properties/x/exclusiveMaximum"],
        True,
        {"x": 1},
    ),
    Pair(
        "exclusive minimum made inclusive",
        field({"type": "number", "exclusiveMinimum": 0}),
        field({"type": "number", "minimum": 0}),
        [],
        False,
    ),
    Pair(
        "multipleOf coarser",
        field({"type": "number", "multipleOf": 1}),
        field({"type": "number", "multipleOf": 2}),
        ["/properties/x/multipleOf"],
        True,
        {"x": 3},
    ),
    Pair(
        "multipleOf finer",
        field({"type": "number", "multipleOf": 1}),
        field({"type": "number", "multipleOf": 0.5}),
        [],
        False,
    ),
    Pair(
        "minLength raised",
        field({"type": "string"}),
        field({"type": "string", "minLength": 1}),
        ["/properties/x/minLength"],
        True,
        {"x": ""},
    ),
    Pair(
        "maxLength raised",
        field({"type": "string", "maxLength": 5}),
        field({"type": "string", "maxLength": 10}),
        [],
        False,
    ),
    Pair(
        "pattern imposed",
        field({"type": "string"}),
        field({"type": "string", "pattern": "^[a-z]+$"}),
        ["/properties/x/pattern"],
        True,
        {"x": "A"},
    ),
    Pair(
        "pattern changed (undecided: refused)",
        field({"type": "string", "pattern": "^a"}),
        field({"type": "string", "pattern": "^(a|b)"}),
        ["/properties/x/pattern"],
        False,
    ),
    Pair(
        "pattern dropped",
        field({"type": "string", "pattern": "^a"}),
        field({"type": "string"}),
        [],
        False,
    ),
    Pair(
        "format imposed",
        field({"type": "string"}),
        field({"type": "string", "format": "date"}),
        ["/properties/x/format"],
        True,
    ),
    Pair(
        "minItems raised",
        field({"type": "array"}),
        field({"type": "array", "minItems": 1}),
        ["/properties/x/minItems"],
        True,
        {"x": []},
    ),
    Pair(
        "maxItems lowered",
        field({"type": "array", "maxItems": 3}),
        field({"type": "array", "maxItems": 2}),
        ["/properties/x/maxItems"],
        True,
        {"x": [1, 2, 3]},
    ),
    Pair(
        "items made unique",
        field({"type": "array"}),
        field({"type": "array", "uniqueItems": True}),
        ["/properties/x/uniqueItems"],
        True,
        {"x": [1, 1]},
    ),
    Pair(
        "items narrowed",
        field({"type": "array", "items": {"type": "string"}}),
        field({"type": "array", "items": {"type": "string", "minLength": 1}}),
        ["/properties/x/items/minLength"],
        True,
        {"x": [""]},
    ),
    Pair(
        "tuple position narrowed",
        field({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]}),
        field({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}),
        ["/properties/x/prefixItems/1/type"],
        True,
        {"x": ["a", 0.5]},
    ),
    Pair(
        "referenced definition narrowed",
        PLAN,
        PLAN_ROLE_REQUIRED,
        ["/$defs/PlanStep/required/1"],
        True,
        {"summary": "s", "steps": [{"description": "d"}]},
    ),
    Pair(
        "inline schema moved behind a reference",
        field({"type": "string"}),
        {**field({"$ref": "#/$defs/s"}), "$defs": {"s": {"type": "string"}}},
        [],
        True,
    ),
    Pair(
        "allOf adds a requirement",
        NOTE,
        note(allOf=[{"required": ["score"]}]),
        ["/allOf/0/required/0"],
        True,
        {"text": "t"},
    ),
    Pair(
        "no alternative of anyOf fits, through references",
        field({"type": "string"}),
        {
            **field({"anyOf": [{"$ref": "#/$defs/n"}, {"$ref": "#/$defs/n"}]}),
            "$defs": {"n": {"type": "number"}},
        },
        ["/properties/x/anyOf"],
        False,
        {"x": "a"},
    ),
    Pair("allOf requirement lifted", note(allOf=[{"required": ["score"]}]), NOTE, [], False),
    Pair(
        "oneOf changed (undecided: refused)",
        field({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        field({"oneOf": [{"type": "string"}, {"type": "number"}]}),
        ["/properties/x/oneOf"],
        False,
    ),
    Pair(
        "oneOf unchanged",
        field({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        field({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        [],
        True,
    ),
    Pair(
        "not imposed (undecided: refused)",
        field({"type": "string"}),
        field({"type": "string", "not": {"const": "x"}}),
        ["/properties/x/not"],
        True,
    ),
    Pair(
        "if/then imposed (undecided: refused)",
        NOTE,
        note(**{"if": {"required": ["score"]}, "then": {"required": ["text"]}}),
        ["/if", "/then"],
        True,
    ),
    Pair(
        "patternProperties imposed (undecided: refused)",
        NOTE,
        note(patternProperties={"^x-": {"type": "string"}}),
        ["/patternProperties"],
        True,
    ),
    Pair(
        "dependentRequired imposed",
        NOTE,
        note(dependentRequired={"score": ["unit"]}),
        ["/dependentRequired"],
        True,
        {"text": "t", "score": 1},
    ),
    Pair(
        "propertyNames imposed",
        NOTE,
        note(propertyNames={"pattern": "^[a-z]+$"}),
        ["/propertyNames/pattern"],
        True,
    ),
    Pair(
        "minProperties raised",
        NOTE,
        note(minProperties=2),
        ["/minProperties"],
        True,
        {"text": "t"},
    ),
    Pair("recursive schema widened", TREE, TREE_WIDER, [], False),
    Pair(
        "recursive schema narrowed",
        TREE_WIDER,
        TREE,
        ["/properties/n/type"],
        True,
        {"kids": [{"n": 0.5}]},
    ),
    Pair(
        "anything to something",
        True,
        NOTE,
        ["/properties/score", "/properties/text", "/required/0", "/type"],
        True,
        5,
    ),
    Pair("nothing to something", False, NOTE, [], False),
]
