"""Posting the digest: exactly once across instances, late catch-up, retries, the chart in the thread.

Slack is the project's Web API stand-in (``bot.playground.slackstub``) on a loopback port, driven by a real
``slack_sdk.WebClient`` over HTTP, so the blocks are validated and files_upload_v2 runs its three
real steps. The database is real too (``db_url``: a SQLite file and a PostgreSQL schema); the two
"instances" are two ``AuditStore`` objects with engines of their own, racing on threads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.digest import BotScheduler, post_digest
from bot.digest.scheduler import ScheduleSettings, digest_trigger, slot_key
from bot.playground.slackstub.web_api import SlackStubServer
from bot.playground.slackstub.workspace import Workspace
from lanes.audit.records import NewDecision, NewRun, RunOutcome
from lanes.config import LanesConfig, parse_config
from lanes.lifecycle import DecisionGuard, transition
from storage.db import make_engine
from storage.store import AuditStore
from tests.test_digest_numbers import CONFIG

CHANNEL = "C0DIGEST"
BERLIN = ZoneInfo("Europe/Berlin")
SLOT = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN).astimezone(UTC)  # Monday 09:00 Berlin: reports W47
RACERS = 8


class Clock:
    """A settable clock: scheduler ticks read it, so "now" is whatever the test says."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config() -> LanesConfig:
    return parse_config(CONFIG)


@pytest.fixture
def slack() -> Iterator[SlackStubServer]:
    workspace = Workspace()
    workspace.add_channel("ai-digest", channel_id=CHANNEL)
    with SlackStubServer(workspace) as server:
        yield server


def web_client(server: SlackStubServer) -> WebClient:
    return WebClient(token=server.workspace.bot_token, base_url=server.api_url, timeout=10)


@pytest.fixture
def seeded(store: AuditStore) -> AuditStore:
    """A few W47 runs so the digest has content (its figures are tested in test_digest_numbers)."""
    at = datetime(2026, 11, 17, 10, tzinfo=UTC)
    for index, status in enumerate(("approved", "edited", "rejected")):
        run_id = f"r{index}"
        store.start_run(
            NewRun(id=run_id, lane="support", requester="U1", created_at=at, route_kind="default"),
            transition("start"),
        )
        outcome = RunOutcome(finished_at=at + timedelta(seconds=9), route_kind="default",
                             tier="fast", model="gpt-5-mini", draft_text="d", cost_usd=0.25)  # fmt: skip
        store.finish_run(run_id, transition("draft"), outcome)
        kind = {"approved": "approve", "edited": "edit", "rejected": "reject"}[status]
        decision = NewDecision(run_id, kind, "U2", at + timedelta(minutes=3), final=True)
        store.apply_decision(decision, DecisionGuard(transition(kind), seen_approvals=0))
    return store


def top_level(server: SlackStubServer) -> list:  # type: ignore[type-arg]
    return server.workspace.history(CHANNEL)


