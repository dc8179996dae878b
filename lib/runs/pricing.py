"""Estimated cost of a run.

A provider that bills per token carries its list prices in its spec (`ProviderSpec.prices`);
local models cost nothing per run. Prices change more often than this code, so operators override
them in `.streamlit/secrets.toml` (`[prices."<model id prefix>"]`).

Prompt tokens a provider's cache stored or served are part of the run's input tokens but billed at
their own multiples of the input price (`ProviderSpec.cache_rates`; Claude: 1.25× to write the
five-minute cache, 0.1× to read it), so an override's input price carries over to them.
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.registry import find_spec
from lib.engine.providers.spec import Prices
from lib.engine.run_stats import RunStats


def price_for(
    model: str, overrides: Mapping[str, tuple[float, float]], table: Prices
) -> tuple[float, float] | None:
    """Longest matching override prefix first, then the provider's table by family word."""
    for prefix in sorted(overrides, key=len, reverse=True):
        if model.startswith(prefix):
            return overrides[prefix]
    lowered = model.lower()
    for family, price in table.items():
        if family in lowered:
            return price
    return None


def run_cost(
    config: ProviderConfig,
    stats: RunStats,
    overrides: Mapping[str, tuple[float, float]] | None = None,
) -> float | None:
    """A run's cost from what it counted; nothing for a request the provider never took (refused,
    or stopped before any answer), which is not billed."""
    if not stats.answered:
        return 0.0
    return estimate_cost(
        config.provider,
        config.model,
        stats.input_token_count,
        stats.output_token_count,
        overrides,
        cache_write_tokens=stats.cache_written,
        cache_read_tokens=stats.cache_read,
    )


def estimate_cost(
    provider: Provider | str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    overrides: Mapping[str, tuple[float, float]] | None = None,
    *,
    cache_write_tokens: int | None = None,
    cache_read_tokens: int | None = None,
) -> float | None:
    """USD for a run: 0.0 for local models, None when a billed model's price is unknown.

    `input_tokens` is the whole prompt; the cached shares of it, where reported, are priced at
    the provider's cache rates and the rest at the input price. An operator's price for a model
    counts whatever serves it (OpenAI's own API through the OpenAI-compatible provider)."""
    spec = find_spec(str(provider))
    table = spec.prices if spec is not None else None
    if table is None and price_for(model, overrides or {}, {}) is None:
        return 0.0
    price = price_for(model, overrides or {}, table or {})
    if price is None:
        return None
    written, read = cache_write_tokens or 0, cache_read_tokens or 0
    rates = spec.cache_rates if spec is not None else None
    if rates is None:
        written = read = 0
    fresh = max(0, input_tokens - written - read)
    cached = written * rates.write + read * rates.read if rates is not None else 0.0
    return ((fresh + cached) * price[0] + output_tokens * price[1]) / 1_000_000


NO_PRICE = "none"  # a model with no per-token price: the machine's time, not a bill


def cost_text(provider: str, cost_usd: float | None) -> str:
    """A run's cost as every page and file shows it: dollars where a price applied (the
    provider's list, or an operator's override for any model), "none" for a run that cost
    nothing (a model with no per-token price, a request the provider refused), "unknown price"
    for a billed model whose price is not known."""
    if cost_usd == 0 or (cost_usd is None and not _billed(provider)):
        return NO_PRICE  # None too: a local run the app stopped before it was priced
    if cost_usd is None:
        return "unknown price"
    return f"${cost_usd:.4f}"


def cost_note(provider: str, cost_usd: float | None) -> str:
    """The cost's sentence under a report: why a run cost nothing, where it did not."""
    cost = cost_text(provider, cost_usd)
    if cost != NO_PRICE:
        return f"Estimated cost: {cost}."
    if _billed(provider):
        return "Cost: none (the provider answered nothing, and bills nothing)."
    return "Cost: none (no per-token price)."


def _billed(provider: str) -> bool:
    spec = find_spec(provider)
    return spec is not None and spec.prices is not None


def cache_note(provider: str, written: int | None, read: int | None) -> str | None:
    """The input tokens a provider's prompt cache served or stored, with their rates: without
    them a cost cannot be checked against the token counts shown beside it."""
    spec = find_spec(provider)
    rates = spec.cache_rates if spec is not None else None
    shares = (
        (read, "read from", rates.read if rates else None),
        (written, "written to", rates.write if rates else None),
    )
    parts = [
        f"{count:,} {verb} the prompt cache"
        + (f" (billed at {rate:g}× the input price)" if rate is not None else "")
        for count, verb, rate in shares
        if count
    ]
    return f"Of the input tokens, {' and '.join(parts)}." if parts else None
