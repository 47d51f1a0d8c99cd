"""The HTTP adapter: app factory, dependencies, routes, error mapping."""

from api.app import create_app

__all__ = ["create_app"]
