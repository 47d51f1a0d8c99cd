"""The board as an A2A server (Agent2Agent protocol 1.0, through `a2a-sdk`)."""

from api.a2a.routes import mount

__all__ = ["mount"]
