"""Which providers a user can pick, whether they answer, and where a contract would go.

Kept free of Streamlit so it can be tested directly; `lib.ui` draws it. Probes list models (a
cheap request every provider supports) and are cached briefly so a rerun does not hammer the
servers.

An operator's key belongs to the endpoint it was configured for: `api_key_for` hands it out only
for that endpoint, so a URL typed on a page (which the probe calls before anyone clicks
Review) gets no key unless the user types one.

A model may be served by several endpoints (`OLLAMA_HOST=http://gpu1:11434,http://gpu2:11434`):
such a choice names them all, comma-separated; each is checked as one endpoint would be, gets the
key configured for it alone, and the run goes to one of them (`lib.runs.endpoint_pool`).
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from urllib.parse import urlsplit

from lib.engine.errors import ErrorKind, ProviderError, redact
from lib.engine.provider_config import (
    Provider,
    ProviderConfig,
    join_endpoints,
    shown_url,
    split_endpoints,
)
from lib.engine.providers.registry import FALLBACK, SPECS, spec_for
from lib.engine.settings import Settings
from lib.engine.stream_model import list_models

PROBE_TTL_S = 15.0
PROBE_TIMEOUT_S = 2.0
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@dataclass(frozen=True)
class ProviderStatus:
    provider: Provider
    base_url: str
    available: bool
    models: list[str] = field(default_factory=list)
    problem: str | None = None
    # The failure's kind when the provider was asked and failed (refused the key, answered an
    # error, did not answer); None when it answered or was not asked (nothing configured).
    error_kind: ErrorKind | None = None

    @property
    def fix(self) -> str:
        return spec_for(self.provider).fix


def default_base_url(provider: Provider, settings: Settings) -> str:
    return settings.configured_endpoint(provider)


def is_configured(provider: Provider, settings: Settings) -> bool:
    """Whether the operator set this provider up: on, with the endpoint and key it needs."""
    spec = spec_for(provider)
    return (
        provider not in settings.disabled
        and (not spec.needs_endpoint or bool(settings.configured_endpoint(provider)))
        and (not spec.needs_key or settings.configured_key(provider) is not None)
    )


def endpoint_choices(provider: Provider, settings: Settings) -> list[str] | None:
    """The endpoints to pick from when they are locked; None when the user may type a URL.

    Providers whose endpoint is never typed (Claude, the models on this machine) have none.
    """
    if not spec_for(provider).typed_endpoint or not settings.endpoints_locked:
        return None
    return list(settings.allowed_for(provider))


def starting_endpoint(provider: Provider, settings: Settings) -> str:
    """The endpoint a choice that names none uses: the first allowed when locked, else the
    operator's."""
    choices = endpoint_choices(provider, settings)
    if choices is not None:
        return choices[0] if choices else ""
    return default_base_url(provider, settings)


def check_endpoint(provider: Provider, base_url: str, settings: Settings) -> str:
    """The URL to use (several, comma-separated, for a model on several servers), or ValueError
    when this deployment does not allow one of them for `provider`."""
    spec = spec_for(provider)
    if spec.on_this_machine:
        return ""
    url = base_url.strip().rstrip("/")
    if not spec.typed_endpoint:
        # Claude's endpoint is the operator's alone: a caller cannot redirect it (or its key).
        configured = default_base_url(provider, settings)
        if url and url not in (configured, shown_url(configured)):
            raise ValueError(f"The {spec.label} endpoint is set by the operator only.")
        return configured
    urls = tuple(_as_configured(provider, member, settings) for member in split_endpoints(url))
    allowed = {m for entry in settings.allowed_for(provider) for m in split_endpoints(entry)}
    for member in urls:
        _check_one(member, allowed if settings.endpoints_locked else None)
    return join_endpoints(urls)


def _as_configured(provider: Provider, url: str, settings: Settings) -> str:
    """The operator's endpoint that `url` names as `shown_url` shows it (pages, the run log and
    stored batches never hold the credentials an endpoint's URL may carry), else `url`."""
    for entry in (settings.configured_endpoint(provider), *settings.allowed_for(provider)):
        for member in split_endpoints(entry):
            if member != url and shown_url(member) == url:
                return member
    return url


