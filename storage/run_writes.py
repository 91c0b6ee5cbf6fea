"""The per-run audit writes as prebuilt Core statements: the hot path of every run.

Every run writes its row, its attempts and its outcome, and (with a daily budget) reads the lane's
spend; a Slack run also claims its delivery key and records its messages. These statements run
once or twice per run, so they skip the ORM. The ORM's unit of work
(identity map, flush ordering, the ``UPDATE`` evaluator, ``asdict`` deep copies) cost about 5 ms
of CPU per run here against 0.7 ms for the same rows through these statements (measured in
``bench/README.md``, "Engine overhead"). The typed ORM models in ``storage.models`` stay the
schema: the statements are built on their tables, so column types (aware UTC datetimes, JSON) and
Python-side defaults apply exactly as they do to ORM inserts.

The statements are built once per ``AuditStore`` (not at import) and are immutable, so every
thread shares them, and SQLAlchemy's compiled cache hits on every run. Parameters are plain
dicts copied field by field from the frozen records (no ``asdict`` deep copy).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, Update, bindparam, func, insert, select, update

from lanes.audit import AWAITING_REVIEW, Attempt, NewRun, RunOutcome, Transition, storable_text
from storage import models, policy_models

RUN_ID = "run_id_"
"""Bound-parameter name of the run id in ``WHERE`` clauses; it must not be a column name, because
an ``UPDATE``'s other parameters name the columns it sets."""
FROM_STATUSES = "from_statuses_"

_NEW_RUN_FIELDS = tuple(f.name for f in fields(NewRun) if f.name != "route_features")
_ATTEMPT_FIELDS = tuple(f.name for f in fields(Attempt))
_OUTCOME_FIELDS = tuple(f.name for f in fields(RunOutcome) if f.name != "finished_at")


@dataclass(frozen=True)
class RunStatements:
    """The hot path's statements, built on the ORM tables."""

    insert_run: Insert
    insert_attempts: Insert
    from_running: Update
    """``UPDATE runs SET … WHERE id = :run_id_ AND status = 'running'``: the usual end of a run."""
    from_statuses: Update
    """The same with ``status IN :from_statuses_`` (an expanding parameter) for other transitions."""
    insert_route_features: Insert
    """The run's ``run_route_features`` row (``storage.policy_models``), in the run's first commit."""
    spent_since: Select[Any]
    update_run: Update
    """``UPDATE runs SET … WHERE id = :run_id_`` (unconditional: Slack message ids, never a status)."""
    insert_event: Insert

    @classmethod
    def build(cls) -> RunStatements:
        runs, attempts = cast(Table, models.Run.__table__), cast(Table, models.Attempt.__table__)
        events = cast(Table, models.ProcessedEvent.__table__)
        features = cast(Table, policy_models.RunRouteFeatures.__table__)
        by_id = runs.c.id == bindparam(RUN_ID)
        from_statuses = runs.c.status.in_(bindparam(FROM_STATUSES, expanding=True))
        return cls(
            insert_run=insert(runs),
            insert_attempts=insert(attempts),
            insert_route_features=insert(features),
            from_running=update(runs).where(by_id, runs.c.status == "running"),
            from_statuses=update(runs).where(by_id, from_statuses),
            spent_since=select(func.coalesce(func.sum(runs.c.cost_usd), 0.0)).where(
                runs.c.lane == bindparam("lane"), runs.c.created_at >= bindparam("since")
            ),
            update_run=update(runs).where(by_id),
            insert_event=insert(events),
        )

    def transition(
        self, run_id: str, change: Transition, values: dict[str, Any]
    ) -> tuple[Update, Mapping[str, Any]]:
        """The conditional ``UPDATE`` that executes ``change`` on ``run_id``, setting ``values`` too."""
        if change.creates:
            raise ValueError(f"{change.trigger} creates a run; it is an INSERT, not an UPDATE")
        if change.target is not None:
            values["status"] = change.target
        values[RUN_ID] = run_id
        if change.sources == {"running"}:
            return self.from_running, values
        values[FROM_STATUSES] = sorted(change.sources)
        return self.from_statuses, values


def repair_texts(row: dict[str, Any]) -> bool:
    """Make every text in ``row`` storable (``lanes.audit.text``), in place; True if any changed."""
    repaired = False
    for name, value in row.items():
        if isinstance(value, str):
            row[name], changed = storable_text(value)
            repaired |= changed
        elif isinstance(value, list | tuple) and any(isinstance(v, str) for v in value):
            cleaned = [storable_text(v) if isinstance(v, str) else (v, False) for v in value]
            row[name] = [v for v, _ in cleaned]
            repaired |= any(changed for _, changed in cleaned)
    return repaired


def run_row(run: NewRun, change: Transition) -> dict[str, Any]:
    """The ``runs`` row of a run that ``change`` (``start`` or ``enqueue``) creates."""
    if not change.creates or change.target is None:
        raise ValueError(f"{change.trigger} does not create a run")
    row = {name: getattr(run, name) for name in _NEW_RUN_FIELDS}
    row["route_reasons"] = list(run.route_reasons)
    row["status"] = change.target
    row["started_at"] = run.created_at if change.target == "running" else None
    if repair_texts(row):
        row["text_repaired"] = True
    return row


def route_features_row(run: NewRun) -> dict[str, Any] | None:
    """The ``run_route_features`` row of ``run``, or None when it was started without one."""
    features = run.route_features
    if features is None:
        return None
    inputs = features.inputs
    return {
        "run_id": run.id,
        "lane": run.lane,
        "created_at": inputs.at,
        "input_chars": inputs.input_chars,
        "keywords_checked": list(inputs.keywords_checked),
        "keywords_hit": list(inputs.keywords_hit),
        "spent_today_usd": inputs.spent_today_usd,
        "open_circuits": list(inputs.open_circuits),
        "confirmed_tier": inputs.confirmed_tier,
        "tier": features.tier,
        "route_kind": features.kind,
        "needs_confirmation": features.needs_confirmation,
        "estimated_cost_usd": features.estimated_cost_usd,
        "policy_hash": run.policy_hash,
    }


def attempt_rows(run_id: str, attempts: Iterable[tuple[int, Attempt]]) -> tuple[list[dict[str, Any]], bool]:
    """``attempts`` rows from ``(seq, attempt)`` pairs, and whether any text had to be repaired."""
    rows, repaired = [], False
    for seq, attempt in attempts:
        row = {name: getattr(attempt, name) for name in _ATTEMPT_FIELDS}
        row["run_id"] = run_id
        row["seq"] = seq
        repaired |= repair_texts(row)
        rows.append(row)
    return rows, repaired


def outcome_values(outcome: RunOutcome) -> dict[str, Any]:
    """The columns an outcome sets: only those it has a value for (``None`` leaves a column as is)."""
    values: dict[str, Any] = {}
    for name in _OUTCOME_FIELDS:
        value = getattr(outcome, name)
        if value is not None:
            values[name] = value
    if "route_reasons" in values:
        values["route_reasons"] = list(values["route_reasons"])
    if repair_texts(values):
        values["text_repaired"] = True
    return values


def finish_values(outcome: RunOutcome, change: Transition) -> dict[str, Any]:
    """``outcome_values`` plus the times the lifecycle stamps: ``drafted_at`` on a draft."""
    values = outcome_values(outcome)
    if outcome.draft_text is not None or change.target in AWAITING_REVIEW:
        values["drafted_at"] = outcome.finished_at
    return values
