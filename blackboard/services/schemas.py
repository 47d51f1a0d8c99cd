"""The artifact type registry: versioned JSON Schemas (draft 2020-12) and compiled validators."""

import time
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

import artifacts
from blackboard.content import content_hash
from blackboard.errors import FieldError, IncompatibleSchema, InvalidSchema, NotFound
from blackboard.records import TypeVersion
from blackboard.services.compatibility import Reason, problems
from blackboard.services.validation import BodySchema, pointer
from blackboard.store import events as event_store
from blackboard.store import types as type_store
from blackboard.store.database import Conn
from blackboard.store.events import EventDraft


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


OPERATOR = "operator"
STARTUP = "standard types"


def incompatible(
    name: str, latest: TypeVersion, mode: str, reasons: list[Reason]
) -> IncompatibleSchema:
    """The refusal of a new version of `name` that breaks `mode`, one reason per problem."""
    return IncompatibleSchema(
        f"the new schema breaks the {mode} compatibility of {name!r} with its version "
        f"{latest.version}; register it with compatibility 'none' to override",
        type=name,
        compatibility=mode,
        previous_version=latest.version,
        reasons=[{"path": r.path, "message": r.message} for r in reasons],
    )


async def register(
    conn: Conn,
    *,
    name: str,
    schema: dict[str, Any],
    description: str | None,
    compatibility: str | None = None,
    by: str = OPERATOR,
) -> tuple[TypeVersion, bool]:
    """Store `schema` as the next version of `name`; return it and whether it is new.

    The change is checked under `compatibility`, default the type's mode (backward for a
    new type), and refused (IncompatibleSchema) if it breaks it. A mode other than 'none'
    becomes the type's mode; 'none' lets this one change through unchecked and records on
    the version the mode it broke, if any. Registering the schema that is already the
    newest version stores nothing but the mode asked for.
    """
    check_schema(schema)
    digest = content_hash(schema)
    await type_store.lock_name(conn, name=name)
    latest = await type_store.latest(conn, name=name)
    standing = await type_store.mode(conn, name=name) or "backward"
    if latest is not None and latest.schema_hash == digest:
        if compatibility is not None and compatibility != standing:
            await type_store.set_mode(conn, name=name, compatibility=compatibility)
        return latest, False
    mode = compatibility or standing
    overrode = None
    if latest is not None:
        reasons = problems(latest.schema_, schema, standing if mode == "none" else mode)
        if reasons and mode != "none":
            raise incompatible(name, latest, mode, reasons)
        overrode = standing if reasons else None
    created = await type_store.insert(
        conn,
        name=name,
        version=1 if latest is None else latest.version + 1,
        schema=schema,
        schema_hash=digest,
        description=description,
        compatibility=mode,
        registered_by=by,
        overrode=overrode,
    )
    if latest is None or mode != "none":
        await type_store.set_mode(conn, name=name, compatibility=mode)
    await _announce(conn, created)
    return created, True


async def _announce(conn: Conn, created: TypeVersion) -> None:
    """Tell every board that holds artifacts of the type that its standard moved."""
    # Boards in id order: two registrations of different types never wait on each
    # other's boards in opposite orders.
    for board_id in await type_store.boards_using(conn, name=created.name):
        await event_store.append(
            conn,
            board_id=board_id,
            events=[
                EventDraft(
                    kind="type.registered",
                    data={
                        "type": created.name,
                        "version": created.version,
                        "compatibility": created.compatibility,
                        "overrode": created.overrode,
                        "registered_by": created.registered_by,
                    },
                )
            ],
        )


class StandardTypeChanged(RuntimeError):
    """A standard type changed in code in a way that breaks its registered versions."""


async def register_standard_types(conn: Conn) -> list[TypeVersion]:
    """Register the standard types from `artifacts` whose code changed since start-up last
    registered them (new ones under `backward`); StandardTypeChanged if a change breaks a
    type's mode, naming the type and every problem."""
    registered = []
    for name, model in artifacts.STANDARD_TYPES.items():
        schema = artifacts.json_schema(name)
        if await type_store.latest_hash_by(conn, name=name, registered_by=STARTUP) == content_hash(
            schema
        ):
            continue  # unchanged in code: whatever the operator registered since stays
        try:
            version, _ = await register(
                conn, name=name, schema=schema, description=model.__doc__, by=STARTUP
            )
        except IncompatibleSchema as exc:
            lines = [f"  {r['path'] or '/'}: {r['message']}" for r in exc.extra["reasons"]]
            raise StandardTypeChanged(
                f"the standard type {name!r} changed in code and {exc.detail}; refusing to "
                "start. Problems:\n" + "\n".join(lines)
            ) from exc
        registered.append(version)
    return registered


async def get_type(conn: Conn, *, name: str) -> tuple[TypeVersion, list[TypeVersion], str]:
    """Return the newest version of `name`, all its versions and its compatibility mode;
    NotFound if unknown."""
    versions = await type_store.versions(conn, name=name)
    if not versions:
        raise NotFound(f"artifact type {name!r} is not registered", type=name)
    return versions[-1], versions, await type_store.mode(conn, name=name) or "backward"


async def list_types(conn: Conn) -> list[TypeVersion]:
    """Return the newest version of every registered type."""
    return await type_store.list_latest(conn)


async def get_type_version(conn: Conn, *, name: str, version: int) -> TypeVersion:
    """Return one version of a type; NotFound if unknown."""
    found = await type_store.get(conn, name=name, version=version)
    if found is None:
        raise NotFound(f"artifact type {name!r} has no version {version}", type=name)
    return found
