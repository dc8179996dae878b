"""Every provider the app can run, in the order the sidebar offers them.

Adding a provider: its module (wire code and `SPEC`), a member of `Provider`, one line here, and
its tests. Nothing else in the app names a provider.
"""

from __future__ import annotations

from lib.engine.provider_config import Provider
from lib.engine.providers import anthropic, builtin, clause_finder, ollama, openai_compat
from lib.engine.providers.spec import ProviderSpec

SPECS: dict[Provider, ProviderSpec] = {
    spec.provider: spec
    for spec in (
        clause_finder.SPEC,
        ollama.SPEC,
        openai_compat.SPEC,
        anthropic.SPEC,
        builtin.SPEC,
    )
}


def spec_for(provider: Provider | str) -> ProviderSpec:
    return SPECS[Provider(provider)]


def find_spec(name: str) -> ProviderSpec | None:
    """The spec a stored record names, if this app still knows that provider."""
    try:
        return spec_for(name)
    except ValueError:
        return None


# The clause finder: the reviewer every front end falls back to, needing nothing.
FALLBACK = Provider.CLAUSE_FINDER
