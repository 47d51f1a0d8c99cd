"""Canonical JSON and content hashes: equal content gives equal bytes, whatever the key order."""

import hashlib
from typing import Any

import orjson


def canonical_json(value: Any) -> bytes:
    """Return `value` as compact UTF-8 JSON with object keys sorted at every level."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def content_hash(value: Any) -> str:
    """Return the hex SHA-256 of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
