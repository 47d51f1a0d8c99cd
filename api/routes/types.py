"""The artifact type registry."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from api.deps import AdminDep, DatabaseDep, PrincipalDep, SchemasDep
from api.errors import ERROR_RESPONSES
from api.routing import CheckedRoute
from api.schemas import Items, TypeDetail
from blackboard.drafts import TypeDraft
from blackboard.records import TypeVersion
from blackboard.services import schemas

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
    """Register a JSON Schema as the next version of a type (200 if it is already the newest)."""
    version, created = await db.run(
        lambda conn: schemas.register(
            conn, name=name, schema=draft.schema_, description=draft.description
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
    async with db.connection() as conn:
        latest, versions = await schemas.get_type(conn, name=name)
    return TypeDetail(name=name, latest=latest, versions=[v.version for v in versions])


@router.get("/{name}/versions/{version}")
async def get_type_version(
    name: TypeNamePath, version: int, _: PrincipalDep, db: DatabaseDep
) -> TypeVersion:
    """Return one version of a type (the schema an artifact's `type_version` names)."""
    async with db.connection() as conn:
        return await schemas.get_type_version(conn, name=name, version=version)
