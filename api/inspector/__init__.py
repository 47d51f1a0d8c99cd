"""The web inspector: server-rendered pages over the same services as the API.

`router` serves the pages under /inspector; `static` serves the stylesheet and the small
script of the live timeline (mount it at /inspector/static).
"""

from fastapi.staticfiles import StaticFiles

from api.inspector.render import STATIC_DIR
from api.inspector.routes import router

static = StaticFiles(directory=STATIC_DIR)

__all__ = ["router", "static"]