def _check_one(url: str, allowed: set[str] | None) -> None:
    """One endpoint's rules: http(s), no query or fragment (the provider's paths are added to it),
    and one the operator allows when locked."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"“{shown_url(url)}” is not an http(s) URL.")
    if urlsplit(url).fragment or "#" in url or "?" in url:
        raise ValueError(
            f"“{shown_url(url)}” has a query (?) or a fragment (#); give the server's base URL"
            " alone (a key goes in the provider's key setting)."
        )
    if allowed is not None and url not in allowed:
        raise ValueError(
            "This deployment only allows the endpoints its operator listed (the operator adds one"
            " to CRS_ALLOWED_ENDPOINTS)."
        )


def api_key_for(
    provider: Provider, base_url: str, typed_key: str | None, settings: Settings
) -> str | None:
    """The key to send to `base_url` (one endpoint): what the user typed, else the operator's
    key for that very endpoint (of a configured list, the key configured for it alone)."""
    if not spec_for(provider).takes_key:
        return None
    if typed_key:
        return typed_key
    return settings.key_for_endpoint(provider, base_url)


def has_operator_key(provider: Provider, settings: Settings) -> bool:
    return settings.configured_key(provider) is not None


class Reach(StrEnum):
    """Where a provider's endpoint sends a contract."""

    SERVICE = "service"  # a hosted service, named by its spec
    NOWHERE = "nowhere"  # no server set yet
    THIS_MACHINE = "this_machine"
    OWN_NETWORK = "own_network"  # private addresses and local names: the organisation's servers
    ELSEWHERE = "elsewhere"


def reach(provider: Provider, base_url: str) -> Reach:
    """Where `base_url` (every endpoint of a pooled one) sends the contract: the rule behind the
    sidebar's line (`destination`) and whether a model with no price of its own costs nothing
    (`lib.runs.estimate`)."""
    spec = spec_for(provider)
    if spec.service:
        return Reach.SERVICE
    hosts = [urlsplit(url).hostname or "" for url in split_endpoints(base_url)]
    if not spec.on_this_machine and not any(hosts):
        return Reach.NOWHERE
    if spec.on_this_machine or all(_on_this_machine(h) for h in hosts):
        return Reach.THIS_MACHINE
    if all(_on_this_machine(h) or _on_own_network(h) for h in hosts):
        return Reach.OWN_NETWORK
    return Reach.ELSEWHERE


def _on_this_machine(host: str) -> bool:
    return host in LOCAL_HOSTS or host.startswith("127.")


# Names only a local network resolves (mDNS, home networks, private use).
LOCAL_SUFFIXES = (".local", ".internal", ".lan", ".home.arpa")


def _on_own_network(host: str) -> bool:
    """A private or link-local address, or a name only a local network resolves: a single label
    ("gpu1") or a local-use suffix."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return bool(host) and ("." not in host or host.endswith(LOCAL_SUFFIXES))
    return address.is_private or address.is_link_local


def destination(provider: Provider, base_url: str) -> str:
    """Where the contract goes, in one line, for the sidebar."""
    where = reach(provider, base_url)
    if where is Reach.SERVICE:
        return f"The contract is sent to {spec_for(provider).service}."
    if where is Reach.NOWHERE:
        return "No server is set: the contract goes nowhere until one is."
    if where is Reach.THIS_MACHINE:
        return "The contract stays on this machine."
    hosts = [urlsplit(url).hostname or "" for url in split_endpoints(base_url)]
    if len(hosts) > 1:
        return f"The contract is sent to one of {', '.join(dict.fromkeys(hosts))}."
    return f"The contract is sent to {hosts[0]}."


def make_config(
    provider: Provider,
    settings: Settings,
    *,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
) -> ProviderConfig:
    """`api_key` is what the user typed; the operator's key is added only for its own endpoint."""
    spec = spec_for(provider)
    typed = bool(api_key) and spec.takes_key  # `api_key_for` sends a typed key before any other
    context = settings.context_lengths.get(provider)
    if spec.on_this_machine:
        return ProviderConfig(provider, spec.fixed_model or model, context_length=context)
    url = base_url if base_url is not None else default_base_url(provider, settings)
    members = tuple(
        ProviderConfig(
            provider,
            spec.fixed_model or model,
            member,
            api_key=api_key_for(provider, member, api_key, settings),
            key_typed=typed,
            context_length=context,
            read_timeout=settings.read_timeout,
        )
        for member in split_endpoints(url) or ("",)
    )
    if len(members) == 1:
        return members[0]
    # The pooled config names every endpoint and holds no key: each member holds its own.
    return ProviderConfig(
        provider,
        spec.fixed_model or model,
        join_endpoints([m.base_url for m in members]),
        context_length=context,
        read_timeout=settings.read_timeout,
        pool=members,
    )


