"""Liveness that includes the database."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DatabaseDep
from api.errors import error_response
from api.routing import CheckedRoute
from api.schemas import ErrorBody, Health

router = APIRouter(tags=["health"], route_class=CheckedRoute)


@router.get("/healthz", response_model=Health, responses={503: {"model": ErrorBody}})
async def healthz(db: DatabaseDep) -> Health | JSONResponse:
    """Return ok when the database answers."""
    try:
        async with db.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:  # any failure to reach the database means "not healthy"
        return error_response(503, "Unavailable", f"the database does not answer: {exc}")
    return Health()
