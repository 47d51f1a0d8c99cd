"""The app's collaborators, built once by `create_app` and reached by every route."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.token_cache import TokenCache
from blackboard.config import Settings
from blackboard.controller.driver import Controller
from blackboard.services.board_writes import BoardWrites
from blackboard.services.feed import Feeds
from blackboard.services.presence import Presence
from blackboard.services.schemas import SchemaCache
from blackboard.store.database import Database
from blackboard.store.listener import Listener


@dataclass(slots=True)
class Running:
    """What the app's lifespan starts, each lifespan anew: absent until it does."""

    listener: Listener | None = None
    controller: Controller | None = None


@dataclass(frozen=True, slots=True)
class Services:
    """Everything a request may need besides its own input; one per app."""

    settings: Settings
    database: Database
    schemas: SchemaCache
    token_cache: TokenCache
    presence: Presence
    feeds: Feeds
    board_writes: BoardWrites
    admin_token: str
    running: Running = field(default_factory=Running)


def services_of(request: Request) -> Services:
    """The services of the app serving `request`: for the busiest routes, which would pay
    for a dependency on every request."""
    services: Services = request.app.state.services
    return services


# Plain `def` dependencies would each cost a thread-pool hop per request.
async def get_services(request: Request) -> Services:
    """Return the app's services."""
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]
