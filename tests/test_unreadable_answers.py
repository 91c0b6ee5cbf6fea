"""A model answer nobody can read is a failed attempt like any other: recorded, then one try on the
fallback. And whatever an adapter raises, the model call it made is on record.

Found by the lifecycle state machine (``test_lifecycle_stateful.py``): an HTTP 200 whose body was
cut off, was not JSON, or was JSON of the wrong shape escaped the adapters as ``JSONDecodeError``,
``AttributeError`` or ``TypeError``; the run ended "internal error" with the model request missing
from its attempts, and the fallback was never tried.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lanes.engine import Engine
from lanes.providers.base import Completion, CompletionRequest, Provider
from lanes.providers.registry import build_providers
from storage.redaction import Redactor
from storage.store import AuditStore
from tests.engine_rig import FAST, LOCAL, STRONG, FakeTime, ask, build_engine, kinds, rig_config
from tests.fakes import Malformed, ModelServer, Ok

BODIES = {
    "cut off": Malformed(),
    "not JSON": Malformed("upstream connect error or disconnect/reset before headers"),
    "an HTML error page": Malformed("<html><body>502 Bad Gateway</body></html>", "text/html"),
    "a JSON array": Malformed("[]"),
    "JSON of the wrong shape": Malformed('{"choices": [{"message": null}], "content": 5, "usage": "x"}'),
}


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize(
    ("text", "first", "tier", "kind"),
    [
        ("Where is my parcel?", FAST, "fast", "first"),  # OpenAI Chat Completions
        ("I want a refund", STRONG, "strong", "first"),  # Anthropic Messages (escalated by keyword)
    ],
    ids=["openai", "anthropic"],
)
def test_an_unreadable_answer_is_recorded_and_the_fallback_tried_once(
    server: ModelServer,
    store: AuditStore,
    redactor: Redactor,
    body: str,
    text: str,
    first: str,
    tier: str,
    kind: str,
) -> None:
    server.script(first, BODIES[body])
    server.script(LOCAL, Ok("A fallback draft."))
    engine = build_engine(rig_config(server, support={"checks": {}}), store, server, redactor)

    result = ask(engine, "support", text)

    assert (result.status, result.route_kind, result.draft) == ("drafted", "fallback", "A fallback draft.")
    assert kinds(store, result.run_id) == [
        (kind, tier, "failed", "server_error"),
        ("fallback", "local", "ok", None),
    ]
    failed = store.get_run(result.run_id).attempts[0]
    assert failed.error is not None and "could not read" in failed.error
    assert [r.model for r in server.requests] == [first, LOCAL]


class BrokenAdapter:
    """A provider with a bug: it makes the call, then raises what no adapter is meant to raise."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner

    def complete(self, request: CompletionRequest) -> Completion:
        self.inner.complete(request)
        raise RuntimeError("adapter bug: unexpected field")


def test_an_adapter_bug_still_leaves_the_call_on_record_and_the_run_failed_cleanly(
    server: ModelServer, store: AuditStore, redactor: Redactor
) -> None:
    config = rig_config(server, support={"checks": {}})
    providers = build_providers(config, server.env())
    time = FakeTime()
    engine = Engine(
        config,
        store,
        {**providers, "fast": BrokenAdapter(providers["fast"])},
        redactor=redactor,
        clock=time.clock,
        sleep=time.sleep,
    )

    result = ask(engine, "support", "Where is my parcel?")

    assert result.status == "failed" and result.draft is None
    assert "fast could not be used" in result.message and "RuntimeError" in result.message
    assert kinds(store, result.run_id) == [("first", "fast", "failed", "internal_error")]
    assert len(server.requests) == 1
    assert store.get_run(result.run_id).status == "failed"
