"""Liveness that includes the database."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import DatabaseDep
from api.errors import RETRY_AFTER_S, error_response
from api.routing import CheckedRoute
from api.schemas import ErrorBody, Health

router = APIRouter(tags=["health"], route_class=CheckedRoute)

CHECK_TIMEOUT_S = 1.0
"""How long the check may take, connection wait included: a database that has not
answered by then is down as far as a load balancer is concerned."""


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {"model": ErrorBody, "description": "The database does not answer"}},
)
async def healthz(db: DatabaseDep) -> Health | JSONResponse:
    """Return ok when the database answers a query within a second; else 503."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), db.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:  # any failure to reach the database means "not healthy"
        reason = "no answer within 1 s" if isinstance(exc, TimeoutError) else str(exc)
        return error_response(
            503,
            "DatabaseUnavailable",
            f"the database does not answer: {reason}",
            {"Retry-After": str(RETRY_AFTER_S)},
        )
    return Health()
