"""Checking artifact bodies against their type's JSON Schema, fast in the common case.

Each schema is compiled twice. jsonschema is the reference: it says what is wrong and
where. jsonschema-rs (Rust) only answers whether a body is valid, many times faster, which
is what nearly every publish needs to know. A body the fast check accepts is accepted.
Anything else goes to jsonschema, whose verdict and messages the client gets: the fast
check rejected the body, or could not take the schema or the body.

The two agree only where they read a keyword alike, so the fast check is compiled only
for schemas that use nothing but the keywords in `_AGREED` (every standard type does).
Left out, for example:
- `pattern`: Python's `re` and Rust's regex read some patterns differently
  (`[[:alpha:]]`, `$` before a final newline).
- `multipleOf`: float division against exact arithmetic (0.3 and 0.1).
- any keyword neither knows: jsonschema ignores it, and so would the fast check, but
  nobody has checked that.
"""

from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing.exceptions import Unresolvable

from blackboard.errors import FieldError, SchemaViolation

MAX_REPORTED_ERRORS = 20

# keywords whose value is a schema, a list of schemas, or a map of names to schemas
_ONE = frozenset(
    {
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
    }
)
_MANY = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_NAMED = frozenset({"properties", "$defs", "dependentSchemas"})
# keywords whose value is data (or a local reference), read alike by both
_DATA = frozenset(
    {
        "$schema",
        "$id",
        "$ref",
        "$comment",
        "$anchor",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",  # an annotation in 2020-12 for both, unless asked to assert it
        "type",
        "enum",
        "const",
        "required",
        "dependentRequired",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minContains",
        "maxContains",
        "minProperties",
        "maxProperties",
        "contentMediaType",
        "contentEncoding",
    }
)
_AGREED = _ONE | _MANY | _NAMED | _DATA


def _agreed(schema: Any) -> bool:
    """Whether every keyword in `schema`, at any depth, is one both validators read alike."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict):
        return False
    for keyword, value in schema.items():
        if keyword not in _AGREED:
            return False
        if keyword in _ONE and not _agreed(value):
            return False
        if keyword in _MANY and not (isinstance(value, list) and all(map(_agreed, value))):
            return False
        if keyword in _NAMED and not (
            isinstance(value, dict) and all(map(_agreed, value.values()))
        ):
            return False
    return True


def _fast_check(schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator | None:
    if not _agreed(schema):
        return None
    try:
        return jsonschema_rs.Draft202012Validator(schema)
    except Exception:  # a schema it cannot take: the reference alone checks bodies
        return None


class BodySchema:
    """One version of a type's schema, compiled for checking bodies (see module doc)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.reference = Draft202012Validator(schema)
        self._fast = _fast_check(schema)

    @property
    def fast(self) -> bool:
        """Whether valid bodies are recognised by the fast check."""
        return self._fast is not None

    def errors(self, body: Any) -> list[ValidationError]:
        """What is wrong with `body` (nothing if it is valid), in document order."""
        if self._fast is not None:
            try:
                if self._fast.is_valid(body):
                    return []
            except Exception:  # a value it cannot take (an integer past 64 bits, say)
                pass
        found = self.reference.iter_errors(body)
        return sorted(found, key=lambda e: list(map(str, e.absolute_path)))


def pointer(parts: Any) -> str:
    """A JSON pointer to the path `parts`."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def validate_body(compiled: BodySchema, body: dict[str, Any], at: str) -> None:
    """Raise SchemaViolation, with JSON-pointer paths under `at`, unless `body` is valid."""
    try:
        errors = compiled.errors(body)
    except Unresolvable as exc:
        raise SchemaViolation(
            "the type's schema has a reference that cannot be resolved",
            errors=[FieldError(at, str(exc))],
        ) from exc
    if errors:
        raise SchemaViolation(
            "the artifact body does not match its type's schema",
            errors=[
                FieldError(at + pointer(e.absolute_path), e.message)
                for e in errors[:MAX_REPORTED_ERRORS]
            ],
        )
