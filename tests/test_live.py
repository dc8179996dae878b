"""LiveRun pacing over real HTTP: steps, and the render budget shared by every stream in flight."""

from __future__ import annotations

import time

from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import stream_model
from lib.runs.live import MIN_RENDER_INTERVAL_S, RENDERS_PER_S, LiveRun, render_interval, watch


def start(upstream: FakeUpstream) -> LiveRun:
    cfg = ProviderConfig(Provider.OPENAI, "llama3.2", f"{upstream.url}/v1", read_timeout=10)
    return LiveRun(stream_model(cfg, "sys", "contract"))


def test_render_interval_grows_with_pages_watching_and_recovers(fake_upstream):
    assert render_interval() == MIN_RENDER_INTERVAL_S
    sessions = int(RENDERS_PER_S * MIN_RENDER_INTERVAL_S) + 10  # past the one-frame floor
    fake_upstream.push(*(Script(tokens=[" a"], first_delay=5) for _ in range(sessions)))
    lives = [start(fake_upstream) for _ in range(sessions)]
    pages = [watch([live], idle=0) for live in lives]
    try:
        for page in pages:
            next(page)  # each page is now watching its run
        assert render_interval() == sessions / RENDERS_PER_S > MIN_RENDER_INTERVAL_S
    finally:
        for page in pages:
            page.close()
        for live in lives:
            live.cancel()
    assert all(live.finished for live in lives)
    assert render_interval() == MIN_RENDER_INTERVAL_S


def test_a_comparison_renders_as_often_as_a_single_review(fake_upstream):
    """Both sides of a Compare page are drawn in one step: one page's share of the budget."""
    singles = int(RENDERS_PER_S * MIN_RENDER_INTERVAL_S) + 10  # past the one-frame floor
    fake_upstream.push(*(Script(tokens=[" a"], first_delay=5) for _ in range(singles + 2)))
    lives = [start(fake_upstream) for _ in range(singles + 2)]
    pages = [watch([live], idle=0) for live in lives[:singles]] + [watch(lives[singles:], idle=0)]
    try:
        for page in pages:
            next(page)
        assert render_interval() == (singles + 1) / RENDERS_PER_S
    finally:
        for page in pages:
            page.close()
        for live in lives:
            live.cancel()


def texts_of(live: LiveRun) -> list[str]:
    return [step.texts[0] for step in watch([live]) if step.texts[0]]


def test_steps_join_tokens_that_arrive_within_one_interval(fake_upstream):
    tokens = [f" t{i}" for i in range(100)]
    fake_upstream.push(Script(tokens=tokens, delay=0.005))
    live = start(fake_upstream)
    started = time.monotonic()
    texts = texts_of(live)
    elapsed = time.monotonic() - started
    assert "".join(texts) == "".join(tokens)
    assert live.stats.status is RunStatus.DONE
    # One step per render interval at most (plus the first, which goes out at once).
    assert 2 <= len(texts) <= elapsed / MIN_RENDER_INTERVAL_S + 2
    assert len(texts) < len(tokens)


def test_a_slow_stream_gets_every_token_at_once(fake_upstream):
    tokens = [f" t{i}" for i in range(8)]
    fake_upstream.push(Script(tokens=tokens, delay=0.15))
    live = start(fake_upstream)
    assert texts_of(live) == tokens
