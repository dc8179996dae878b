"""One model on several servers: which endpoint takes the next run, for every front end.

A team with more than one GPU box runs the same model on each and lists them all
(`OLLAMA_HOST=http://gpu1:11434,http://gpu2:11434`). The pages, batches and the API all start a
pooled run through `route_for`, so the process keeps one count per endpoint:

- the least busy endpoint (fewest runs in flight from this process) takes the next run; among
  equals, the one that started a run least recently;
- an endpoint that failed before its first token is skipped for a while (its cool-down, doubled
  for each failure in a row up to `MAX_COOLDOWN_S`, cleared by a run it serves) and the run is
  tried on the next endpoint; when every endpoint is cooling down, the one ready soonest is tried
  rather than failing the run unasked;
- nothing is retried once a token arrived (`lib.engine.routing`): the run would bill twice.

A batch also caps each endpoint at its lane's concurrency (`capacity`): its workers wait for room
on a healthy endpoint rather than queue a third request inside a server that takes two at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from lib.engine.events import StreamContext
from lib.engine.provider_config import ProviderConfig
from lib.engine.routing import Outcome

BASE_COOLDOWN_S = 1.0
MAX_COOLDOWN_S = 60.0
# How often a worker waiting for room looks again (room also wakes it at once).
WAIT_STEP_S = 0.25


@dataclass
class EndpointState:
    """One endpoint's figures in this process (a copy is what `snapshot` hands out)."""

    in_flight: int = 0
    # Failures before the first token in a row, and until when the endpoint is skipped.
    failures_in_a_row: int = 0
    cool_until: float = 0.0
    last_picked: float = 0.0
    served: int = 0
    failed: int = 0


class EndpointPool:
    """In-flight counts and cool-downs per endpoint (provider and URL), shared by all runs."""

    def __init__(
        self,
        *,
        base_cooldown_s: float = BASE_COOLDOWN_S,
        max_cooldown_s: float = MAX_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_cooldown_s = base_cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self._clock = clock
        self._states: dict[tuple[str, str], EndpointState] = {}
        self._room = threading.Condition()

    def _state(self, config: ProviderConfig) -> EndpointState:
        return self._states.setdefault((config.provider.value, config.base_url), EndpointState())

    def pick(
        self,
        members: Sequence[ProviderConfig],
        tried: Sequence[ProviderConfig],
        ctx: StreamContext | None = None,
        capacity: int | None = None,
    ) -> ProviderConfig | None:
        """The endpoint of a run's next attempt, now counted in flight; None when every member
        was tried, or the run was cancelled while waiting for room under `capacity`."""
        tried_urls = {c.base_url for c in tried}
        with self._room:
            while True:
                untried = [m for m in members if m.base_url not in tried_urls]
                if not untried:
                    return None
                now = self._clock()
                healthy = [m for m in untried if self._state(m).cool_until <= now]
                # Every endpoint cooling down: try the one ready soonest rather than fail unasked.
                candidates = healthy or [min(untried, key=lambda m: self._state(m).cool_until)]
                room = [
                    m for m in candidates if capacity is None or self._state(m).in_flight < capacity
                ]
                if room:
                    chosen = min(
                        room, key=lambda m: (self._state(m).in_flight, self._state(m).last_picked)
                    )
                    state = self._state(chosen)
                    state.in_flight += 1
                    state.last_picked = now
                    return chosen
                if ctx is not None and ctx.cancelled:
                    return None
                cooling = [self._state(m).cool_until - now for m in untried if m not in healthy]
                wait = min([WAIT_STEP_S, *(t for t in cooling if t > 0)])
                self._room.wait(wait)

    def done(self, config: ProviderConfig, outcome: Outcome) -> None:
        """An attempt ended: free its place; a failure cools the endpoint, a served run heals it."""
        with self._room:
            state = self._state(config)
            state.in_flight = max(0, state.in_flight - 1)
            if outcome is Outcome.SERVED:
                state.served += 1
                state.failures_in_a_row = 0
                state.cool_until = 0.0
            elif outcome is Outcome.FAILED:
                state.failed += 1
                state.failures_in_a_row += 1
                cooldown = self.base_cooldown_s * 2 ** (state.failures_in_a_row - 1)
                state.cool_until = self._clock() + min(self.max_cooldown_s, cooldown)
            self._room.notify_all()

    def snapshot(self, config: ProviderConfig) -> dict[str, EndpointState]:
        """Each member endpoint's figures by URL (copies), for the sidebar, tests and benchmarks."""
        with self._room:
            return {m.base_url: replace(self._state(m)) for m in config.members}

    def route(self, config: ProviderConfig, capacity: int | None = None) -> PoolRoute | None:
        """How a run of `config` picks its endpoint; None for a model on one endpoint."""
        return PoolRoute(self, config.pool, capacity) if config.pool else None


@dataclass(frozen=True)
class PoolRoute:
    """One run's view of the pool (`lib.engine.routing.Route`): its members, its capacity."""

    pool: EndpointPool
    members: tuple[ProviderConfig, ...]
    capacity: int | None = None

    def pick(self, tried: Sequence[ProviderConfig], ctx: StreamContext) -> ProviderConfig | None:
        return self.pool.pick(self.members, tried, ctx, self.capacity)

    def done(self, config: ProviderConfig, outcome: Outcome) -> None:
        self.pool.done(config, outcome)


# The process's pool: the pages, batches and the API share it, so the counts are the servers'.
POOL = EndpointPool()


def route_for(config: ProviderConfig, capacity: int | None = None) -> PoolRoute | None:
    """The route a run of `config` takes through the process's pool (None: one endpoint)."""
    return POOL.route(config, capacity)
