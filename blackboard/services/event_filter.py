"""Which events of a board a reader wants."""

from dataclasses import dataclass

from blackboard.records import Event


@dataclass(frozen=True)
class EventFilter:
    """Which events a subscriber wants (None = all)."""

    kinds: frozenset[str] | None = None
    types: frozenset[str] | None = None
    keys: frozenset[str] | None = None  # events about these artifact keys
    key_prefix: str | None = None  # events about keys that start with this

    def matches(self, event: Event) -> bool:
        """Return whether `event` passes the filter."""
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.types is not None and event.data.get("type") not in self.types:
            return False
        if self.keys is None and self.key_prefix is None:
            return True
        key = event.data.get("key")
        if not isinstance(key, str):
            return False
        if self.keys is not None and key not in self.keys:
            return False
        return self.key_prefix is None or key.startswith(self.key_prefix)
