"""The benchmark-only lag log (`CRS_BENCH_LAG_FILE`): the Review page times each batch it draws
when the setting names a file, and times and writes nothing when it is off."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.settings import load_settings
from lib.runs import lag_log
from lib.runs.lag_log import LagLog, LagSample, read_samples

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CONTRACT = "1. Parties. Acme Ltd and Beta GmbH. 12.1 The Supplier's liability is unlimited."
TOKENS = [f" w{i}" for i in range(6)]


@pytest.fixture
def env(fake_upstream: FakeUpstream, tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "CRS_BENCH_LAG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    return fake_upstream


@pytest.fixture
def timed(monkeypatch) -> list[str]:
    """Every call into a lag log, by name: none may happen while the setting is off."""
    calls: list[str] = []
    for name in ("drained", "handed", "write"):
        original = getattr(LagLog, name)

        def spy(self, *args, _name=name, _original=original):
            calls.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(LagLog, name, spy)
    return calls


def review(upstream: FakeUpstream) -> AppTest:
    # Tokens apart by more than a render interval: each is its own batch.
    upstream.push(Script(tokens=TOKENS, delay=0.1))
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.text_area(key="review_text").input(CONTRACT).run()
    at.button(key="review").click().run()
    assert not at.exception, at.exception
    assert any("".join(TOKENS).strip() in m.value for m in at.markdown)
    return at


def test_on_every_drawn_batch_is_timed_from_arrival_to_its_placeholder(env, tmp_path, monkeypatch):
    path = tmp_path / "lag.txt"
    monkeypatch.setenv("CRS_BENCH_LAG_FILE", str(path))
    review(env)
    samples = read_samples(path)
    # One sample per batch drawn, each batch at least one token.
    assert 2 <= len(samples) <= len(TOKENS)
    for sample in samples:
        assert sample.arrived <= sample.drained <= sample.handed
    assert [s.arrived for s in samples] == sorted(s.arrived for s in samples)
    # The first token left the fake server before the server's worker had it.
    assert env.streams()[-1].token_times[0] <= samples[0].arrived


def test_off_nothing_is_timed_or_written(env, tmp_path, timed):
    assert load_settings({}).bench_lag_file is None
    before = set(tmp_path.iterdir())
    review(env)
    assert timed == []
    assert {p for p in tmp_path.iterdir() if not p.name.startswith("history")} == {
        p for p in before if not p.name.startswith("history")
    }


def test_a_live_view_writes_its_samples_once_and_appends(tmp_path, monkeypatch):
    path = tmp_path / "lag.txt"
    first, second = LagLog(path), LagLog(path)
    first.drained(1.0, 1.5)
    first.handed(1.75)
    first.handed(2.0)  # nothing was drained since: no sample
    second.drained(3.0, 3.25)
    second.handed(3.5)
    first.write()
    first.write()  # already written
    second.write()
    assert read_samples(path) == [LagSample(1.0, 1.5, 1.75), LagSample(3.0, 3.25, 3.5)]
    assert read_samples(path)[0].lag == 0.75
    assert lag_log.read_samples(tmp_path / "never-written") == []
