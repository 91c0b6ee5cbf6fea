"""Searching the audit trail: which runs match, one summary line each, newest first.

The whole answer is one SQL statement. A run's final decision is joined in directly (the partial
unique index ``uq_decisions_one_final`` guarantees at most one per run, so the join never
multiplies rows); the filters that look at other rows (a reviewer's decisions, a model named by
an attempt) are ``EXISTS`` subqueries, so a run matches once however many rows match. Nothing is
loaded lazily and nothing is read per row: no N+1 however long the page.

Text search looks only at the *stored* text, which is already redacted (``storage.redaction``):
searching for a secret or an e-mail address finds nothing because nothing holds it. ``%`` and
``_`` typed by a person are matched literally. PostgreSQL matches case-insensitively with
``ILIKE``; SQLite's ``lower(...) LIKE lower(...)`` folds ASCII letters only.

The summary's keys (``SUMMARY_KEYS``) are a published format: the CLI's ``--json`` and ``--csv``,
and whatever people build on them, read these names in this order. Add keys at the end, never
rename one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, case, exists, or_, select
from sqlalchemy.orm import Session, aliased

from lanes.errors import InvalidRequestError
from storage import models, text_index

MAX_LIMIT = 10_000
REVIEW_KINDS: tuple[str, ...] = ("approve", "edit", "reject", "approval")
"""Decision kinds that make their actor a reviewer of the run. Refused clicks, reminders and
expiries are in the trail too, but a person refused is not a reviewer and the bot is not one."""

_LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; every filter is optional and they combine with AND.

    ``since`` is inclusive and ``until`` exclusive, so consecutive windows never count a run twice.
    """

    lane: str | None = None
    model: str | None = None
    """A model or tier name: the run's answering model, its tier, or any attempt's model."""
    status: str | None = None
    reviewer: str | None = None
    requester: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidRequestError(
                    f"`{name}` has no time zone; give an aware time such as 2026-11-01T09:00Z"
                )
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidRequestError(f"limit must be between 1 and {MAX_LIMIT}; page with offset for more")
        if self.offset < 0:
            raise InvalidRequestError("offset must be 0 or more")


