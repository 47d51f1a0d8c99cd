"""The artifact type registry: versioned JSON Schemas (draft 2020-12) and compiled validators."""

import time
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

import artifacts
from blackboard.content import content_hash
from blackboard.errors import FieldError, InvalidSchema, NotFound
from blackboard.records import TypeVersion
from blackboard.services.validation import BodySchema, pointer
from blackboard.store import types as type_store
from blackboard.store.database import Conn


def _remote_refs(node: Any, at: str = "") -> list[FieldError]:
    """Return every $ref that is not local to the schema document (we never fetch URLs)."""
    found: list[FieldError] = []
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            found.append(FieldError(at + "/$ref", "only local references (#/...) are allowed"))
        for k, v in node.items():
            found.extend(_remote_refs(v, f"{at}/{pointer([k])[1:]}"))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found.extend(_remote_refs(v, f"{at}/{i}"))
    return found


def check_schema(schema: dict[str, Any]) -> None:
    """Raise InvalidSchema unless `schema` is a usable draft 2020-12 schema."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidSchema(
            "not a valid JSON Schema (draft 2020-12)",
            errors=[FieldError("/schema" + pointer(exc.absolute_path), exc.message)],
        ) from exc
    remote = _remote_refs(schema, "/schema")
    if remote:
        raise InvalidSchema("the schema refers to documents outside itself", errors=remote)


class SchemaCache:
    """Compiled schemas by (type name, version), and each type's newest version.

    Versions are immutable, so a validator never goes stale. The newest version per name
    is remembered for `ttl_s`; a publish states the version it validated against and the
    database refuses it if a newer one exists (store.artifact_writes.TypeChanged), upon
    which the name is forgotten and the publish runs again. So the cache saves a query per
    publish without ever letting an artifact skip its type's newest schema.
    """

    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._validators: dict[tuple[str, int], BodySchema] = {}
        self._newest: dict[str, tuple[float, int]] = {}

    def forget(self, names: set[str]) -> None:
        """Stop trusting the remembered newest version of these types."""
        for name in names:
            self._newest.pop(name, None)

    def remembered(self, names: list[str]) -> dict[str, tuple[int, BodySchema]] | None:
        """What `validators` would return, from memory alone; None if a name needs a query
        (so that a caller need not take a connection from the pool for nothing)."""
        now = time.monotonic()
        found: dict[str, tuple[int, BodySchema]] = {}
        for name in names:
            version = self._fresh_version(name, now)
            compiled = self._validators.get((name, version)) if version is not None else None
            if version is None or compiled is None:
                return None
            found[name] = (version, compiled)
        return found

    def _fresh_version(self, name: str, now: float) -> int | None:
        """The newest version of `name` as remembered, unless that memory is out of date."""
        newest = self._newest.get(name)
        return newest[1] if newest is not None and newest[0] > now else None

    async def validators(
        self, conn: Conn, *, names: list[str]
    ) -> dict[str, tuple[int, BodySchema]]:
        """Return the newest version and validator of each of `names` that is registered.

        The names whose remembered version is out of date are looked up in one query: a
        turn's bundle offers every standard type, and all of them go stale at once."""
        now = time.monotonic()
        versions: dict[str, int] = {}
        stale: list[str] = []
        for name in dict.fromkeys(names):
            version = self._fresh_version(name, now)
            if version is None:
                stale.append(name)
            else:
                versions[name] = version
        if stale:
            latest = await type_store.latest_versions(conn, names=stale)
            for name, version in latest.items():
                self._newest[name] = (now + self.ttl_s, version)
            versions.update(latest)
        found: dict[str, tuple[int, BodySchema]] = {}
        for name, version in versions.items():
            compiled = self._validators.get((name, version))
            if compiled is None:
                stored = await type_store.get(conn, name=name, version=version)
                assert stored is not None
                compiled = BodySchema(stored.schema_)
                self._validators[(name, version)] = compiled
            found[name] = (version, compiled)
        return found


async def register(
    conn: Conn, *, name: str, schema: dict[str, Any], description: str | None
) -> tuple[TypeVersion, bool]:
    """Store `schema` as the next version of `name`; return it and whether it is new.

    Registering the schema that is already the newest version changes nothing.
    """
    check_schema(schema)
    digest = content_hash(schema)
    await type_store.lock_name(conn, name=name)
    latest = await type_store.latest(conn, name=name)
    if latest is not None and latest.schema_hash == digest:
        return latest, False
    version = 1 if latest is None else latest.version + 1
    created = await type_store.insert(
        conn, name=name, version=version, schema=schema, schema_hash=digest, description=description
    )
    return created, True


async def register_standard_types(conn: Conn) -> list[TypeVersion]:
    """Register the standard types from `artifacts` (a no-op for those already current)."""
    registered = []
    for name, model in artifacts.STANDARD_TYPES.items():
        version, _ = await register(
            conn, name=name, schema=artifacts.json_schema(name), description=model.__doc__
        )
        registered.append(version)
    return registered


async def get_type(conn: Conn, *, name: str) -> tuple[TypeVersion, list[TypeVersion]]:
    """Return the newest version of `name` and all its versions; NotFound if unknown."""
    versions = await type_store.versions(conn, name=name)
    if not versions:
        raise NotFound(f"artifact type {name!r} is not registered", type=name)
    return versions[-1], versions


async def list_types(conn: Conn) -> list[TypeVersion]:
    """Return the newest version of every registered type."""
    return await type_store.list_latest(conn)


async def get_type_version(conn: Conn, *, name: str, version: int) -> TypeVersion:
    """Return one version of a type; NotFound if unknown."""
    found = await type_store.get(conn, name=name, version=version)
    if found is None:
        raise NotFound(f"artifact type {name!r} has no version {version}", type=name)
    return found
