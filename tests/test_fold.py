"""The fold of a run's events into its figures, on plain lists of events (no server, no thread)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.engine.errors import ErrorKind, OutputLimit, TimedOut
from lib.engine.events import Event, Finish, Note, TextDelta, Usage, Waiting
from lib.engine.fold import LENGTH_NOTE, Shown, complete, fail, fold
from lib.engine.run_stats import RunStats, RunStatus


def fold_all(events: list[Event], cap: int = 0) -> tuple[RunStats, list[Shown | None]]:
    stats = RunStats()
    return stats, [fold(stats, event, cap) for event in events]


def test_text_deltas_build_the_report_and_are_shown_as_they_come():
    stats, shown = fold_all([TextDelta("## Risk"), Usage(12), TextDelta(": HIGH")])
    assert shown == [("## Risk", False), None, (": HIGH", False)]
    assert stats.text == "## Risk: HIGH" and stats.chars == 13
    assert [chars for _, chars in stats.timeline] == [7, 13]
    assert stats.first_token_at is not None and stats.last_token_at >= stats.first_token_at


def test_an_empty_delta_is_shown_as_nothing_and_starts_no_clock():
    stats, shown = fold_all([TextDelta("")])
    assert shown == [("", False)]
    assert stats.first_token_at is None and stats.timeline == []


def test_usage_counts_are_reported_one_side_at_a_time():
    stats, _ = fold_all([Usage(input_tokens=120)])
    assert (stats.input_tokens, stats.input_reported) == (120, True)
    assert (stats.output_tokens, stats.output_reported) == (None, False)
    assert not stats.tokens_reported
    # Claude's later message_delta carries the output count alone: the input count stays.
    fold(stats, Usage(output_tokens=7), 0)
    fold(stats, Usage(output_tokens=31), 0)
    assert (stats.input_tokens, stats.output_tokens) == (120, 31)
    assert stats.tokens_reported


def test_finish_notes_and_waiting_are_recorded():
    stats, shown = fold_all(
        [Waiting("busy with another review"), Note("cold start"), Finish("stop")]
    )
    assert shown == [None, None, None]
    assert stats.waiting_reason == "busy with another review"
    assert stats.notes == ["cold start"]
    assert stats.finish_reason == "stop"


def test_the_first_text_ends_the_wait():
    stats, _ = fold_all([Waiting("busy"), TextDelta("Clause 1")])
    assert stats.waiting_reason is None


def test_the_delta_that_crosses_the_cap_is_cut_to_fit_and_marked():
    stats, shown = fold_all([TextDelta("abcd"), TextDelta("efgh")], cap=6)
    assert shown == [("abcd", False), ("ef", True)]
    assert stats.text == "abcdef"


def test_a_delta_that_lands_exactly_on_the_cap_ends_the_run():
    _, shown = fold_all([TextDelta("abc"), TextDelta("def")], cap=6)
    assert shown[-1] == ("def", True)


@pytest.mark.parametrize("cap", [0, -1])
def test_a_cap_of_zero_or_less_is_off(cap):
    stats, shown = fold_all([TextDelta("x" * 10_000)] * 3, cap=cap)
    assert not any(s[1] for s in shown if s is not None)
    assert stats.chars == 30_000


@given(
    deltas=st.lists(st.text(max_size=30), max_size=30),
    cap=st.integers(min_value=1, max_value=200),
)
def test_folding_until_capped_never_holds_more_than_the_cap(deltas, cap):
    stats = RunStats()
    shown_text = []
    for delta in deltas:
        shown = fold(stats, TextDelta(delta), cap)
        assert shown is not None
        text, capped = shown
        shown_text.append(text)
        if capped:
            break
    whole = "".join(deltas)
    assert stats.text == "".join(shown_text) == whole[: min(cap, len(whole))]


def test_an_object_that_is_no_event_is_refused():
    with pytest.raises(AssertionError):
        fold(RunStats(), ("text", "not an event"), 0)  # type: ignore[arg-type]


@pytest.mark.parametrize("reason", ["length", "max_tokens"])
def test_a_run_that_ran_out_of_tokens_completes_with_a_warning(reason):
    stats, _ = fold_all([TextDelta("## Risk"), Finish(reason)])
    complete(stats)
    assert stats.status is RunStatus.DONE and stats.ended_at is not None
    assert stats.notes == [LENGTH_NOTE]


def test_a_run_that_stopped_normally_completes_without_notes():
    stats, _ = fold_all([TextDelta("## Risk"), Finish("stop")])
    complete(stats)
    assert stats.status is RunStatus.DONE and stats.notes == []


def test_a_failed_run_keeps_its_partial_report_and_says_why():
    stats, _ = fold_all([TextDelta("## Risk: "), TextDelta("HIGH")])
    fail(stats, TimedOut("stopped after 10 s"))
    assert stats.status is RunStatus.ERROR
    assert (stats.error_kind, stats.error_message) == (ErrorKind.TIMED_OUT, "stopped after 10 s")
    assert stats.text == "## Risk: HIGH"


def test_a_run_ends_once():
    stats = RunStats()
    fail(stats, OutputLimit("cap"))
    ended_at = stats.ended_at
    complete(stats)
    assert stats.status is RunStatus.ERROR and stats.ended_at == ended_at
