"""How the API is served: address, token, resume grace period, keep-alive and stats intervals.

Everything about the models (providers, endpoints, the endpoint lock, the run log) comes from the
same `Settings` the pages use; this holds only what is particular to serving HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.engine.settings import (
    Settings,
    load_settings,
    number_setting,
    read_secrets_file,
    setting_reader,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8502
# How long a run whose client asked for resume keeps streaming with nobody connected. Long enough
# for a laptop to switch networks or a phone to leave a tunnel, short enough that an abandoned run
# does not bill many tokens.
DEFAULT_RESUME_GRACE_S = 30.0
# Under the 30-60 s idle timeouts of common proxies and load balancers, with room to spare.
DEFAULT_KEEPALIVE_S = 10.0
STATS_INTERVAL_S = 1.0


class ConfigError(ValueError):
    """The API must not start as configured; the message says what to set."""


@dataclass(frozen=True)
class ApiConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    token: str | None = field(default=None, repr=False)
    # CRS_API_TOKENS: one token per user (token → user); a caller's runs are theirs alone.
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    resume_grace_s: float = DEFAULT_RESUME_GRACE_S
    keepalive_s: float = DEFAULT_KEEPALIVE_S
    stats_interval_s: float = STATS_INTERVAL_S

    def check(self, settings: Settings) -> None:
        """Refuse to serve a team without a way to name each caller (the pages' rule,
        `Settings.serves_a_team`): one token per user, or a proxy trusted to name them. The one
        shared CRS_API_TOKEN names nobody, so it is not enough."""
        if problem := settings.identity_problem:
            raise ConfigError(problem)
        if settings.serves_a_team and not self.tokens and not settings.trusts_a_proxy:
            raise ConfigError(
                f"This API serves a team ({'; '.join(settings.team_reasons)}), so it must know"
                " who each caller is: set"
                " CRS_API_TOKENS to one long random token per user (token:user,…; clients send"
                " `Authorization: Bearer …`), or put it behind an authenticating proxy"
                " (CRS_USER_HEADER with CRS_PROXY_SECRET or CRS_TRUSTED_PROXIES)."
            )

    @property
    def requires_token(self) -> bool:
        return bool(self.token or self.tokens)


def api_config(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> ApiConfig:
    """The environment's values, else the secrets file's, as for every other setting."""
    get = setting_reader(env, secrets or {})

    def number(name: str, default: float) -> float:
        try:
            return number_setting(get, name, default)  # the pages' rule: no NaN, no negatives
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

    port = str(get("API_PORT", ""))
    if port and not (port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(f"API_PORT must be a port number (1 to 65535), not {port!r}.")
    return ApiConfig(
        host=get("API_HOST") or DEFAULT_HOST,
        port=int(port) if port else DEFAULT_PORT,
        token=get("CRS_API_TOKEN") or None,
        tokens=parse_tokens(str(get("CRS_API_TOKENS", ""))),
        resume_grace_s=number("CRS_API_RESUME_GRACE", DEFAULT_RESUME_GRACE_S),
        keepalive_s=number("CRS_API_KEEPALIVE", DEFAULT_KEEPALIVE_S),
    )


def parse_tokens(value: str) -> dict[str, str]:
    """`CRS_API_TOKENS=token1:alice@firm.example,token2:bob` → {token: user}."""
    tokens: dict[str, str] = {}
    for entry in value.split(","):
        token, sep, user = entry.strip().partition(":")
        if not sep or not token.strip() or not user.strip():
            if entry.strip():
                raise ConfigError("CRS_API_TOKENS entries are token:user, separated by commas.")
            continue
        tokens[token.strip()] = user.strip()
    return tokens


def server_settings(host: str = DEFAULT_HOST) -> Settings:
    """The pages' settings, knowing where the API listens (`host`), as the pages know theirs."""
    return load_settings(os.environ, read_secrets_file(), listen_address=host)