@dataclass(frozen=True)
class RunSummary:
    """One run as a search result line. Field order is the published key order (``SUMMARY_KEYS``)."""

    id: str
    lane: str
    status: str
    model: str | None
    provider: str | None
    route: str | None
    prompt_id: str | None
    prompt_version: str | None
    policy_version: str | None
    requester: str
    reviewer: str | None
    cost_usd: float | None
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: float | None
    fallback_reason: str | None
    escalation_reason: str | None
    rejection_reason: str | None
    edit_distance: int | None
    created_at: datetime
    decided_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values in ``SUMMARY_KEYS`` order; times as ISO-8601 with their UTC offset."""
        return {key: _plain(value) for key, value in zip(SUMMARY_KEYS, astuple(self), strict=True)}


SUMMARY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(RunSummary))


def search(source: Session | Connection | Engine, query: AuditQuery) -> list[RunSummary]:
    """Run ``query`` and return its page of summaries, newest first."""
    if isinstance(source, Engine):
        with source.connect() as connection:
            return _search(connection, query)
    return _search(source.connection() if isinstance(source, Session) else source, query)


def _search(connection: Connection, query: AuditQuery) -> list[RunSummary]:
    fts = uses_text_index(query) and text_index.fts_present(connection)
    rows = connection.execute(build_statement(query, fts=fts)).all()
    return [RunSummary(*row) for row in rows]


def uses_text_index(query: AuditQuery) -> bool:
    """Whether the text filter can be narrowed by a trigram index (needles of 3+ characters)."""
    return bool(query.text) and len(query.text or "") >= text_index.MIN_CHARS


def build_statement(query: AuditQuery, *, fts: bool = False) -> Select[Any]:
    """The single SELECT behind ``search``: runs, their final decision, the filters, the page.

    ``fts``: narrow the text filter with SQLite's FTS5 index (``storage.text_index``); the caller
    says so only when the database has it. PostgreSQL needs no hint: its planner picks the trigram
    indexes for the same ``ILIKE``."""
    run = models.Run
    final = aliased(models.Decision, name="final_decision")
    columns = (
        run.id,
        run.lane,
        run.status,
        run.model,
        run.provider,
        run.route_kind,
        run.prompt_id,
        run.prompt_version,
        run.policy_version,
        run.requester,
        final.actor,
        run.cost_usd,
        run.input_tokens,
        run.output_tokens,
        run.latency_ms,
        run.fallback_reason,
        run.escalation_reason,
        _only_for(final, "reject", final.reason),
        _only_for(final, "edit", final.edit_distance),
        run.created_at,
        run.decided_at,
    )
    return (
        select(*columns)
        .outerjoin(final, and_(final.run_id == run.id, final.final))
        .where(*_filters(query, fts))
        .order_by(run.created_at.desc(), run.id.desc())
        .limit(query.limit)
        .offset(query.offset)
    )


def _only_for(final: Any, kind: str, column: Any) -> Any:
    """``column`` of the final decision when it is of ``kind``, else NULL."""
    return case((final.kind == kind, column), else_=None)


def _filters(query: AuditQuery, fts: bool) -> list[Any]:
    run = models.Run
    clauses: list[Any] = []
    for column, value in (
        (run.lane, query.lane),
        (run.status, query.status),
        (run.requester, query.requester),
    ):
        if value is not None:
            clauses.append(column == value)
    if query.since is not None:
        clauses.append(run.created_at >= query.since)
    if query.until is not None:
        clauses.append(run.created_at < query.until)
    if query.model is not None:
        clauses.append(_model_matches(query.model))
    if query.reviewer is not None:
        clauses.append(_reviewed_by(query.reviewer))
    if query.text:
        clauses.extend(_text_matches(query.text, fts))
    return clauses


def _text_matches(needle: str, fts: bool) -> list[Any]:
    """The request or the draft contains ``needle``, ignoring case; on SQLite with ``fts``, only
    among the runs its trigram index names (a superset of the matches, so nothing is lost)."""
    run = models.Run
    pattern = f"%{escape_like(needle)}%"
    contains = or_(
        run.input_text.ilike(pattern, escape=_LIKE_ESCAPE),
        run.draft_text.ilike(pattern, escape=_LIKE_ESCAPE),
    )
    if fts and len(needle) >= text_index.MIN_CHARS:
        return [run.id.in_(text_index.runs_matching(needle)), contains]
    return [contains]


def _model_matches(model: str) -> Any:
    """The run answered with ``model``, ran on a tier of that name, or any attempt asked or got it."""
    run, attempt = models.Run, models.Attempt
    by_attempt = exists().where(
        attempt.run_id == run.id,
        or_(attempt.model_requested == model, attempt.model_answered == model),
    )
    return or_(run.model == model, run.tier == model, by_attempt)


def _reviewed_by(actor: str) -> Any:
    decision = models.Decision
    return exists().where(
        decision.run_id == models.Run.id,
        decision.actor == actor,
        decision.kind.in_(REVIEW_KINDS),
    )


def escape_like(text: str) -> str:
    """Make ``text`` match itself literally inside a LIKE pattern (escape character: backslash)."""
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")


def to_csv(summaries: Iterable[RunSummary]) -> str:
    """CSV with a header of ``SUMMARY_KEYS``; empty cells for missing values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_KEYS)
    for summary in summaries:
        writer.writerow(_csv_cell(value) for value in summary.as_json().values())
    return buffer.getvalue()


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _csv_cell(value: object) -> object:
    return "" if value is None else value


__all__ = [
    "SUMMARY_KEYS",
    "AuditQuery",
    "RunSummary",
    "build_statement",
    "escape_like",
    "search",
    "to_csv",
    "uses_text_index",
]
