"""What a run needs to know about the model it talks to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


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
    """

    provider: Provider
    model: str
    base_url: str = ""
    api_key: str | None = field(default=None, repr=False, compare=False)
    context_length: int | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
