"""Coordination protocols as explicit algorithms, and the registry of programs by name.

A protocol is `async def protocol(p: Program) -> str`: it offers turns through the
program's primitives and returns why it ended (or raises `Stop`). Register your own
with `register("name", fn, default_view=View(...))`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from blackboard.controller.program import Program
from blackboard.controller.views import View

Protocol = Callable[[Program], Awaitable[str]]


@dataclass(frozen=True)
class Registered:
    """A protocol and the view its steps get unless a run overrides it."""

    run: Protocol
    default_view: View


PROTOCOLS: dict[str, Registered] = {}


def register(name: str, protocol: Protocol, *, default_view: View | None = None) -> None:
    """Make `protocol` available to runs as `name`."""
    PROTOCOLS[name] = Registered(protocol, default_view or View())


def _register_builtins() -> None:
    from blackboard.controller.protocols import broadcast, coordinator, sequential, shared, solo

    for module in (sequential, coordinator, broadcast, shared, solo):
        register(module.NAME, module.run, default_view=module.DEFAULT_VIEW)


_register_builtins()
