"""Whether a new version of a type's schema keeps the bodies agents already write valid.

`backward`: every body valid under the previous version is valid under the new one.
`forward`: every body valid under the new version is valid under the previous one (agents
still on the previous standard can read what others now write). `full`: both. `none`: no
check. Each is one question, "does schema A accept everything schema B accepts?", asked in
one direction or both (`Inclusion`).

The answer is proven from the two schemas' structure, keyword by keyword, or refused. A
change whose effect cannot be decided from structure alone — a different `pattern`
(inclusion of regular expressions is not worth deciding here), `oneOf`, `not`,
`if`/`then`/`else`, `contains`, `unevaluated*`, `patternProperties`, `$dynamicRef` — is
refused unless that keyword is unchanged: a registry that lets such a change through
cannot promise what it promises, while a refusal costs the operator one look at the
data (`POST /v1/types/{name}/check`) and an explicit override. On the side whose bodies
must stay valid, a constraint is at most left out (which only widens what the other side
must take); the other side's are all compared. So every "compatible" is a proof; the
price is that some harmless changes are refused too.
"""

import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from jsonschema import Draft202012Validator

from blackboard.services.schema_nodes import conjoin, covers, resolve, same, types_of
from blackboard.services.validation import pointer

# decided only when unchanged (see module doc)
_OPAQUE = (
    "oneOf",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "minContains",
    "maxContains",
    "dependentSchemas",
    "unevaluatedItems",
    "unevaluatedProperties",
    "$dynamicRef",
)
# combine the schemas they hold; taken apart before the keywords are compared
_COMBINATORS = frozenset({"$ref", "allOf", "anyOf", "oneOf"})
_MAX_BRANCHES = 64  # a union bigger than this is compared as one looser schema
_MAX_REF_DEPTH = 32


@dataclass(frozen=True)
class Reason:
    """One way the new version breaks the mode: where in the new schema, and what."""

    path: str
    message: str


def problems(previous: dict[str, Any], new: dict[str, Any], mode: str) -> list[Reason]:
    """Every reason `new` breaks `mode` as the successor of `previous` (none: compatible)."""
    found: list[Reason] = []
    if mode in ("backward", "full"):
        found += Inclusion(sub=previous, sup=new, new_is_sup=True).check()
    if mode in ("forward", "full"):
        found += Inclusion(sub=new, sup=previous, new_is_sup=False).check()
    return list(dict.fromkeys(found))


