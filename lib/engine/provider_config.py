"""What a run needs to know about the model it talks to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit, urlunsplit


class Provider(StrEnum):
    """Every provider's id; what the app knows of each is its spec (`providers.registry`)."""

    OLLAMA = "ollama"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    BUILTIN = "builtin"
    CLAUSE_FINDER = "clause_finder"


# Every default a run has, once. A cold Ollama model load plus prompt evaluation of a long contract
# sends nothing for minutes, hence the long read timeout.
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 300.0
DEFAULT_MAX_TOKENS = 4096
# The output limits an analyst may choose, on the pages and through the API alike.
MIN_MAX_TOKENS = 256
MAX_MAX_TOKENS = 32_000
DEFAULT_TEMPERATURE = 0.2
BUILTIN_CONTEXT_LENGTH = 8192


@dataclass(frozen=True)
class ProviderConfig:
    """Provider, endpoint and model of one run.

    The API key is excluded from repr and comparison so that it cannot leak through logging, an
    exception message or a dataframe built from this object.

    A model served by several endpoints (`OLLAMA_HOST=http://gpu1:11434,http://gpu2:11434`) has
    `base_url` naming them all and one member config per endpoint in `pool`, each with the key
    chosen for that endpoint alone; the pooled config itself carries no key, and a run uses one
    member (`lib.runs.endpoint_pool` picks it).
    """

    provider: Provider
    model: str
    base_url: str = ""
    api_key: str | None = field(default=None, repr=False, compare=False)
    # The key was typed on a page for this session, not the operator's: a refusal then
    # points the analyst at what they typed, not at a variable only the operator can change.
    key_typed: bool = field(default=False, compare=False)
    context_length: int | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    pool: tuple[ProviderConfig, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def members(self) -> tuple[ProviderConfig, ...]:
        """The configs of the endpoints a run may use: the pool's, or this one alone."""
        return self.pool or (self,)

    @property
    def secrets(self) -> tuple[str, ...]:
        """What no message, record or page may carry: the key, and any credentials the
        endpoint's URL holds (a password, a key in its query)."""
        return (*([self.api_key] if self.api_key else []), *url_secrets(self.base_url))


ENDPOINT_SEPARATOR = ","


def split_endpoints(value: str) -> tuple[str, ...]:
    """`http://a:11434, http://b:11434/` → each endpoint once, in order, without trailing `/`."""
    urls = (item.strip().rstrip("/") for item in value.split(ENDPOINT_SEPARATOR))
    return tuple(dict.fromkeys(url for url in urls if url))


def endpoint_label(url: str) -> str:
    """`http://user:pw@gpu1:11434/v1` → `gpu1:11434`: an endpoint as notes and tables name it,
    never with credentials a URL may carry; several comma-separated URLs, each so."""
    labels = []
    for item in split_endpoints(url):
        netloc = urlsplit(item).netloc.rpartition("@")[2]
        labels.append(netloc or item)
    return ", ".join(labels)


def shown_url(url: str) -> str:
    """`http://user:pw@gpu1:11434/v1?api-key=…` → `http://gpu1:11434/v1`: an endpoint as a page,
    a message, the run log or an export may show it. Some servers take credentials in the URL;
    only the request itself carries them. Several comma-separated URLs, each so."""
    shown = []
    for item in split_endpoints(url):
        parts = urlsplit(item)
        host = parts.netloc.rpartition("@")[2]
        if host:
            shown.append(urlunsplit((parts.scheme, host, parts.path, "", "")))
        else:  # no scheme, so no netloc: whatever stands before an "@" is still credentials
            shown.append(item.rpartition("@")[2].partition("?")[0])
    return join_endpoints(shown)


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials in endpoint URLs: each one's user information and query values."""
    found: list[str] = []
    for item in split_endpoints(url):
        parts = urlsplit(item)
        userinfo = parts.netloc.rpartition("@")[0]
        found += [piece for piece in (userinfo, *userinfo.split(":", 1)) if piece]
        found += [value for _, value in parse_qsl(parts.query) if value]
    return tuple(dict.fromkeys(found))


def join_endpoints(urls: tuple[str, ...] | list[str]) -> str:
    return ENDPOINT_SEPARATOR.join(urls)
