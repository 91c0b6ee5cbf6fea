"""Tables that feed the audit record back into policy: the policy log, route features, shadows.

- ``policies``: each distinct policy (the canonical, secret-free text of a lanes.toml,
  ``lanes.policy_text``) once, keyed by its sha256, with when and by which instance it was
  first loaded. ``runs.policy_hash`` points at it.
- ``run_route_features``: what ``lanes.policy.route`` read for a run (input length, keywords
  looked for and hit, today's spend, open circuits, a "run anyway" tier) and the route it chose,
  one row per run, written in the run's first transaction. Recorded whether or not the lane
  stores text, so ``lanebot routes diff`` can replay a candidate policy over every past run.
- ``shadow_attempts``: at most one per live run (unique ``run_id``): the shadow tier's answer,
  cost and checks, or why it was skipped (budget, error). Kept out of ``attempts`` so live cost,
  budgets and the digest's figures never include shadow work.
- ``shadow_budget``: one row per lane and UTC day; a shadow call first reserves its worst-case
  cost with one conditional ``UPDATE ... WHERE spent + reserved + :cost <= :cap``, so several
  instances together never overspend the daily shadow budget.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base


class Policy(Base):
    __tablename__ = "policies"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(255))
    first_loaded_at: Mapped[datetime] = mapped_column(index=True)
    loaded_by: Mapped[str] = mapped_column(String(64))


class RunRouteFeatures(Base):
    __tablename__ = "run_route_features"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    lane: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    input_chars: Mapped[int] = mapped_column(Integer)
    keywords_checked: Mapped[list[str]] = mapped_column(JSON)
    keywords_hit: Mapped[list[str]] = mapped_column(JSON)
    spent_today_usd: Mapped[float] = mapped_column(Float)
    open_circuits: Mapped[list[str]] = mapped_column(JSON)
    confirmed_tier: Mapped[str | None] = mapped_column(String(64))
    tier: Mapped[str | None] = mapped_column(String(64))
    route_kind: Mapped[str] = mapped_column(String(16))
    needs_confirmation: Mapped[bool] = mapped_column(Boolean)
    estimated_cost_usd: Mapped[float | None] = mapped_column(Float)
    policy_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_run_route_features_created_at_lane", "created_at", "lane"),)


class ShadowAttempt(Base):
    __tablename__ = "shadow_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), unique=True)
    lane: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(32))
    model_requested: Mapped[str] = mapped_column(String(128))
    model_answered: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    """``running`` while the call is out; then ``ok``, ``check_failed``, ``failed`` or ``skipped``."""
    reason: Mapped[str | None] = mapped_column(Text)
    draft_text: Mapped[str | None] = mapped_column(Text)
    failed_checks: Mapped[str | None] = mapped_column(Text)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    cost_known: Mapped[bool] = mapped_column(Boolean, default=True)
    reserved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_shadow_attempts_lane_created_at", "lane", "created_at"),)


class ShadowBudget(Base):
    __tablename__ = "shadow_budget"

    lane: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    reserved_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    spent_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
