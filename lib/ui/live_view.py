"""One live view for one or more runs: the Review page draws one, Compare two, in columns.

The model is read on worker threads (`lib.runs.live.LiveRun`) while the script thread keeps
drawing: a "waiting for the model" line before the first token, then the text as it grows, so
Streamlit can stop the script at any moment and the `finally` that cancels the runs always executes.
Text goes into Markdown placeholders in segments (`SegmentedText`): a finished segment is frozen in
its own element, so each redraw re-sends only the live tail, not the whole report. Where the app
is served with its live feed (`lib.ui.live_feed`), the live tail is the line being written, shown
as text by the feed's component, and the finished lines of each paragraph are drawn as Markdown
(so a list or a table is formatted line by line).

A reasoning model's thinking grows in a collapsed "Thinking…" panel above the report, with a
"thinking for 12 s" line; when the answer starts the panel folds into "Thought for 12 s". The
thinking is model output too, drawn through the same sanitiser as the report.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import streamlit as st

from lib.analysis.grounding import CheckedQuote, GroundingTracker, annotate_markdown
from lib.engine.run_stats import RunStats
from lib.runs.live import LiveRun, silence_note, stop_all, watch
from lib.ui.live_feed import Published, publish, served
from lib.ui.safe import label, md, show_markdown
from lib.ui.segments import SOFT_LIMIT, SegmentedText

# Live figures change slowly; each refresh costs the browser as much as a text render.
FIGURES_REFRESH_S = 1.0
ACTIVE_RUNS_KEY = "active_runs"
# Session state: which of its two places a page's run area is drawn in (`run_area`).
RUN_AREA_KEY = "run_area"


class Cancellable(Protocol):
    """A run a page watches: a `LiveRun`, or a playbook check (`PlaybookRun`)."""

    def cancel(self) -> None: ...


def cancel_active_runs(state: MutableMapping[str, Any], group: str) -> None:
    """A new script run means the user moved on: end any run an earlier script left streaming."""
    runs: dict[str, list[Cancellable]] = state.setdefault(ACTIVE_RUNS_KEY, {})
    for live in runs.pop(group, []):
        live.cancel()


def run_area(state: MutableMapping[str, Any], group: str, new_run: bool) -> Any:
    """The page's place for its runs' reports, live and finished: empty in the browser from the
    moment `new_run` starts, so nothing of the last report is shown beside the new one.

    Why: the browser gives a container drawn where one of the same kind was the old one's
    children, and shows those the new script run has not yet drawn over, greyed, until the run
    ends: the last report's paragraphs past the new one's, its quote count and figures stayed
    under the new report while it streamed, for minutes while a model stalled. Emptying the place
    first does not help: Streamlit merges the emptying with the container then drawn there before
    the browser sees either. So the area takes one of two places in turn, a new run the other
    one, and the old place is drawn over with an empty element: no container is left to inherit
    from. Reruns without a new run keep the place, and the finished report stays as it is."""
    key = f"{RUN_AREA_KEY}_{group}"
    place = int(state.get(key, 0))
    if new_run:
        place = state[key] = 1 - place
    area = None
    for i in range(2):  # in page order: the area above or below the emptied place
        if i == place:
            area = st.container()
        else:
            st.empty()
    return area


def thinking_line(stats: RunStats, now: float | None = None) -> str | None:
    """ "Thinking for 12 s · ~340 tokens" while the model thinks, "Thought for 12 s · …" once
    it answers; None for a run that has not thought."""
    seconds = stats.thinking_seconds(now)
    if seconds is None:
        return None
    verb = "Thinking for" if stats.is_thinking else "Thought for"
    mark = "" if stats.thinking_reported else "~"
    return f"{verb} {thought_for(seconds)} · {mark}{stats.thinking_token_count:,} thinking tokens"


def thought_for(seconds: float) -> str:
    """How long a model thought, live and in the finished report: whole seconds, but never
    "0 s" for a model that did think."""
    return "under a second" if seconds < 0.5 else f"{seconds:.0f} s"


def format_figures(stats: RunStats, now: float | None = None) -> str:
    """One line of live figures; tokens so far are estimated until the provider reports them, and
    a model gone silent is said to be (`silence_note`)."""
    parts = [f"{stats.elapsed(now):.1f} s elapsed"]
    if not stats.is_thinking and (thinking := thinking_line(stats, now)) is not None:
        parts.append(thinking)  # while it thinks, the thinking panel's own line says so
    ttft = stats.time_to_first_token
    if stats.has_speed:
        parts.append(
            f"first answer token {ttft:.2f} s" if ttft is not None else "waiting for first token"
        )
    mark = "" if stats.answer_reported else "~"
    parts.append(f"{mark}{stats.answer_token_count:,} tokens")
    silence = silence_note(stats, now)
    speed = stats.tokens_per_second
    if speed and silence is None:  # a silent model's last speed is no current one
        parts.append(f"{speed:.1f} tokens/s")
    if stats.progress:
        parts.append(stats.progress)
    if silence is not None:
        parts.append(silence)
    return " · ".join(parts)


def waiting_line(stats: RunStats) -> str:
    reason = label(stats.waiting_reason) if stats.waiting_reason else "Waiting for the model…"
    return f"{reason} {stats.elapsed():.1f} s"


class _Thinking:
    """The thinking panel of one run: a caption, then a collapsed expander whose text grows in
    frozen segments like the report. Created at the first thought; folded when the answer starts
    (redrawn once, whole, under "Thought for N s")."""

    LABEL = "Thinking…"

    def __init__(
        self, slot: Any, allowed_hosts: frozenset[str], feed: Published | None = None
    ) -> None:
        """`feed`: the run's thinking feed; the paragraph being thought is then shown by it."""
        self.slot = slot
        self.allowed_hosts = allowed_hosts
        self.parts = 0
        self.folded = False
        self.line = ""
        box = slot.container()
        self.caption = box.empty()
        area = box.expander(self.LABEL, expanded=False, icon=":material/psychology:")
        self.area = area.container()  # the finished paragraphs
        self.live = area.empty()  # the one being thought, below them
        self.feed = feed
        self.text = SegmentedText(1 if self.feed else SOFT_LIMIT)
        if feed is not None:
            feed.show(self.live)

    def update(self, stats: RunStats, now: float) -> None:
        if self.folded:
            return
        new, self.parts = stats.thinking_since(self.parts)
        if not stats.is_thinking and not new:
            # Folded a step after the last thought was drawn, so every thought is seen growing.
            self.fold(stats, now)
            return
        seconds = stats.thinking_seconds(now) or 0.0
        line = f"Thinking for {thought_for(seconds)}…"
        if line != self.line:
            # Redrawn only when it reads differently: each redraw costs the browser a render.
            self.line = line
            self.caption.caption(line)
        if not new:
            return
        finished = self.text.add(new)
        if finished is not None:
            show_markdown(self.area.empty(), finished, self.allowed_hosts)
            if self.feed is not None:
                self.feed.drawn(finished)
        if self.feed is None:
            show_markdown(self.live, self.text.live, self.allowed_hosts)

    def fold(self, stats: RunStats, now: float) -> None:
        self.folded = True
        line = thinking_line(stats, now) or self.LABEL
        # Drawn over the growing panel element for element (caption, then the panel holding the
        # text, then the feed's place): Streamlit keeps a replaced container's children that the
        # new one does not overwrite until the script ends, so the old panel stayed beside this.
        box = self.slot.container()
        box.empty()
        panel = box.expander(label(line), expanded=False, icon=":material/psychology:")
        show_markdown(panel, stats.thinking, self.allowed_hosts)
        panel.empty()


