"""Webhooks and their deliveries.

Part of the schema; store/tables.py registers every table in one `metadata`.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from blackboard.store.table_base import now_column


class Webhook(SQLModel, table=True):
    """A URL that receives a board's events (those passing its filter) as signed POSTs.

    Delivered in seq order from `cursor`; one process at a time delivers a webhook, under
    a lease whose token fences every write of its progress."""

    __tablename__ = "webhooks"
    __table_args__ = (
        Index("ix_webhooks_board", "board_id"),
        # Delivery scans only active webhooks, in the order they are due.
        Index("ix_webhooks_due", "next_attempt_at", postgresql_where=text("active")),
    )

    id: UUID = Field(sa_column=Column(PG_UUID(as_uuid=True), primary_key=True))
    board_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("boards.id"), nullable=False)
    )
    url: str = Field(sa_column=Column(Text, nullable=False))
    # the HMAC key: kept as it is, since signing needs it (shown to the registrant once)
    secret: str = Field(sa_column=Column(Text, nullable=False))
    kinds: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    types: list[str] = Field(
        sa_column=Column(ARRAY(Text), nullable=False, server_default=text("'{}'"))
    )
    # NULL when the operator registered it
    owner_id: UUID | None = Field(
        default=None, sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("agents.id"))
    )
    active: bool = Field(sa_column=Column(Boolean, nullable=False, server_default=text("true")))
    cursor: int = Field(sa_column=Column(BigInteger, nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False, server_default=text("0")))
    next_attempt_at: datetime = Field(sa_column=now_column())
    lease_token: int = Field(sa_column=Column(BigInteger, nullable=False, server_default=text("0")))
    lease_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    created_at: datetime = Field(sa_column=now_column())


class WebhookDelivery(SQLModel, table=True):
    """One attempt to deliver one event to a webhook, and how it went. Append-only."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook_id", "webhook_id", "id"),)

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    webhook_id: UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("webhooks.id"), nullable=False)
    )
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    attempt: int = Field(sa_column=Column(Integer, nullable=False))
    # 'delivered', 'retrying' (will be tried again) or 'failed' (given up: skipped)
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    error: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: float = Field(sa_column=Column(Float, nullable=False))
    created_at: datetime = Field(sa_column=now_column())
