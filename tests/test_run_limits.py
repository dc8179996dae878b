"""Our own caps on a run (wall time, output) and on runs at once, against the fake upstream.

Each run that meets a cap ends with its partial report kept and an error kind that says which.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import replace

import anthropic
import pandas as pd
import pytest

from devtools.fake_upstream import Script
from lib.engine.errors import ErrorKind, ProviderError
from lib.engine.limits import RunLimits, busy_message
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.settings import load_settings
from lib.engine.stream_model import stream_model
from lib.runs.live import LiveRun
from lib.store.csv_export import csv_bytes

assert anthropic.Anthropic  # the SDK loads before any timing starts (its cold import is 3 s)
PROVIDERS = [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC]


def config(upstream, provider: Provider, read_timeout: float = 10.0) -> ProviderConfig:
    base = f"{upstream.url}/v1" if provider is Provider.OPENAI else upstream.url
    model = "claude-sonnet-5-5" if provider is Provider.ANTHROPIC else "llama3.2"
    return ProviderConfig(
        provider, model, base, api_key="sk-test-0123456789", read_timeout=read_timeout
    )


def drain(stream) -> tuple[str, ProviderError | None]:
    text: list[str] = []
    try:
        for token in stream:
            text.append(token)
    except ProviderError as exc:
        return "".join(text), exc
    return "".join(text), None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_trickling_server_is_stopped_at_the_wall_time_limit(fake_upstream, provider):
    # One token every 0.3 s, each well inside the 10 s read timeout: only our clock can end it.
    fake_upstream.push(Script(tokens=[f" w{i}" for i in range(200)], delay=0.3))
    limits = RunLimits(max_run_seconds=1.5)
    started = time.monotonic()
    stream = stream_model(config(fake_upstream, provider), "sys", "c", limits=limits)
    text, error = drain(stream)
    assert time.monotonic() - started < 30  # the stream alone would run 60 s
    assert error is not None and error.kind is ErrorKind.TIMED_OUT
    assert "CRS_MAX_RUN_SECONDS" in error.message
    stats = stream.stats
    assert stats.status is RunStatus.ERROR and stats.error_kind is ErrorKind.TIMED_OUT
    assert text and stats.text == text and text.startswith(" w0 w1")  # the partial report is kept
    assert fake_upstream.wait_for_disconnect(3)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_silent_server_is_stopped_at_the_wall_time_limit(fake_upstream, provider):
    """A read blocked on a server that sends nothing more still ends at the limit."""
    fake_upstream.push(
        Script(tokens=["## Overall", " risk:", " LOW"], fault="stall", fault_after=2)
    )
    stream = stream_model(
        config(fake_upstream, provider, read_timeout=30),
        "sys",
        "c",
        limits=RunLimits(max_run_seconds=1.0),
    )
    text, error = drain(stream)
    # TIMED_OUT with our limit's name is the run's clock; the 30 s read timeout would be a
    # READ_TIMEOUT. How close to 1 s it ends is a benchmark's figure, not this test's.
    assert error is not None and error.kind is ErrorKind.TIMED_OUT
    assert "CRS_MAX_RUN_SECONDS" in error.message
    assert text == "## Overall risk:" == stream.stats.text


@pytest.mark.parametrize("provider", PROVIDERS)
def test_output_is_cut_at_the_output_limit(fake_upstream, provider):
    fake_upstream.push(Script(tokens=["0123456789"] * 500))
    stream = stream_model(
        config(fake_upstream, provider), "sys", "c", limits=RunLimits(max_output_chars=95)
    )
    text, error = drain(stream)
    assert error is not None and error.kind is ErrorKind.OUTPUT_LIMIT
    assert "CRS_MAX_OUTPUT_CHARS" in error.message
    assert text == ("0123456789" * 10)[:95] == stream.stats.text
    assert stream.stats.status is RunStatus.ERROR
    assert fake_upstream.wait_for_disconnect(3)


def test_runs_beyond_the_concurrent_limit_are_refused_clearly(fake_upstream):
    fake_upstream.default = Script(tokens=[f" w{i}" for i in range(100)], delay=0.05)
    cfg = config(fake_upstream, Provider.OLLAMA)
    first, second = (
        LiveRun(stream_model(cfg, "sys", "c"), max_concurrent=2),
        LiveRun(stream_model(cfg, "sys", "c"), max_concurrent=2),
    )
    ended: list[LiveRun] = []
    third = LiveRun(stream_model(cfg, "sys", "c"), on_end=ended.append, max_concurrent=2)
    try:
        third._thread.join(2)
        assert third.finished and ended == [third]  # recorded through the usual end-of-run path
        assert third.error is not None and third.error.kind is ErrorKind.RATE_LIMITED
        assert "CRS_MAX_CONCURRENT_RUNS" in third.error.message
        assert third.stats.status is RunStatus.ERROR
        assert third.stats.error_kind is ErrorKind.RATE_LIMITED
        assert len(fake_upstream.streams()) <= 2  # the third never reached the server
    finally:
        first.cancel()
        second.cancel()
    # Once the others have ended, a new run is admitted again.
    fourth = LiveRun(stream_model(cfg, "sys", "c"), max_concurrent=2)
    fourth._thread.join(20)
    assert fourth.error is None and fourth.stats.status is RunStatus.DONE


def test_limits_come_from_the_environment():
    settings = load_settings(
        {
            "CRS_MAX_RUN_SECONDS": "90",
            "CRS_MAX_OUTPUT_CHARS": "5000",
            "CRS_MAX_CONCURRENT_RUNS": "3",
        }
    )
    assert settings.run_limits == RunLimits(90.0, 5000, 3)
    assert load_settings({}).run_limits == RunLimits()


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(A1)", "\t=1"])
def test_csv_cells_that_would_run_as_formulas_are_defused(cell):
    frame = pd.DataFrame({"document_name": [cell], "model": ["llama3.2"]}, index=[cell])
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode())))
    assert rows[1] == ["'" + cell, "'" + cell, "llama3.2"]


@pytest.mark.parametrize("header", ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(A1)"])
def test_csv_headers_that_would_run_as_formulas_are_defused(header):
    frame = pd.DataFrame({header: ["x"], "model": ["llama3.2"]})
    frame.index.name = header
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode())))
    assert rows[0] == ["'" + header, "'" + header, "model"]
    rows = list(csv.reader(io.StringIO(csv_bytes(frame, index=False).decode())))
    assert rows[0] == ["'" + header, "model"]


def test_the_busy_message_counts_in_words():
    assert "already running 1 review, its limit" in busy_message(1)
    assert "already running 3 reviews, its limit" in busy_message(3)


def _comparison_requests(upstream) -> list:
    from lib.analysis.documents import document_from_text
    from lib.runs.launch import RunRequest

    document = document_from_text("1. Term. Two years.", "Deal")
    return [
        RunRequest("compare", config(upstream, provider), document, "general", "", "", 512, 0.2)
        for provider in (Provider.ANTHROPIC, Provider.OLLAMA)
    ]


@pytest.mark.parametrize(("cap", "says"), [(2, "needs 2 of this app's 2 places"), (1, "cannot")])
def test_a_comparison_takes_both_places_or_starts_neither_side(fake_upstream, cap, says):
    """With one place free, the left side streamed (and was billed) and the cap refused the
    right: half a comparison. With a cap of 1 that was every comparison."""
    from lib.runs.launch import launch_together
    from lib.runs.live import STREAMS_IN_FLIGHT
    from lib.store.records import SessionHistory

    fake_upstream.default = Script(tokens=[f" w{i}" for i in range(100)], delay=0.05)
    settings = load_settings({"CRS_MAX_CONCURRENT_RUNS": str(cap), "CRS_HISTORY": "off"})
    before = STREAMS_IN_FLIGHT.count
    busy = (
        LiveRun(stream_model(config(fake_upstream, Provider.OLLAMA), "sys", "c"))
        if cap > 1
        else None
    )
    # The busy run's request on the server first: counted after the comparison, a request still
    # on its way would read as a side that reached the server (or, cancelled first, as none).
    deadline = time.monotonic() + 10
    while busy is not None and not fake_upstream.streams() and time.monotonic() < deadline:
        time.sleep(0.01)
    history = SessionHistory([])
    try:
        runs = launch_together(
            _comparison_requests(fake_upstream), history=history, run_log=None, settings=settings
        )
        for _, live in runs:
            live._thread.join(5)
    finally:
        if busy is not None:
            busy.cancel()
    assert len(fake_upstream.streams()) == (1 if busy else 0)  # neither side reached a server
    assert len(history.records) == 2  # both recorded, saying why, as a refused run is
    for record, live in runs:
        assert record.status is RunStatus.ERROR and record.error_kind == ErrorKind.RATE_LIMITED
        assert live.error is not None and says in live.error.message
        assert (
            "Neither side was started" in live.error.message or "neither side" in live.error.message
        )
        assert record.cost_usd in (None, 0)
    assert STREAMS_IN_FLIGHT.count == before


def test_a_comparison_with_room_runs_both_sides_and_gives_both_places_back(fake_upstream):
    from lib.runs.launch import launch_together
    from lib.runs.live import STREAMS_IN_FLIGHT
    from lib.store.records import SessionHistory

    fake_upstream.default = Script(tokens=[" done"])
    settings = load_settings({"CRS_MAX_CONCURRENT_RUNS": "2", "CRS_HISTORY": "off"})
    before = STREAMS_IN_FLIGHT.count
    runs = launch_together(
        _comparison_requests(fake_upstream),
        history=SessionHistory([]),
        run_log=None,
        settings=settings,
    )
    for _, live in runs:
        live._thread.join(10)
    assert [record.status for record, _ in runs] == [RunStatus.DONE, RunStatus.DONE]
    assert STREAMS_IN_FLIGHT.count == before


def test_a_side_that_cannot_start_gives_every_place_back_and_stops_the_others():
    """The path no comparison took in the tests above: the second of three runs fails to start
    (it gives its own place back, as `launch` does); the third's place was still held and the
    first was streaming alone."""
    from lib.runs.launch import start_together
    from lib.runs.live import STREAMS_IN_FLIGHT, release_slot

    settings = load_settings({"CRS_MAX_CONCURRENT_RUNS": "5", "CRS_HISTORY": "off"})
    before, cancelled = STREAMS_IN_FLIGHT.count, []

    def start(i: int, holds_place: bool, refusal) -> int:
        assert holds_place and refusal is None
        if i == 1:
            release_slot()  # its own place, given back as a run that cannot start does
            raise OSError("the second side could not start")
        return i

    with pytest.raises(OSError):
        start_together([True, True, True], start, cancelled.append, settings)
    assert cancelled == [0]
    # The first side's place goes back when its run ends; here nothing ran, so give it back.
    release_slot()
    assert STREAMS_IN_FLIGHT.count == before


def test_a_comparisons_sides_are_planned_before_either_starts(fake_upstream, monkeypatch):
    """Each side's long-contract plan (a clause-finder pass, over a second on a long contract)
    was made as that side started: the second side began that much after the first."""
    from lib.runs import launch as launching
    from lib.store.records import SessionHistory

    events: list[str] = []
    plan, start = launching.automatic_plan, launching.launch

    def planning(*args, **kwargs):
        events.append("plan")
        return plan(*args, **kwargs)

    def starting(*args, **kwargs):
        events.append("start")
        return start(*args, **kwargs)

    monkeypatch.setattr(launching, "automatic_plan", planning)
    monkeypatch.setattr(launching, "launch", starting)
    fake_upstream.default = Script(tokens=[" done"])
    settings = load_settings({"CRS_MAX_CONCURRENT_RUNS": "2", "CRS_HISTORY": "off"})
    runs = launching.launch_together(
        _comparison_requests(fake_upstream), history=SessionHistory([]), run_log=None,
        settings=settings,
    )  # fmt: skip
    for _, live in runs:
        live._thread.join(10)
    assert events[:3] == ["plan", "plan", "start"], events


def test_a_comparison_a_side_of_which_does_not_fit_its_model_sends_nothing(fake_upstream):
    """The Ollama side's estimate said it would not run, yet Compare sent the contract to Claude
    alone: half a comparison, billed."""
    from lib.analysis.documents import document_from_text
    from lib.engine.provider_config import endpoint_label
    from lib.runs.launch import NOT_TOGETHER, launch_together
    from lib.store.records import SessionHistory

    fake_upstream.app.context_limit = 1024
    fake_upstream.default = Script(tokens=[" done"])
    clauses = "\n".join(
        f"{i}. Term {i}. The parties agree to clause {i} in full." for i in range(900)
    )
    long = document_from_text(clauses, "Long")
    requests = [
        replace(r, document=long, built_prompt=None) for r in _comparison_requests(fake_upstream)
    ]
    settings = load_settings({"CRS_MAX_CONCURRENT_RUNS": "2", "CRS_HISTORY": "off"})
    runs = launch_together(requests, history=SessionHistory([]), run_log=None, settings=settings)
    for _, live in runs:
        live._thread.join(10)
    assert fake_upstream.streams() == []  # not a byte to either side
    # Claude's side fits: it is not recorded as too long (it was, beside the Ollama side's).
    (claude, claude_live), (ollama, ollama_live) = runs
    assert ollama.error_kind == ErrorKind.CONTEXT_TOO_LONG
    assert claude.error_kind == ErrorKind.PARTNER_CANNOT_RUN
    assert claude_live.error is not None and claude_live.error.message.startswith(NOT_TOGETHER)
    # Two sides may run one model at two servers: the endpoint says which did not fit.
    says = f"Ollama · llama3.2 at {endpoint_label(fake_upstream.url)} does not fit. The contract"
    assert says in claude_live.error.message
    assert ollama_live.error is not None and ollama_live.error.message.startswith(says)
    assert ollama_live.error.message.endswith(f"{NOT_TOGETHER}.")
    for record, _ in runs:  # refused before anything was sent: not started, nothing counted
        assert record.not_started and record.input_tokens == 0 and record.cost_usd in (None, 0)


@pytest.mark.parametrize("refused_by", ["context", "cap"])
def test_a_run_refused_before_anything_was_sent_counts_no_input_tokens(fake_upstream, refused_by):
    """Refused as too long for its model, a run recorded its prompt's estimate (10,799 tokens)
    as input tokens, as if the model had read them."""
    from lib.analysis.documents import document_from_text
    from lib.runs.launch import launch
    from lib.store.records import SessionHistory

    cap = "1" if refused_by == "cap" else "0"
    settings = load_settings({"CRS_MAX_CONCURRENT_RUNS": cap, "CRS_HISTORY": "off"})
    [request] = _comparison_requests(fake_upstream)[1:]  # the Ollama one
    if refused_by == "context":
        fake_upstream.app.context_limit = 1024
        clauses = "\n".join(f"{i}. Term {i}. The parties agree to clause {i}." for i in range(900))
        request = replace(request, document=document_from_text(clauses, "Long"), built_prompt=None)
    busy = (
        LiveRun(stream_model(config(fake_upstream, Provider.OLLAMA), "sys", "c"), max_concurrent=1)
        if refused_by == "cap"
        else None
    )
    try:
        record, live = launch(request, history=SessionHistory([]), run_log=None, settings=settings)
        live._thread.join(10)
    finally:
        if busy is not None:
            busy.cancel()
    kind = ErrorKind.CONTEXT_TOO_LONG if refused_by == "context" else ErrorKind.RATE_LIMITED
    assert record.error_kind == kind and record.not_started
    assert record.input_tokens == 0 and record.cost_usd in (None, 0)
    assert live.stats.estimated_input_tokens > 0  # the prompt's size, kept apart
