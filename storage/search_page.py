"""Which runs are on a search's page: the newest ``limit`` runs matching every filter, fast at any size.

A page is "the newest ``offset + limit`` matching runs" (``need``). There are two ways to find
them, each fast for one kind of filter and slow for the other:

- **newest first**: walk runs from the newest, through an index that has them in that order, test
  each and stop when the page is full. Fast when matches are common (100 approved runs are among
  the newest 150); a filter that matches nothing walks every run.
- **through the filter's index**: take every matching run from an index, then sort them. Fast when
  matches are few; "model = gpt-5-mini" would hand 900,000 runs to the sort.

Filters on a run's own columns (lane, status, requester, time) have a ``(column, created_at)``
index (revisions 0001 and 0003) that does both at once: the matching runs, already newest first.
These *plain* filters are left to the database. The others, *related* filters, look beyond the
run's row: the model (the run's model or tier, or any attempt's), a reviewer (decisions), and on
SQLite the text (its FTS5 index, ``storage.text_index``). A database chooses between the two ways
by estimating how many runs match, and for these it estimates badly: SQLite keeps no per-value
statistics, and PostgreSQL sends a common model through the sort.

So for a related filter the statement counts first: how many entries its index holds for the
value, reading at most ``rare_below`` of them (index entries only, cheap). Fewer than that, and
the page is taken through the index (at most ``rare_below`` runs to look up and sort); otherwise
matches are common, at least ``rare_below`` of them, and walking newest first finds the page after
about ``need × runs / rare_below`` runs at worst (10,000 tests for a page of 100 at a million runs).
Both branches are in the one statement; the one not taken reads nothing, because its index keys
are ``CASE WHEN <taken> THEN value END`` (NULL otherwise; FTS5: the empty phrase) and the walk's
LIMIT is 0. (A ``WHERE <taken>`` is not enough: SQLite skips work on a constant condition, but one
computed by a subquery is evaluated only after a branch's ``IN`` lists are built.)

PostgreSQL's text filter is not a related filter: the planner estimates ``ILIKE`` through its
trigram indexes well, and picks the bitmap scan for rare needles and the walk for common ones.

The statement depends only on which filters a query uses (its ``Shape``), never on their values,
which are parameters (``parameters``). So it is built once per shape and reused (``statement``):
building and hashing a statement this size costs more than running it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.visitors import InternalTraversal

from storage import models, text_index
from storage.text_index import TextIndex

if TYPE_CHECKING:
    from storage.search import AuditQuery

REVIEW_KINDS: tuple[str, ...] = ("approve", "edit", "reject", "approval")
"""Decision kinds that make their actor a reviewer of the run. Refused clicks, reminders and
expiries are in the trail too, but a person refused is not a reviewer and the bot is not one."""

RARE_MIN, RARE_PER_ROW, RARE_MAX = 10_000, 100, 50_000
"""A related filter is *rare* when its index holds fewer than ``rare_below(need)`` entries for the
value: ``RARE_PER_ROW`` per run the page needs, within ``[RARE_MIN, RARE_MAX]``
(``bench/README.md``, "Audit search", has the measurements behind these)."""

PLAIN = ("lane", "status", "requester", "since", "until")
_LIKE_ESCAPE = "\\"
Page = Select[str, datetime]
"""``SELECT id, created_at`` of runs."""
TextWay = Literal["tested", "fts5"]


@dataclass(frozen=True)
class Shape:
    """Which filters a query uses and how; one statement per shape (``statement``)."""

    plain: tuple[str, ...]
    model: bool
    reviewer: bool
    text: TextWay | None
    """"fts5": through SQLite's FTS5 index; "tested": run by run (PostgreSQL, whose planner uses
    its trigram indexes for it; a needle shorter than a trigram; a SQLite without the index)."""


def shape_of(query: AuditQuery, index: TextIndex | None) -> Shape:
    text: TextWay | None = None
    if query.text:
        long_enough = len(query.text) >= text_index.MIN_CHARS
        text = "fts5" if index == "fts5" and long_enough else "tested"
    plain = tuple(name for name in PLAIN if getattr(query, name) is not None)
    return Shape(plain, query.model is not None, query.reviewer is not None, text)


def parameters(query: AuditQuery) -> dict[str, Any]:
    """The values of ``statement(shape_of(query, …))``."""
    need = query.offset + query.limit
    values: dict[str, Any] = {name: getattr(query, name) for name in (*PLAIN, "model", "reviewer")}
    values.update(page_limit=query.limit, page_offset=query.offset, need=need, rare_below=rare_below(need))
    if query.text:
        values["pattern"] = f"%{escape_like(query.text)}%"
        if len(query.text) >= text_index.MIN_CHARS:
            values["fts5_query"] = text_index.fts5_query(query.text)
    return values


def rare_below(need: int) -> int:
    return min(max(RARE_MIN, RARE_PER_ROW * need), RARE_MAX)


@functools.lru_cache(maxsize=256)
def statement(shape: Shape) -> Page:
    """``SELECT id, created_at`` of the runs on the page, newest first (ties: highest id first)."""
    run = models.Run
    plain, related = plain_filters(shape), related_filters(shape)
    if not any(r.ids is not None for r in related):
        return _newest(select(run.id, run.created_at).where(*plain, *(r.test for r in related)))
    matches = _either_way(plain, related).subquery("matches")
    return _newest(select(matches.c.id, matches.c.created_at), matches)


IdsWhen = Callable[[Any], Select[Any]]
"""``ids(when)``: ``SELECT`` the ids of matching runs through an index; with a SQL condition
``when``, only while it holds, reading no index entry while it does not (None: always)."""


@dataclass(frozen=True)
class Related:
    """A filter that looks beyond the run's own row: ``test`` decides for one run; ``ids``, when an
    index can answer, selects the ids of matching runs (``exact`` False: a superset, so ``test``
    still decides for each)."""

    test: Any
    ids: IdsWhen | None = None
    exact: bool = True


def plain_filters(shape: Shape) -> list[Any]:
    run = models.Run
    columns = {"lane": run.lane, "status": run.status, "requester": run.requester}
    clauses = [columns[name] == bindparam(name) for name in shape.plain if name in columns]
    if "since" in shape.plain:
        clauses.append(run.created_at >= bindparam("since"))
    if "until" in shape.plain:
        clauses.append(run.created_at < bindparam("until"))
    return clauses


def related_filters(shape: Shape) -> list[Related]:
    filters = []
    if shape.model:
        filters.append(model_matches(bindparam("model", type_=models.Run.model.type)))
    if shape.reviewer:
        filters.append(reviewed_by(bindparam("reviewer", type_=models.Decision.actor.type)))
    if shape.text is not None:
        filters.append(text_matches(shape.text))
    return filters


def model_matches(model: Any) -> Related:
    """The run answered with ``model``, ran on a tier of that name, or any attempt asked or got it."""
    run, attempt, other = models.Run, models.Attempt, aliased(models.Run)
    by_attempt = _any_row(
        attempt.run_id == run.id, or_(attempt.model_requested == model, attempt.model_answered == model)
    )

    def ids(when: Any) -> Select[Any]:
        key, guard = _only_if(when, model), _holds(when)
        either = union_all(
            select(attempt.run_id).where(attempt.model_requested == key, *guard),
            select(attempt.run_id).where(attempt.model_answered == key, *guard),
            select(other.id).where(other.model == key, *guard),
            select(other.id).where(other.tier == key, *guard),
        ).subquery()
        return select(either.c[0])

    return Related(or_(run.model == model, run.tier == model, by_attempt), ids)


def reviewed_by(actor: Any) -> Related:
    decision = models.Decision

    def reviews(who: Any) -> Any:
        return and_(decision.actor == who, decision.kind.in_(REVIEW_KINDS))

    def ids(when: Any) -> Select[Any]:
        return select(decision.run_id).where(reviews(_only_if(when, actor)), *_holds(when))

    return Related(_any_row(decision.run_id == models.Run.id, reviews(actor)), ids)


def text_matches(way: TextWay) -> Related:
    """The request or the draft contains the needle, ignoring case. With SQLite's FTS5 index, the
    runs holding its trigrams are the candidates (a superset); otherwise each run is tested."""
    contains = _contains(models.Run)
    if way == "tested":
        return Related(contains)
    query = bindparam("fts5_query", type_=models.Run.input_text.type)
    # FTS5 is asked once, for the keys of at most ``rare_below`` runs: the count and, when that
    # is fewer, the page's candidates both read this list (a phrase of common trigrams costs
    # ~40 ms at a million runs, which the count and the branch would otherwise each pay).
    found = text_index.matching_keys(query).limit(_inline("rare_below")).cte("text_candidates")
    found = found.prefix_with("MATERIALIZED")

    def ids(when: Any) -> Select[Any]:
        if when is None:  # the count: keys are enough
            return select(found.c.key)
        return text_index.run_ids(found, when)

    return Related(contains, ids, exact=False)


def _contains(run: Any) -> Any:
    pattern = bindparam("pattern", type_=models.Run.input_text.type)
    return or_(
        run.input_text.ilike(pattern, escape=_LIKE_ESCAPE),
        run.draft_text.ilike(pattern, escape=_LIKE_ESCAPE),
    )


def _any_row(*conditions: Any) -> Any:
    """``EXISTS`` for one run, written so that it stays one index probe per run: PostgreSQL would
    turn an ``EXISTS`` inside an ``OR`` into a hash of every matching row of the other table
    (90 % of all attempts for a common model), which a scalar subquery with LIMIT 1 cannot be."""
    return select(literal(1)).where(*conditions).limit(1).scalar_subquery().is_not(None)


def _holds(when: Any) -> list[Any]:
    return [] if when is None else [when]


def _only_if(when: Any, value: Any) -> Any:
    """``value`` while ``when`` holds, else NULL, which an index lookup finds nothing for."""
    return value if when is None else OnSQLiteOnlyIf(when, value, null())


class OnSQLiteOnlyIf(ColumnElement[Any]):
    """``CASE WHEN when THEN value ELSE otherwise END`` on SQLite, plain ``value`` elsewhere.

    SQLite runs a branch's ``IN`` lists and scans before it looks at a ``WHERE`` condition that a
    subquery computes, so a branch not needed is emptied through its keys (NULL) and its LIMIT
    (0). PostgreSQL evaluates such a condition once and skips the branch (a one-time filter), and
    needs the plain value: a ``CASE`` would hide it from its row estimates and cost it the index."""

    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's protocol): part of the cache key and parameters
        ("when", InternalTraversal.dp_clauseelement),
        ("value", InternalTraversal.dp_clauseelement),
        ("otherwise", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, when: Any, value: Any, otherwise: Any) -> None:
        self.when, self.value, self.otherwise = when, value, otherwise
        self.type = value.type


@compiles(OnSQLiteOnlyIf)
def _plain_value(element: OnSQLiteOnlyIf, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.value, **kw))


@compiles(OnSQLiteOnlyIf, "sqlite")
def _case_value(element: OnSQLiteOnlyIf, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(case((element.when, element.value), else_=element.otherwise), **kw))


def _either_way(plain: list[Any], related: list[Related]) -> Any:
    """The runs that can be on the page: through the index of a rare related filter, or (when none
    is rare) the first ``need`` matches newest first (see the module docstring)."""
    run = models.Run
    tests = [r.test for r in related]
    indexed = [(r, r.ids) for r in related if r.ids is not None]
    rare = _inline("rare_below")
    counted = select(*(_count_up_to(ids(None), rare).label(f"n{i}") for i, (_, ids) in enumerate(indexed)))
    counts = counted.cte("counted")  # used twice per filter below, counted once
    is_rare = [select(count).scalar_subquery() < rare for count in counts.c]
    none_rare = not_(or_(*is_rare))
    walk = (
        select(run.id, run.created_at)
        .where(none_rare, *plain, *tests)
        .order_by(run.created_at.desc(), run.id.desc())
        .limit(OnSQLiteOnlyIf(none_rare, _inline("need"), literal(0)))
        .subquery("newest_first")
    )
    branches = [select(walk.c.id, walk.c.created_at)]
    for (r, ids), rare_here in zip(indexed, is_rare, strict=True):
        others = [test for test in tests if test is not r.test or not r.exact]
        branches.append(select(run.id, run.created_at).where(*plain, run.id.in_(ids(rare_here)), *others))
    return union(*branches)


def _count_up_to(ids: Select[Any], cap: Any) -> Any:
    """How many rows ``ids`` has, counting no further than ``cap`` (index entries only). Ids may
    repeat (a run that asked for and got the model), so this can overcount: never undercount."""
    return select(func.count()).select_from(ids.limit(cap).subquery()).scalar_subquery()


def _newest(candidates: Page, source: Any = None) -> Page:
    table = models.Run if source is None else source.c
    return (
        candidates.order_by(table.created_at.desc(), table.id.desc())
        .limit(_inline("page_limit"))
        .offset(_inline("page_offset"))
    )


def _inline(name: str) -> Any:
    """A LIMIT, OFFSET or count written into the SQL as a number, not a parameter: told only "?",
    SQLite plans for a page of any size and prepares the final-decision join for every run (a Bloom
    filter over all decisions, ~0.5 s at a million runs); told 100, it looks up 100."""
    return bindparam(name, type_=Integer(), literal_execute=True)


def escape_like(text: str) -> str:
    """Make ``text`` match itself literally inside a LIKE pattern (escape character: backslash)."""
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
