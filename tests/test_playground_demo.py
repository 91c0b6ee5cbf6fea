"""``lanebot playground --demo``: a separate store with eight weeks of runs made by lanebot itself.

The history is seeded through the engine (offline sample, scripted faults) and the decision
service, with an injected clock: eight distinct ISO weeks in the digest's time zone, mixed
routes, approvals, edits, rejections and two-person reviews, nothing after ``now``, and seeding
again changes nothing (until the history is a week old, when it is replaced, not doubled).
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.digest.weeks import week_of
from bot.playground import Playground
from bot.playground.demo import demo_database_url, seed_demo_history
from bot.playground.demo.schedule import plan_runs
from bot.playground.demo_notice import post_demo_notice
from bot.playground.slackstub import demo_workspace
from lanes.config import LanesConfig, load_config
from lanes.providers.offline import OFFLINE_MODEL
from storage import models
from storage.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
THURSDAY = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> LanesConfig:
    return load_config(ROOT / "lanes.toml")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, config: LanesConfig, redactor: object) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'lanebot-demo.db'}"
    report = seed_demo_history(url, config, now=THURSDAY, redactor=redactor)  # type: ignore[arg-type]
    assert report.seeded and report.runs == len(plan_runs(dict(config.lanes), THURSDAY, "Europe/Berlin"))
    return url


def _runs(url: str) -> list[models.Run]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            statement = select(models.Run).options(
                selectinload(models.Run.attempts), selectinload(models.Run.decisions)
            )
            return list(session.scalars(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def runs(seeded: str) -> Iterator[list[models.Run]]:
    yield _runs(seeded)


def test_eight_distinct_iso_weeks_end_with_this_week(runs: list[models.Run], config: LanesConfig) -> None:
    tz = config.digest.timezone if config.digest else "Europe/Berlin"
    weeks = Counter(week_of(run.created_at, tz) for run in runs)
    this_week = week_of(THURSDAY, tz)

    assert sorted(weeks) == [this_week.shift(offset) for offset in range(-7, 1)]
    assert all(run.created_at < THURSDAY for run in runs)
    assert weeks[this_week.shift(-1)] > weeks[this_week.shift(-7)], "a team adopting lanebot: more each week"
    assert 200 <= len(runs) <= 400


def test_runs_are_made_by_the_engine_on_the_offline_sample(runs: list[models.Run]) -> None:
    assert {run.source for run in runs} == {"demo"}
    assert all(run.attempts for run in runs)
    answered = [a for run in runs for a in run.attempts if a.outcome == "ok"]
    assert {a.model_answered for a in answered} == {OFFLINE_MODEL}
    drafted = [run for run in runs if run.draft_text is not None]
    assert all(
        run.cost_estimated and run.model in {"gpt-5-mini", "claude-sonnet-4-6", "llama3.1:8b"}
        for run in drafted
    )
    assert sum(run.cost_usd or 0 for run in runs) > 0


def test_routes_are_mixed_with_fallbacks_escalations_and_people(runs: list[models.Run]) -> None:
    routes = Counter(run.route_kind for run in runs)
    lanes = Counter(run.lane for run in runs)

    assert {"default", "fallback", "escalation", "human"} <= set(routes)
    assert routes["default"] > routes["fallback"] > 0 and routes["escalation"] > 0
    assert set(lanes) == {"support", "contract", "code"}
    failed_checks = [run for run in runs if run.escalation_reason and "check failed" in run.escalation_reason]
    timeouts = [a for run in runs for a in run.attempts if a.reason_code == "timeout"]
    assert failed_checks and timeouts


def test_decisions_approve_edit_reject_and_two_person(runs: list[models.Run]) -> None:
    kinds = Counter(d.kind for run in runs for d in run.decisions)
    statuses = Counter(run.status for run in runs)
    two_person = [run for run in runs if run.review_rule == "two_person" and run.status == "approved"]

    assert {"approve", "edit", "reject", "approval"} <= set(kinds)
    assert {"approved", "edited", "rejected"} <= set(statuses)
    assert two_person and all(
        len({d.actor for d in run.decisions if d.kind in ("approval", "approve")}) == 2 for run in two_person
    )
    assert all(
        d.created_at > run.created_at and d.created_at < THURSDAY for run in runs for d in run.decisions
    )
    assert all(run.requester not in {d.actor for d in run.decisions if d.final} for run in runs)
    assert statuses["drafted"] > 0, "the newest drafts still await review"


def test_seeding_again_changes_nothing(seeded: str, config: LanesConfig, runs: list[models.Run]) -> None:
    again = seed_demo_history(seeded, config, now=THURSDAY + timedelta(hours=3))

    assert not again.seeded and again.runs == len(runs)
    assert len(_runs(seeded)) == len(runs)


def test_a_week_old_history_is_replaced_not_doubled(
    tmp_path: Path, config: LanesConfig, redactor: object
) -> None:
    url = f"sqlite:///{tmp_path / 'lanebot-demo.db'}"
    first = seed_demo_history(url, config, now=THURSDAY, redactor=redactor)  # type: ignore[arg-type]
    later = THURSDAY + timedelta(days=10)

    second = seed_demo_history(url, config, now=later, redactor=redactor)  # type: ignore[arg-type]

    assert first.seeded and second.seeded
    runs = _runs(url)
    assert len(runs) == second.runs and max(run.created_at for run in runs) > THURSDAY


def test_early_monday_still_gives_eight_weeks_all_before_now(config: LanesConfig) -> None:
    monday = datetime(2026, 11, 29, 23, 20, tzinfo=UTC)  # 00:20 on Monday in Berlin
    plan = plan_runs(dict(config.lanes), monday, "Europe/Berlin")

    assert len({week_of(run.at, "Europe/Berlin") for run in plan}) == 8
    assert all(run.at < monday for run in plan)


@pytest.mark.parametrize(
    ("audit", "demo"),
    [
        ("sqlite:///lanebot.db", "sqlite:///lanebot-demo.db"),
        ("sqlite:////srv/bot/audit.sqlite", "sqlite:////srv/bot/audit-demo.sqlite"),
        ("sqlite:///lanebot-demo.db", "sqlite:///lanebot-demo.db"),
        ("postgresql://bot@db/lanebot", "sqlite:///lanebot-demo.db"),
        ("sqlite://", "sqlite:///lanebot-demo.db"),
    ],
)
def test_the_demo_store_is_its_own_file_beside_the_audit_store(audit: str, demo: str) -> None:
    assert demo_database_url(audit) == demo


def test_the_page_says_it_is_demo_data() -> None:
    workspace = demo_workspace()

    post_demo_notice(workspace, "sqlite:///lanebot-demo.db")

    (notice,) = workspace.messages("C0LANES")
    assert "Demo data" in notice.text and "lanebot-demo.db" in notice.text


def test_the_playground_on_demo_data_says_so_and_its_digest_has_runs(
    tmp_path: Path, config: LanesConfig, redactor: object
) -> None:
    url = f"sqlite:///{tmp_path / 'lanebot-demo.db'}"
    now = datetime.now(UTC)  # the playground's digest reports the week in progress, by the real clock
    seed_demo_history(url, config, now=now, redactor=redactor)  # type: ignore[arg-type]

    with Playground(database=url, config_file=str(ROOT / "lanes.toml"), env={}, demo=True) as playground:
        with urllib.request.urlopen(f"{playground.url.rstrip('/')}/ui/bootstrap", timeout=30) as response:
            boot = json.load(response)
        request = urllib.request.Request(
            f"{playground.url.rstrip('/')}/ui/digest",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            posted = json.load(response)
        notice = playground.workspace.messages("C0LANES")[0]
        digest = playground.workspace.message(posted["channel"], posted["ts"])

    assert boot["demo"] == {"store": str(tmp_path / "lanebot-demo.db")}
    assert "Demo data" in notice.text
    assert digest is not None and "Most expensive lane:" in digest.text, "the week in progress has runs"
