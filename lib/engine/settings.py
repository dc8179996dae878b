"""Configuration from environment variables and `.streamlit/secrets.toml`.

Environment variables win over secrets so an operator can override a checked-in secrets file per
deployment. Everything here is fixed by the operator; what a browser user may change lives in the
sidebar and is limited by `allowed_endpoints`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.engine.provider_config import BUILTIN_CONTEXT_LENGTH, DEFAULT_READ_TIMEOUT

DEFAULT_OLLAMA_HOST = "http://localhost:11434"
DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "contract-review-studio"


def _switch(value: Any, default: bool) -> bool:
    """An on/off setting: 1/true/yes/on and 0/false/no/off, anything else the default."""
    word = str(value).strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    return default


def _endpoint_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(item).strip().rstrip("/") for item in items if str(item).strip())


def _concurrency(value: Any) -> dict[str, int]:
    """`ollama=2,anthropic=8` (or a secrets table) → {"ollama": 2, "anthropic": 8}; junk ignored."""
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items()]
    else:
        pairs = [tuple(p.split("=", 1)) for p in str(value or "").split(",") if "=" in p]
    out: dict[str, int] = {}
    for name, number in pairs:
        try:
            out[str(name).strip().lower()] = max(1, int(str(number).strip()))
        except ValueError:
            continue
    return out


@dataclass(frozen=True)
class Settings:
    ollama_host: str = DEFAULT_OLLAMA_HOST
    openai_base_url: str = ""
    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str = DEFAULT_ANTHROPIC_BASE_URL
    # When non-empty, the only base URLs a browser user may choose (shared deployments).
    allowed_endpoints: tuple[str, ...] = ()
    read_timeout: float = DEFAULT_READ_TIMEOUT
    history_enabled: bool = True
    history_db_path: Path = field(default_factory=lambda: default_data_dir() / "history.sqlite3")
    store_contract_text: bool = False
    # Directory uploaded files are copied to; None keeps uploads in memory only.
    upload_dir: Path | None = None
    builtin_enabled: bool = True
    builtin_context_length: int = BUILTIN_CONTEXT_LENGTH
    # Server folders a batch may read contracts (or CUAD-layout labels) from; none: uploads only.
    batch_dirs: tuple[Path, ...] = ()
    # Requests in flight per endpoint in a batch, by provider value (e.g. {"ollama": 2}).
    batch_concurrency: Mapping[str, int] = field(default_factory=dict)
    # Claude prices per million tokens (input, output), overriding the built-in table.
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    # A team's shared run log (`postgresql://…`); None keeps the SQLite file above.
    database_url: str | None = field(default=None, repr=False)
    # Request header a trusted reverse proxy sets to the signed-in user (e.g. X-Forwarded-User).
    user_header: str | None = None
    # Users who see every run (lower case); everyone else sees their own.
    admins: frozenset[str] = frozenset()
    # Without any identity, let every session of a served app see every run.
    shared_log: bool = False

    @property
    def endpoints_locked(self) -> bool:
        return bool(self.allowed_endpoints)


def load_settings(env: Mapping[str, str], secrets: Mapping[str, Any] | None = None) -> Settings:
    secrets = secrets or {}

    def get(name: str, default: Any = None) -> Any:
        if name in env and env[name] != "":
            return env[name]
        return secrets.get(name, secrets.get(name.lower(), default))

    prices: dict[str, tuple[float, float]] = {}
    for model, pair in dict(secrets.get("prices", {})).items():
        prices[str(model)] = (float(pair["input"]), float(pair["output"]))

    upload_dir = get("CRS_UPLOAD_DIR")
    batch_dirs = tuple(
        Path(item).expanduser() for item in _endpoint_list(get("CRS_BATCH_DIRS")) if item
    )
    return Settings(
        ollama_host=str(get("OLLAMA_HOST", DEFAULT_OLLAMA_HOST)).rstrip("/"),
        openai_base_url=str(get("OPENAI_BASE_URL", "")).rstrip("/"),
        openai_api_key=get("OPENAI_API_KEY"),
        anthropic_api_key=get("ANTHROPIC_API_KEY"),
        anthropic_base_url=str(get("ANTHROPIC_BASE_URL", DEFAULT_ANTHROPIC_BASE_URL)).rstrip("/"),
        allowed_endpoints=_endpoint_list(get("CRS_ALLOWED_ENDPOINTS")),
        read_timeout=float(get("CRS_READ_TIMEOUT", DEFAULT_READ_TIMEOUT)),
        history_enabled=_switch(get("CRS_HISTORY"), default=True),
        history_db_path=Path(get("CRS_HISTORY_DB", default_data_dir() / "history.sqlite3")),
        store_contract_text=_switch(get("CRS_STORE_CONTRACTS"), default=False),
        upload_dir=Path(upload_dir) if upload_dir else None,
        builtin_enabled=_switch(get("CRS_BUILTIN"), default=True),
        builtin_context_length=int(get("CRS_BUILTIN_CTX", BUILTIN_CONTEXT_LENGTH)),
        batch_dirs=batch_dirs,
        batch_concurrency=_concurrency(get("CRS_BATCH_CONCURRENCY")),
        prices=prices,
        database_url=get("CRS_DATABASE_URL") or None,
        user_header=get("CRS_USER_HEADER") or None,
        admins=frozenset(
            name.strip().lower() for name in str(get("CRS_ADMINS", "")).split(",") if name.strip()
        ),
        shared_log=_switch(get("CRS_SHARED_LOG"), default=False),
    )
