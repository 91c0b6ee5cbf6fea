"""Configuration faults reach a lane's owners at once and once: the pure "once per fault" gate,
the observer fan-out, and the whole path through the real bot, the real SDKs and the Slack
stand-in (a rejected OpenAI key on the support lane's first tier)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lanes.faults import FaultGate
from lanes.observe import NoObserver, Observers
from tests.fakes import Auth, ModelServer, Ok, Status
from tests.slack_harness import Bot, lanes_config, running_bot, slack_and_models

FAST = "gpt-5-mini"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- the gate ---------------------------------------------------------------------------------------
def test_a_fault_is_news_once_until_it_clears() -> None:
    gate = FaultGate(cooldown_s=60, clock=Clock())

    assert gate.is_news("support", "fast", "auth")
    assert not gate.is_news("support", "fast", "auth"), "the second run with the same fault is not news"
    assert gate.is_news("support", "fast", "quota"), "another reason is another fault"
    assert gate.is_news("contract", "fast", "auth"), "another lane has other owners"
    assert gate.is_news("support", "strong", "auth")

    gate.cleared("fast")  # the tier answered a call

    assert gate.is_news("support", "fast", "auth") and gate.is_news("support", "fast", "quota")
    assert not gate.is_news("support", "strong", "auth"), "clearing one tier leaves the others"


def test_a_persisting_fault_is_repeated_after_the_cool_down() -> None:
    clock = Clock()
    gate = FaultGate(cooldown_s=60, clock=clock)
    assert gate.is_news("support", "fast", "auth")

    clock.now += 59
    assert not gate.is_news("support", "fast", "auth")
    clock.now += 1
    assert gate.is_news("support", "fast", "auth")
    assert not gate.is_news("support", "fast", "auth")


def test_concurrent_runs_meeting_one_fault_report_it_once() -> None:
    gate = FaultGate()
    news: list[bool] = []
    start = threading.Barrier(16)

    def meet() -> None:
        start.wait()
        news.append(gate.is_news("support", "fast", "auth"))

    threads = [threading.Thread(target=meet) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert news.count(True) == 1


def test_the_cool_down_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        FaultGate(cooldown_s=0)


# --- the fan-out ----------------------------------------------------------------------------------
class Recording(NoObserver):
    def __init__(self) -> None:
        self.faults: list[tuple[str, str, str, str]] = []

    def config_fault(self, lane: str, tier: str, reason_code: str, message: str) -> None:
        self.faults.append((lane, tier, reason_code, message))


class Raising(NoObserver):
    def config_fault(self, lane: str, tier: str, reason_code: str, message: str) -> None:
        raise RuntimeError("observer bug")


def test_an_observer_that_raises_does_not_keep_the_others_from_hearing() -> None:
    first, last = Recording(), Recording()

    Observers(first, Raising(), last).config_fault("support", "fast", "auth", "bad key")

    assert first.faults == last.faults == [("support", "fast", "auth", "bad key")]


# --- through the bot, the SDKs and the Slack stand-in ----------------------------------------------
@pytest.fixture
def bot(sqlite_url: str, request: pytest.FixtureRequest) -> Iterator[Bot]:
    owners = getattr(request, "param", ["U0OWNER"])
    with slack_and_models() as (stub, models):
        config = lanes_config(models, lanes={"support": {"owners": owners, "checks": {}}})
        with running_bot(sqlite_url, models, stub, config) as running:
            yield running


def fault_dms(bot: Bot) -> list[dict[str, Any]]:
    return [
        dict(call.params)
        for call in bot.ws.calls("chat.postMessage")
        if "cannot be used" in str(call.params.get("text", ""))
    ]


def test_a_rejected_key_is_told_to_the_lane_owner_once_not_per_run(bot: Bot) -> None:
    models: ModelServer = bot.models
    models.always(FAST, Auth())

    runs = [bot.ask("U0ASKER", f"Where is parcel {n}?") for n in range(3)]

    assert [run.status for run in runs] == ["drafted"] * 3, "the fallback has other credentials"
    (dm,) = fault_dms(bot)
    assert dm["channel"] == "U0OWNER"
    text = dm["text"]
    assert "*support*" in text and "*fast*" in text and "OPENAI_API_KEY" in text
    assert "refused" in text and "sk-test" not in text
    assert bot.ws.calls("chat.postMessage")[-1].error is None


def test_the_fault_is_told_again_after_it_cleared_and_came_back(bot: Bot) -> None:
    models: ModelServer = bot.models
    models.script(FAST, Auth(), Auth(), Ok("Key fixed."), Auth())

    statuses = [bot.ask("U0ASKER", text).status for text in ("one", "two", "three", "four")]

    assert statuses == ["drafted"] * 4
    dms = fault_dms(bot)
    assert len(dms) == 2, "told at the first fault, quiet on the repeat, told again once it came back"
    assert all("API key is missing or was refused" in dm["text"] for dm in dms)


def test_an_exhausted_quota_names_billing(bot: Bot) -> None:
    quota = Status(429, error_type="insufficient_quota", error_code="insufficient_quota")
    bot.models.always(FAST, quota)

    bot.ask("U0ASKER", "Hello")

    (dm,) = fault_dms(bot)
    assert "out of quota or credit" in dm["text"] and "billing" in dm["text"]


@pytest.mark.parametrize("bot", [["S0SUPPORT", "U0OWNER"]], indirect=True)
def test_a_group_of_owners_is_told_member_by_member_once_each(bot: Bot) -> None:
    bot.models.always(FAST, Auth())

    bot.ask("U0ASKER", "Hello")

    assert sorted(dm["channel"] for dm in fault_dms(bot)) == ["U0OWNER", "U0REVIEW"]
