"""What one JSON Schema node says, read the same way by the compatibility check: the
types it admits, the node a local reference names, and two nodes taken together."""

from typing import Any

ALL_TYPES = frozenset({"null", "boolean", "object", "array", "number", "integer", "string"})


def has_ref(node: Any) -> bool:
    """Whether `node` refers anywhere to another part of its document."""
    if isinstance(node, dict):
        return any(k in ("$ref", "$dynamicRef") or has_ref(v) for k, v in node.items())
    if isinstance(node, list):
        return any(map(has_ref, node))
    return False


def same(a: dict[str, Any], b: dict[str, Any], keyword: str) -> bool:
    """Whether both nodes hold `keyword` with the same meaning (equal, and no references
    whose targets could differ between the two documents)."""
    return keyword in a and a[keyword] == b[keyword] and not has_ref(b[keyword])


def types_of(node: dict[str, Any]) -> set[str]:
    """The JSON types `node` admits (all of them if it does not say)."""
    declared = node.get("type")
    if declared is None:
        return set(ALL_TYPES)
    return {declared} if isinstance(declared, str) else set(declared)


def covers(types: set[str], t: str) -> bool:
    """Whether admitting `types` admits every value of type `t` (integers are numbers)."""
    return t in types or (t == "integer" and "number" in types)


def conjoin(x: dict[str, Any], y: dict[str, Any]) -> dict[str, Any] | None:
    """A schema accepting at least what both accept (None: they accept nothing together).

    Exact for independent keywords; where both constrain the same keyword one of the two
    is dropped, which only ever widens the result (so it is safe on the side whose
    bodies must stay valid)."""
    merged = dict(x)
    for k, v in y.items():
        if k not in merged:
            merged[k] = v
        elif k == "required":
            merged[k] = list(dict.fromkeys([*merged[k], *v]))
        elif k == "properties":
            merged[k] = {**v, **merged[k]}
        elif k == "type":
            both = {t for t in types_of(x) if covers(types_of(y), t)} | {
                t for t in types_of(y) if covers(types_of(x), t)
            }
            if not both:
                return None
            merged[k] = sorted(both)
    return merged


def resolve(root: dict[str, Any], ref: str) -> tuple[Any, str] | None:
    """The node a local JSON-pointer reference names, and its path; None if none."""
    if not ref.startswith("#") or (len(ref) > 1 and not ref.startswith("#/")):
        return None  # an anchor: not followed, so refused where it matters
    node: Any = root
    for raw in ref[2:].split("/") if len(ref) > 1 else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node, ref[1:]
