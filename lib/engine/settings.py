"""Configuration from environment variables and `.streamlit/secrets.toml`.

Environment variables win over secrets so an operator can override a checked-in secrets file per
deployment. Everything here is fixed by the operator; what a browser user may change lives in the
sidebar and is limited by `endpoints_locked` and `allowed_for`.

Endpoints are locked (a browser user picks among the operator's endpoints instead of typing a URL)
when the operator lists them (`CRS_ALLOWED_ENDPOINTS`) or asks for it (`CRS_LOCK_ENDPOINTS=1`: an
app behind a reverse proxy on the same machine listens on loopback yet serves a team), and
whenever the app listens beyond loopback, unless the operator opts out with
`CRS_UNLOCK_ENDPOINTS=1`. A free URL box on a served
app lets anyone who reaches the page make this server send requests (with contract text) anywhere
it can reach, internal services included.

Whether the app serves a team (`Settings.serves_a_team`) is one rule every front end uses: a team
must be told apart (each caller's runs are theirs) and, for the API, callers it cannot name are
refused. Who a caller is, when a reverse proxy names them, is `Settings.proxy_user`: the user header
is believed only from the proxy (its shared secret, or its address), never from whoever reaches the
port directly.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lib.analysis.documents import Limits
from lib.engine.limits import (
    DEFAULT_MAX_CONCURRENT_RUNS,
    DEFAULT_MAX_OUTPUT_CHARS,
    DEFAULT_MAX_RUN_SECONDS,
    OcrLimits,
    RunLimits,
    Sandbox,
)
from lib.engine.provider_config import (
    DEFAULT_READ_TIMEOUT,
    Provider,
    join_endpoints,
    split_endpoints,
)
from lib.engine.providers.registry import SPECS, spec_for

LOOPBACK_ADDRESSES = {"127.0.0.1", "::1", "localhost"}
OLLAMA_PORT = 11434
SECRETS_FILE = Path(".streamlit") / "secrets.toml"
# The environment as the process started, before Streamlit copies the top-level values of its
# secrets files into it (see `operator_environment`).
_STARTED_WITH = dict(os.environ)
# Host names a server on loopback answers to whatever the operator lists (`allowed_hosts`).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
# The header an authenticating proxy adds with `CRS_PROXY_SECRET`, overwriting any a client sent.
PROXY_SECRET_HEADER = "X-CRS-Proxy-Secret"
# Anything shorter could be guessed by a local process trying values against the loopback port.
MIN_SECRET_CHARS = 32
# Headers a reverse proxy, load balancer or CDN adds: a request carrying one came through a proxy,
# so from anyone who reaches it, whatever address the app listens on. nginx's bare `proxy_pass`
# adds none of them: naming the app in CRS_ALLOWED_HOSTS says as much (`serves_a_team`).
FORWARDING_HEADERS = (
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-server",
    "x-forwarded-port",
    "x-original-forwarded-for",
    "via",
    "true-client-ip",
    "cf-connecting-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "fastly-client-ip",
)
ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "contract-review-studio"


def _switch(get: Callable[..., Any], name: str, default: bool) -> bool:
    """An on/off setting: 1/true/yes/on and 0/false/no/off, the default when unset. Any other
    word stops the app naming it: "CRS_LOCK_ENDPOINTS=enabled" left the endpoints open."""
    value = get(name)
    if value is None or value == "":
        return default
    word = str(value).strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ValueError(
        f"{name} must be on or off, not {value!r} (1, true, yes or on; 0, false, no or off)."
    )


def _endpoint_list(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(item).strip().rstrip("/") for item in items if str(item).strip())


def _key_list(value: str) -> list[str]:
    """`ka,,kc` → one key per endpoint, in order (empty: that endpoint takes none)."""
    return [item.strip() for item in value.split(",")]


def _endpoints_and_keys(
    get: Callable[..., Any], in_file: Callable[..., Any], in_env: Callable[[str], bool]
) -> tuple[dict[Provider, str], dict[Provider, str]]:
    """Each provider's endpoint (a list for the providers whose URL a user may pick) and key.

    A key must never reach an endpoint it was not configured for, so the app stops rather than
    guess: a list of endpoints takes one key per endpoint, in the same order, and a key from the
    secrets file does not follow an endpoint the environment overrides (an operator pointing a
    deployment at a test server would otherwise send it the production key)."""
    endpoints: dict[Provider, str] = {}
    for provider, spec in SPECS.items():
        if not spec.endpoint_variable:
            continue
        raw = str(get(spec.endpoint_variable, spec.default_endpoint))
        if not spec.typed_endpoint and urlsplit(raw).scheme not in ("http", "https"):
            # Typed endpoints are checked where they are chosen; this one was only refused by
            # every run's "cannot connect". The value is not echoed: it may hold a credential.
            raise ValueError(f"{spec.endpoint_variable} must start with http:// or https://.")
        endpoints[provider] = (
            join_endpoints([_with_scheme(spec.endpoint_variable, u) for u in split_endpoints(raw)])
            if spec.typed_endpoint
            else raw.rstrip("/")
        )
    keys = {
        provider: str(key)
        for provider, spec in SPECS.items()
        if spec.key_variable and (key := get(spec.key_variable))
    }
    for provider, key in keys.items():
        spec = spec_for(provider)
        count = max(1, len(split_endpoints(endpoints.get(provider, ""))))
        if len(_key_list(key)) != count:
            raise ValueError(
                f"{spec.key_variable}: {spec.endpoint_variable} lists {count} endpoint"
                f"{'s' if count != 1 else ''}; give one key per endpoint, in the same order,"
                " separated by commas (leave an entry empty for an endpoint that takes none)."
            )
        variable = spec.endpoint_variable
        if (
            variable
            and in_env(variable)
            and not in_env(str(spec.key_variable))
            and str(get(variable)).rstrip("/")
            != str(in_file(variable, spec.default_endpoint)).rstrip("/")
        ):
            raise ValueError(
                f"{spec.key_variable} comes from .streamlit/secrets.toml but {variable} from the"
                f" environment: a key goes only to the endpoint configured beside it. Set"
                f" {spec.key_variable} in the environment too, or {variable} in the secrets file."
            )
    return endpoints, keys


def _with_scheme(variable: str, url: str) -> str:
    """`OLLAMA_HOST` as Ollama itself reads it: `host`, `host:port` or a URL (http and port 11434
    when left out), so the value exported for `ollama serve` works here too."""
    if variable != "OLLAMA_HOST" or "://" in url:
        return url
    host = url.strip("/")
    try:
        if not urlsplit(f"http://{host}").port:
            host = f"{host}:{OLLAMA_PORT}"
    except ValueError:
        return url  # not a port: the endpoint check names the value
    return f"http://{host}"


def _concurrency(value: Any) -> dict[str, int]:
    """`ollama=2,anthropic=8` (or a secrets table) → {"ollama": 2, "anthropic": 8}."""
    if isinstance(value, Mapping):
        pairs = [f"{k}={v}" for k, v in value.items()]
    else:
        pairs = [p for p in str(value or "").split(",") if p.strip()]
    return concurrency_pairs(pairs, "CRS_BATCH_CONCURRENCY")


def concurrency_pairs(pairs: Iterable[str], where: str) -> dict[str, int]:
    """`provider=N` pairs, each provider known and N at least 1, for the setting and for
    `crs-batch --concurrency` alike: "ollama=two" or "olama=3" dropped silently left the
    defaults in place."""
    out: dict[str, int] = {}
    known = {p.value for p in SPECS}
    for pair in pairs:
        name, _, number = str(pair).partition("=")
        provider = name.strip().lower().replace("-", "_")
        if not number.strip().isdigit() or int(number) < 1:
            raise ValueError(f"{where} takes provider=N with N at least 1, not {pair!r}.")
        if provider not in known:
            names = ", ".join(sorted(p.replace("_", "-") for p in known))
            raise ValueError(f"Unknown provider in {where} {pair!r}: use one of {names}.")
        out[provider] = int(number)
    return out


def _split_prefix(entry: str) -> tuple[Provider | None, str]:
    """`openai:http://host/v1` → (OPENAI, url); an entry without a provider prefix → (None, url).

    A prefix names a provider whose server URL a user may pick; unprefixed entries are offered to
    every such provider (Claude's endpoint is its own variable only)."""
    head, sep, rest = entry.partition(":")
    typed = {p.value: p for p, spec in SPECS.items() if spec.typed_endpoint}
    if sep and head.lower() in typed and not rest.startswith("//"):
        return typed[head.lower()], rest.strip().rstrip("/")
    return None, entry


def number_setting(
    get: Callable[..., Any], name: str, default: float, *, positive: bool = False
) -> float:
    """A numeric setting, or `default` when unset. A value that is not a number, is negative
    (or, where it must be, not above 0) stops the app naming it: a typo must not leave a limit
    at its default unnoticed, and "-5" switched a limit off as 0 does."""
    value = get(name)
    if value is None or value == "":
        return default
    bound = "above 0" if positive else "0 or more"
    refusal = ValueError(f"{name} must be a number {bound}, not {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise refusal from None
    if not math.isfinite(number) or number < 0 or (positive and not number > 0):
        raise refusal  # "inf" would overflow a count, "nan" would mean no limit at all
    return number


def _count(get: Callable[..., Any], name: str, default: int, *, positive: bool = False) -> int:
    """A whole-number setting (pages, characters, runs): "0.5" pages was 0, refusing every PDF."""
    number = float(number_setting(get, name, default, positive=positive))
    if not number.is_integer():
        raise ValueError(f"{name} must be a whole number, not {get(name)!r}.")
    return int(number)


def _reader_limits(get: Callable[..., Any]) -> tuple[Limits, Sandbox]:
    """CRS_MAX_UPLOAD_MB, CRS_MAX_PAGES, CRS_MAX_PASTE_CHARS, CRS_PARSE_MEMORY_MB and
    CRS_PARSE_SECONDS (each above 0), and CRS_MAX_PARSES, document-reader children at once (0: no
    cap)."""
    base, box = Limits(), Sandbox()
    limits = replace(
        base,
        max_bytes=int(
            number_setting(get, "CRS_MAX_UPLOAD_MB", base.max_bytes / 1_048_576, positive=True)
            * 1_048_576
        ),
        max_pages=_count(get, "CRS_MAX_PAGES", base.max_pages, positive=True),
        max_chars=_count(get, "CRS_MAX_PASTE_CHARS", base.max_chars, positive=True),
    )
    sandbox = Sandbox(
        memory_mb=_count(get, "CRS_PARSE_MEMORY_MB", box.memory_mb, positive=True),
        seconds=number_setting(get, "CRS_PARSE_SECONDS", box.seconds, positive=True),
        max_children=_count(get, "CRS_MAX_PARSES", box.max_children),
    )
    return limits, sandbox


def _ocr_limits(get: Callable[..., Any]) -> OcrLimits:
    """CRS_OCR_MAX_PAGES, CRS_OCR_MEMORY_MB, CRS_OCR_SECONDS_PER_PAGE (each above 0), and
    CRS_OCR_MAX_SECONDS, the longest one OCR run may hold the OCR reader (0: no cap)."""
    base = OcrLimits()
    return OcrLimits(
        page_cap=_count(get, "CRS_OCR_MAX_PAGES", base.page_cap, positive=True),
        memory_mb=_count(get, "CRS_OCR_MEMORY_MB", base.memory_mb, positive=True),
        seconds_per_page=number_setting(
            get, "CRS_OCR_SECONDS_PER_PAGE", base.seconds_per_page, positive=True
        ),
        max_seconds=number_setting(get, "CRS_OCR_MAX_SECONDS", base.max_seconds),
    )


def builtin_cache_dir(env: Mapping[str, str]) -> Path:
    """Where the built-in model's file is assembled: CRS_BUILTIN_CACHE, else the user's cache."""
    override = env.get("CRS_BUILTIN_CACHE")
    if override:
        return Path(override)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "contract-review-studio"


def listens_beyond_loopback(address: str | None) -> bool:
    """Streamlit's `server.address`: unset or empty means every interface."""
    address = (address or "").strip().strip("[]")
    return address not in LOOPBACK_ADDRESSES and not address.startswith("127.")


class UntrustedUserHeader(ValueError):
    """A request named a user in the user header, but no trusted proxy sent it."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name in any letter case (Starlette's and Streamlit's mappings already are)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def arrived_through_proxy(headers: Mapping[str, str]) -> bool:
    """Whether a request carries what a reverse proxy adds (`X-Forwarded-For` and the like)."""
    return any(_header(headers, name) is not None for name in FORWARDING_HEADERS)


def _networks(value: Any) -> tuple[ProxyNetwork, ...]:
    """`10.0.0.5,10.1.0.0/24` → networks; a bad entry stops the app rather than trusting less."""
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in _endpoint_list(value))
    except ValueError as exc:
        raise ValueError(f"CRS_TRUSTED_PROXIES: {exc}") from None


def _covers_loopback(network: ProxyNetwork) -> bool:
    loopback = ipaddress.ip_network("127.0.0.0/8" if network.version == 4 else "::1/128")
    return network.overlaps(loopback)


def _loopback_name(name: str) -> bool:
    """`localhost`, `127.0.0.1`, `::1` or `[::1]`, with or without a port."""
    host = urlsplit(f"//{name}").hostname or name
    return host in LOOPBACK_ADDRESSES


def _host_names(value: Any) -> tuple[str, ...]:
    return tuple(item.lower() for item in _endpoint_list(value))


@dataclass(frozen=True)
class Settings:
    # The operator's endpoint and key per provider (each provider's spec names its variables);
    # several endpoints comma-separated, with one key per endpoint in the same order.
    endpoints: Mapping[Provider, str] = field(
        default_factory=lambda: {p: s.default_endpoint for p, s in SPECS.items()}
    )
    api_keys: Mapping[Provider, str] = field(default_factory=dict, repr=False)
    # Extra base URLs a browser user may choose when endpoints are locked (see the module doc).
    allowed_endpoints: tuple[str, ...] = ()
    # The address the app listens on (Streamlit's server.address); None or "" means every interface.
    listen_address: str | None = "127.0.0.1"
    lock_endpoints: bool = False
    unlock_endpoints: bool = False
    read_timeout: float = DEFAULT_READ_TIMEOUT
    history_enabled: bool = True
    history_db_path: Path = field(default_factory=lambda: default_data_dir() / "history.sqlite3")
    store_contract_text: bool = False
    # Directory uploaded files are copied to; None keeps uploads in memory only.
    upload_dir: Path | None = None
    # Providers the operator switched off (a spec's `enable_variable`, e.g. CRS_BUILTIN=0).
    disabled: frozenset[Provider] = frozenset()
    # Context windows the operator set per provider (a spec's `context_variable`).
    context_lengths: Mapping[Provider, int] = field(
        default_factory=lambda: {
            p: s.default_context for p, s in SPECS.items() if s.default_context is not None
        }
    )
    # Server folders a batch may read contracts (or CUAD-layout labels) from; none: uploads only.
    batch_dirs: tuple[Path, ...] = ()
    # Requests in flight per endpoint in a batch, by provider value (e.g. {"ollama": 2}).
    batch_concurrency: Mapping[str, int] = field(default_factory=dict)
    # Claude prices per million tokens (input, output), overriding the built-in table.
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    run_limits: RunLimits = field(default_factory=RunLimits)
    # What reading one upload or file may cost, in the limited child process; and one OCR run.
    document_limits: Limits = field(default_factory=Limits)
    sandbox: Sandbox = field(default_factory=Sandbox)
    ocr_limits: OcrLimits = field(default_factory=OcrLimits)
    # A team's shared run log (`postgresql://…`); None keeps the SQLite file above.
    database_url: str | None = field(default=None, repr=False)
    # Request header a trusted reverse proxy sets to the signed-in user (e.g. X-Forwarded-User).
    user_header: str | None = None
    # The secret the proxy sends in PROXY_SECRET_HEADER: only then is the user header believed.
    proxy_secret: str | None = field(default=None, repr=False)
    # Addresses of proxies on other machines whose user header is believed without the secret.
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    # The web server's own FORWARDED_ALLOW_IPS (uvicorn, under both Streamlit and the API): whom
    # it lets name the caller's address in X-Forwarded-For. By default loopback, so any local
    # process could give itself a listed proxy's address; trusting addresses needs it empty.
    forwarded_allow_ips: str | None = None
    # Host names (as clients write them in Host / Origin) the API answers to besides loopback's.
    allowed_hosts: tuple[str, ...] = ()
    # Users who see every run, exactly as written (names compare exactly, as owners do);
    # everyone else sees their own.
    admins: frozenset[str] = frozenset()
    # Without any identity, let every session of a served app see every run.
    shared_log: bool = False
    # Benchmarks only: where live views append their lag samples (`lib.runs.lag_log`); None: off.
    bench_lag_file: Path | None = None
    # Benchmarks only: the shortest time between two renders of a live page, in place of one
    # animation frame (`lib.runs.live`), to measure the latency/CPU frontier; None: the default.
    bench_render_interval: float | None = None

    @property
    def listens_beyond_loopback(self) -> bool:
        return listens_beyond_loopback(self.listen_address)

    @property
    def serves_a_team(self) -> bool:
        """Listening beyond loopback, sharing a PostgreSQL log, locked by the operator for a
        reverse proxy, reading a proxy's user header, or answering to a host name besides
        loopback's: instances behind a proxy on the same machine listen on loopback, yet serve
        everyone who reaches the proxy, and a proxy need not say it is one."""
        return bool(self.team_reasons)

    @property
    def team_reasons(self) -> list[str]:
        """Why these settings serve a team, in the words of the settings that say so (a refusal
        names what the operator set, not every rule)."""
        names = [name for name in self.allowed_hosts if not _loopback_name(name)]
        reasons = [
            (self.listens_beyond_loopback, f"listening on {self.listen_address}"),
            (self.database_url is not None, "a shared database (CRS_DATABASE_URL)"),
            (self.lock_endpoints, "CRS_LOCK_ENDPOINTS"),
            (self.user_header is not None, "a user header (CRS_USER_HEADER)"),
            (bool(names), f"host names besides loopback's (CRS_ALLOWED_HOSTS: {', '.join(names)})"),
        ]
        return [reason for holds, reason in reasons if holds]

    def serves_a_team_for(self, headers: Mapping[str, str]) -> bool:
        """`serves_a_team`, or this request came through a proxy (one nobody told us about)."""
        return self.serves_a_team or arrived_through_proxy(headers)

    def for_request(self, headers: Mapping[str, str]) -> Settings:
        """These settings as one request must see them: a request that came through a proxy
        nobody told us about is served to whoever reaches that proxy, so its endpoints are locked
        like a team's."""
        if self.serves_a_team or not arrived_through_proxy(headers):
            return self
        return replace(self, lock_endpoints=True)

    @property
    def trusts_a_proxy(self) -> bool:
        """A user header, and a way to tell the proxy's requests from anyone else's."""
        return self.user_header is not None and bool(self.proxy_secret or self.trusted_proxies)

    def from_trusted_proxy(self, headers: Mapping[str, str], client: str | None) -> bool:
        """The request carries the proxy's secret, or comes from a listed proxy address."""
        if self.proxy_secret:
            given = (_header(headers, PROXY_SECRET_HEADER) or "").encode()
            if hmac.compare_digest(given, self.proxy_secret.encode()):
                return True
        if client and self.trusted_proxies:
            try:
                address = ipaddress.ip_address(client.strip("[]"))
            except ValueError:
                return False
            return any(address in network for network in self.trusted_proxies)
        return False

    def proxy_user(self, headers: Mapping[str, str], client: str | None) -> str | None:
        """The user a trusted proxy names in the user header; None when no header names one.

        Raises `UntrustedUserHeader` when the header arrives without the proxy's secret or from
        an address not listed: a caller who reaches the port directly cannot name themselves.
        """
        if not self.user_header:
            return None
        value = (_header(headers, self.user_header) or "").strip()
        if not value:
            return None
        if not self.from_trusted_proxy(headers, client):
            raise UntrustedUserHeader(
                f"{self.user_header} is accepted only from the authenticating proxy"
                f" ({PROXY_SECRET_HEADER} or CRS_TRUSTED_PROXIES)."
            )
        return value

    @property
    def identity_problem(self) -> str | None:
        """Why a configured user header cannot be believed from anyone, or None."""
        secret = self.proxy_secret
        if secret is not None and (len(secret) < MIN_SECRET_CHARS or "change-me" in secret.lower()):
            return (
                f"CRS_PROXY_SECRET must be a long random value (at least {MIN_SECRET_CHARS}"
                " characters, e.g. `openssl rand -hex 32`), the same in the proxy's configuration."
            )
        if any(_covers_loopback(network) for network in self.trusted_proxies):
            return (
                "CRS_TRUSTED_PROXIES must not include loopback addresses: every process on this"
                " machine connects from them. A proxy on this machine sends CRS_PROXY_SECRET."
            )
        allowed = self.forwarded_allow_ips
        if self.user_header and self.trusted_proxies and (allowed is None or allowed.strip()):
            return (
                "CRS_TRUSTED_PROXIES needs FORWARDED_ALLOW_IPS= (empty) in the app's environment:"
                " otherwise the web server takes a caller's address from X-Forwarded-For when"
                " it connects from this machine, and any local process could pass for the proxy."
            )
        if self.user_header and not self.trusts_a_proxy:
            return (
                f"CRS_USER_HEADER={self.user_header} is set, but nothing tells the proxy's requests"
                " from a caller's: set CRS_PROXY_SECRET (the proxy adds it as"
                f" {PROXY_SECRET_HEADER}) or CRS_TRUSTED_PROXIES (the proxy's addresses)."
            )
        return None

    @property
    def host_names(self) -> tuple[str, ...]:
        """Host names a request may name (Host, Origin): loopback's and the operator's."""
        return (*LOOPBACK_HOSTS, *self.allowed_hosts)

    @property
    def endpoints_locked(self) -> bool:
        """Locked when listed or asked for, and whenever the app serves a team (unless the operator
        opts out): a free URL box on a served app lets anyone who reaches it make this server send
        contracts anywhere it can reach."""
        if self.allowed_endpoints or self.lock_endpoints:
            return True
        return self.serves_a_team and not self.unlock_endpoints

    def configured_endpoint(self, provider: Provider) -> str:
        """The endpoint the operator set up for a provider ("" for the models on this machine)."""
        return self.endpoints.get(provider, "")

    def configured_key(self, provider: Provider) -> str | None:
        """Whether (and what) the operator configured as `provider`'s key: for a list of endpoints,
        one key per endpoint; what is sent is `key_for_endpoint`'s, to its endpoint alone."""
        return self.api_keys.get(provider) or None

    def key_for_endpoint(self, provider: Provider, url: str) -> str | None:
        """The operator's key for one endpoint: for a configured list (`OPENAI_BASE_URL=a,b`) the
        key at the same place in the key's list (`OPENAI_API_KEY=ka,kb`); None for any URL the
        operator did not configure, and for every URL when the two lists do not pair up."""
        keys = self.configured_key(provider)
        members = split_endpoints(self.configured_endpoint(provider))
        url = url.strip().rstrip("/")
        if not keys or url not in members:
            return None
        if len(members) == 1:
            return keys
        paired = _key_list(keys)
        if len(paired) != len(members):
            return None
        return paired[members.index(url)] or None

    def allowed_for(self, provider: Provider) -> tuple[str, ...]:
        """The endpoints a browser user may pick for `provider` when endpoints are locked."""
        if not spec_for(provider).typed_endpoint:
            configured = self.configured_endpoint(provider)
            return (configured,) if configured else ()
        urls = [self.configured_endpoint(provider)]
        for entry in self.allowed_endpoints:
            named, url = _split_prefix(entry)
            if named in (None, provider):
                urls.append(url)
        return tuple(dict.fromkeys(url for url in urls if url))


def operator_environment(
    promoted: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    started: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment the operator set, without what Streamlit put in it.

    Streamlit copies every top-level string or number of its secrets files (`promoted`) into
    `os.environ`, over the operator's own values: read as the environment, a secrets-file key
    then passed for one the operator set beside an endpoint of their own, and was sent there,
    and a file's endpoint won over the environment's. A variable holding a promoted value is
    given back its value at start, or dropped if the process started without it."""
    env = dict(os.environ if env is None else env)
    started = _STARTED_WITH if started is None else started
    for name, value in promoted.items():
        scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
        if scalar and env.get(name) == str(value):
            if name in started:
                env[name] = started[name]
            else:
                del env[name]
    return env


def read_secrets_file(path: Path = SECRETS_FILE) -> dict[str, Any]:
    """The pages' secrets file, read without Streamlit, so that the API and `crs-batch` started
    in the same folder are configured as the pages are."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path} cannot be read: {exc}") from exc


def setting_reader(env: Mapping[str, str], secrets: Mapping[str, Any]) -> Callable[..., Any]:
    """`get(name, default)`: the environment's value, else the secrets file's (its name in upper
    or lower case), else the default. The one lookup every front end's settings go through."""

    def get(name: str, default: Any = None) -> Any:
        if name in env and env[name] != "":
            return env[name]
        return secrets.get(name, secrets.get(name.lower(), default))

    return get


def load_settings(
    env: Mapping[str, str],
    secrets: Mapping[str, Any] | None = None,
    *,
    listen_address: str | None = "127.0.0.1",
) -> Settings:
    """`listen_address` is where the app listens (the UI reads Streamlit's server.address)."""
    secrets = secrets or {}
    get = setting_reader(env, secrets)

    in_file = setting_reader({}, secrets)

    def in_env(name: str) -> bool:
        return env.get(name, "") != ""

    table = secrets.get("prices", {})
    if not isinstance(table, Mapping):
        raise ValueError('[prices] in the secrets file is a table: [prices."<model id prefix>"].')
    prices: dict[str, tuple[float, float]] = {}
    for model, pair in table.items():
        try:
            price = (float(pair["input"]), float(pair["output"]))
        except (TypeError, KeyError, ValueError):
            price = (-1.0, -1.0)
        if not all(math.isfinite(p) and p >= 0 for p in price):  # NaN priced every run at None
            raise ValueError(
                f'[prices."{model}"] in the secrets file needs input and output, each a price'
                " of 0 or more (dollars per million tokens)."
            )
        prices[str(model)] = price

    upload_dir = get("CRS_UPLOAD_DIR")
    batch_dirs = tuple(
        Path(item).expanduser() for item in _endpoint_list(get("CRS_BATCH_DIRS")) if item
    )
    endpoints, keys = _endpoints_and_keys(get, in_file, in_env)
    document_limits, sandbox = _reader_limits(get)
    return Settings(
        endpoints=endpoints,
        api_keys=keys,
        allowed_endpoints=_endpoint_list(get("CRS_ALLOWED_ENDPOINTS")),
        listen_address=listen_address,
        lock_endpoints=_switch(get, "CRS_LOCK_ENDPOINTS", False),
        unlock_endpoints=_switch(get, "CRS_UNLOCK_ENDPOINTS", False),
        read_timeout=number_setting(get, "CRS_READ_TIMEOUT", DEFAULT_READ_TIMEOUT, positive=True),
        history_enabled=_switch(get, "CRS_HISTORY", True),
        # "~/…" as the README writes the default: a folder named "~" under wherever it started.
        history_db_path=Path(
            get("CRS_HISTORY_DB", default_data_dir() / "history.sqlite3")
        ).expanduser(),
        store_contract_text=_switch(get, "CRS_STORE_CONTRACTS", False),
        upload_dir=Path(upload_dir).expanduser() if upload_dir else None,
        disabled=frozenset(
            provider
            for provider, spec in SPECS.items()
            if spec.enable_variable and not _switch(get, spec.enable_variable, True)
        ),
        context_lengths={
            provider: _count(get, spec.context_variable, spec.default_context, positive=True)
            for provider, spec in SPECS.items()
            if spec.context_variable and spec.default_context is not None
        },
        batch_dirs=batch_dirs,
        batch_concurrency=_concurrency(get("CRS_BATCH_CONCURRENCY")),
        prices=prices,
        document_limits=document_limits,
        sandbox=sandbox,
        ocr_limits=_ocr_limits(get),
        run_limits=RunLimits(
            max_run_seconds=number_setting(get, "CRS_MAX_RUN_SECONDS", DEFAULT_MAX_RUN_SECONDS),
            max_output_chars=_count(get, "CRS_MAX_OUTPUT_CHARS", DEFAULT_MAX_OUTPUT_CHARS),
            max_concurrent_runs=_count(get, "CRS_MAX_CONCURRENT_RUNS", DEFAULT_MAX_CONCURRENT_RUNS),
        ),
        database_url=get("CRS_DATABASE_URL") or None,
        user_header=get("CRS_USER_HEADER") or None,
        proxy_secret=get("CRS_PROXY_SECRET") or None,
        trusted_proxies=_networks(get("CRS_TRUSTED_PROXIES")),
        # The web server reads its process environment only, never the secrets file.
        forwarded_allow_ips=env.get("FORWARDED_ALLOW_IPS"),
        allowed_hosts=_host_names(get("CRS_ALLOWED_HOSTS")),
        admins=frozenset(
            name.strip() for name in str(get("CRS_ADMINS", "")).split(",") if name.strip()
        ),
        shared_log=_switch(get, "CRS_SHARED_LOG", False),
        bench_lag_file=Path(lag_file) if (lag_file := get("CRS_BENCH_LAG_FILE")) else None,
        bench_render_interval=(
            number_setting(get, "CRS_BENCH_RENDER_INTERVAL", 0.0)
            if get("CRS_BENCH_RENDER_INTERVAL")
            else None
        ),
    )