def test_two_instances_racing_post_once(
    db_url: str, seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    other_engine = make_engine(db_url)
    stores = (seeded, AuditStore(other_engine))
    barrier = threading.Barrier(RACERS)

    def race(n: int) -> bool:
        barrier.wait()
        return post_digest(stores[n % 2], web_client(slack), config, "2026-W47", f"bot-{n}", SLOT)

    try:
        with ThreadPoolExecutor(RACERS) as pool:
            results = list(pool.map(race, range(RACERS)))
    finally:
        other_engine.dispose()
    assert results.count(True) == 1
    [message] = top_level(slack)
    assert "2026-W47" in message.text and message.blocks
    claim = seeded.digest_claim(CHANNEL, "2026-W47")
    assert claim is not None and claim.message_ts == message.ts and claim.posted_at is not None
    assert claim.claimed_by == f"bot-{results.index(True)}" and not claim.late
    # The chart went into the digest's thread, as a PNG, then the full route tables as a text file.
    [chart, tables] = slack.workspace.files.all()
    assert chart.thread_ts == message.ts and chart.channels == (CHANNEL,)
    assert chart.content is not None and chart.content.startswith(b"\x89PNG")
    assert tables.thread_ts == message.ts and tables.mimetype == "text/plain"
    assert tables.content is not None and b"route" in tables.content and b"$/appr." in tables.content
    replies = [m.files for m in slack.workspace.replies(CHANNEL, message.ts) if m.is_reply]
    assert replies == [(chart.id,), (tables.id,)]
    # A restart posting the same week again is refused by the claim.
    assert not post_digest(
        seeded, web_client(slack), config, "2026-W47", "bot-restarted", SLOT + timedelta(hours=2)
    )
    assert len(top_level(slack)) == 1


def scheduler(
    store: AuditStore, client: WebClient, config: LanesConfig, clock: Clock, name: str
) -> BotScheduler:
    return BotScheduler(store=store, client=client, config=config, instance=name, clock=clock)


def test_missed_slot_is_posted_late_on_return(
    seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    # The bot was down on Monday morning and comes back on Wednesday.
    clock = Clock(SLOT + timedelta(days=2))
    assert scheduler(seeded, web_client(slack), config, clock, "bot-a").post_due()
    [message] = top_level(slack)
    assert "2026-W47 (late)" in message.text
    claim = seeded.digest_claim(CHANNEL, "2026-W47")
    assert claim is not None and claim.late
    # Another instance catching up finds the claim; nothing is posted twice.
    assert not scheduler(seeded, web_client(slack), config, clock, "bot-b").post_due()
    assert len(top_level(slack)) == 1


def test_on_time_slot_is_not_late_and_reports_the_previous_week(
    seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    clock = Clock(SLOT + timedelta(seconds=2))
    assert scheduler(seeded, web_client(slack), config, clock, "bot-a").post_due()
    claim = seeded.digest_claim(CHANNEL, "2026-W47")
    assert claim is not None and not claim.late
    assert "(late)" not in top_level(slack)[0].text


def test_starting_the_scheduler_catches_up_at_once(
    seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    bot = scheduler(seeded, web_client(slack), config, Clock(SLOT + timedelta(days=1)), "bot-a")
    assert bot.job_ids() == ["digest", "digest-catch-up", "prune-claims"]
    bot.start()
    try:
        assert slack.workspace.wait_until(lambda ws: len(ws.history(CHANNEL)) == 1, timeout=30)
    finally:
        bot.shutdown()
    claim = seeded.digest_claim(CHANNEL, "2026-W47")
    assert claim is not None and claim.late and claim.posted_at is not None


def test_failed_post_releases_the_claim_and_the_next_tick_retries(
    seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    slack.fail_next("chat.postMessage", "internal_error")
    clock = Clock(SLOT + timedelta(minutes=1))
    bot = scheduler(seeded, web_client(slack), config, clock, "bot-a")
    assert not bot.post_due()
    assert top_level(slack) == [] and seeded.digest_claim(CHANNEL, "2026-W47") is None
    clock.now += timedelta(minutes=10)
    assert bot.post_due()
    assert len(top_level(slack)) == 1


def test_a_claim_left_by_a_dead_instance_is_taken_over_once_stale(
    seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    # bot-dead claimed the week and died before posting.
    assert seeded.claim_digest_week(CHANNEL, "2026-W47", "bot-dead", SLOT, False)
    client = web_client(slack)
    assert not post_digest(seeded, client, config, "2026-W47", "bot-b", SLOT + timedelta(minutes=5))
    assert post_digest(seeded, client, config, "2026-W47", "bot-b", SLOT + timedelta(minutes=20))
    claim = seeded.digest_claim(CHANNEL, "2026-W47")
    assert claim is not None and claim.claimed_by == "bot-b" and claim.posted_at is not None
    # The dead instance waking up cannot mark the week as its own.
    assert not seeded.mark_digest_posted(CHANNEL, "2026-W47", "bot-dead", SLOT + timedelta(minutes=21), "1.2")
    assert len(top_level(slack)) == 1


def test_chart_failure_does_not_repost_the_digest(
    seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    slack.fail_next("files.getUploadURLExternal", "internal_error")
    client = web_client(slack)
    assert post_digest(seeded, client, config, "2026-W47", "bot-a", SLOT)
    claim = seeded.digest_claim(CHANNEL, "2026-W47")
    assert claim is not None and claim.posted_at is not None
    assert [f.filename for f in slack.workspace.files.all()] == ["lanebot-digest-2026-W47-routes.txt"]
    assert not post_digest(seeded, client, config, "2026-W47", "bot-a", SLOT + timedelta(hours=1))
    assert len(top_level(slack)) == 1


def test_periodic_jobs_run_once_per_slot_across_instances(store: AuditStore, config: LanesConfig) -> None:
    calls: list[tuple[str, datetime]] = []
    every = timedelta(minutes=5)
    clock = Clock(datetime(2026, 11, 24, 10, 1, tzinfo=UTC))
    bots = [
        BotScheduler(store=store, client=WebClient(), config=config, instance=name, clock=clock,
                     expiry_sweep=lambda now, name=name: calls.append((name, now)))  # type: ignore[misc]
        for name in ("bot-a", "bot-b")
    ]  # fmt: skip
    sweep = bots[0].expiry_sweep
    assert sweep is not None
    assert bots[0].run_slot("expiry-sweep", every, sweep)
    clock.now += timedelta(minutes=2)  # same 10:00-10:05 slot
    assert not bots[1].run_slot("expiry-sweep", every, sweep)
    clock.now += timedelta(minutes=3)  # 10:06: a new slot
    assert bots[1].run_slot("expiry-sweep", every, sweep)
    assert [name for name, _ in calls] == [
        "bot-a",
        "bot-a",
    ]  # the callable of bots[0], claimed by each in turn
    assert slot_key("expiry-sweep", clock.now, every) == "expiry-sweep@2026-11-24T10:05:00Z"
    assert "expiry-sweep" in bots[0].job_ids()


def test_digest_trigger_fires_monday_0900_berlin_across_dst() -> None:
    trigger = digest_trigger("mon 09:00", "Europe/Berlin")
    after = datetime(2026, 11, 18, 12, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, after)
    assert fire is not None and fire.astimezone(UTC) == SLOT  # 08:00 UTC in winter
    summer = trigger.get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=UTC))
    assert summer is not None and summer.astimezone(UTC) == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)


def test_schedule_settings_mark_late_after_the_grace(
    seeded: AuditStore, config: LanesConfig, slack: SlackStubServer
) -> None:
    clock = Clock(SLOT + timedelta(minutes=10))
    bot = BotScheduler(store=seeded, client=web_client(slack), config=config, instance="a", clock=clock,
                       settings=ScheduleSettings(late_after=timedelta(minutes=5)))  # fmt: skip
    assert bot.post_due()
    claim = seeded.digest_claim(CHANNEL, "2026-W47")
    assert claim is not None and claim.late
