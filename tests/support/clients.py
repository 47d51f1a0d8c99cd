"""The SDK's `AsyncClient` as tests build it."""

from collections.abc import Callable

from agents.client import AsyncClient, Backoff

FAST = Backoff(base=0.01, cap=0.05)
"""Short waits between retries, so that tests about retrying stay quick."""


MakeClient = Callable[..., AsyncClient]
