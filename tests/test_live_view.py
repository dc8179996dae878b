"""The live view's drawing of a report is kept as the finished report: the end of a run redraws
only the segments a late quote verdict reaches, never the whole report again."""

from __future__ import annotations

from lib.analysis.grounding import ContractIndex, GroundingTracker
from lib.ui.live_view import LiveReport

CONTRACT = "12.1 The Supplier's liability under this agreement is unlimited in amount and time."
PARAGRAPH = 'Liability: "The Supplier\'s liability under this agreement is unlimited" (§12.1). '


class Slot:
    """A stand-in for a Streamlit placeholder: records what is drawn into it."""

    def __init__(self, drawn: list[tuple[Slot, str]]) -> None:
        self.drawn = drawn
        self.cleared = False

    def empty(self) -> Slot:
        self.cleared = True
        return Slot(self.drawn)

    def container(self) -> Slot:
        return self

    def markdown(self, text: str) -> None:
        self.drawn.append((self, text))

    def caption(self, text: str) -> None:
        self.drawn.append((self, text))


def streamed(report: str) -> tuple[LiveReport, GroundingTracker, list[tuple[Slot, str]]]:
    drawn: list[tuple[Slot, str]] = []
    tracker = GroundingTracker(ContractIndex.build(CONTRACT))
    view = LiveReport(Slot(drawn), tracker, frozenset())
    for start in range(0, len(report), 50):
        view.add(report[start : start + 50])
    return view, tracker, drawn


def test_the_finish_redraws_only_the_segment_a_late_verdict_reaches():
    report = "\n\n".join([PARAGRAPH * 3] * 15) + "\n\nLast: " + PARAGRAPH
    view, tracker, drawn = streamed(report)
    assert len(view.frozen) >= 2, "the report spans several frozen segments"
    before = len(tracker.checked)
    tracker.finish(report)  # the run's end checks its last paragraph
    assert len(tracker.checked) > before
    del drawn[:]

    assert view.keep(report, list(tracker.checked), "Report · done", thought=False)

    targets = [slot for slot, _ in drawn]
    assert targets[0] is view.figures, "the caption replaces the live figures line"
    assert targets[1:] == [view.tail.target], "only the tail, which holds the late quote, again"
    assert "✓" in drawn[-1][1] or "verified" in drawn[-1][1].lower()


def test_a_report_that_differs_from_the_drawing_is_cleared_for_a_whole_redraw():
    report = "\n\n".join([PARAGRAPH] * 4)
    view, tracker, _ = streamed(report)
    tracker.finish(report)
    assert not view.keep(report + " more", list(tracker.checked), "Report", thought=False)
    assert view.slot.cleared and view.figures.cleared


def test_a_drawing_without_the_runs_thinking_panel_is_not_kept():
    report = PARAGRAPH
    view, tracker, _ = streamed(report)
    tracker.finish(report)
    assert not view.keep(report, list(tracker.checked), "Report", thought=True)


class Feed:
    """A stand-in for a run's live feed: records the text the page says it drew as Markdown."""

    def __init__(self) -> None:
        self.handed: list[str] = []

    def show(self, slot: Slot) -> None:
        slot.markdown("<the live tail>")

    def drawn(self, text: str) -> None:
        self.handed.append(text)


def with_feed() -> tuple[LiveReport, Feed, list[tuple[Slot, str]]]:
    drawn: list[tuple[Slot, str]] = []
    feed = Feed()
    view = LiveReport(Slot(drawn), None, frozenset(), (feed, Feed()))  # type: ignore[arg-type]
    return view, feed, drawn


def test_with_a_feed_each_finished_line_is_drawn_as_markdown_in_its_paragraphs_place():
    view, feed, drawn = with_feed()
    for token in ["## Risks", "\n\n", "- **Liability**", " is unlimited", "\n", "- **Ind"]:
        view.add(token)
    # The heading is a finished paragraph; of the list, the finished line only: the line being
    # written stays with the feed, as text.
    assert "".join(feed.handed) == "## Risks\n\n- **Liability** is unlimited\n"
    lines = view.lines
    assert lines is not None and drawn[-1][0] is lines.target
    assert drawn[-1][1].strip() == "- **Liability** is unlimited"
    view.add("emnity** is one-sided\n")
    assert drawn[-1][0] is lines.target and "Indemnity" in drawn[-1][1]
    view.add("\nLast words.")  # the list is complete: drawn whole where its lines were
    assert view.frozen[-1].target is lines.target and view.lines is None
    assert "".join(feed.handed) == view.report[: -len("Last words.")]
    view.settle()  # the run ended: the last paragraph, which has no finished line, in its slot
    assert drawn[-1][0] is view.live and "Last words" in drawn[-1][1]


def test_with_a_feed_the_end_draws_the_unfinished_paragraph_where_its_lines_are():
    view, feed, drawn = with_feed()
    for token in ["- one\n", "- two\n", "- thr", "ee"]:
        view.add(token)
    lines = view.lines
    assert lines is not None and lines.text == "- one\n- two\n"
    assert "".join(feed.handed) == "- one\n- two\n"
    view.settle()
    assert drawn[-1][0] is lines.target and "- three" in drawn[-1][1]
    assert view.live.cleared, "the live tail is gone: its text is in the Markdown above"
    assert view.tail.target is lines.target  # a late quote verdict redraws it there


def test_the_clause_finders_live_figures_claim_no_speed():
    """Its whole report comes at once: "1593196.9 tokens/s" and a first token after 0.05 s
    of 0.0 s elapsed said nothing true."""
    from lib.engine.events import Source
    from lib.engine.provider_config import Provider, ProviderConfig
    from lib.engine.stream_model import stream_model
    from lib.ui.live_view import format_figures

    contract = "1. Governing Law. The laws of England govern this Agreement. " * 40
    stream = stream_model(
        ProviderConfig(Provider.CLAUSE_FINDER, "rules"),
        "",
        contract,
        source=Source("MSA.txt", contract, "general"),
    )
    assert "".join(stream)
    line = format_figures(stream.stats)
    assert "tokens/s" not in line and "first answer token" not in line, line
    assert " tokens" in line and "s elapsed" in line


def test_a_model_that_thought_under_a_second_is_not_said_to_have_thought_for_0_s():
    from lib.engine.run_stats import RunStats
    from lib.ui.live_view import thinking_line

    stats = RunStats(started_at=100.0)
    stats.add_thinking("weigh it", now=100.1)
    stats.add_text("Answer", now=100.4)
    assert thinking_line(stats).startswith("Thought for under a second · ")
    stats = RunStats(started_at=100.0)
    stats.add_thinking("weigh it", now=100.1)
    stats.add_text("Answer", now=112.2)
    assert thinking_line(stats).startswith("Thought for 12 s · ")


def test_the_live_figures_of_a_silent_model_say_so_instead_of_its_last_speed():
    """A stalled stream read "24.3 s elapsed · … · 76.4 tokens/s" for as long as it stalled."""
    from lib.engine.run_stats import RunStats
    from lib.ui.live_view import format_figures

    stats = RunStats(started_at=0.0, read_timeout=300.0)
    for i in range(75):
        stats.add_text(" w", now=0.03 + i / 75)
    assert "tokens/s" in format_figures(stats, now=1.1)
    line = format_figures(stats, now=24.3)
    assert "tokens/s" not in line, line
    assert line.endswith(
        "nothing received for 23 s — the run ends after 300 s of silence (Stop to end it now)"
    ), line
