"""Estimated cost of a run.

Claude is billed per token; local models cost nothing per run. Prices change more often than this
code, so operators override them in `.streamlit/secrets.toml` (`[prices."<model id prefix>"]`);
the table below holds Anthropic's published list prices per family (USD per million tokens).
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.engine.provider_config import Provider

# (input, output) USD per million tokens, matched on the family word in the model id.
FAMILY_PRICES: dict[str, tuple[float, float]] = {
    "opus": (5.0, 25.0),
    "sonnet": (3.0, 15.0),
    "haiku": (1.0, 5.0),
}


def price_for(
    model: str, overrides: Mapping[str, tuple[float, float]]
) -> tuple[float, float] | None:
    """Longest matching override prefix first, then the family table."""
    for prefix in sorted(overrides, key=len, reverse=True):
        if model.startswith(prefix):
            return overrides[prefix]
    lowered = model.lower()
    for family, price in FAMILY_PRICES.items():
        if family in lowered:
            return price
    return None


def estimate_cost(
    provider: Provider | str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    overrides: Mapping[str, tuple[float, float]] | None = None,
) -> float | None:
    """USD for a run: 0.0 for local models, None when a Claude model's price is unknown."""
    if Provider(provider) is not Provider.ANTHROPIC:
        return 0.0
    price = price_for(model, overrides or {})
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000
