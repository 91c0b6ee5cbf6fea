"""The policy log and the routing record: ``lanes.audit.PolicyHistory`` and ``DecidedRuns``.

A policy is stored once, keyed by the hash of its canonical text (``lanes.policy_text``); every
process that loads it calls ``record_policy`` and all but the first find it there. Runs point at
it through ``runs.policy_hash``, so the log can say how many runs each policy routed and when.

``recorded_routes`` reads ``run_route_features`` with one Core ``SELECT`` (no ORM objects, no
lazy loads) because ``lanebot routes diff`` replays every run of the window: 100,000 rows must
come back in about a second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from lanes.audit import (
    PolicyEntry,
    PolicyNotFoundError,
    PolicySnapshot,
    RecordedRoute,
    RouteFeatures,
    RouteInputs,
    RunRecord,
)
from storage import models
from storage._base import StoreBase, read_errors, to_record
from storage.policy_models import Policy, RunRouteFeatures


class PolicyRecords(StoreBase):
    """Stored policies, the route features of runs, and the decided runs golden sets come from."""

    def record_policy(self, policy: PolicySnapshot, at: datetime, instance: str) -> None:
        """Store ``policy`` unless it is stored already: the first loader's time and name stay."""
        with self._read() as session:
            if session.get(Policy, policy.hash) is not None:
                return
        try:
            with self._write("the policy (lanes.toml) in use", conflicts_expected=True) as session:
                session.add(
                    Policy(
                        hash=policy.hash,
                        text=policy.text,
                        source=policy.source[:255],
                        first_loaded_at=at,
                        loaded_by=instance[:64],
                    )
                )
        except IntegrityError:
            return  # another instance stored the same policy a moment earlier

    def policies(self) -> list[PolicyEntry]:
        runs = models.Run
        usage = (
            select(
                runs.policy_hash,
                func.count().label("runs"),
                func.min(runs.created_at).label("first"),
                func.max(runs.created_at).label("last"),
            )
            .where(runs.policy_hash.is_not(None))
            .group_by(runs.policy_hash)
            .subquery()
        )
        with self._read() as session:
            rows = session.execute(
                select(Policy, usage.c.runs, usage.c.first, usage.c.last)
                .outerjoin(usage, usage.c.policy_hash == Policy.hash)
                .order_by(Policy.first_loaded_at, Policy.hash)
            ).all()
            return [_entry(policy, count, first, last) for policy, count, first, last in rows]

    def get_policy(self, hash_prefix: str) -> PolicyEntry:
        prefix = hash_prefix.strip().lower()
        if not prefix:
            raise PolicyNotFoundError(
                "give a policy hash (or its first characters); see `lanebot policy log`"
            )
        with self._read() as session:
            found = session.scalars(select(Policy).where(Policy.hash.startswith(prefix)).limit(2)).all()
            if len(found) != 1:
                what = "no stored policy" if not found else "several stored policies"
                raise PolicyNotFoundError(
                    f"{what} with a hash starting {prefix!r}; list them with `lanebot policy log`"
                )
            policy = found[0]
            entry = next(e for e in self.policies() if e.hash == policy.hash)
            return PolicyEntry(**{**entry.__dict__, "text": policy.text})

    def policies_loaded_between(self, start: datetime, end: datetime) -> list[PolicyEntry]:
        """Policies first loaded in ``[start, end)``, oldest first (the digest's "policy changes")."""
        return [e for e in self.policies() if start <= e.first_loaded_at < end]

    def recorded_routes(self, since: datetime, *, lane: str | None = None) -> list[RecordedRoute]:
        """Without their text (``input_texts`` fetches it for the few runs a replay needs it for):
        one Core ``SELECT`` on ``run_route_features`` alone, no join, no ORM objects."""
        f = RunRouteFeatures.__table__.c
        statement = select(*_feature_columns(f)).where(f.created_at >= since).order_by(f.created_at, f.run_id)
        if lane is not None:
            statement = statement.where(f.lane == lane)
        lists = _JsonLists()
        with read_errors(), self.engine.connect() as connection:
            return [_recorded(row, lists) for row in connection.execute(statement)]

    def recorded_routes_of(self, run_ids: Sequence[str]) -> dict[str, RecordedRoute]:
        f = RunRouteFeatures.__table__.c
        found: dict[str, RecordedRoute] = {}
        texts = self.input_texts(run_ids)
        with read_errors(), self.engine.connect() as connection:
            lists = _JsonLists()
            for chunk in _chunks(run_ids):
                for row in connection.execute(select(*_feature_columns(f)).where(f.run_id.in_(chunk))):
                    found[row.run_id] = replace(_recorded(row, lists), input_text=texts.get(row.run_id))
        return found

    def input_texts(self, run_ids: Sequence[str]) -> dict[str, str | None]:
        """The stored (redacted) request text of each run; None where the lane stores none."""
        runs = models.Run.__table__.c
        texts: dict[str, str | None] = {}
        with read_errors(), self.engine.connect() as connection:
            for chunk in _chunks(run_ids):
                rows = connection.execute(select(runs.id, runs.input_text).where(runs.id.in_(chunk)))
                texts.update((row.id, row.input_text) for row in rows)
        return texts

    def decided_runs(self, lane: str, since: datetime) -> list[RunRecord]:
        """The lane's runs requested since ``since`` that a person approved, edited or rejected."""
        run = models.Run
        with self._read() as session:
            rows = session.scalars(
                select(run)
                .where(
                    run.lane == lane,
                    run.created_at >= since,
                    run.status.in_(("approved", "edited", "rejected")),
                )
                .order_by(run.created_at, run.id)
                .options(selectinload(run.attempts), selectinload(run.decisions))
            ).all()
            return [to_record(row) for row in rows]


