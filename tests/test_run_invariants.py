"""Every run that starts ends truthfully: terminal or waiting for review, every attempt recorded.

Driven through the real engine, the real openai/anthropic SDK clients over HTTP against the
loopback model server, and the real store on SQLite and PostgreSQL. What used to leave runs
``running``: text no database takes (a lone surrogate in an answer, a NUL in a request), and an
exception nobody planned for in the middle of a run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanes.audit import Attempt
from lanes.values import RunResult
from storage.store import AuditStore
from tests.engine_rig import FAST, ask, build_engine, kinds, rig_config
from tests.fakes.model_servers import ModelServer, Ok, Status


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


def test_a_lone_surrogate_in_the_answer_is_repaired_recorded_and_drafted(server, store, redactor) -> None:  # type: ignore[no-untyped-def]
    server.script(FAST, Ok("Thanks \ud83d for writing \udc00 in."))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", "Where is my parcel?")

    assert result.status == "drafted"
    assert result.draft == "Thanks \ufffd for writing \ufffd in."
    run = store.get_run(result.run_id)
    assert run.status == "drafted" and run.text_repaired
    assert run.draft_text == "Thanks \ufffd for writing \ufffd in."
    assert kinds(store, result.run_id) == [("first", "fast", "ok", None)]


@pytest.mark.parametrize(
    "text",
    ["Refund\x00 please", "two\x00\x00nuls and a \x1b[31mcolour code", "lone \ud800 surrogate"],
    ids=["nul", "controls", "surrogate"],
)
def test_text_no_database_takes_in_the_request_is_repaired_before_the_model_sees_it(
    server,  # type: ignore[no-untyped-def]
    store,
    redactor,
    text: str,
) -> None:
    server.script(FAST, Ok("We will look into it."))
    engine = build_engine(rig_config(server), store, server, redactor)

    result = ask(engine, "support", text)

    assert result.status == "drafted"
    run = store.get_run(result.run_id)
    assert run.text_repaired and run.input_text is not None
    assert "\x00" not in run.input_text and "\x1b" not in run.input_text
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in run.input_text)
    (request,) = server.requests
    assert "\x00" not in request.prompt


class _ExplodingObserver:
    """An observer that breaks its promise not to raise: a stand-in for any bug mid-run."""

    def __init__(self) -> None:
        self.finished: list[RunResult] = []

    def attempt_finished(self, lane: str, attempt: Attempt) -> None:
        raise RuntimeError("observer bug")

    def run_finished(self, result: RunResult) -> None:
        self.finished.append(result)


def test_an_unexpected_exception_mid_run_is_a_recorded_failure_not_a_running_run(
    server,  # type: ignore[no-untyped-def]
    store: AuditStore,
    redactor,
) -> None:
    server.script(FAST, Status(503))  # the failed attempt is recorded, then the observer raises
    engine = build_engine(rig_config(server), store, server, redactor, observer=_ExplodingObserver())

    result = ask(engine, "support", "Where is my parcel?")

    assert result.status == "failed"
    assert "internal error (RuntimeError)" in result.message
    run = store.get_run(result.run_id)
    assert run.status == "failed" and run.error is not None and "internal error" in run.error
    assert kinds(store, result.run_id) == [("first", "fast", "failed", "server_error")]
    assert len(server.requests) == 1  # the model call on the wire has its attempt row
