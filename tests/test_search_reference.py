"""Search against a plain reference filter, on SQLite and PostgreSQL: the same runs, in the same order.

``storage.search_page`` finds a page one of several ways (the newest runs one by one, a related
filter's index, FTS5 trigrams or an FTS5 phrase on SQLite, PostgreSQL's trigram indexes) and
chooses by counting index entries. Whichever it takes, the page must be exactly
what filtering every run in Python gives. The generated trail (``bench.datagen``, the data of the
search bench at a small size) is loaded at revision 0002 and upgraded to head, as the bench does;
the counting thresholds are lowered so that a few thousand runs take every way.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bench.datagen import RUN_COLUMNS, TEXT_COLUMNS, History, generate, load
from storage import search_page
from storage.db import make_engine
from storage.migrate import upgrade
from storage.search import REVIEW_KINDS, AuditQuery, search

RUNS = 3_000
START, END = datetime(2026, 10, 1), datetime(2026, 10, 15)
COLUMN = {name: index for index, name in enumerate(RUN_COLUMNS + TEXT_COLUMNS)}
THRESHOLDS = {
    "as shipped": (search_page.RARE_MIN, search_page.RARE_PER_ROW, search_page.RARE_MAX),
    "everything common": (20, 0, 20),
    "mid": (400, 4, 400),
}


@pytest.fixture(scope="module")
def history() -> History:
    return generate(RUNS, START, END, details=True)


@pytest.fixture
def engine(db_url: str, history: History) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine, "0002_digest_index")
    load(engine, history)
    upgrade(engine)
    yield engine
    engine.dispose()


def needles(history: History) -> list[str]:
    """Fixed needles (the bench's among them) and pieces of generated texts spanning words, so
    that some match: a phrase of common words, a word's end and the next word's start."""
    rng = random.Random(5)
    pieces = []
    for run in rng.sample(history.runs, 12):
        text = run[COLUMN[rng.choice(TEXT_COLUMNS)]]
        start = rng.randrange(len(text) - 16)
        pieces.append(text[start : start + rng.randrange(3, 16)])
    fixed = [
        "lawyer chargeback", "refund login", "refund", "REFUND", "the customer", "q4", "d l", "er c",
        "kangaroo", "a%b", 'say "hi"', "order 1", ", ", ". ", "please.", "in_voice", "e-mail", "to the",
    ]  # fmt: skip
    return fixed + pieces


def queries(history: History) -> list[AuditQuery]:
    end = END.replace(tzinfo=UTC)
    q = AuditQuery
    found = [q(text=needle) for needle in needles(history)]
    models = [
        "gpt-5-mini",
        "claude-sonnet-4-6",
        "claude-sonnet-4-6-20260115",
        "llama3.1:8b",
        "strong",
        "gpt-3",
    ]
    reviewers = ["U00007", "U00031", "lanebot", "U09999"]
    for model in models:
        found.append(q(model=model))
        found += [q(model=model, reviewer=reviewer) for reviewer in reviewers]
    found += [q(reviewer=reviewer) for reviewer in reviewers]
    found += [
        q(text="refund login", lane="support"),
        q(text="lawyer chargeback", model="claude-sonnet-4-6"),
        q(text="the customer", reviewer="U00007"),
        q(text="refund", model="llama3.1:8b", reviewer="U00003"),
        q(model="claude-sonnet-4-6", reviewer="U00007", lane="support", since=end - timedelta(days=7)),
        q(model="gpt-5-mini", reviewer="U00012", status="approved", limit=7, offset=5),
        q(text="to the", limit=3, offset=40),
        q(lane="code", status="rejected", until=end - timedelta(days=3)),
    ]
    return found


def reference(history: History, query: AuditQuery) -> list[str]:
    """The page by definition: every run tested in Python, newest first (ties: highest id)."""
    reviewers: dict[str, set[str]] = defaultdict(set)
    for run_id, kind, actor, *_ in history.decisions:
        if kind in REVIEW_KINDS:
            reviewers[run_id].add(actor)
    attempted: dict[str, set[str]] = defaultdict(set)
    for attempt in history.attempts:
        attempted[attempt[0]].update(name for name in attempt[5:7] if name is not None)

    def matches(run: tuple[Any, ...]) -> bool:
        run_id = run[0]
        models = {run[COLUMN["model"]], run[COLUMN["tier"]], *attempted[run_id]}
        return (
            _own_columns_match(run, query)
            and (query.model is None or query.model in models)
            and (query.reviewer is None or query.reviewer in reviewers[run_id])
            and (
                not query.text
                or any(query.text.lower() in (run[COLUMN[c]] or "").lower() for c in TEXT_COLUMNS)
            )
        )

    page = sorted(
        (run for run in history.runs if matches(run)), key=lambda run: (run[COLUMN["created_at"]], run[0])
    )
    page.reverse()
    return [run[0] for run in page[query.offset : query.offset + query.limit]]


def _own_columns_match(run: tuple[Any, ...], query: AuditQuery) -> bool:
    created = run[COLUMN["created_at"]].replace(tzinfo=UTC)
    return (
        all(getattr(query, name) in (None, run[COLUMN[name]]) for name in ("lane", "status", "requester"))
        and (query.since is None or created >= query.since)
        and (query.until is None or created < query.until)
    )


@pytest.mark.parametrize("thresholds", THRESHOLDS)
def test_every_way_to_a_page_gives_the_reference_page(
    engine: Engine, history: History, thresholds: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rare_min, per_row, rare_max = THRESHOLDS[thresholds]
    monkeypatch.setattr(search_page, "RARE_MIN", rare_min)
    monkeypatch.setattr(search_page, "RARE_PER_ROW", per_row)
    monkeypatch.setattr(search_page, "RARE_MAX", rare_max)
    matched = 0
    with engine.connect() as connection:
        for query in queries(history):
            expected = reference(history, query)
            assert [row.id for row in search(connection, query)] == expected, query
            matched += bool(expected)
    assert matched > 40  # most queries find runs: the comparison is not of empty pages


def test_upgrading_a_populated_database_keeps_its_decisions_and_attempts(
    engine: Engine, history: History
) -> None:
    """Revision 0003 copies ``runs`` on SQLite; the copy must not cascade to the rows that point
    at the runs (``storage.migrate.upgrade`` runs SQLite migrations with foreign keys off)."""
    with engine.connect() as connection:
        counts = [
            connection.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar()
            for t in ("decisions", "attempts")
        ]
    assert counts == [len(history.decisions), len(history.attempts)]
