"""The circuit breaker with a hand-driven clock: closed, open, half-open, and back."""

from __future__ import annotations

import threading

import pytest

from lanes.breaker import CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(3, 60.0, clock)


def trip(breaker: CircuitBreaker, tier: str = "fast", times: int = 3) -> None:
    for _ in range(times):
        breaker.record_failure(tier)


def test_unknown_tiers_are_closed(breaker: CircuitBreaker) -> None:
    assert not breaker.is_open("fast")
    assert breaker.open_tiers() == frozenset()


def test_opens_after_n_consecutive_failures(breaker: CircuitBreaker) -> None:
    trip(breaker, times=2)
    assert not breaker.is_open("fast")
    breaker.record_failure("fast")
    assert breaker.is_open("fast")
    assert breaker.open_tiers() == frozenset({"fast"})
    assert not breaker.is_open("strong")


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    trip(breaker, times=2)
    breaker.record_success("fast")
    trip(breaker, times=2)
    assert not breaker.is_open("fast")


def test_stays_open_during_the_cooldown(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(59.9)
    assert breaker.is_open("fast")


def test_half_open_allows_exactly_one_probe(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(60)
    assert not breaker.is_open("fast")  # this caller is the probe
    assert breaker.is_open("fast")  # everyone else waits for it
    assert breaker.open_tiers() == frozenset({"fast"})


def test_successful_probe_closes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(60)
    assert not breaker.is_open("fast")
    breaker.record_success("fast")
    assert not breaker.is_open("fast")
    assert not breaker.is_open("fast")
    trip(breaker, times=2)
    assert not breaker.is_open("fast")  # the count started again from zero


def test_failed_probe_reopens_for_a_full_cooldown(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(60)
    assert not breaker.is_open("fast")
    clock.advance(5)
    breaker.record_failure("fast")
    clock.advance(59)
    assert breaker.is_open("fast")
    clock.advance(1)
    assert not breaker.is_open("fast")


def test_a_probe_that_never_reports_lapses(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(60)
    assert not breaker.is_open("fast")
    clock.advance(30)
    assert breaker.is_open("fast")
    clock.advance(30)
    assert not breaker.is_open("fast")


def test_open_tiers_is_a_snapshot_that_grants_nothing(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker, "fast")
    trip(breaker, "strong")
    clock.advance(60)
    trip(breaker, "strong")  # strong failed again: open for another cooldown
    assert breaker.open_tiers() == frozenset({"strong"})
    assert breaker.open_tiers() == frozenset({"strong"})
    assert not breaker.is_open("fast")  # the probe was still there to take


def test_open_tiers_can_claim_the_probes(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(60)
    assert breaker.open_tiers(claim_probes=True) == frozenset()  # the caller now holds the probe
    assert breaker.open_tiers() == frozenset({"fast"})
    assert breaker.is_open("fast")


def test_tiers_are_independent(breaker: CircuitBreaker) -> None:
    trip(breaker, "fast")
    trip(breaker, "local", times=2)
    assert breaker.open_tiers() == frozenset({"fast"})
    breaker.record_success("local")
    assert breaker.is_open("fast")


def test_concurrent_callers_in_half_open_get_one_probe(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(60)
    callers = 32
    barrier = threading.Barrier(callers)
    answers: list[bool] = []
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        answer = breaker.is_open("fast")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=ask) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [False] + [True] * (callers - 1)


def test_concurrent_failures_are_all_counted(clock: FakeClock) -> None:
    breaker = CircuitBreaker(400, 60.0, clock)
    threads = [threading.Thread(target=lambda: trip(breaker, times=50)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.is_open("fast")


@pytest.mark.parametrize(
    ("failures", "cooldown", "setting"), [(0, 60.0, "breaker_failures"), (3, 0.0, "cooldown_s")]
)
def test_bad_settings_name_the_fix(failures: int, cooldown: float, setting: str, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match=setting):
        CircuitBreaker(failures, cooldown, clock)
