"""The error tree drawn in blackboard/errors.py's docstring is the one the code defines:
a reader who looks up an error name there finds it under its real family."""

import inspect

from blackboard import errors


def drawn_tree() -> dict[str, str | None]:
    """Each class drawn in the docstring, with the class drawn as its parent."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        stripped = line.lstrip("│├└─ ")
        name = stripped.split(" ", 1)[0]
        if not name or not name.isidentifier() or not hasattr(errors, name):
            continue
        depth = len(line) - len(stripped)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_every_domain_error_is_drawn_under_its_parent() -> None:
    defined = {
        name: cls.__bases__[0].__name__ if cls is not errors.BlackboardError else None
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.BlackboardError) and cls.__module__ == errors.__name__
    }
    assert drawn_tree() == defined
