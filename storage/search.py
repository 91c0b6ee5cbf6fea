"""Searching the audit trail: which runs match, one summary line each, newest first.

The whole answer is one SQL statement. Which runs are on the page is decided first, on ids and
times alone (``storage.search_page``: how every filter stays fast at a million runs); the summary
columns and the run's final decision are then read for those rows only (the partial unique index
``uq_decisions_one_final`` guarantees at most one final decision per run, so the join never
multiplies rows). The filters that look at other rows (a reviewer's decisions, a model named by
an attempt) test for existence, so a run matches once however many rows match. Nothing is loaded
lazily and nothing is read per row: no N+1 however long the page.

Text search matches a case-insensitive substring of the run's request or its draft, as *stored*:
already redacted (``storage.redaction``), so searching for a secret or an e-mail address finds
nothing because nothing holds it. ``%`` and ``_`` typed by a person are matched literally.
PostgreSQL matches case-insensitively with ``ILIKE``; SQLite's ``lower(...) LIKE lower(...)``
folds ASCII letters only. A trigram index (``storage.text_index``) finds the runs for needles of
three characters or more; shorter ones are matched by reading runs newest first.

The summary's keys (``SUMMARY_KEYS``) are a published format: the CLI's ``--json`` and ``--csv``,
and whatever people build on them, read these names in this order. Add keys at the end, never
rename one.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, case, select
from sqlalchemy.orm import Session, aliased

from lanes.audit import InvalidRequestError
from storage import models, search_page, text_index
from storage.audit_filters import check_status
from storage.search_page import REVIEW_KINDS, escape_like
from storage.text_index import TextIndex

MAX_LIMIT = 10_000


@dataclass(frozen=True)
class AuditQuery:
    """What to look for; every filter is optional and they combine with AND.

    ``since`` is inclusive and ``until`` exclusive, so consecutive windows never count a run twice.
    An unknown ``status`` is refused (with a "did you mean"), never searched for: a typo must not
    read as "no runs match". The grammar people type is in ``storage.audit_filters``.
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
        if self.status is not None:
            check_status(self.status)
        if self.since is not None and self.until is not None and self.since > self.until:
            raise InvalidRequestError(
                f"since ({self.since.astimezone(UTC):%Y-%m-%d %H:%M} UTC) is after until "
                f"({self.until.astimezone(UTC):%Y-%m-%d %H:%M} UTC), so nothing can match; swap them"
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
    cost_estimated: bool = False
    """The offline sample answered: ``model`` would have, ``cost_usd`` is an estimate."""

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
    index = text_index.kind(connection) if uses_text_index(query) else None
    statement = _statement(search_page.shape_of(query, index))
    rows = connection.execute(statement, search_page.parameters(query)).all()
    return [RunSummary(*row) for row in rows]


def uses_text_index(query: AuditQuery) -> bool:
    """Whether the text filter can be narrowed by a trigram index (needles of 3+ characters)."""
    return len(query.text or "") >= text_index.MIN_CHARS


def build_statement(query: AuditQuery, *, index: TextIndex | None = None) -> Select[Any]:
    """The single SELECT behind ``search``, its values bound (for ``EXPLAIN``; ``search`` passes
    them as parameters of the statement it keeps per query shape).

    ``index``: the text index the database has (``storage.text_index.kind``); the caller says
    which, since it is a property of the database, not of the query."""
    return _statement(search_page.shape_of(query, index)).params(search_page.parameters(query))


@functools.lru_cache(maxsize=256)
def _statement(shape: search_page.Shape) -> Select[Any]:
    """The page of runs (``storage.search_page``), then their summary columns and final decision,
    read for those rows only."""
    run = models.Run
    final = aliased(models.Decision, name="final_decision")
    on_page = search_page.statement(shape).subquery("on_page")
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
        run.cost_estimated,
    )
    return (
        select(*columns)
        .select_from(on_page)
        .join(run, run.id == on_page.c.id)
        .outerjoin(final, and_(final.run_id == run.id, final.final))
        .order_by(on_page.c.created_at.desc(), on_page.c.id.desc())
    )


def _only_for(final: Any, kind: str, column: Any) -> Any:
    """``column`` of the final decision when it is of ``kind``, else NULL."""
    return case((final.kind == kind, column), else_=None)


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
    "REVIEW_KINDS",
    "SUMMARY_KEYS",
    "AuditQuery",
    "RunSummary",
    "build_statement",
    "escape_like",
    "search",
    "to_csv",
    "uses_text_index",
]
