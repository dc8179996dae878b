"""How one run chooses among several endpoints serving the same model.

The engine knows only this small contract; which endpoint is least busy or cooling down is kept by
`lib.runs.endpoint_pool`, shared by every run of the process. `stream_model` asks the route for an
endpoint per attempt and tells it how each attempt ended: an attempt that failed before the
model's first token is tried again elsewhere; once a token arrived it never is (that would bill
the run twice and show the analyst two beginnings).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from lib.engine.errors import ContextTooLong, ProviderError
from lib.engine.events import StreamContext
from lib.engine.provider_config import ProviderConfig

# Statuses that mean the request itself is wrong (it would fail on every endpoint alike).
REQUEST_FAULT_STATUSES = frozenset({400, 413, 422})


class Outcome(StrEnum):
    # The endpoint answered with the model's output (whatever happened after its first token).
    SERVED = "served"
    # It failed before the first token: refused, an error status, dropped, silent.
    FAILED = "failed"
    # Ended by the run (Stop, a cap) or by the request itself: says nothing about the endpoint.
    NEUTRAL = "neutral"


class Route(Protocol):
    def pick(self, tried: Sequence[ProviderConfig], ctx: StreamContext) -> ProviderConfig | None:
        """The endpoint of the next attempt, counted in flight until `done`; None when every
        endpoint was tried (or the run was cancelled while waiting for room)."""
        ...

    def done(self, config: ProviderConfig, outcome: Outcome) -> None:
        """The attempt on `config` ended so."""
        ...


def endpoint_at_fault(error: ProviderError) -> bool:
    """Whether another endpoint might serve what this one failed: not when the request itself is
    refused (too long for the model, malformed), which every endpoint would refuse alike."""
    if isinstance(error, ContextTooLong):
        return False
    return error.status_code not in REQUEST_FAULT_STATUSES