@dataclass
class _Drawn:
    """One segment on screen: where it is, what it holds, and how many of the run's checked
    quotes there were when it was drawn (its marks can only be missing the ones after)."""

    target: Any
    offset: int
    text: str
    marks: int


class LiveReport:
    """Where one run is drawn: a figures line above a column of frozen segments and a live tail.

    With a grounding tracker, each paragraph's quotes are checked as it completes and marked in
    place; a frozen segment is drawn with its marks once, the live tail with the marks so far.
    Everything is drawn through the sanitiser: the report is model output.

    When the run ends, the finished report view keeps what is on screen (`keep`): it redraws only
    the segments a late verdict marks, instead of sending the whole report again for the browser
    to parse while the last tokens are still on their way (docs/PROFILES.md, 2026-12-06).
    """

    def __init__(
        self,
        container: Any,
        tracker: GroundingTracker | None,
        allowed_hosts: frozenset[str],
        feeds: tuple[Published, Published] | None = None,
    ) -> None:
        """`feeds`: the run's live feeds of its answer and its thinking (`lib.ui.live_feed`);
        the line being written is then shown by a feed's component as text, and each paragraph
        drawn as Markdown a finished line at a time. Without them, the live tail is Markdown
        redrawn at every step."""
        self.allowed_hosts = allowed_hosts
        self.feed: Published | None = feeds[0] if feeds else None
        self.thinking_feed: Published | None = feeds[1] if feeds else None
        self.figures = container.empty()
        self.thinking_slot = container.empty()
        self.thinking: _Thinking | None = None
        self.slot = container.empty()
        body = self.slot.container()
        self.area = body.container()  # the frozen segments, in order
        self.note = body.empty()  # "waiting for the model…" until the first text
        self.live = body.empty()  # the live tail, below them
        self.text = SegmentedText(1 if self.feed else SOFT_LIMIT)
        self.tracker = tracker
        self.report = ""
        self.frozen: list[_Drawn] = []
        self.tail = _Drawn(self.live, 0, "", 0)
        # With a feed: the finished lines of the paragraph being written, drawn as Markdown in
        # the place the whole paragraph takes once complete (a list, a table or a run of headed
        # lines is shown formatted line by line; only the line being written is plain text).
        self.lines: _Drawn | None = None
        # With a feed: how much of the report is drawn as Markdown (the feed shows the rest).
        self.handed = 0
        if self.feed is not None:
            # Mounted before the first token, so the browser is connected when it comes.
            self.feed.show(self.live)

    def waiting(self, line: str | None) -> None:
        """Say what the run waits for (None: nothing to say, it is thinking)."""
        if line is None:
            self.note.empty()
        else:
            self.note.caption(line)

    def add(self, text: str) -> None:
        if not self.report:
            self.note.empty()
        self.report += text
        finished = self.text.add(text)
        if self.tracker is not None:
            self.tracker.feed(self.report)
        if finished is not None:
            self.frozen.append(self._draw(_Drawn(self._paragraph(), self.tail.offset, finished, 0)))
            self.lines = None
            self.tail = _Drawn(self.live, self.tail.offset + len(finished), "", 0)
        if self.feed is None:
            self.tail = self._draw(_Drawn(self.live, self.tail.offset, self.text.live, 0))
            return
        live = self.text.live
        drawn = 0 if self.lines is None else len(self.lines.text)
        done = live.rfind("\n") + 1  # the paragraph's finished lines
        if done > drawn:
            self.lines = self._draw(_Drawn(self._paragraph(), self.tail.offset, live[:done], 0))
            drawn = done
        self.tail = replace(self.tail, text=live)
        upto = self.tail.offset + drawn
        if upto > self.handed:  # the feed's component drops what is now Markdown
            self.feed.drawn(self.report[self.handed : upto])
            self.handed = upto

    def _paragraph(self) -> Any:
        """Where the paragraph being written is drawn: its finished lines' place, or a new one."""
        return self.area.empty() if self.lines is None else self.lines.target

    def settle(self) -> None:
        """The run ended: the tail the feed showed as text is drawn as Markdown, like the rest
        (where its finished lines are, when it has some)."""
        if self.feed is not None:
            if self.lines is not None:
                self.live.empty()
                self.tail = replace(self.tail, target=self.lines.target)
            self.tail = self._draw(self.tail)

    def _checked(self) -> list[CheckedQuote]:
        return self.tracker.checked if self.tracker is not None else []

    def _draw(self, segment: _Drawn) -> _Drawn:
        checked = self._checked()
        if not checked:
            show_markdown(segment.target, segment.text, self.allowed_hosts)
        else:
            segment.target.markdown(
                annotate_markdown(
                    segment.text,
                    checked,
                    offset=segment.offset,
                    sanitise=lambda text: md(text, self.allowed_hosts),
                )
            )
        return replace(segment, marks=len(checked))

    def keep(
        self, report: str, checked: Sequence[CheckedQuote] | None, caption: str, thought: bool
    ) -> bool:
        """Keep the drawn report as the finished one, when it is the same text with the same
        verdicts: the caption goes where the live figures were, and only segments a verdict
        reached after their draw are drawn again. Otherwise clear everything (the caller draws
        the report whole) and say so. A run that thought is drawn whole: its thinking panel must
        end folded, and the browser keeps a panel the analyst opened open while it stays.
        """
        same = report == self.report and list(checked or []) == self._checked()
        if not report or not same or thought or self.thinking is not None:
            self.clear()
            return False
        self.figures.caption(caption)
        for segment in [*self.frozen, self.tail]:
            late = self._checked()[segment.marks :]
            end = segment.offset + len(segment.text)
            if any(segment.offset <= c.quote.start and c.quote.end <= end for c in late):
                self._draw(segment)
        return True

    def show_thinking(self, stats: RunStats, now: float) -> None:
        if self.thinking is None:
            if stats.first_thinking_at is None:
                return
            self.thinking = _Thinking(self.thinking_slot, self.allowed_hosts, self.thinking_feed)
        self.thinking.update(stats, now)

    def clear(self) -> None:
        self.figures.empty()
        self.thinking_slot.empty()
        self.slot.empty()


