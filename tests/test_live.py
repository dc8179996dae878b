"""LiveRun pacing over real HTTP: steps, and the render budget shared by every stream in flight."""

from __future__ import annotations

import time

from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStats, RunStatus
from lib.engine.stream_model import stream_model
from lib.runs.live import (
    MIN_RENDER_INTERVAL_S,
    RENDERS_PER_S,
    SILENCE_NOTICE_S,
    LiveRun,
    render_interval,
    silence_note,
    watch,
)


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


def test_a_run_gone_silent_says_for_how_long_and_when_it_ends_by_itself():
    stats = RunStats(started_at=0.0, read_timeout=300.0)
    assert silence_note(stats, now=60.0) is None  # nothing yet: the waiting line says so
    stats.add_text("Clause", now=1.0)
    assert silence_note(stats, now=1.0 + SILENCE_NOTICE_S - 0.1) is None
    assert silence_note(stats, now=13.0) == (
        "nothing received for 12 s — the run ends after 300 s of silence (Stop to end it now)"
    )
    stats.add_thinking("hmm", now=12.0)  # a thought is heard too
    assert silence_note(stats, now=13.0) is None
    stats.finish(RunStatus.ERROR, now=20.0)
    assert silence_note(stats, now=400.0) is None


def test_a_stalled_stream_is_said_silent_with_the_read_timeout_it_runs_under(fake_upstream):
    fake_upstream.push(Script(tokens=[" a", " b", " c"], fault="stall", fault_after=2))
    live = start(fake_upstream)
    try:
        for _ in watch([live]):
            if live.stats.text == " a b":
                break
        heard = live.stats.last_heard
        assert heard is not None
        assert silence_note(live.stats, now=heard + 7) == (
            "nothing received for 7 s — the run ends after 10 s of silence (Stop to end it now)"
        )
    finally:
        live.cancel()