@dataclass
class Inclusion:
    """The proof, or the reasons against, that schema `sub` accepts nothing `sup` refuses."""

    sub: dict[str, Any]
    sup: dict[str, Any]
    new_is_sup: bool
    _assumed: dict[tuple[str, str], None] = field(default_factory=dict)

    def check(self) -> list[Reason]:
        """Every reason found, with paths into the new schema."""
        return self.within(self.sub, self.sup, "", "")

    # --- wording ------------------------------------------------------------------------

    def _names(self) -> tuple[str, str]:
        return ("previous", "new") if self.new_is_sup else ("new", "previous")

    def _reason(self, sub_at: str, sup_at: str, message: str) -> Reason:
        return Reason(sup_at if self.new_is_sup else sub_at, message)

    # --- references ---------------------------------------------------------------------

    # --- the side whose bodies must stay valid: taken apart into a union of plain nodes ---

    def _branches(self, node: Any, at: str, depth: int = 0) -> list[tuple[dict[str, Any], str]]:
        """Plain schemas (no combinators) whose union accepts at least what `node` does."""
        if node is False:
            return []
        if node is True or not isinstance(node, dict):
            return [({}, at)]
        base = {k: v for k, v in node.items() if k not in _COMBINATORS}
        parts: list[list[tuple[dict[str, Any], str]]] = [[(base, at)]]
        target = resolve(self.sub, node["$ref"]) if "$ref" in node else None
        if target is not None and depth < _MAX_REF_DEPTH:
            parts.append(self._branches(target[0], target[1], depth + 1))
        for i, entry in enumerate(node.get("allOf", [])):
            parts.append(self._branches(entry, f"{at}/allOf/{i}", depth))
        for keyword in ("anyOf", "oneOf"):  # a oneOf accepts no more than its anyOf would
            if keyword in node:
                parts.append(
                    [
                        b
                        for i, entry in enumerate(node[keyword])
                        for b in self._branches(entry, f"{at}/{keyword}/{i}", depth)
                    ]
                )
                break
        union = parts[0]
        for part in parts[1:]:
            if len(union) * len(part) > _MAX_BRANCHES:
                continue  # leaving a conjunct out only widens
            union = [
                (merged, p)
                for x, _ in union
                for y, p in part
                if (merged := conjoin(x, y)) is not None
            ]
        return union

    # --- the comparison -----------------------------------------------------------------

    def within(self, a: Any, b: Any, pa: str, pb: str) -> list[Reason]:
        """Reasons why something `a` accepts might be refused by `b` (none: proven)."""
        if b is True or a is False:
            return []
        origin = a if isinstance(a, dict) else {}
        found: list[Reason] = []
        for flat, at in self._branches(a, pa):
            found += self._plain_within(flat, origin, b, at, pb)
        return found

    def _plain_within(
        self, a: dict[str, Any], origin: dict[str, Any], b: Any, pa: str, pb: str
    ) -> list[Reason]:
        sub, sup = self._names()
        if b is True:
            return []
        if b is False or not isinstance(b, dict):
            return [self._reason(pa, pb, f"the {sup} version refuses what the {sub} one accepted")]
        values = [a["const"]] if "const" in a else a.get("enum")
        if isinstance(values, list):
            return self._values_within(a, values, b, pa, pb)
        found: list[Reason] = []
        if "$ref" in b:
            found += self._ref_within(a, b["$ref"], pa, pb)
        for i, entry in enumerate(b.get("allOf", [])):
            found += self.within(a, entry, pa, f"{pb}/allOf/{i}")
        if "anyOf" in b and not same(origin, b, "anyOf"):
            found += self._any_within(a, b["anyOf"], pa, f"{pb}/anyOf")
        for keyword in _OPAQUE:
            if keyword in b and not same(origin, b, keyword):
                found.append(
                    self._reason(
                        pa,
                        f"{pb}/{keyword}",
                        f"{keyword} differs from the {sub} version; its effect cannot be "
                        "decided from the schemas, so the change is refused",
                    )
                )
        types = types_of(a)
        if "type" in b:
            lost = sorted(t for t in types if not covers(types_of(b), t))
            if lost:
                found.append(
                    self._reason(
                        pa, f"{pb}/type", f"type narrowed: {', '.join(lost)} no longer accepted"
                    )
                )
                types = {t for t in types if t not in lost}
        if "const" in b or "enum" in b:
            keyword = "const" if "const" in b else "enum"
            if types != {"null"} or None not in ([b["const"]] if "const" in b else b["enum"]):
                found.append(
                    self._reason(pa, f"{pb}/{keyword}", f"{keyword} added: other values refused")
                )
        if types & {"number", "integer"}:
            found += self._numbers_within(a, b, pa, pb)
        if "string" in types:
            found += self._strings_within(a, b, pa, pb)
        if "array" in types:
            found += self._arrays_within(a, b, pa, pb)
        if "object" in types:
            found += self._objects_within(a, origin, b, pa, pb)
        return found

    def _values_within(
        self, a: dict[str, Any], values: list[Any], b: dict[str, Any], pa: str, pb: str
    ) -> list[Reason]:
        """`a` allows only these values: try each against `b` itself (exact)."""
        sub, sup = self._names()
        allowed = Draft202012Validator(self.sub).evolve(schema=a)
        check = Draft202012Validator(self.sup).evolve(schema=b)
        where = next((f"/{k}" for k in ("enum", "const") if k in b), "")
        return [
            self._reason(
                pa + where, pb + where, f"{v!r} is allowed by the {sub} version, not the {sup}"
            )
            for v in values
            if allowed.is_valid(v) and not check.is_valid(v)
        ]

    def _ref_within(self, a: dict[str, Any], ref: str, pa: str, pb: str) -> list[Reason]:
        target = resolve(self.sup, ref)
        if target is None:
            return [self._reason(pa, f"{pb}/$ref", "a reference that is not followed here")]
        node, at = target
        # keyed by what `a` says, not where: the same left schema meets a recursive `b`
        # under ever longer paths, and different ones can share a path
        key = (json.dumps(a, sort_keys=True), at)
        if key in self._assumed:
            return []  # recursive schemas: assumed while it is being proven (co-induction)
        mark = len(self._assumed)
        self._assumed[key] = None
        found = self.within(a, node, pa, at)
        if found:  # disproven: so is whatever was proven assuming it
            for later in list(self._assumed)[mark:]:
                del self._assumed[later]
        return found

    def _any_within(self, a: dict[str, Any], options: list[Any], pa: str, pb: str) -> list[Reason]:
        sub, sup = self._names()
        for i, option in enumerate(options):
            if not self.within(a, option, pa, f"{pb}/{i}"):
                return []
        return [
            self._reason(
                pa,
                pb,
                f"no alternative of the {sup} version's anyOf accepts everything the {sub} "
                "version accepts here",
            )
        ]

    def _bound(self, pa: str, pb: str, keyword: str, message: str) -> Reason:
        return self._reason(f"{pa}/{keyword}", f"{pb}/{keyword}", message)

    def _numbers_within(
        self, a: dict[str, Any], b: dict[str, Any], pa: str, pb: str
    ) -> list[Reason]:
        found: list[Reason] = []
        for low, keyword, exclusive in (
            (True, "minimum", False),
            (True, "exclusiveMinimum", True),
            (False, "maximum", False),
            (False, "exclusiveMaximum", True),
        ):
            if keyword in b and not self._bound_implied(a, b[keyword], low, exclusive):
                side = "lower" if low else "upper"
                found.append(self._bound(pa, pb, keyword, f"{side} bound narrowed to {b[keyword]}"))
        if "multipleOf" in b:
            step = Fraction(str(b["multipleOf"]))
            have = a.get("multipleOf")
            integers = types_of(a) <= {"integer"} and step == 1
            if not integers and (have is None or Fraction(str(have)) % step != 0):
                found.append(self._bound(pa, pb, "multipleOf", f"must now be a multiple of {step}"))
        return found

    @staticmethod
    def _bound_implied(a: dict[str, Any], limit: float, low: bool, exclusive: bool) -> bool:
        """Whether `a`'s own bounds keep every number on the right side of `limit`."""
        keys = ("minimum", "exclusiveMinimum") if low else ("maximum", "exclusiveMaximum")
        for keyword in keys:
            if keyword not in a:
                continue
            have, strict = a[keyword], keyword.startswith("exclusive")
            inside = have > limit if low else have < limit
            if inside or (have == limit and (strict or not exclusive)):
                return True
        return False

    def _strings_within(
        self, a: dict[str, Any], b: dict[str, Any], pa: str, pb: str
    ) -> list[Reason]:
        found: list[Reason] = []
        if b.get("minLength", 0) > a.get("minLength", 0):
            found.append(self._bound(pa, pb, "minLength", f"minLength raised to {b['minLength']}"))
        if "maxLength" in b and b["maxLength"] < a.get("maxLength", float("inf")):
            found.append(self._bound(pa, pb, "maxLength", f"maxLength lowered to {b['maxLength']}"))
        if "pattern" in b and a.get("pattern") != b["pattern"]:
            found.append(
                self._bound(
                    pa,
                    pb,
                    "pattern",
                    "pattern added or changed; whether it accepts every string the other "
                    "accepted is not decided here, so the change is refused",
                )
            )
        if "format" in b and a.get("format") != b["format"]:
            found.append(self._bound(pa, pb, "format", f"format {b['format']!r} added"))
        return found

    def _arrays_within(
        self, a: dict[str, Any], b: dict[str, Any], pa: str, pb: str
    ) -> list[Reason]:
        found: list[Reason] = []
        if b.get("minItems", 0) > a.get("minItems", 0):
            found.append(self._bound(pa, pb, "minItems", f"minItems raised to {b['minItems']}"))
        if "maxItems" in b and b["maxItems"] < a.get("maxItems", float("inf")):
            found.append(self._bound(pa, pb, "maxItems", f"maxItems lowered to {b['maxItems']}"))
        if b.get("uniqueItems") is True and a.get("uniqueItems") is not True:
            found.append(self._bound(pa, pb, "uniqueItems", "items must now be unique"))
        if "items" not in b and "prefixItems" not in b:
            return found
        prefix_a, prefix_b = a.get("prefixItems", []), b.get("prefixItems", [])
        for i in range(max(len(prefix_a), len(prefix_b))):
            sa, at_a = (
                (prefix_a[i], f"{pa}/prefixItems/{i}")
                if i < len(prefix_a)
                else (a.get("items", True), f"{pa}/items")
            )
            sb, at_b = (
                (prefix_b[i], f"{pb}/prefixItems/{i}")
                if i < len(prefix_b)
                else (b.get("items", True), f"{pb}/items")
            )
            found += self.within(sa, sb, at_a, at_b)
        found += self.within(
            a.get("items", True), b.get("items", True), f"{pa}/items", f"{pb}/items"
        )
        return found

    def _objects_within(
        self, a: dict[str, Any], origin: dict[str, Any], b: dict[str, Any], pa: str, pb: str
    ) -> list[Reason]:
        sub, sup = self._names()
        found: list[Reason] = []
        had = set(a.get("required", []))
        for i, name in enumerate(b.get("required", [])):
            if name not in had:
                found.append(
                    self._reason(
                        f"{pa}/required",
                        f"{pb}/required/{i}",
                        f"{name!r} is required by the {sup} version, not by the {sub} one",
                    )
                )
        if b.get("minProperties", 0) > a.get("minProperties", 0):
            found.append(self._bound(pa, pb, "minProperties", "minProperties raised"))
        if "maxProperties" in b and b["maxProperties"] < a.get("maxProperties", float("inf")):
            found.append(self._bound(pa, pb, "maxProperties", "maxProperties lowered"))
        for key, names in b.get("dependentRequired", {}).items():
            known = set(a.get("dependentRequired", {}).get(key, [])) | had
            for name in names:
                if name not in known:
                    found.append(
                        self._bound(
                            pa, pb, "dependentRequired", f"{name!r} now required with {key!r}"
                        )
                    )
        if "propertyNames" in b:
            found += self.within(
                a.get("propertyNames", True),
                b["propertyNames"],
                f"{pa}/propertyNames",
                f"{pb}/propertyNames",
            )
        if "patternProperties" in b and not same(origin, b, "patternProperties"):
            found.append(
                self._bound(
                    pa,
                    pb,
                    "patternProperties",
                    f"patternProperties differ from the {sub} version; not compared, refused",
                )
            )
        return found + self._properties_within(a, b, pa, pb)

    def _properties_within(
        self, a: dict[str, Any], b: dict[str, Any], pa: str, pb: str
    ) -> list[Reason]:
        """Each named property, then every other name, as `a` and `b` each constrain it."""
        sub, sup = self._names()
        props_a, props_b = a.get("properties", {}), b.get("properties", {})
        rest_a, rest_b = a.get("additionalProperties", True), b.get("additionalProperties", True)
        if a.get("patternProperties") or b.get("patternProperties"):
            return []  # refused above unless equal; if equal, names they match are theirs
        found: list[Reason] = []
        for name in sorted(set(props_a) | set(props_b)):
            key = pointer([name])
            if name in props_b:
                sa, at_a = (
                    (props_a[name], f"{pa}/properties{key}")
                    if name in props_a
                    else (
                        rest_a,
                        f"{pa}/additionalProperties",
                    )
                )
                wrong = self.within(sa, props_b[name], at_a, f"{pb}/properties{key}")
                if wrong and name not in props_a:
                    wrong = [
                        self._reason(
                            at_a,
                            f"{pb}/properties{key}",
                            f"property {name!r} is constrained by the {sup} version but was "
                            f"free in the {sub} one ({wrong[0].message})",
                        )
                    ]
                found += wrong
            elif rest_b is not True:
                wrong = self.within(
                    props_a[name], rest_b, f"{pa}/properties{key}", f"{pb}/additionalProperties"
                )
                if wrong:
                    found.append(
                        self._reason(
                            f"{pa}/properties{key}",
                            f"{pb}/properties{key}",
                            f"property {name!r} of the {sub} version is no longer accepted by "
                            f"the {sup} one (additionalProperties: {wrong[0].message})",
                        )
                    )
        if rest_b is not True:
            found += self.within(
                rest_a, rest_b, f"{pa}/additionalProperties", f"{pb}/additionalProperties"
            )
        return found
