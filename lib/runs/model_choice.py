"""One path from a model choice to a run's config, for every front end.

The Review and Compare sidebars, Portfolio, `crs-batch` (new and resumed batches) and the API all
turn "this provider, this endpoint, this model, maybe a typed key" into a `ProviderConfig` here:
the provider must be switched on, the endpoint allowed (`catalog.check_endpoint`), the key chosen
for that endpoint at that moment (`catalog.api_key_for`), and the provider reachable with a model.
A choice may name several endpoints serving the same model (comma-separated): each is checked and
keyed on its own, and the config holds one member per endpoint (`ProviderConfig.pool`).
A front end that adds a rule of its own here is where a defect comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.engine.errors import ErrorKind
from lib.engine.provider_config import Provider, ProviderConfig, split_endpoints
from lib.engine.providers.registry import spec_for
from lib.engine.settings import Settings
from lib.runs import catalog
from lib.store.records import provider_label


@dataclass(frozen=True)
class ModelChoice:
    """What a user or caller asked for; None means "the default"."""

    provider: Provider | None = None
    model: str | None = None
    base_url: str | None = None
    # Typed by the user for this session or request; never stored.
    typed_key: str | None = field(default=None, repr=False)


class ChoiceError(Exception):
    """The choice cannot run here. `kind` says why: switched_off, endpoint, unavailable.

    `error_kind`: for `unavailable`, how the provider failed when it was asked (it refused the
    key, answered an error, did not answer), so a caller can tell a failure worth retrying from
    one that is not; None when it was not asked (no key or endpoint set) or listed no models."""

    def __init__(self, kind: str, message: str, error_kind: ErrorKind | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.error_kind = error_kind


@dataclass(frozen=True)
class Options:
    """A choice's provider and checked endpoint, and the models it offers there."""

    provider: Provider
    base_url: str
    models: list[str]


def _checked(choice: ModelChoice, settings: Settings) -> tuple[Provider, str]:
    """Provider switched on and every endpoint allowed, or `ChoiceError`."""
    provider = choice.provider or catalog.choose_default(settings)
    if provider not in catalog.provider_choices(settings):
        label = provider_label(provider)
        raise ChoiceError("switched_off", f"The {label} is switched off here.")
    wanted = choice.base_url
    base_url = catalog.starting_endpoint(provider, settings) if wanted is None else wanted
    try:
        base_url = catalog.check_endpoint(provider, base_url, settings)
    except ValueError as exc:
        raise ChoiceError("endpoint", str(exc)) from None
    return provider, base_url


def _unavailable(
    provider: Provider,
    problem: str,
    *,
    says_fix: bool = False,
    error_kind: ErrorKind | None = None,
) -> ChoiceError:
    """`says_fix`: the problem is the server's answer in our words, which already says what to
    do (the provider's fix again would read twice)."""
    label = provider_label(provider)
    fix = "" if says_fix else f" {spec_for(provider).fix}"
    return ChoiceError("unavailable", f"{label} is not available: {problem}{fix}", error_kind)


def options(choice: ModelChoice, settings: Settings) -> Options:
    """The models a choice may pick from (its provider asked, cached), or `ChoiceError`.

    Blocking: it may ask the provider for its models.
    """
    provider, base_url = _checked(choice, settings)
    status = catalog.probe_choice(provider, base_url, choice.typed_key, settings)
    if not status.available:
        said = status.problem is not None
        problem = status.problem or "It does not answer."
        raise _unavailable(provider, problem, says_fix=said, error_kind=status.error_kind)
    if not status.models:
        raise _unavailable(provider, "It has no models.")
    return Options(provider, base_url, status.models)


def resolve(choice: ModelChoice, settings: Settings, *, probe: bool = True) -> ProviderConfig:
    """The config a run of `choice` uses, or `ChoiceError`.

    With a model named and `probe=False` the provider is not asked first (a batch names its models
    and finds out per item); otherwise its model list is read and the first is the default.
    """
    if choice.model and not probe:
        provider, base_url = _checked(choice, settings)
        for member in split_endpoints(base_url) or ("",):
            api_key = catalog.api_key_for(provider, member, choice.typed_key, settings)
            if (problem := catalog.missing(provider, member, api_key)) is not None:
                raise _unavailable(provider, problem)
        model = choice.model
    else:
        found = options(choice, settings)
        provider, base_url, model = found.provider, found.base_url, choice.model or found.models[0]
    return catalog.make_config(
        provider, settings, model=model, base_url=base_url, api_key=choice.typed_key
    )


def stored_choice(spec: Mapping[str, Any]) -> ModelChoice:
    """A model as a batch stored it (`model_spec`): provider, model and endpoint, never a key."""
    return ModelChoice(
        Provider(spec["provider"]), str(spec["model"]), str(spec.get("base_url") or "")
    )