def show_live(
    state: MutableMapping[str, Any],
    group: str,
    lives: Sequence[LiveRun],
    containers: Sequence[Any] | None = None,
    allowed_hosts: frozenset[str] = frozenset(),
) -> list[LiveReport]:
    """Stream runs side by side (one per container) and cancel them however the script ends.

    Links in the text stay links only to `allowed_hosts` (the contract's own, see `hosts_in`).

    Returns each run's drawn report, still on screen: the caller hands it to `report_view`, which
    keeps it as the finished report or clears it.
    """
    if containers is None:
        containers = [st.container() for _ in lives] if len(lives) == 1 else st.columns(len(lives))
    feeds = [(publish(live), publish(live, thinking=True)) if served() else None for live in lives]
    panes = [
        LiveReport(container, live.tracker, allowed_hosts, pair)
        for container, live, pair in zip(containers, lives, feeds, strict=True)
    ]
    state.setdefault(ACTIVE_RUNS_KEY, {})[group] = list(lives)
    last_figures = 0.0
    try:
        for step in watch(lives):
            now = time.monotonic()
            for i in step.order:
                stats = lives[i].stats
                panes[i].show_thinking(stats, now)
                if step.texts[i]:
                    panes[i].add(step.texts[i])
                    if panes[i].feed is None:  # with a feed, the feed's write is the hand-over
                        lives[i].handed()
                elif stats.is_thinking:
                    panes[i].waiting(None)
                elif not stats.text:
                    panes[i].waiting(waiting_line(stats))
            if now - last_figures >= FIGURES_REFRESH_S:
                last_figures = now
                for pane, live in zip(panes, lives, strict=True):
                    pane.figures.caption(format_figures(live.stats, now))
        for pane in panes:
            pane.settle()
    finally:
        for pair in feeds:
            for feed in pair or ():
                feed.withdraw()
        stop_all(lives)
        state.get(ACTIVE_RUNS_KEY, {}).pop(group, None)
        for live in lives:
            if live.lag_log is not None:
                live.lag_log.write()
    return panes
