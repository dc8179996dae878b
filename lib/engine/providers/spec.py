"""What the app knows about one provider, declared once beside its wire code.

Each provider module ends with a `SPEC`; `lib.engine.providers.registry` lists them. Everything
the pages, batches and the API decide per provider (label, fix hint, endpoint and key variables,
whether a URL may be typed, concurrency, context window, prices) is read from here, so adding a
provider touches its own module, the registry line and its tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from lib.engine.events import ChatRequest, Event, StreamContext
from lib.engine.provider_config import Provider, ProviderConfig

StreamEvents = Callable[[ProviderConfig, ChatRequest, StreamContext], Iterator[Event]]
ListModels = Callable[[ProviderConfig], list[str]]
# The model's context window; the run's context (None outside a run) is the lookup's, so that
# Stop reaches a request to a server that stalls (`lib.engine.providers.http.event_hooks`).
ContextWindow = Callable[[ProviderConfig, StreamContext | None], int | None]
# USD per million tokens (input, output), by a word in the model id (e.g. "sonnet").
Prices = Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class CacheRates:
    """What a provider bills for prompt tokens its cache stored (`write`) and served (`read`),
    as multiples of its input price."""

    write: float
    read: float


def configured_context(config: ProviderConfig, ctx: StreamContext | None = None) -> int | None:
    """The window the run's config carries (the operator's setting), if any."""
    return config.context_length


def always_installed() -> bool:
    return True


@dataclass(frozen=True)
class ThinkingSwitch:
    """A provider whose runs can ask a reasoning model to think (or not) before answering.

    `default`: what a run asks when the analyst leaves the switch alone (None: leave it to the
    model). `min_budget`: the provider takes a thinking budget of at least this many tokens, and
    below the run's max tokens (Claude); None when it takes no budget.
    """

    default: bool | None = None
    min_budget: int | None = None

    def budget_error(self, budget: int | None, max_tokens: int) -> str | None:
        """Why `budget` cannot be asked of a run with `max_tokens`, or None when it can."""
        if self.min_budget is None:
            return None
        if budget is None or budget < self.min_budget:
            return f"The thinking budget must be at least {self.min_budget:,} tokens."
        if budget >= max_tokens:
            return "The thinking budget must be below the run's max tokens."
        return None

    def choose(
        self, asked: bool | None, budget: int | None, max_tokens: int
    ) -> tuple[bool | None, int | None]:
        """What a run sends: whether to think (the default when not `asked`) and the budget (a
        default that fits when not given). Raises ValueError, with the analyst's words, for a
        budget the provider would refuse."""
        thinking = self.default if asked is None else asked
        if not thinking or self.min_budget is None:
            return thinking, None
        budget = self.default_budget(max_tokens) if budget is None else budget
        if (error := self.budget_error(budget, max_tokens)) is not None:
            raise ValueError(error)
        return True, budget

    def default_budget(self, max_tokens: int) -> int | None:
        """A budget that fits `max_tokens`: half of it, never below the minimum; None when no
        budget fits (or the provider takes none)."""
        if self.min_budget is None or max_tokens <= self.min_budget:
            return None
        return max(self.min_budget, max_tokens // 2)


@dataclass(frozen=True)
class ProviderSpec:
    provider: Provider
    label: str
    # One line an analyst can act on when the provider does not answer.
    fix: str
    stream_events: StreamEvents
    list_models: ListModels
    # The operator's endpoint: its variable (env or secrets) and the default when unset.
    endpoint_variable: str | None = None
    default_endpoint: str = ""
    # The operator's key variable; None for providers that never take a key.
    key_variable: str | None = None
    # A run cannot start without an endpoint / a key.
    needs_endpoint: bool = False
    needs_key: bool = False
    # A browser user may type (or, when locked, pick) the server URL.
    typed_endpoint: bool = False
    url_placeholder: str | None = None
    # Runs in this process: no endpoint, the contract stays here.
    on_this_machine: bool = False
    # Hosted service named in "the contract is sent to …" instead of its host.
    service: str | None = None
    # The one model of a provider that has no choice of models.
    fixed_model: str | None = None
    # Shown in the sidebar when picked, and under a finished run's figures.
    note: str | None = None
    run_note: str | None = None
    # Switched off by the operator when this variable is off (e.g. CRS_BUILTIN=0).
    enable_variable: str | None = None
    # Variable that sets the context window the run is configured with.
    context_variable: str | None = None
    default_context: int | None = None
    installed: Callable[[], bool] = always_installed
    # Batch requests in flight per endpoint by default, and at most (None: no cap of its own).
    default_concurrency: int = 1
    max_concurrency: int | None = None
    # The model's context window before or by asking the server; None when unknown.
    context_window: ContextWindow = configured_context
    # One pass reads best when the contract fits: long review only when it does not.
    one_pass_preferred: bool = False
    # Billed per token at these list prices; None: costs nothing per run.
    prices: Prices | None = None
    # Cached prompt tokens' rates, for a provider that bills them apart; None: at the input price.
    cache_rates: CacheRates | None = None
    # Order in which a reachable provider is chosen by default (lower first); None: never.
    default_rank: int | None = None
    # The per-run thinking switch, for providers that take one; None: the run cannot ask.
    thinking: ThinkingSwitch | None = None
    # Answers the prompt it is sent; False for a reviewer that writes its own report whatever it
    # is asked (the clause finder), which so cannot answer a playbook.
    follows_prompts: bool = True
    # Writes its report token by token, so tokens per second says how fast; False for a reviewer
    # that writes it at once (the clause finder), whose "speed" would be millions of tokens/s.
    has_speed: bool = True

    @property
    def takes_key(self) -> bool:
        return self.key_variable is not None
