"""The audit store's tables.

- ``runs``: one row per request. Its ``status`` changes only by a ``lanes.lifecycle`` transition,
  executed as a conditional update (``WHERE status IN (...)``, and ``approval_count = :seen`` for
  approvals), which is what makes "one decision per run" hold across threads, processes and bot
  instances.
- ``attempts``: one row per model call, appended as the call ends, failed ones included.
- ``decisions``: append-only: approvals, edits, rejections, expiries, refused clicks, reminders.
  The decision that closed a run has ``final = true``; a partial unique index allows one.
- ``processed_events``: Slack event and retry keys already handled (unique), so a retried
  delivery never starts a second run.
- ``digest_claims`` and ``job_claims``: a row claims a digest week or a scheduled job slot so
  several instances post it exactly once.

Text columns hold *redacted* text only (see ``storage.redaction``); a lane with
``store_text = "none"`` stores no text at all. Times are UTC and timezone-aware.

Free-text search has its own index, outside these models because SQLAlchemy cannot describe it
(an FTS5 table and triggers on SQLite, ``pg_trgm`` indexes on PostgreSQL): see
``storage.text_index``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


DIGEST_INDEX_COLUMNS = (
    "lane",
    "created_at",
    "route_kind",
    "model",
    "tier",
    "status",
    "cost_usd",
    "cost_known",
    "drafted_at",
    "decided_at",
    "fallback_reason",
    "escalation_reason",
    "id",
)
"""Columns of ``ix_runs_digest``: a lane's week as one slice, then everything the digest reads."""


SEARCH_INDEX_COLUMNS = ("status", "requester", "model", "tier")
"""Columns with a ``(column, created_at)`` index for audit search (``lane`` has had one since 0001)."""


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite keeps no zone, PostgreSQL's is not trusted."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the audit store; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lane: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="cli")
    status: Mapped[str] = mapped_column(String(24))
    review_rule: Mapped[str] = mapped_column(String(16), default="owner")
    risk: Mapped[str] = mapped_column(String(8), default="low")
    route_kind: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(128))
    route_reasons: Mapped[list[str]] = mapped_column(default=list)
    fallback_reason: Mapped[str | None] = mapped_column(String(255))
    escalation_reason: Mapped[str | None] = mapped_column(String(255))
    failed_check: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str | None] = mapped_column(Text)
    prompt_id: Mapped[str | None] = mapped_column(String(128))
    prompt_version: Mapped[str | None] = mapped_column(String(16))
    policy_version: Mapped[str | None] = mapped_column(String(16))
    policy_hash: Mapped[str | None] = mapped_column(String(64))
    """The stored lanes.toml (``policies``) that routed the run (``storage.policy_models``)."""
    input_text: Mapped[str | None] = mapped_column(Text)
    input_chars: Mapped[int] = mapped_column(Integer, default=0)
    draft_text: Mapped[str | None] = mapped_column(Text)
    text_redacted: Mapped[bool] = mapped_column(Boolean, default=True)
    """False when redaction failed and text was withheld (fail closed: metadata only)."""
    cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_known: Mapped[bool] = mapped_column(Boolean, default=True)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_root_ts: Mapped[str | None] = mapped_column(String(32))
    slack_draft_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    drafted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None] = mapped_column()
    owner_instance: Mapped[str | None] = mapped_column(String(64))
    """Which process is executing the run; crash recovery finds runs left ``running``."""
    approval_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Approvals given so far; every counted decision is guarded by it (``storage.decision_writes``)."""
    text_repaired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Some text of the run could not be stored as received and was repaired (``lanes.audit.text``)."""
    cost_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The offline sample drafted it: ``model`` would have answered, ``cost_usd`` is an estimate
    (revision 0005)."""

    attempts: Mapped[list[Attempt]] = relationship(
        back_populates="run", order_by="Attempt.seq", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="run", order_by="Decision.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_runs_created_at_lane", "created_at", "lane"),
        Index("ix_runs_lane_created_at", "lane", "created_at"),
        # Covers every column the weekly digest reads, so a week is answered from the index alone
        # (storage.digest_queries; revision 0002_digest_index).
        Index("ix_runs_digest", *DIGEST_INDEX_COLUMNS),
        # Audit search: each filter's runs newest first, so a page stops after ``limit`` rows
        # however many runs match, and finds the few fast when few match (revision 0003).
        *(Index(f"ix_runs_{name}_created_at", name, "created_at") for name in SEARCH_INDEX_COLUMNS),
    )


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    model_requested: Mapped[str] = mapped_column(String(128))
    model_answered: Mapped[str | None] = mapped_column(String(128))
    response_id: Mapped[str | None] = mapped_column(String(128))
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    price_known: Mapped[bool] = mapped_column(Boolean, default=True)
    latency_ms: Mapped[float] = mapped_column(Float)
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column()
    cost_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The offline sample answered for ``model_requested``; ``cost_usd`` is that model's price for
    the sample's tokens, an estimate (revision 0005)."""

    run: Mapped[Run] = relationship(back_populates="attempts")

    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_attempts_run_id_seq"),
        # Audit search by model: the runs that asked for or got it (revision 0003).
        Index("ix_attempts_model_requested", "model_requested", "run_id"),
        Index("ix_attempts_model_answered", "model_answered", "run_id"),
    )


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    """approve, edit, reject, expire, approval (one of two), refused, remind, run_anyway, fail."""
    actor: Mapped[str] = mapped_column(String(64), index=True)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    edited_text: Mapped[str | None] = mapped_column(Text)
    edit_distance: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()

    run: Mapped[Run] = relationship(back_populates="decisions")

    __table_args__ = (
        Index(
            "uq_decisions_one_final",
            "run_id",
            unique=True,
            sqlite_where=text("final"),
            postgresql_where=text("final"),
        ),
        Index(
            "uq_decisions_one_approval_per_actor",
            "run_id",
            "actor",
            unique=True,
            sqlite_where=text("kind = 'approval'"),
            postgresql_where=text("kind = 'approval'"),
        ),
    )


class ProcessedEvent(Base):
    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class DigestClaim(Base):
    __tablename__ = "digest_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(64))
    iso_week: Mapped[str] = mapped_column(String(10))
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column()
    posted_at: Mapped[datetime | None] = mapped_column()
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    message_ts: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("channel", "iso_week", name="uq_digest_claims_channel_week"),)


class JobClaim(Base):
    __tablename__ = "job_claims"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column()


# The policy-change tables (policy log, route features, shadow attempts) live in their own module;
# importing it here puts them in ``Base.metadata`` wherever the schema is used.
from storage import policy_models as policy_models  # noqa: E402
