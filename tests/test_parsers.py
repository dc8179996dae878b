"""Each provider's wire parser on the recorded streams, replayed through httpx's MockTransport.

No sockets: the recordings in devtools/fake_upstream/recordings are served by a transport in this
process, in whatever pieces a test chooses, and the parsed events are folded as a run folds them.
Faults, byte splits and cancellation over real loopback HTTP stay in tests/test_stream_model.py.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from httpx_sse import EventSource
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.engine.errors import ErrorKind, ProviderError
from lib.engine.events import ChatRequest, Event, Finish, StreamContext, TextDelta
from lib.engine.fold import complete, fold
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers import anthropic, ollama, openai_compat
from lib.engine.run_stats import RunStats, RunStatus

RECORDINGS = Path(__file__).resolve().parent.parent / "devtools" / "fake_upstream" / "recordings"
REQUEST = ChatRequest(
    system="You review contracts.",
    user="This agreement is made between Acme Ltd and Société Générale.",
    max_tokens=256,
    temperature=0.2,
    estimated_input_tokens=20,
)
CASES = [
    ("anthropic_basic.sse", Provider.ANTHROPIC),
    ("ollama_chat.ndjson", Provider.OLLAMA),
    ("ollama_v1_current.sse", Provider.OPENAI),
    ("ollama_v1_legacy.sse", Provider.OPENAI),
    ("llamacpp.sse", Provider.OPENAI),
    ("llama_cpp_python.sse", Provider.OPENAI),
    # Reasoning models, one recording per way thinking is sent.
    ("ollama_thinking.ndjson", Provider.OLLAMA),
    ("llamacpp_reasoning.sse", Provider.OPENAI),
    ("openrouter_reasoning.sse", Provider.OPENAI),
    ("ollama_v1_think_tags.sse", Provider.OPENAI),
    ("anthropic_thinking.sse", Provider.ANTHROPIC),
]


@dataclass(frozen=True)
class Expected:
    text: str
    input_tokens: int | None
    output_tokens: int | None
    finish_reason: str
    thinking: str = ""
    thinking_tokens: int | None = None


def expected(recording: str) -> Expected:
    path = (RECORDINGS / recording).with_suffix(".expected.json")
    return Expected(**json.loads(path.read_text(encoding="utf-8")))


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` cut at the given offsets (any order, repeats allowed)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def parse(provider: Provider, chunks: list[bytes]) -> list[Event]:
    """The events `provider`'s parser reads from a response whose body arrives as `chunks`."""
    media = "application/x-ndjson" if provider is Provider.OLLAMA else "text/event-stream"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": media}, content=iter(chunks))

    config = ProviderConfig(provider, "model", "http://model.test")
    ctx = StreamContext()
    with (
        httpx.Client(transport=httpx.MockTransport(answer)) as client,
        client.stream("POST", "http://model.test/stream") as response,
    ):
        events: Iterator[Event]
        if provider is Provider.OLLAMA:
            lines = ollama.ndjson_lines(response.iter_bytes())
            events = ollama.parse_lines(lines, config, REQUEST, ctx)
        elif provider is Provider.ANTHROPIC:
            events = anthropic.parse_events(EventSource(response), config, ctx)
        else:
            events = openai_compat.parse_events(EventSource(response), config, ctx)
        return list(events)


def folded(events: list[Event], cap: int = 0) -> RunStats:
    stats = RunStats()
    for event in events:
        fold(stats, event, cap)
    complete(stats)
    return stats


@pytest.mark.parametrize(("recording", "provider"), CASES)
def test_recording_folds_to_its_expected_report_and_usage(recording, provider):
    want = expected(recording)
    events = parse(provider, [(RECORDINGS / recording).read_bytes()])
    stats = folded(events)
    assert stats.text == want.text
    assert (stats.input_tokens, stats.output_tokens) == (want.input_tokens, want.output_tokens)
    assert stats.tokens_reported is (want.output_tokens is not None)
    assert stats.finish_reason == want.finish_reason
    assert stats.status is RunStatus.DONE
    assert stats.thinking == want.thinking
    assert stats.thinking_tokens == want.thinking_tokens
    # The stream ends with exactly one finish, and nothing is read after it.
    assert [type(e) for e in events].count(Finish) == 1
    assert isinstance(events[-1], Finish) or provider is Provider.OPENAI


@pytest.mark.parametrize(("recording", "provider"), CASES)
@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=4000), max_size=40))
def test_any_byte_split_gives_the_same_events(recording, provider, cuts):
    data = (RECORDINGS / recording).read_bytes()
    whole = parse(provider, [data])
    assert parse(provider, pieces(data, cuts)) == whole


@pytest.mark.parametrize(("recording", "provider"), CASES)
def test_a_stream_cut_short_never_passes_for_a_whole_answer(recording, provider):
    """Every prefix of a recording either parses to the whole answer (only the closing bytes,
    which carry nothing, were missing) or fails with a provider error: a truncated answer is
    never reported as complete."""
    data = (RECORDINGS / recording).read_bytes()
    whole = parse(provider, [data])
    failures = 0
    for end in range(len(data)):
        try:
            events = parse(provider, [data[:end]])
        except ProviderError as exc:
            assert exc.kind in (ErrorKind.INTERRUPTED, ErrorKind.BAD_RESPONSE)
            failures += 1
            continue
        assert events == whole, f"a stream cut at byte {end} of {len(data)} passed as whole"
    # Only the last few bytes (a trailing newline, an empty data line) may go missing unnoticed.
    assert failures >= len(data) - 4


def test_an_empty_body_is_interrupted_for_every_format():
    for provider in (Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC):
        with pytest.raises(ProviderError) as info:
            parse(provider, [])
        assert info.value.kind is ErrorKind.INTERRUPTED, provider


def test_ollama_keeps_a_line_that_holds_u0085_whole():
    line = {"message": {"content": "pay \u0085 within 30 days"}, "done": False}
    final = {"message": {"content": ""}, "done": True, "done_reason": "stop", "eval_count": 4}
    body = (json.dumps(line, ensure_ascii=False) + "\n" + json.dumps(final) + "\n").encode()
    events = parse(Provider.OLLAMA, pieces(body, [5, 17]))
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("pay \u0085 within 30 days")
    ]


def test_recording_folded_under_a_cap_stops_at_the_cap():
    events = parse(Provider.OLLAMA, [(RECORDINGS / "ollama_chat.ndjson").read_bytes()])
    stats = RunStats()
    shown = []
    for event in events:
        step = fold(stats, event, cap=15)
        if step is not None:
            shown.append(step)
            if step[1]:
                break
    # "## Overall" (10 characters) fits; the next delta is cut to the 5 that still fit.
    assert shown == [("## Overall", False), (" risk", True)]
    assert stats.text == expected("ollama_chat.ndjson").text[:15]
