"""The application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import blackboard
from api import errors
from api.body_limit import DeclaredSizeLimit
from api.deps import TokenCache
from api.routes import agents, artifacts, boards, events, health, types
from blackboard.config import Settings
from blackboard.services.schemas import SchemaCache, register_standard_types
from blackboard.store.database import Database


def _admin_token(settings: Settings) -> str:
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    if settings.admin_token_file.exists():
        return settings.admin_token_file.read_text().strip()
    raise RuntimeError(
        "no admin token: set BLACKBOARD_ADMIN_TOKEN, or start with `blackboard serve`, "
        f"which generates one in {settings.admin_token_file}"
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the Blackboard API app for `settings` (default: from the environment)."""
    settings = settings or Settings()
    if not settings.database_url:
        raise RuntimeError("the API needs BLACKBOARD_DATABASE_URL (`blackboard serve` sets it)")
    database = Database(settings.database_url, pool_size=settings.pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.open()
        async with database.transaction() as conn:
            await register_standard_types(conn)
        try:
            yield
        finally:
            await database.close()

    app = FastAPI(
        title="Blackboard",
        version=blackboard.__version__,
        summary="Typed, versioned artifacts on a shared board, for LLM agents.",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.schemas = SchemaCache()
    app.state.token_cache = TokenCache()
    app.state.admin_token = _admin_token(settings)
    errors.install(app)
    app.add_middleware(DeclaredSizeLimit, max_body_bytes=settings.max_body_bytes)
    for module in (health, agents, boards, types, artifacts, events):
        app.include_router(module.router)
    return app
