"""Inspector sessions: a browser's login, kept server-side.

The inspector's cookie holds a random session id, never a token: the row keeps the id's
SHA-256 (a stolen database copy holds no usable cookie), who logged in (an agent, or
NULL for the admin), a hash of the token used (a changed token ends its sessions) and
when the session expires. Rows live in PostgreSQL, so every API process honours them.
"""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, ForeignKey, Index, LargeBinary, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from blackboard.store.database import Conn


class InspectorSession(SQLModel, table=True):
    """One logged-in inspector browser."""

    __tablename__ = "inspector_sessions"
    __table_args__ = (Index("ix_inspector_sessions_expires_at", "expires_at"),)

    id_hash: bytes = Field(sa_column=Column(LargeBinary, primary_key=True))
    # NULL: the admin
    agent_id: UUID | None = Field(
        default=None,
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id", ondelete="CASCADE")),
    )
    token_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


async def begin(
    conn: Conn, *, id_hash: bytes, agent_id: UUID | None, token_hash: bytes, ttl_s: float
) -> None:
    """Record a new session (and forget the expired ones while at it)."""
    await conn.execute("DELETE FROM inspector_sessions WHERE expires_at <= now()")
    await conn.execute(
        """INSERT INTO inspector_sessions (id_hash, agent_id, token_hash, expires_at)
           VALUES (%s, %s, %s, now() + make_interval(secs => %s))""",
        (id_hash, agent_id, token_hash, ttl_s),
    )


async def find(conn: Conn, *, id_hash: bytes) -> dict[str, Any] | None:
    """Return the live session's `agent_id` and `token_hash`, or None."""
    cur = await conn.execute(
        """SELECT agent_id, token_hash FROM inspector_sessions
           WHERE id_hash = %s AND expires_at > now()""",
        (id_hash,),
    )
    return await cur.fetchone()


async def end(conn: Conn, *, id_hash: bytes) -> None:
    """End a session (logout)."""
    await conn.execute("DELETE FROM inspector_sessions WHERE id_hash = %s", (id_hash,))
