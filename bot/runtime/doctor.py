"""``lanebot doctor``: what a deployment needs, checked one thing at a time, each with its fix.

Each check answers with a ``Finding``: ``ok``; ``todo`` (not set up yet: a key or token nobody
has set, which a new team expects and can add later); or ``fail`` (set up but broken: a key the
provider rejects, a database that does not answer, a channel the bot cannot reach). Only ``fail``
makes the command exit non-zero, so ``lanebot init && lanebot doctor --offline`` in a fresh folder
passes and lists what remains.

The checks use the same code paths the bot uses (``load_config``, ``make_engine`` and the
migration head, the providers' ``complete`` with a one-token request, the Slack Web API client),
so a green doctor means those paths work, not that some separate probe does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from lanes.config import LanesConfig, load_config
from lanes.errors import ConfigError

State = Literal["ok", "todo", "fail"]


@dataclass(frozen=True)
class Finding:
    """One check's answer: what was checked, how it went, and what to do about it."""

    check: str
    state: State
    detail: str
    fix: str = ""


def check_config(path: Path) -> tuple[Finding, LanesConfig | None]:
    if not path.exists():
        return Finding("config", "fail", f"{path} does not exist", "run `lanebot init` to write one"), None
    try:
        config = load_config(path)
    except ConfigError as exc:
        return Finding(
            "config", "fail", str(exc).splitlines()[0], "fix lanes.toml; `lanebot check` lists all"
        ), None
    lanes = ", ".join(sorted(config.lanes))
    return Finding("config", "ok", f"{path}: {len(config.lanes)} lanes ({lanes})"), config


def check_database(url: str) -> Finding:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import make_engine, normalise_url
    from storage.migrate import current_revision, head_revision

    parsed = make_url(normalise_url(url))
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return Finding(
            "database", "todo", f"{shown} does not exist yet", "run `lanebot db upgrade` to create it"
        )
    engine = make_engine(url)
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        return Finding(
            "database", "fail", f"{shown} does not answer ({type(exc).__name__})",
            "check DATABASE_URL, that the server is up and the user may connect",
        )  # fmt: skip
    finally:
        engine.dispose()
    head = head_revision()
    if current != head:
        return Finding(
            "database", "todo", f"{shown} is at schema {current or 'none'}, lanebot needs {head}",
            "run `lanebot db upgrade` (the bot also migrates on start)",
        )  # fmt: skip
    return Finding("database", "ok", f"{shown}, schema {head}")


def check_models(config: LanesConfig, env: Mapping[str, str], *, offline: bool) -> list[Finding]:
    """One one-token call per configured tier (skipped ``--offline``): is its key accepted?"""
    if offline:
        return [
            Finding("models", "todo", "not checked (--offline)", "run `lanebot doctor` with your keys set")
        ]
    from lanes.providers.base import CompletionRequest
    from lanes.providers.errors import AuthError, ProviderError
    from lanes.providers.registry import build_providers

    providers = build_providers(config, env)
    findings = []
    for tier, spec in sorted(config.models.items()):
        name = f"model {tier}"
        request = CompletionRequest(
            model=spec.model, system="", prompt="ping", max_output_tokens=1, timeout_s=min(spec.timeout_s, 20)
        )
        try:
            providers[tier].complete(request)
        except AuthError as exc:
            missing = "is not set" in exc.message
            state: State = "todo" if missing else "fail"
            findings.append(
                Finding(
                    name,
                    state,
                    f"{spec.provider} {spec.model}: {exc.message}",
                    _key_fix(spec.api_key_env, spec.provider),
                )
            )
            continue
        except ProviderError as exc:
            findings.append(
                Finding(
                    name,
                    "fail",
                    f"{spec.provider} {spec.model}: {exc.reason_code}: {exc.message}",
                    "check the model name, base_url and the provider's status",
                )
            )
            continue
        findings.append(Finding(name, "ok", f"{spec.provider} {spec.model} answered"))
    return findings


def _key_fix(api_key_env: str | None, provider: str) -> str:
    default = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}.get(provider, "the key variable")
    return f"set {api_key_env or default} in the environment or .env"


def check_slack(config: LanesConfig, env: Mapping[str, str]) -> list[Finding]:
    """The bot token, the scopes the manifest asks for, and the digest channel."""
    token = env.get("SLACK_BOT_TOKEN")
    if not token:
        return [
            Finding(
                "slack",
                "todo",
                "SLACK_BOT_TOKEN is not set",
                "create the app from `lanebot manifest`, install it, set SLACK_BOT_TOKEN",
            )
        ]
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from bot.runtime.settings import SLACK_API_URL
    from bot.slack.manifest import BOT_SCOPES

    web = WebClient(token=token, base_url=env.get("SLACK_API_URL") or SLACK_API_URL, timeout=10)
    try:
        auth = web.auth_test()
    except SlackApiError as exc:
        return [
            Finding(
                "slack",
                "fail",
                f"auth.test: {exc.response.get('error')}",
                "the token was revoked or mistyped: copy the Bot User OAuth Token again",
            )
        ]
    except OSError as exc:
        return [
            Finding(
                "slack",
                "fail",
                f"Slack did not answer ({type(exc).__name__})",
                "check the network or SLACK_API_URL",
            )
        ]
    headers = {str(k).lower(): str(v) for k, v in (auth.headers or {}).items()}
    granted = {s.strip() for s in headers.get("x-oauth-scopes", "").split(",") if s.strip()}
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    findings = [Finding("slack", "ok", f"bot {auth.get('user')} in workspace {auth.get('team')}")]
    if missing:
        findings.append(
            Finding(
                "slack scopes",
                "fail",
                f"missing {', '.join(missing)}",
                "add them (or re-create the app from `lanebot manifest`) and reinstall",
            )
        )
    else:
        findings.append(Finding("slack scopes", "ok", ", ".join(BOT_SCOPES)))
    findings.append(_digest_channel(web, config.digest.channel if config.digest else None))
    return findings


def _digest_channel(web: object, channel: str | None) -> Finding:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    assert isinstance(web, WebClient)
    if channel is None:
        return Finding(
            "digest channel", "todo", "no [digest] channel in lanes.toml", 'add [digest] channel = "C..."'
        )
    try:
        info = web.conversations_info(channel=channel)
    except SlackApiError as exc:
        return Finding(
            "digest channel",
            "fail",
            f"{channel}: {exc.response.get('error')}",
            "use the channel's id (C...), and invite the bot: /invite @lanebot",
        )
    channel_info: dict[str, Any] = info.get("channel") or {}
    if not channel_info.get("is_member"):
        return Finding(
            "digest channel",
            "fail",
            f"{channel}: the bot is not a member",
            "invite it there: /invite @lanebot",
        )
    return Finding("digest channel", "ok", f"{channel}")


def run_doctor(config_file: Path, database: str, env: Mapping[str, str], *, offline: bool) -> list[Finding]:
    found, config = check_config(config_file)
    findings = [found, check_database(database)]
    if config is None:
        return findings
    return findings + check_models(config, env, offline=offline) + check_slack(config, env)