def _feature_columns(f: Any) -> tuple[Any, ...]:
    """The JSON lists come back as their text (``_JsonLists`` decodes each distinct one once)."""
    return (
        f.run_id,
        f.lane,
        f.created_at,
        f.input_chars,
        cast(f.keywords_checked, Text).label("keywords_checked"),
        cast(f.keywords_hit, Text).label("keywords_hit"),
        f.spent_today_usd,
        cast(f.open_circuits, Text).label("open_circuits"),
        f.confirmed_tier,
        f.tier,
        f.route_kind,
        f.needs_confirmation,
        f.estimated_cost_usd,
    )


class _JsonLists(dict[str | None, tuple[str, ...]]):
    """Decoded JSON lists by their stored text, each distinct text decoded once. A replay reads
    100,000 rows whose lists are nearly all alike (a policy's keyword list, ``[]``), and decoding
    them row by row was half of the read."""

    def __missing__(self, raw: str | None) -> tuple[str, ...]:
        decoded = tuple(str(item) for item in json.loads(raw)) if raw else ()
        self[raw] = decoded
        return decoded


def _recorded(row: Any, lists: _JsonLists) -> RecordedRoute:
    """A row as a record; equal lists are one shared tuple (a policy's list repeats on every run)."""
    inputs = RouteInputs(
        at=row.created_at,
        input_chars=row.input_chars,
        keywords_checked=lists[row.keywords_checked],
        keywords_hit=lists[row.keywords_hit],
        spent_today_usd=row.spent_today_usd,
        open_circuits=lists[row.open_circuits],
        confirmed_tier=row.confirmed_tier,
    )
    features = RouteFeatures(
        inputs=inputs,
        tier=row.tier,
        kind=row.route_kind,
        needs_confirmation=bool(row.needs_confirmation),
        estimated_cost_usd=row.estimated_cost_usd,
    )
    return RecordedRoute(run_id=row.run_id, lane=row.lane, features=features)


def _chunks(ids: Sequence[str], size: int = 500) -> list[list[str]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def _entry(policy: Policy, runs: int | None, first: datetime | None, last: datetime | None) -> PolicyEntry:
    return PolicyEntry(
        hash=policy.hash,
        source=policy.source,
        first_loaded_at=policy.first_loaded_at,
        loaded_by=policy.loaded_by,
        runs=int(runs or 0),
        first_run_at=first,
        last_run_at=last,
    )
