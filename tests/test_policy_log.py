"""Policy changes are on record: every distinct lanes.toml a process runs under is stored once
(canonical text, secrets scrubbed, sha256), every run points at it, and `lanebot policy log|show|
diff` say what changed and when. Runs go through the real engine and the real SDK clients
against the loopback model server; the store is SQLite and PostgreSQL."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli import main
from lanes.config import LaneConfig, load_config, parse_config
from lanes.engine import Engine
from lanes.policy_text import canonical_toml, changed_settings, policy_snapshot
from lanes.providers.registry import build_providers
from storage.policy_models import Policy
from tests.engine_rig import FakeTime, ask, build_engine, rig_config
from tests.fakes.model_servers import ModelServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def server():
    with ModelServer() as server:
        yield server


def instance_engine(config, store, server, redactor, time, instance):
    """An engine as another bot instance runs it: its own name and run ids."""
    ids = iter(range(1, 1000))
    return Engine(
        config,
        store,
        build_providers(config, server.env()),
        redactor=redactor,
        clock=time.clock,
        new_id=lambda: f"{instance}-{next(ids):04d}",
        instance=instance,
    )


def cheaper(config, **changes):
    lanes = dict(config.lanes)
    lanes["support"] = LaneConfig.model_validate({**lanes["support"].model_dump(by_alias=True), **changes})
    return config.model_copy(update={"lanes": lanes})


def test_canonical_text_reads_back_as_the_same_config() -> None:
    config = load_config(ROOT / "lanes.toml")
    text = canonical_toml(config)
    assert parse_config(tomllib.loads(text), source=config.source) == config
    # Keys that need quoting, escapes, unicode and empty tables survive too.
    raw = tomllib.loads((ROOT / "lanes.toml").read_text(encoding="utf-8"))
    raw["lanes"]["contract"]["schema"]["properties"]["odd key é"] = {
        "type": "string",
        "description": 'a "q"\t\\',
    }
    raw["lanes"]["support"]["prompts"]["fast"]["system"] = "line one\nline two \u00e9 \x7f"
    odd = parse_config(raw)
    assert parse_config(tomllib.loads(canonical_toml(odd))) == odd


def test_comments_and_key_order_do_not_make_a_new_policy(tmp_path: Path) -> None:
    shipped = (ROOT / "lanes.toml").read_text(encoding="utf-8")
    reordered = tmp_path / "lanes.toml"
    reordered.write_text(
        "# a comment\n" + shipped.replace("timeout_s = 20\n", "timeout_s = 20.0   # seconds\n")
    )
    same = policy_snapshot(load_config(reordered), str)
    assert same.hash == policy_snapshot(load_config(ROOT / "lanes.toml"), str).hash


def test_secrets_in_the_policy_are_scrubbed_before_hashing_and_storing(server, store, redactor) -> None:
    config = rig_config(server)
    secret = "sk-proj-" + "Q" * 40
    models = dict(config.models)
    models["local"] = models["local"].model_copy(update={"base_url": f"http://user:{secret}@127.0.0.1:1/v1"})
    config = config.model_copy(update={"models": models})
    engine = build_engine(config, store, server, redactor)
    ask(engine, "support", "Where is my parcel?")
    (entry,) = store.policies()
    assert secret not in store.get_policy(entry.hash).text
    assert "[SECRET" in store.get_policy(entry.hash).text


def test_each_policy_is_stored_once_and_every_run_points_at_it(server, store, redactor) -> None:
    config = rig_config(server)
    time = FakeTime()
    first = instance_engine(config, store, server, redactor, time, "bot-1")
    second = instance_engine(config, store, server, redactor, time, "bot-2")
    runs = [ask(first, "support", "Where is my parcel?"), ask(second, "support", "Where is my parcel?")]
    time.advance(3600)
    changed = instance_engine(cheaper(config, budget_daily_usd=2.0), store, server, redactor, time, "bot-3")
    runs.append(ask(changed, "support", "Where is my parcel?"))

    entries = store.policies()
    assert [(e.loaded_by, e.runs) for e in entries] == [("bot-1", 2), ("bot-3", 1)]
    assert [store.get_run(r.run_id).policy_hash for r in runs] == [entries[0].hash] * 2 + [entries[1].hash]
    with store._read() as session:
        assert session.scalar(select(func.count()).select_from(Policy)) == 2
    assert changed_settings(
        store.get_policy(entries[0].hash[:8]).text, store.get_policy(entries[1].hash).text
    ) == ["lanes.support.budget_daily_usd: 5.0 -> 2.0"]


def test_policy_log_show_and_diff_from_the_cli(server, store, redactor, db_url, capsys) -> None:
    config = rig_config(server)
    time = FakeTime()
    ask(instance_engine(config, store, server, redactor, time, "bot-1"), "support", "Where is my parcel?")
    time.advance(86400)
    worse = cheaper(config, escalate_when={"input_chars_over": 2500, "keywords": ["lawyer"]})
    ask(instance_engine(worse, store, server, redactor, time, "bot-2"), "support", "Where is my parcel?")
    old, new = store.policies()

    assert main(["policy", "log", "--database-url", db_url]) == 0
    out = capsys.readouterr().out
    assert old.short in out and new.short in out and "2026-11-19 10:00:00" in out
    assert f"lanebot policy diff {old.short} {new.short}" in out

    assert main(["policy", "diff", old.short, new.short, "--database-url", db_url]) == 0
    out = capsys.readouterr().out
    assert "1 setting changed" in out
    assert 'lanes.support.escalate_when.keywords: ["refund", "lawyer", "chargeback"] -> ["lawyer"]' in out
    assert (
        '-escalate_when = { input_chars_over = 2500, keywords = ["refund", "lawyer", "chargeback"] }' in out
    )

    assert main(["policy", "show", new.short, "--database-url", db_url]) == 0
    assert 'keywords = ["lawyer"]' in capsys.readouterr().out

    assert main(["policy", "diff", "0000ffff", new.short, "--database-url", db_url]) == 1
    err = capsys.readouterr().err
    assert "no stored policy with a hash starting '0000ffff'" in err and "lanebot policy log" in err
    assert "Traceback" not in err
