"""The artifact type registry."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import AdminDep, DatabaseDep, PrincipalDep, SchemasDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import Items, TypeDetail
from blackboard.drafts import TypeCheckDraft, TypeDraft
from blackboard.records import TypeCheck, TypeVersion
from blackboard.services import schemas, type_checks
from blackboard.store.database import Database

router = APIRouter(
    route_class=CheckedRoute, prefix="/v1/types", tags=["types"], responses=ERROR_RESPONSES
)

TypeNamePath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]


@router.put("/{name}", status_code=201, responses={200: {"model": TypeVersion}})
async def register_type(
    name: TypeNamePath,
    draft: TypeDraft,
    _: AdminDep,
    db: DatabaseDep,
    cache: SchemasDep,
    response: Response,
) -> TypeVersion:
    """Register a JSON Schema as the next version of a type (200 if it is already the newest).

    A change that breaks the type's compatibility mode is refused (409 IncompatibleSchema,
    one reason per problem) unless `compatibility` is `none`."""
    version, created = await db.run(
        lambda conn: schemas.register(
            conn,
            name=name,
            schema=draft.schema_,
            description=draft.description,
            compatibility=draft.compatibility,
            by=schemas.OPERATOR,
        )
    )
    cache.forget({name})
    if not created:
        response.status_code = 200
    return version


@router.get("")
async def list_types(_: PrincipalDep, db: DatabaseDep) -> Items[TypeVersion]:
    """List every type at its newest version."""
    async with db.connection() as conn:
        return Items(items=await schemas.list_types(conn))


@router.get("/{name}")
async def get_type(name: TypeNamePath, _: PrincipalDep, db: DatabaseDep) -> TypeDetail:
    """Return a type's newest version and its version list."""
    return await type_detail(db, name)


async def type_detail(db: Database, name: str) -> TypeDetail:
    """A type's newest version, its version list and its compatibility mode (NotFound if
    there is no such type): what `GET /v1/types/{name}` and MCP's `get_type` answer."""
    async with db.connection() as conn:
        latest, versions, mode = await schemas.get_type(conn, name=name)
    return TypeDetail(
        name=name, latest=latest, versions=[v.version for v in versions], compatibility=mode
    )


@router.post("/{name}/check")
async def check_type(
    name: TypeNamePath, draft: TypeCheckDraft, _: AdminDep, db: DatabaseDep
) -> TypeCheck:
    """Judge a candidate schema without registering it: the structural verdict under the
    type's mode, and how many current artifact versions on each board it would refuse."""
    async with db.connection() as conn:
        return await type_checks.check(
            conn, name=name, schema=draft.schema_, compatibility=draft.compatibility
        )


@router.get("/{name}/versions/{version}")
async def get_type_version(
    name: TypeNamePath, version: int, _: PrincipalDep, db: DatabaseDep
) -> TypeVersion:
    """Return one version of a type (the schema an artifact's `type_version` names)."""
    async with db.connection() as conn:
        return await schemas.get_type_version(conn, name=name, version=version)
