"""Reasoning models: thinking read apart from the answer in every dialect, counted apart, asked for.

The recordings of each dialect (tests/test_parsers.py, tests/test_stream_model.py) check the
thinking text too; here are the leading `<think>` splitter at every byte, thinking over real HTTP
followed by an error, the per-run switch on the wire, and the figures a thinking run reports.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.errors import ProviderError
from lib.engine.events import Event, Note, TextDelta, ThinkingDelta, Usage
from lib.engine.fold import complete, fold
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.registry import spec_for
from lib.engine.providers.think_tags import UNCLOSED_NOTE, LeadingThink
from lib.engine.run_stats import RunStats, RunStatus
from lib.engine.stream_model import stream_model
from lib.ui.live_view import format_figures

KEY = "sk-test-SECRET-0123456789abcdefXYZ"
CONTRACT = "This agreement is made between Acme Ltd and Société Générale. " * 5


def merged(events: list[Event]) -> list[Event]:
    """Adjacent deltas of one kind joined: how a split stream is compared with a whole one."""
    out: list[Event] = []
    for kind, group in itertools.groupby(events, key=type):
        items = list(group)
        if kind in (TextDelta, ThinkingDelta):
            out.append(kind("".join(e.text for e in items)))  # type: ignore[attr-defined]
        else:
            out.extend(items)
    return out


def split_feed(text: str, cuts: list[int]) -> list[Event]:
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(text)}), len(text)]
    tags = LeadingThink()
    events: list[Event] = []
    for a, b in itertools.pairwise(bounds):
        events.extend(tags.feed(text[a:b]))
    events.extend(tags.end())
    return merged(events)


LEADING = "\n<think>\nClause 9: not </thin assignable.\n</think>\n\n## Overall risk: LOW\nok"


def test_a_leading_block_is_thinking_and_the_rest_the_answer():
    assert split_feed(LEADING, []) == [
        ThinkingDelta("\nClause 9: not </thin assignable.\n"),
        TextDelta("## Overall risk: LOW\nok"),
    ]


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(LEADING)), max_size=12))
def test_any_split_even_inside_a_tag_gives_the_same_events(cuts):
    assert split_feed(LEADING, cuts) == split_feed(LEADING, [])


@pytest.mark.parametrize("cut", range(1, len(LEADING)))
def test_every_single_cut_gives_the_same_events(cut):
    assert split_feed(LEADING, [cut]) == split_feed(LEADING, [])


@pytest.mark.parametrize(
    "answer",
    [
        "## Overall risk\nThe contract says <think>hide this</think> in clause 3.",
        "Summary first. <think>\nnot thinking\n</think>",
        "<thinking>is not the tag</thinking>",
        "<thin",
        "   ",
    ],
)
def test_a_tag_anywhere_but_the_start_stays_report_text(answer):
    """A contract can make a model quote `<think>`: that must not hide report text from the
    quote checks, so only a block opening the answer is thinking."""
    for cut in range(len(answer) + 1):
        assert split_feed(answer, [cut]) == [TextDelta(answer)]


def test_an_unclosed_leading_block_ends_as_thinking_with_a_note():
    assert split_feed("<think>still going", [9]) == [
        ThinkingDelta("still going"),
        Note(UNCLOSED_NOTE),
    ]


def config(upstream: FakeUpstream, provider: Provider) -> ProviderConfig:
    base = {Provider.OPENAI: f"{upstream.url}/v1"}.get(provider, upstream.url)
    model = "claude-sonnet-5-5" if provider is Provider.ANTHROPIC else "qwen3"
    return ProviderConfig(provider, model, base, api_key=KEY, read_timeout=5.0)


THOUGHTS = ["Reading", " clause 4", " — Société", " Générale", " 契約."]
ANSWER = ["## Overall", " risk: LOW\n", "fine."]
DIALECTS = [
    (Provider.OLLAMA, "llamacpp"),
    (Provider.OPENAI, "llamacpp"),
    (Provider.OPENAI, "ollama_v1"),
    (Provider.OPENAI, "llama_cpp_python"),
    (Provider.ANTHROPIC, "llamacpp"),
]


@pytest.mark.parametrize(("provider", "dialect"), DIALECTS)
@pytest.mark.parametrize("split", [1, 3, 7])
def test_thinking_then_answer_over_http(fake_upstream, provider, dialect, split):
    fake_upstream.push(Script(tokens=ANSWER, thinking=THOUGHTS, dialect=dialect, split=split))
    stream = stream_model(config(fake_upstream, provider), "Review.", CONTRACT)
    tokens = list(stream)
    stats = stream.stats
    assert "".join(tokens) == "".join(ANSWER)
    assert stats.text == "".join(ANSWER)
    assert stats.thinking == "".join(THOUGHTS)
    assert stats.status is RunStatus.DONE
    assert stats.first_thinking_at is not None and stats.first_token_at is not None
    assert stats.first_thinking_at <= stats.first_token_at


@pytest.mark.parametrize(("provider", "dialect"), DIALECTS)
@pytest.mark.parametrize("fault", ["error", "drop"])
def test_a_stream_that_thinks_then_errors_keeps_its_thinking(
    fake_upstream, provider, dialect, fault
):
    fake_upstream.push(
        Script(
            tokens=ANSWER,
            thinking=THOUGHTS,
            dialect=dialect,
            split=5,
            fault=fault,
            fault_after=3,
        )
    )
    stream = stream_model(config(fake_upstream, provider), "Review.", CONTRACT)
    with pytest.raises(ProviderError) as failed:
        list(stream)
    stats = stream.stats
    assert stats.status is RunStatus.ERROR
    assert stats.text == ""
    # No answer had begun: the message said "mid-answer".
    assert "still thinking" in failed.value.message and "mid-answer" not in failed.value.message
    # Three thinking deltas went out before the error; a leading-tag stream may hold back the
    # last few characters that could still have been its closing tag.
    assert "".join(THOUGHTS[:3]).startswith(stats.thinking[:12])
    assert stats.thinking


def test_ollama_sends_think_only_when_the_run_asks(fake_upstream):
    cfg = config(fake_upstream, Provider.OLLAMA)
    list(stream_model(cfg, "Review.", CONTRACT))
    list(stream_model(cfg, "Review.", CONTRACT, thinking=False))
    list(stream_model(cfg, "Review.", CONTRACT, thinking=True))
    bodies = [r.body for r in fake_upstream.streams()]
    assert ["think" in b for b in bodies] == [False, True, True]
    assert [b.get("think") for b in bodies[1:]] == [False, True]


def test_a_model_refusing_think_runs_without_it_with_a_note(fake_upstream):
    fake_upstream.push(Script(tokens=ANSWER, refuse_think=True))
    stream = stream_model(
        config(fake_upstream, Provider.OLLAMA), "Review.", CONTRACT, thinking=True
    )
    assert "".join(stream) == "".join(ANSWER)
    assert stream.stats.status is RunStatus.DONE
    assert any("thinking switch" in note for note in stream.stats.notes)
    chats = [r for r in fake_upstream.requests if r.path == "/api/chat"]
    assert ["think" in r.body for r in chats] == [True, False]


def test_claude_thinks_only_when_asked_with_a_budget(fake_upstream):
    cfg = config(fake_upstream, Provider.ANTHROPIC)
    list(stream_model(cfg, "Review.", CONTRACT, max_tokens=4096))
    list(
        stream_model(cfg, "Review.", CONTRACT, max_tokens=4096, thinking=True, thinking_budget=2048)
    )
    first, second = (r.body for r in fake_upstream.streams())
    assert "thinking" not in first
    assert second["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "temperature" not in second


def test_claude_budget_rules_live_in_its_spec():
    switch = spec_for(Provider.ANTHROPIC).thinking
    assert switch is not None and switch.default is False
    assert switch.budget_error(1023, 4096) is not None
    assert switch.budget_error(4096, 4096) is not None
    assert switch.budget_error(1024, 4096) is None
    assert switch.default_budget(4096) == 2048
    assert switch.default_budget(1024) is None
    assert spec_for(Provider.OPENAI).thinking is None


def test_thinking_never_reaches_a_provider_without_a_switch(fake_upstream):
    list(stream_model(config(fake_upstream, Provider.OPENAI), "R.", CONTRACT, thinking=True))
    assert "think" not in fake_upstream.streams()[-1].body


def test_figures_count_thinking_apart_from_the_answer():
    """Claude reports one output count, thinking included: tokens/s over the answer's time must
    count the answer's tokens alone, and time to first token is the answer's."""
    stats = RunStats(started_at=0.0)
    stats.add_thinking("Let me think about clause 4 at length. " * 20, now=1.0)
    stats.add_thinking("Done thinking.", now=5.0)
    stats.add_text("## Overall risk: LOW", now=6.0)
    stats.add_text(" fine.", now=8.0)
    fold(stats, Usage(output_tokens=400), 0)
    complete(stats)
    assert stats.time_to_first_thinking == 1.0
    assert stats.time_to_first_token == 6.0
    assert stats.thinking_seconds() == 5.0
    assert not stats.thinking_reported
    assert 0 < stats.answer_token_count < 20  # estimated from the answer's text
    # The rest of the one count is the thinking: the two add up to what was billed.
    assert stats.thinking_token_count + stats.answer_token_count == 400
    assert stats.tokens_per_second == pytest.approx(stats.answer_token_count / 2.0)
    assert "~" in format_figures(stats)  # the answer's count is partly an estimate


def test_summarised_thinking_is_counted_from_the_bill_not_its_short_text():
    """Claude returns a summary of its thinking and bills all of it: estimated from the summary's
    text, the thinking came out at 4 tokens beside an output of 900, and the rest was nowhere."""
    stats = RunStats(started_at=0.0)
    stats.add_thinking("Summary: check clause 4.", now=1.0)
    stats.add_text("## Overall risk: LOW. " * 10, now=6.0)
    assert stats.thinking_token_count < 20  # while it streams: the text is all there is
    fold(stats, Usage(output_tokens=900), 0)
    assert stats.thinking_token_count > 800
    assert stats.thinking_token_count + stats.answer_token_count == 900
    assert stats.thought_tokens == stats.thinking_token_count


def test_a_run_that_did_not_think_keeps_the_providers_own_count():
    stats = RunStats(started_at=0.0)
    fold(stats, TextDelta("answer " * 30), 0)
    fold(stats, Usage(10, 50), 0)
    assert stats.answer_token_count == 50 and stats.answer_reported
    assert stats.thought_tokens is None


def test_reported_thinking_tokens_are_taken_off_the_output():
    stats = RunStats(started_at=0.0)
    fold(stats, ThinkingDelta("hmm"), 0)
    fold(stats, TextDelta("answer"), 0)
    fold(stats, Usage(10, 50, 37), 0)
    assert stats.thinking_reported and stats.thinking_token_count == 37
    assert stats.answer_token_count == 13


def test_thinking_past_the_cap_is_dropped_with_a_note_and_the_report_still_comes():
    stats = RunStats()
    assert fold(stats, ThinkingDelta("x" * 30), 20) == ("", False)
    fold(stats, ThinkingDelta("y" * 5), 20)
    assert stats.thinking == "x" * 20
    assert stats.notes.count(stats.notes[0]) == 1 and "thinking" in stats.notes[0]
    assert fold(stats, TextDelta("report"), 20) == ("report", False)


def test_a_record_keeps_the_thinking_figures_even_when_only_its_count_was_sent(make_record):
    """OpenAI's own reasoning models report reasoning tokens but stream no thinking text."""
    stats = RunStats(started_at=0.0)
    fold(stats, TextDelta("## Overall risk: LOW"), 0)
    fold(stats, Usage(10, 120, 100), 0)
    complete(stats)
    record = make_record()
    record.update_from(stats)
    assert record.thinking == "" and record.thinking_tokens == 100 and record.thinking_reported
    assert record.thinking_s is None


