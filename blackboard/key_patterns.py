"""Key patterns of guards: a literal key with at most one `{scope}` and an optional trailing `*`.

`{scope}` stands for one non-empty path segment (no `/`) and is captured: the claim that
covers a write must be for that scope. A trailing `*` stands for any rest, `/` included.
"""

import re
from dataclasses import dataclass
from functools import cached_property

SCOPE = "{scope}"
_KEY_CHARS = re.compile(r"^[^\x00-\x1f\x7f]{1,256}$")

# A pattern as a sequence of tokens: a literal character, SEG (one or more characters
# other than '/') or REST (any characters, only at the end).
SEG = "\x00seg"
REST = "\x00rest"


class MalformedPattern(ValueError):
    """The text is not a key pattern; the message says why."""


@dataclass(frozen=True)
class KeyPattern:
    """A parsed key pattern."""

    text: str
    prefix: str  # before `{scope}` (the whole literal when there is none)
    suffix: str  # after `{scope}`
    scoped: bool
    rest: bool  # ends in `*`

    @classmethod
    def parse(cls, text: str) -> "KeyPattern":
        """Parse `text`; MalformedPattern unless it is a valid pattern."""
        if not _KEY_CHARS.match(text):
            raise MalformedPattern("must be 1 to 256 characters, none of them control characters")
        body, rest = (text[:-1], True) if text.endswith("*") else (text, False)
        if "*" in body:
            raise MalformedPattern("'*' may only come last")
        if body.count(SCOPE) > 1:
            raise MalformedPattern("at most one {scope}")
        prefix, found, suffix = body.partition(SCOPE)
        if "{" in prefix + suffix or "}" in prefix + suffix:
            raise MalformedPattern("braces are only allowed as {scope}")
        if not body and not rest:
            raise MalformedPattern("must not be empty")
        return cls(text, prefix, suffix, bool(found), rest)

    @property
    def regex(self) -> str:
        """A regular expression (the same in Python and PostgreSQL) matching exactly the
        keys the pattern covers; its one group captures the scope, if there is one."""
        scope = "([^/]+)" if self.scoped else ""
        return (
            "^"
            + _escape(self.prefix)
            + scope
            + (_escape(self.suffix) if self.scoped else "")
            + (".*" if self.rest else "")
            + "$"
        )

    def scope_of(self, key: str) -> str | None:
        """The scope `key` has under this pattern ('' when unscoped); None if not covered."""
        found = re.match(self.regex, key, re.DOTALL)
        if found is None:
            return None
        return found.group(1) if self.scoped else ""

    @cached_property
    def _tokens(self) -> list[str]:
        tokens = list(self.prefix)
        if self.scoped:
            tokens += [SEG, *self.suffix]
        if self.rest:
            tokens.append(REST)
        return tokens

    def overlaps(self, other: "KeyPattern") -> bool:
        """Whether some key is covered by both patterns: a walk of the two patterns'
        automata in step, over every character either names plus one neither does."""
        alphabet = set(self._tokens + other._tokens) - {SEG, REST}
        alphabet |= {"/", next(c for c in "abcdefghijklmnopqrstuvwxyz0" if c not in alphabet)}
        start = (_closure(self._tokens, {(0, False)}), _closure(other._tokens, {(0, False)}))
        seen = {start}
        todo = [start]
        while todo:
            mine, theirs = todo.pop()
            if _accepts(self._tokens, mine) and _accepts(other._tokens, theirs):
                return True
            for char in alphabet:
                step = (_step(self._tokens, mine, char), _step(other._tokens, theirs, char))
                if step[0] and step[1] and step not in seen:
                    seen.add(step)
                    todo.append(step)
        return False


def _escape(literal: str) -> str:
    # Every non-alphanumeric character escaped with a backslash: a literal in both
    # Python's `re` and PostgreSQL's advanced regular expressions.
    return "".join(c if c.isalnum() or c == "_" else "\\" + c for c in literal)


# Automaton states: (index of the next token, inside a SEG that has had a character).
State = tuple[int, bool]


def _closure(tokens: list[str], states: set[State]) -> frozenset[State]:
    found = set(states)
    todo = list(states)
    while todo:
        at, inside = todo.pop()
        # a SEG that has had a character may end here; a REST may be empty
        nxt = (at + 1, False)
        if (inside or (at < len(tokens) and tokens[at] == REST)) and nxt not in found:
            found.add(nxt)
            todo.append(nxt)
    return frozenset(found)


def _step(tokens: list[str], states: frozenset[State], char: str) -> frozenset[State]:
    moved: set[State] = set()
    for at, inside in states:
        if at >= len(tokens):
            continue
        token = tokens[at]
        if token == SEG and char != "/":
            moved.add((at, True))
        elif token == REST:
            moved.add((at, False))
        elif token == char and not inside:
            moved.add((at + 1, False))
    return _closure(tokens, moved)


def _accepts(tokens: list[str], states: frozenset[State]) -> bool:
    return (len(tokens), False) in states
