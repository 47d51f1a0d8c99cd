"""Bearer tokens: agent tokens are issued once, stored as SHA-256, and checked in constant time."""

import hashlib
import hmac
import secrets
from uuid import UUID

_PREFIX = "bba_"


def issue_agent_token(agent_id: UUID) -> str:
    """Return a new token for `agent_id`. It embeds the id so that lookup is by primary key."""
    return f"{_PREFIX}{agent_id.hex}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> bytes:
    """Return the digest that is stored instead of the token."""
    return hashlib.sha256(token.encode()).digest()


def agent_id_of(token: str) -> UUID | None:
    """Return the agent id a token claims to belong to, or None if it is not an agent token."""
    if not token.startswith(_PREFIX):
        return None
    id_hex, sep, secret = token[len(_PREFIX) :].partition("_")
    if not sep or not secret:
        return None
    try:
        return UUID(hex=id_hex)
    except ValueError:
        return None


def token_matches(token: str, stored_hash: bytes) -> bool:
    """Return whether `token` hashes to `stored_hash`, in time independent of where they differ."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def admin_token_matches(token: str, admin_token: str) -> bool:
    """Return whether `token` is the admin token, in constant time."""
    return hmac.compare_digest(token.encode(), admin_token.encode())


def new_admin_token() -> str:
    """Return a fresh admin token."""
    return "bbadmin_" + secrets.token_urlsafe(32)
