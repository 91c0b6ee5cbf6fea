"""Text that a database or Slack cannot take, through the whole Slack app on both databases.

A lone UTF-16 surrogate in a model's answer and a NUL in a slash command used to leave the run
``running`` (the write failed, the attempt was lost, recovery later called it "interrupted") and,
on PostgreSQL, blamed ``DATABASE_URL``. Now the text is repaired at the boundary, the run ends
normally with its attempt recorded and says it was repaired, and nothing unpostable reaches Slack.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import Ok
from tests.slack_harness import lanes_config, running_bot, slack_and_models


@pytest.fixture
def stack(db_url: str) -> Iterator[tuple[str, object, object]]:
    with slack_and_models() as (stub, models):
        yield db_url, stub, models


def _unpostable(text: str) -> bool:
    return "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in text)


@pytest.mark.parametrize(
    ("request_text", "answer"),
    [
        ("Where is my parcel?", "We are on it \ud83d and will write \udc00 soon."),
        ("Where is\x00 my parcel?", "We are on it and will write soon."),
        ("Refund\x1b please\x00", "A colleague \x00 will \ud800 follow up today."),
    ],
    ids=["surrogate-in-answer", "nul-in-request", "both"],
)
def test_unstorable_text_ends_in_a_normal_run_with_its_attempt_recorded(
    stack,  # type: ignore[no-untyped-def]
    request_text: str,
    answer: str,
) -> None:
    url, stub, models = stack
    models.always("gpt-5-mini", Ok(answer))
    with running_bot(url, models, stub, lanes_config(models)) as bot:
        run = bot.ask("U0ASKER", request_text)
        bot.settle()

        record = bot.run(run.id)
        assert record.status == "drafted"
        assert record.text_repaired
        assert [(a.kind, a.outcome) for a in record.attempts] == [("first", "ok")]
        assert record.draft_text is not None and not _unpostable(record.draft_text)
        assert record.input_text is not None and not _unpostable(record.input_text)
        posted = list(_strings([m.to_api(team_id="T") for m in stub.workspace.all_messages()]))
        posted += list(_strings([dict(c.params) for c in stub.workspace.calls("response_url")]))
        assert [text for text in posted if _unpostable(text)] == []
        assert not any("DATABASE_URL" in text or "nothing is lost" in text for text in posted)


def _strings(value: object) -> Iterator[str]:
    """Every string inside a JSON-like value, as the raw Python string (no escaping)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
