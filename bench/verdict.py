"""A target's verdict, computed from the figures of the run that measured it.

Why: a report that prints a target beside a table leaves the reader to compare, and a missed
target went unnoticed (the 200 tokens/s row once showed ours at 35 ms against the baseline's 33 ms
under a "no worse than the baseline" target). Every target line in docs/BENCHMARKS.md, and in the
benchmarks that print their own tables, is one of these lines: the figure, its ratio to the
target, and "met" or "missed".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """One target checked against one figure. `limit` is an upper bound unless `at_least`."""

    what: str
    value: float | None
    limit: float
    unit: str = ""
    fmt: str = "{:.2f}"
    anchor: tuple[str, float] | None = None  # (whose figure, the figure): value is a ratio to it
    at_least: bool = False

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def line(self) -> str:
        sign = "≥" if self.at_least else "≤"
        word = "met" if self.met else "missed"
        if self.value is None:
            return f"- {self.what}: no figure, target {sign} {self._show(self.limit)} — {word}."
        if self.anchor is not None:
            name, figure = self.anchor
            return (
                f"- {self.what}: {self.value:.2f}× {name} ({self.fmt.format(figure)}{self.unit}), "
                f"target {sign} {self.limit:.2f}× — {word}."
            )
        share = f"{self.value / self.limit:.2f}× the target" if self.limit else "target 0"
        return (
            f"- {self.what}: {self._show(self.value)}, target {sign} {self._show(self.limit)} "
            f"({share}) — {word}."
        )

    def _show(self, value: float) -> str:
        return f"{self.fmt.format(value)}{self.unit}"


def ratio(
    what: str, value: float | None, anchor_name: str, anchor: float | None, limit: float, **kw
) -> Verdict:
    """`value ÷ anchor` against `limit` (a ratio): figures measured side by side in one run.
    `fmt` and `unit` show the two figures (the ratio is always shown as `1.23×`)."""
    fmt, unit = kw.pop("fmt", "{:.0f}"), kw.pop("unit", "")
    shown = None if value is None or not anchor else value / anchor
    if value is not None:
        what = f"{what} {fmt.format(value)}{unit}"
    return Verdict(what, shown, limit, unit, fmt, (anchor_name, anchor or 0.0), **kw)


def count(what: str, done: int, total: int) -> Verdict:
    """All of `total` must be done."""
    return Verdict(f"{what} ({done:,} of {total:,})", done / total if total else None, 1.0,
                   fmt="{:.0%}", at_least=True)  # fmt: skip


def lines(verdicts: list[Verdict]) -> list[str]:
    """The verdict block of a section, headed so a reader can find it."""
    if not verdicts:
        return []
    met = sum(v.met for v in verdicts)
    return [f"Verdicts ({met} of {len(verdicts)} targets met in this run):", "",
            *(v.line() for v in verdicts), ""]  # fmt: skip