def _key_digest(api_key: str | None) -> str:
    """Probe results are shared per endpoint and key: another key may see other models (or none)."""
    return hashlib.sha256(api_key.encode()).hexdigest() if api_key else ""


_cache: dict[tuple[Provider, str, str], tuple[float, ProviderStatus]] = {}
_cache_lock = threading.Lock()


def missing(provider: Provider, base_url: str, api_key: str | None) -> str | None:
    """What a run of `provider` lacks before anything is asked, in words; None when nothing."""
    spec = spec_for(provider)
    if not spec.installed():
        return f"The {spec.label} is not installed."
    if spec.needs_endpoint and not base_url:
        return "No base URL is set."
    if spec.needs_key and not api_key:
        return "No API key is set."
    return None


def probe_choice(
    provider: Provider, base_url: str, typed_key: str | None, settings: Settings
) -> ProviderStatus:
    """`probe` for a choice's endpoint(s), each asked with its own key: for several, the first
    that answers (a model on several servers is the same model on each)."""
    statuses = []
    for member in split_endpoints(base_url) or (base_url,):
        status = probe(provider, member, api_key_for(provider, member, typed_key, settings))
        if status.available and status.models:
            return replace(status, base_url=base_url)
        statuses.append(status)
    return replace(statuses[0], base_url=base_url)


def probe(provider: Provider, base_url: str, api_key: str | None) -> ProviderStatus:
    """List the provider's models; a failure becomes a status with the reason, not an exception."""
    spec = spec_for(provider)
    if (problem := missing(provider, base_url, api_key)) is not None:
        return ProviderStatus(provider, base_url, False, problem=problem)
    if spec.fixed_model is not None:
        return ProviderStatus(provider, base_url, True, [spec.fixed_model])
    cache_key = (provider, base_url, _key_digest(api_key))
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
        status = ProviderStatus(provider, base_url, True, _keyless(list_models(config), config))
    except ProviderError as exc:
        status = ProviderStatus(provider, base_url, False, problem=exc.message, error_kind=exc.kind)
    with _cache_lock:
        _cache[cache_key] = (now, status)
    return status


def _keyless(models: list[str], config: ProviderConfig) -> list[str]:
    """The model ids a server listed, less any that holds the key sent to it (a server echoing
    the request's `Authorization` as a model id): scrubbed as an error message is (`redact`), an
    id would otherwise become the default model and carry the key into the `start` event, the
    run log and every page."""
    return [model for model in models if redact(model, *config.secrets) == model]


def choose_default(settings: Settings) -> Provider:
    """A configured, reachable real model first; the clause finder (no model) as the fallback."""
    ranked = sorted(
        (spec.default_rank, provider)
        for provider, spec in SPECS.items()
        if spec.default_rank is not None
    )
    for _, provider in ranked:
        if not is_configured(provider, settings):
            continue
        status = probe_choice(provider, starting_endpoint(provider, settings), None, settings)
        if status.available and status.models:
            return provider
    return FALLBACK


def provider_choices(settings: Settings) -> list[Provider]:
    """The providers offered, in the registry's order, less those the operator switched off."""
    return [provider for provider in SPECS if provider not in settings.disabled]


def second_choice(first: Provider) -> Provider:
    """Compare's right-hand default beside `first`: the clause finder, or the next provider."""
    if first is not FALLBACK:
        return FALLBACK
    return next(provider for provider in SPECS if provider is not FALLBACK)
