"""A realistic audit history for benchmarks: N runs (and their final decisions) over the last W weeks.

Shapes follow what a team running lanebot would see: a few busy lanes and a long tail, office-hour
peaks on weekdays, most runs on the default route with some fallbacks, escalations and human
hand-offs, a strong tier that costs ten times the fast one, a few percent of unknown prices, and
review outcomes whose rework differs per lane and per model. Deterministic for a given seed.

Rows are written in bulk: ``executemany`` in one transaction on SQLite, ``COPY`` on PostgreSQL.
Attempts and texts are generated only on request (``generate(..., details=True)``): the digest
reads neither, the audit search reads both. They come from a second random stream, so asking for
them leaves every other column exactly as it was for the same seed.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

LANES: tuple[tuple[str, float, float], ...] = (
    # name, share of traffic, base rework probability
    ("support", 0.40, 0.22),
    ("code", 0.20, 0.35),
    ("contract", 0.08, 0.40),
    ("sales-email", 0.15, 0.18),
    ("incident-summary", 0.10, 0.25),
    ("translation", 0.07, 0.12),
)
ROUTES = (("default", 0.80), ("fallback", 0.07), ("escalation", 0.10), ("human", 0.03))
TIERS = {  # route → (tier, provider, model, mean cost in USD)
    "default": ("fast", "openai", "gpt-5-mini", 0.004),
    "fallback": ("local", "openai_compatible", "llama3.1:8b", 0.0),
    "escalation": ("strong", "anthropic", "claude-sonnet-4-6", 0.045),
    "human": ("fast", "openai", "gpt-5-mini", 0.004),
}
FALLBACK_REASONS = ("timeout", "rate limited", "server error", "check failed: max_chars", "circuit open")
ESCALATION_REASONS = (
    "keyword: refund",
    "input over 2500 chars",
    "keyword: deadlock",
    "sensitive: auth",
    "retry",
)
REJECT_REASONS = ("wrong facts", "tone", "incomplete", "policy", "off topic", "format")

RUN_COLUMNS = (
    "id", "lane", "requester", "channel", "source", "status", "review_rule", "risk", "route_kind", "tier",
    "provider", "model", "route_reasons", "fallback_reason", "escalation_reason", "input_chars",
    "text_redacted", "cost_usd", "cost_known", "input_tokens", "output_tokens", "latency_ms", "created_at",
    "started_at", "drafted_at", "decided_at",
)  # fmt: skip
CREATED = RUN_COLUMNS.index("created_at")
DECISION_COLUMNS = ("run_id", "kind", "actor", "final", "reason", "edit_distance", "created_at")
TEXT_COLUMNS = ("input_text", "draft_text")
ATTEMPT_COLUMNS = (
    "run_id", "seq", "kind", "tier", "provider", "model_requested", "model_answered", "price_known",
    "latency_ms", "outcome", "started_at",
)  # fmt: skip
ANSWERED = {"gpt-5-mini": "gpt-5-mini-2025-08-07", "claude-sonnet-4-6": "claude-sonnet-4-6-20260115"}
"""Providers answer with a dated model id: search by either name finds the run."""
_FINAL_KIND = {"approved": "approve", "edited": "edit", "rejected": "reject", "expired": "expire"}


@dataclass(frozen=True)
class History:
    runs: list[tuple[Any, ...]]
    decisions: list[tuple[Any, ...]]
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    details: bool = False
    """True when every run tuple ends with ``TEXT_COLUMNS`` and ``attempts`` is filled."""

    @property
    def run_columns(self) -> tuple[str, ...]:
        return RUN_COLUMNS + TEXT_COLUMNS if self.details else RUN_COLUMNS


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([name for name, _ in weighted], weights=[w for _, w in weighted])[0]


def _request_time(rng: random.Random, start: datetime, span_s: float) -> datetime:
    """Office hours on weekdays are busiest: reject most samples outside them."""
    while True:
        at = start + timedelta(seconds=rng.random() * span_s)
        busy = at.weekday() < 5 and 7 <= at.hour < 18
        if busy or rng.random() < 0.25:
            return at


def _status(rng: random.Random, route: str, rework: float) -> str:
    roll = rng.random()
    if route == "human":
        return (
            "needs_human"
            if roll < 0.3
            else _pick(rng, (("approved", 0.5), ("edited", 0.3), ("expired", 0.2)))
        )
    if roll < 0.03:
        return "failed"
    if roll < 0.05:
        return "drafted"
    if roll < 0.08:
        return "expired"
    if rng.random() < rework:
        return "edited" if rng.random() < 0.7 else "rejected"
    return "approved"


def _run(
    rng: random.Random, index: int, start: datetime, span_s: float
) -> tuple[tuple[Any, ...], tuple | None]:  # type: ignore[type-arg]
    lane, _, rework = rng.choices(LANES, weights=[share for _, share, _ in LANES])[0]
    route = _pick(rng, ROUTES)
    tier, provider, model, mean_cost = TIERS[route]
    status = _status(rng, route, rework * (1.3 if tier == "local" else 0.8 if tier == "strong" else 1.0))
    created = _request_time(rng, start, span_s)
    drafted = None if status == "failed" else created + timedelta(seconds=rng.lognormvariate(1.6, 0.7))
    decided = None
    if status in _FINAL_KIND and drafted is not None:
        delay = timedelta(hours=24) if status == "expired" else timedelta(minutes=rng.expovariate(1 / 45))
        decided = drafted + delay
    known = rng.random() > 0.02
    cost = round(rng.expovariate(1 / mean_cost), 6) if known and mean_cost else (0.0 if known else None)
    run = (
        f"b{index:09d}", lane, f"U{rng.randrange(400):05d}", "C0WORK", "slack", status, "owner", "low", route,
        tier, provider, model, json.dumps([f"{route} route"]),
        rng.choice(FALLBACK_REASONS) if route == "fallback" else None,
        rng.choice(ESCALATION_REASONS) if route == "escalation" else None,
        rng.randrange(50, 4000), True, cost, known, rng.randrange(100, 3000), rng.randrange(50, 800),
        rng.uniform(300, 9000), created, created, drafted, decided,
    )  # fmt: skip
    if decided is None:
        return run, None
    kind = _FINAL_KIND[status]
    reason = rng.choice(REJECT_REASONS) if kind == "reject" else None
    distance = int(rng.expovariate(1 / 60)) + 1 if kind == "edit" else None
    actor = "lanebot" if kind == "expire" else f"U{rng.randrange(40):05d}"
    return run, (run[0], kind, actor, True, reason, distance, decided)


WORDS = (
    "the", "to", "and", "a", "of", "you", "your", "we", "is", "for", "on", "in", "it", "this", "that",
    "our", "please", "can", "with", "order", "be", "have", "are", "not", "will", "as", "at", "thanks",
    "hi", "hello", "team", "customer", "account", "invoice", "payment", "delivery", "parcel", "shipping",
    "refund", "return", "replace", "damaged", "missing", "late", "update", "status", "question", "issue",
    "problem", "help", "support", "service", "contract", "clause", "term", "renewal", "notice",
    "liability", "schedule", "price", "pricing", "discount", "quote", "plan", "upgrade", "downgrade",
    "subscription", "cancel", "cancellation", "trial", "license", "seat", "user", "users", "login",
    "password", "reset", "access", "error", "bug", "crash", "timeout", "deploy", "release", "build",
    "test", "pipeline", "review", "merge", "branch", "commit", "database", "query", "index", "migration",
    "latency", "incident", "outage", "postmortem", "summary", "impact", "root", "cause", "mitigation",
    "alert", "page", "customer-facing", "translation", "german", "french", "spanish", "italian", "tone",
    "formal", "informal", "meeting", "call", "tomorrow", "today", "yesterday", "week", "month",
    "quarter", "q3", "q4", "deadline", "urgent", "asap", "thank", "regards", "best", "kind", "sorry",
    "apologies", "confirm", "confirmed", "received", "sent", "shipped", "tracking", "number", "address",
    "billing", "card", "charge", "charged", "twice", "chargeback", "lawyer", "legal", "policy", "warranty",
    "guarantee", "stock", "available", "availability", "size", "colour", "color", "model", "version",
    "feature", "request", "roadmap", "feedback", "survey", "email", "phone", "chat", "ticket", "escalate",
    "escalation", "manager", "agent", "reply", "draft", "message", "notes"
)  # fmt: skip
_WORD_WEIGHTS = tuple(itertools.accumulate(1.0 / rank for rank in range(1, len(WORDS) + 1)))
"""Cumulative Zipf weights: a few words are everywhere, most are rare, as in real messages."""
_FRAGMENTS = 20_000


def _fragments(rng: random.Random) -> list[str]:
    """Word sequences of 3 to 30 words; a text is a few of them, so texts rarely repeat."""
    return [
        " ".join(rng.choices(WORDS, cum_weights=_WORD_WEIGHTS, k=rng.randrange(3, 31)))
        for _ in range(_FRAGMENTS)
    ]


def _texts(rng: random.Random, fragments: list[str]) -> tuple[str, str]:
    """A redacted request (sometimes with an order number or a redaction placeholder) and a draft."""
    pick = rng.randrange
    request = f"{fragments[pick(_FRAGMENTS)]}, {fragments[pick(_FRAGMENTS)]}"
    if pick(10) < 3:
        request += f" order {pick(10**7):07d}"
    if pick(20) == 0:
        request += " [EMAIL]"
    draft = ". ".join(fragments[pick(_FRAGMENTS)] for _ in range(3))
    return request.capitalize() + ".", draft.capitalize() + "."


def _attempts(run: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """The model calls behind a run, as the engine records them (a fallback's first call failed)."""
    run_id, route, tier, provider, model, status = run[0], run[8], run[9], run[10], run[11], run[5]
    created, latency = run[CREATED], run[RUN_COLUMNS.index("latency_ms")]
    calls = []
    if route == "fallback":
        calls.append(("first", "fast", "openai", "gpt-5-mini", False))
    kind = {"default": "first", "human": "first"}.get(route, route)
    calls.append((kind, tier, provider, model, status != "failed"))
    return [
        (run_id, seq, kind, tier, provider, model, ANSWERED.get(model, model) if ok else None, True,
         latency, "ok" if ok else "failed", created)
        for seq, (kind, tier, provider, model, ok) in enumerate(calls, start=1)
    ]  # fmt: skip


def generate(count: int, start: datetime, end: datetime, *, seed: int = 47, details: bool = False) -> History:
    """``count`` runs with request times in ``[start, end)`` (naive UTC), and their final decisions;
    with ``details``, also their texts and attempts (see the module docstring)."""
    rng, detail_rng = random.Random(seed), random.Random(seed + 1)
    span_s = (end - start).total_seconds()
    runs, decisions, attempts = [], [], []
    fragments = _fragments(detail_rng) if details else []
    for index in range(count):
        run, decision = _run(rng, index, start, span_s)
        if details:
            attempts += _attempts(run)
            run = (*run, *_texts(detail_rng, fragments))
        runs.append(run)
        if decision is not None:
            decisions.append(decision)
    # The audit store is append-only: rows land in the order things happen, which is what lets a
    # range on created_at read neighbouring pages. Random insertion order would misrepresent that.
    runs.sort(key=lambda run: run[CREATED])
    decisions.sort(key=lambda decision: decision[-1])
    attempts.sort(key=lambda attempt: attempt[-1])
    return History(runs, decisions, attempts, details)


def _batches(rows: list[tuple[Any, ...]], size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    for offset in range(0, len(rows), size):
        yield rows[offset : offset + size]


def load(engine: Engine, history: History) -> None:
    """Bulk-insert the history into an already migrated database."""
    if engine.dialect.name == "postgresql":
        _load_postgres(engine, history)
    else:
        _load_sqlite(engine, history)


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text (microseconds always present), so range filters compare right."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _load_sqlite(engine: Engine, history: History) -> None:
    times = {RUN_COLUMNS.index(c) for c in ("created_at", "started_at", "drafted_at", "decided_at")}
    run_sql = _insert_sql("runs", history.run_columns)
    decision_sql = _insert_sql("decisions", DECISION_COLUMNS)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        for batch in _batches(history.runs):
            cursor.executemany(
                run_sql, [tuple(_sqlite_time(v) if i in times else v for i, v in enumerate(r)) for r in batch]
            )
        for batch in _batches(history.decisions):
            cursor.executemany(decision_sql, [(*d[:-1], _sqlite_time(d[-1])) for d in batch])
        for batch in _batches(history.attempts):
            cursor.executemany(
                _insert_sql("attempts", ATTEMPT_COLUMNS), [(*a[:-1], _sqlite_time(a[-1])) for a in batch]
            )
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _load_postgres(engine: Engine, history: History) -> None:
    raw = engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        for table, columns, rows in (
            ("runs", history.run_columns, history.runs),
            ("decisions", DECISION_COLUMNS, history.decisions),
            ("attempts", ATTEMPT_COLUMNS, history.attempts),
        ):
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
        for table in ("runs", "decisions", "attempts"):
            cursor.execute(f"ANALYZE {table}")
        raw.commit()
    finally:
        raw.close()
