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
