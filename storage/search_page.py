"""Which runs are on a search's page: the newest ``limit`` runs matching every filter, fast at any size.

A page is "the newest ``offset + limit`` matching runs". Two ways to find them, each fast for one
kind of filter and slow for the other:

- **newest first**: walk runs from the newest, through an index that already has them in that
  order, and test each run; stop when the page is full. Fast when matches are common (100 approved
  runs are among the newest 150), but a filter that matches nothing walks every run.
- **by index**: ask an index for every matching run, then sort those. Fast when matches are few,
  but "model = gpt-5-mini" hands over 900,000 runs to sort.

Filters on a run's own columns (lane, status, requester, model and tier, time) have a
``(column, created_at)`` index (revisions 0001 and 0003), which does both at once: the matching
runs, newest first. Those are the *plain* filters. The others look elsewhere: an attempt's model,
a reviewer's decisions, the text (through ``storage.text_index``). A database picks between the
two ways by estimating how many runs match, and gets it wrong: SQLite keeps no per-value
statistics at all, and PostgreSQL's estimate for a join sends a common model through the sort.

So a search with such a *related* filter asks both questions in one statement and lets the data
decide (``_both_ways``): the newest ``window`` runs passing the plain filters are tested one by
one; if that window held the whole page (or every candidate), the page comes from it; otherwise
the index branch answers, which happens only when matches are rare (fewer than ``need`` in the
newest ``window`` runs), which is exactly when it is cheap. The branch not needed costs nothing:
its index lookups are keyed on ``CASE WHEN <needed> THEN value END``, NULL otherwise (FTS5: the
empty phrase), so they read no index entry. (A plain ``WHERE <needed>`` is not enough: SQLite
skips a branch on a constant condition, but one computed by a subquery is evaluated after the
branch's ``IN`` lists are built. PostgreSQL skips it either way, with a one-time filter.) Both
branches give the same page, the window being the newest runs in the page's own order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, bindparam, case, func, literal, not_, null, or_, select, union_all
from sqlalchemy.orm import aliased

from storage import models, text_index
from storage.text_index import TextIndex

if TYPE_CHECKING:
    from storage.search import AuditQuery

REVIEW_KINDS: tuple[str, ...] = ("approve", "edit", "reject", "approval")
"""Decision kinds that make their actor a reviewer of the run. Refused clicks, reminders and
expiries are in the trail too, but a person refused is not a reviewer and the bot is not one."""

WINDOW_MIN, WINDOW_PER_ROW, WINDOW_MAX = 5_000, 20, 50_000
"""How many of the newest runs are tested before asking the indexes: ``WINDOW_PER_ROW`` per run
the page needs, at least ``WINDOW_MIN``, at most ``WINDOW_MAX``. A filter matching one run in 20
or more fills its page from the window; rarer ones are read through their index, which then
returns a few percent of the runs at most (``bench/README.md``, "Audit search")."""

_LIKE_ESCAPE = "\\"
Page = Select[str, datetime]
"""``SELECT id, created_at`` of runs."""


IdsWhen = Callable[[Any], Select[Any]]
"""Given a SQL condition, ``SELECT`` the ids of matching runs through an index while it holds, and
nothing (without reading the index) while it does not."""


@dataclass(frozen=True)
class Related:
    """A filter that looks beyond the run's own row: ``test`` decides for one run; ``ids``, when an
    index can answer, selects the ids of matching runs (``exact`` False: a superset, so ``test``
    must still be applied to them)."""

    test: Any
    ids: IdsWhen | None = None
    exact: bool = True


def page(query: AuditQuery, *, index: TextIndex | None = None, window: int | None = None) -> Page:
    """``SELECT id, created_at`` of the runs on the page, newest first (ties: highest id first).

    ``index``: the text index this database has (``storage.text_index.kind``). ``window``: how
    many of the newest runs to test before asking the indexes (default: ``window_for``); the page
    is the same whatever it is, which is what the tests check with 1 and with a million."""
    run = models.Run
    plain, related = plain_filters(query), related_filters(query, index)
    if not any(r.ids is not None for r in related):
        candidates = select(run.id, run.created_at).where(*plain, *(r.test for r in related))
        return _newest(candidates, query.limit, query.offset)
    need = query.offset + query.limit
    matches = _both_ways(plain, related, need, window or window_for(need)).subquery("matches")
    return _newest(select(matches.c.id, matches.c.created_at), query.limit, query.offset, matches)


def plain_filters(query: AuditQuery) -> list[Any]:
    run = models.Run
    clauses: list[Any] = [
        column == value
        for column, value in (
            (run.lane, query.lane),
            (run.status, query.status),
            (run.requester, query.requester),
        )
        if value is not None
    ]
    if query.since is not None:
        clauses.append(run.created_at >= query.since)
    if query.until is not None:
        clauses.append(run.created_at < query.until)
    return clauses


def related_filters(query: AuditQuery, index: TextIndex | None) -> list[Related]:
    filters = []
    if query.model is not None:
        filters.append(model_matches(query.model))
    if query.reviewer is not None:
        filters.append(reviewed_by(query.reviewer))
    if query.text:
        filters.append(text_matches(query.text, index))
    return filters


def model_matches(model: str) -> Related:
    """The run answered with ``model``, ran on a tier of that name, or any attempt asked or got it."""
    run, attempt, other = models.Run, models.Attempt, aliased(models.Run)
    by_attempt = _any_row(
        attempt.run_id == run.id, or_(attempt.model_requested == model, attempt.model_answered == model)
    )

    def ids(needed: Any) -> Select[Any]:
        key = _only_if(needed, model)
        union = union_all(
            select(attempt.run_id).where(attempt.model_requested == key),
            select(attempt.run_id).where(attempt.model_answered == key),
            select(other.id).where(other.model == key),
            select(other.id).where(other.tier == key),
        ).subquery()
        return select(union.c[0])

    return Related(or_(run.model == model, run.tier == model, by_attempt), ids)


def reviewed_by(actor: str) -> Related:
    decision = models.Decision

    def reviews(who: Any) -> Any:
        return and_(decision.actor == who, decision.kind.in_(REVIEW_KINDS))

    def ids(needed: Any) -> Select[Any]:
        return select(decision.run_id).where(reviews(_only_if(needed, actor)))

    return Related(_any_row(decision.run_id == models.Run.id, reviews(actor)), ids)


def text_matches(needle: str, index: TextIndex | None) -> Related:
    """The request or the draft contains ``needle``, ignoring case. SQLite's FTS5 index names
    candidates (a superset: FTS5 folds all of Unicode's case, ``LIKE`` only ASCII's); PostgreSQL's
    planner reads the trigram indexes for the ``ILIKE`` itself. Without an index, or for a needle
    shorter than a trigram, the runs are read newest first."""
    contains = _contains(models.Run, needle)
    if index is None or len(needle) < text_index.MIN_CHARS:
        return Related(contains)
    if index == "fts5":
        return Related(contains, lambda needed: text_index.runs_matching(needle, needed), exact=False)
    other = aliased(models.Run)
    return Related(contains, lambda needed: select(other.id).where(needed, _contains(other, needle)))


def _contains(run: Any, needle: str) -> Any:
    pattern = f"%{escape_like(needle)}%"
    return or_(
        run.input_text.ilike(pattern, escape=_LIKE_ESCAPE),
        run.draft_text.ilike(pattern, escape=_LIKE_ESCAPE),
    )


def _any_row(*conditions: Any) -> Any:
    """``EXISTS`` for one run, written so that it stays one index probe per run: PostgreSQL would
    turn an ``EXISTS`` inside an ``OR`` into a hash of every matching row of the other table
    (90 % of all attempts for a common model), which a scalar subquery with LIMIT 1 cannot be."""
    return select(literal(1)).where(*conditions).limit(1).scalar_subquery().is_not(None)


def _only_if(needed: Any, value: str) -> Any:
    """``value`` while ``needed`` holds, else NULL: an index lookup of NULL reads nothing. The
    condition is a subquery, so SQLite would not skip the lookup on it; nulling the key does."""
    return case((needed, value), else_=null())


def window_for(need: int) -> int:
    return min(max(WINDOW_MIN, WINDOW_PER_ROW * need), WINDOW_MAX)


def _both_ways(plain: list[Any], related: list[Related], need: int, window: int) -> Any:
    """Every matching run that can be on the page: from the window of the newest runs when that
    settles it, else through the indexes (see the module docstring)."""
    run = models.Run
    hit = case((and_(*(r.test for r in related)), 1), else_=0).label("hit")
    newest = (
        select(run.id, run.created_at, hit)
        .where(*plain)
        .order_by(run.created_at.desc(), run.id.desc())
        .limit(_inline(window, "window"))
        .cte("newest")
    )
    tested = select(func.count()).select_from(newest).scalar_subquery()
    found = select(func.count()).select_from(newest).where(newest.c.hit == 1).scalar_subquery()
    needed = and_(tested >= window, found < need)
    from_window = select(newest.c.id, newest.c.created_at).where(newest.c.hit == 1, not_(needed))
    from_index = select(run.id, run.created_at).where(
        needed,
        *plain,
        *(run.id.in_(r.ids(needed)) for r in related if r.ids is not None),
        *(r.test for r in related if r.ids is None or not r.exact),
    )
    return union_all(from_window, from_index)


def _newest(candidates: Page, limit: int, offset: int, source: Any = None) -> Page:
    table = models.Run if source is None else source.c
    return (
        candidates.order_by(table.created_at.desc(), table.id.desc())
        .limit(_inline(limit, "page_limit"))
        .offset(_inline(offset, "page_offset"))
    )


def _inline(value: int, name: str) -> Any:
    """A LIMIT or OFFSET written into the SQL as a number, not a parameter: told only "?", SQLite
    plans for a page of any size and prepares the final-decision join for every run (a Bloom
    filter over all decisions, ~0.5 s at a million runs); told 100, it looks up 100."""
    return bindparam(name, value, literal_execute=True)


def escape_like(text: str) -> str:
    """Make ``text`` match itself literally inside a LIKE pattern (escape character: backslash)."""
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