def test_a_run_stopped_while_thinking_counts_and_prices_its_thinking():
    """Stopped (or failed) before any usage came, the run's output read 0 beside 100 thinking
    tokens, and its cost left out what the provider bills for that thinking."""
    from lib.engine.provider_config import Provider
    from lib.runs.pricing import run_cost

    stats = RunStats(started_at=0.0)
    fold(stats, ThinkingDelta("Weigh clause 4 against clause 9. " * 12), 0)
    stats.finish(RunStatus.CANCELLED)
    assert stats.thinking_token_count > 50 and stats.answer_token_count == 0
    assert stats.output_token_count == stats.thinking_token_count
    config = ProviderConfig(Provider.ANTHROPIC, "claude-sonnet-4-5", "", api_key="k" * 20)
    thinking_only = run_cost(config, stats)
    stats.input_tokens, stats.input_reported = 1_000, True
    assert thinking_only is not None and thinking_only > 0
    assert run_cost(config, stats) > 1_000 * 3 / 1e6  # input and the thinking's output


def test_the_thinking_count_never_falls_below_its_own_text():
    """An answer whose estimate overshot the one count a provider sent left the thinking at 0
    tokens, though it had streamed text."""
    stats = RunStats(started_at=0.0)
    fold(stats, ThinkingDelta("Check the cap and the carve-outs. " * 3), 0)
    fold(stats, TextDelta("## Overall risk: LOW — every clause is standard and fine. " * 2), 0)
    fold(stats, Usage(output_tokens=8), 0)
    assert stats.thinking_token_count > 0
    assert stats.thinking_token_count + stats.answer_token_count == 8
