"""Builds lanebot's Slack-free core (config, store, redactor, providers, engine, decisions).

One builder for every entry point (CLI, Slack app, playground, benchmarks), so they cannot drift
apart. Nothing here reads the environment by itself: the caller passes it in.

The heavy parts (SQLAlchemy, the model SDKs, the redactor) are imported inside the functions that
build them, so a command that only parses arguments or reads lanes.toml (``lanebot --help``,
``lanebot check``) starts without paying for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from lanes.clock import utcnow
from lanes.config import LanesConfig, load_config

if TYPE_CHECKING:
    from lanes.decisions import DecisionService, GroupDirectory
    from lanes.engine import Engine
    from lanes.providers.base import Provider
    from storage.redaction import Redactor
    from storage.store import AuditStore

DEFAULT_CONFIG = "lanes.toml"


@dataclass(frozen=True)
class Core:
    config: LanesConfig
    store: AuditStore
    redactor: Redactor
    providers: Mapping[str, Provider]
    engine: Engine
    decisions: DecisionService

    def close(self) -> None:
        self.store.engine.dispose()


def config_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    return Path(explicit or env.get("LANEBOT_CONFIG") or DEFAULT_CONFIG)


def database_url(explicit: str | None, env: Mapping[str, str]) -> str:
    from storage.db import DEFAULT_DATABASE_URL

    return explicit or env.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def open_store(url: str) -> AuditStore:
    """Open the audit store and apply migrations (safe on every start, from several instances)."""
    from storage.db import make_engine
    from storage.migrate import upgrade
    from storage.store import AuditStore

    engine = make_engine(url)
    upgrade(engine)
    return AuditStore(engine)


def build_core(
    *,
    config: LanesConfig | None = None,
    config_file: str | None = None,
    database: str | None = None,
    env: Mapping[str, str] | None = None,
    offline: bool = False,
    providers: Mapping[str, Provider] | None = None,
    groups: GroupDirectory | None = None,
    clock: Callable[[], datetime] = utcnow,
    instance: str = "local",
    store: AuditStore | None = None,
    redactor: Redactor | None = None,
) -> Core:
    """The core for one process. ``offline`` serves every tier with the offline sample model, which
    stands in for the tier's configured model: lanes.toml is not rewritten, so runs are recorded
    under the model that would have answered, at an estimated cost (``cost_estimated``)."""
    from lanes.decisions import DecisionService
    from lanes.engine import Engine
    from lanes.providers.registry import build_providers
    from storage.redaction import Redactor

    env = os.environ if env is None else env
    config = config or load_config(config_path(config_file, env))
    store = store or open_store(database_url(database, env))
    redactor = redactor or Redactor()
    providers = providers or build_providers(config, env, offline=offline)
    engine = Engine(config, store, providers, redactor=redactor, clock=clock, instance=instance)
    decisions = DecisionService(config, store, redactor, groups=groups, clock=clock)
    return Core(config, store, redactor, providers, engine, decisions)
