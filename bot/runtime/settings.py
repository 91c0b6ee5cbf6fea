"""The Slack app's environment settings, read once in the entry point (never at import).

``lanes.toml`` says what the lanes are; this says where the bot runs: Slack credentials, the Web
API base URL (set for proxies and tests), the audit database and the lanes file. Values come from
the process environment or a ``.env`` file (the environment wins). Secrets are ``SecretStr`` so a
``repr`` or a log line never shows them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from lanes.errors import ConfigError
from storage.db import DEFAULT_DATABASE_URL

SLACK_API_URL = "https://slack.com/api/"
DEFAULT_ENV_FILE = ".env"


def default_instance_id() -> str:
    """Names this process in the audit (``owner_instance``) and in job claims."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(BaseSettings):
    """Where the bot runs. Build with ``load_settings``; tests pass values directly."""

    model_config = SettingsConfigDict(env_file=DEFAULT_ENV_FILE, env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    lanebot_config: str = "lanes.toml"
    lanebot_offline: bool = False
    port: int = Field(
        default=3000, ge=0, le=65535, validation_alias=AliasChoices("LANEBOT_PORT", "PORT", "port")
    )
    host: str = Field(default="0.0.0.0", validation_alias=AliasChoices("LANEBOT_HOST", "host"))
    instance_id: str = Field(
        default_factory=default_instance_id, validation_alias=AliasChoices("LANEBOT_INSTANCE", "instance_id")
    )
    http_threads: int = Field(
        default=16, ge=1, le=256, validation_alias=AliasChoices("LANEBOT_HTTP_THREADS", "http_threads")
    )
    """Threads serving HTTP requests and running Bolt listeners (acks, buttons). Never model calls."""

    _dotenv_path: str | None = PrivateAttr(default=DEFAULT_ENV_FILE)

    def bot_token(self) -> str:
        return _required(self.slack_bot_token, "SLACK_BOT_TOKEN", "the Bot User OAuth Token (xoxb-...)")

    def signing_secret(self) -> str:
        return _required(
            self.slack_signing_secret, "SLACK_SIGNING_SECRET", "Basic Information → Signing Secret"
        )

    def app_token(self) -> str:
        return _required(
            self.slack_app_token,
            "SLACK_APP_TOKEN",
            "an App-Level Token with connections:write (xapp-...), for Socket Mode",
        )

    def environment(self) -> dict[str, str]:
        """Process environment over the ``.env`` file: what model providers read their keys from."""
        values: dict[str, str] = {}
        if self._dotenv_path and Path(self._dotenv_path).is_file():
            values.update({k: v for k, v in dotenv_values(self._dotenv_path).items() if v is not None})
        values.update(os.environ)
        return values


def _required(value: SecretStr | None, name: str, what: str) -> str:
    if value is None or not value.get_secret_value().strip():
        raise ConfigError([f"{name} is not set; put {what} in the environment or in .env"])
    return value.get_secret_value().strip()


def load_settings(env_file: str | None = DEFAULT_ENV_FILE, **overrides: object) -> Settings:
    """Read the environment (and ``env_file`` if it exists); errors name the variable to fix."""
    try:
        settings = Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg, arg-type]
    except ValidationError as exc:
        raise ConfigError([_explain(error) for error in exc.errors()]) from None
    settings._dotenv_path = env_file
    return settings


def _explain(error: Mapping[str, object]) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()))  # type: ignore[attr-defined]
    return f"setting {location.upper()}: {error.get('msg')}; fix it in the environment or in .env"
