"""The benchmark report: verdicts computed from the run's figures, and sections replaced alone."""

from __future__ import annotations

from bench import report
from bench.__main__ import SECTIONS, command
from bench.verdict import Verdict, count, lines, ratio


def test_a_ratio_over_its_target_is_missed_and_says_by_how_much() -> None:
    line = ratio("p95", 35, "the baseline's", 33, 1.0, unit=" ms").line()
    assert line == "- p95 35 ms: 1.06× the baseline's (33 ms), target ≤ 1.00× — missed."
    assert ratio("p95", 33, "the floor's", 33, 1.2).met


def test_absolute_targets_counts_and_missing_figures() -> None:
    assert Verdict("lag", 90, 100, " ms", "{:.0f}").line().endswith("(0.90× the target) — met.")
    assert not count("complete", 49, 50).met
    assert count("complete", 50, 50).met
    assert not Verdict("lag", None, 100).met  # a run that gave no figure never meets a target
    assert lines([Verdict("a", 1, 2), Verdict("b", 3, 2)])[0].startswith("Verdicts (1 of 2")


def _section(name: str, figure: str) -> list[str]:
    return report.section(name, [f"## {name} title", "", f"figure {figure}"], f"Measured {figure}")


def test_only_the_named_sections_are_replaced() -> None:
    first = report.merge("", {n: _section(n, "old") for n in ("parsers", "browser")}, SECTIONS)
    second = report.merge(first, {"browser": _section("browser", "new")}, SECTIONS)
    assert "figure new" in second and "Measured new" in second
    assert "figure old" in second  # the parsers section, measured before, is kept as it was
    assert second.count("<!-- bench:browser -->") == 1
    assert "## 1. parsers title" in second and "## 2. browser title" in second


def test_a_section_this_branch_does_not_know_is_kept() -> None:
    text = report.merge("", {"servers": _section("servers", "x")}, SECTIONS)
    again = report.merge(text, {"parsers": _section("parsers", "y")}, SECTIONS)
    assert "<!-- bench:servers -->" in again and "figure x" in again


def test_the_command_line_is_recorded_as_typed() -> None:
    assert command([]) == "make bench"
    assert command(["--only", "browser", "--output", "x.md"]) == "python -m bench --only browser"


def test_a_printed_report_with_its_own_heading_gets_one_heading() -> None:
    lines_ = report.printed(
        "One model (`python -m bench.spread`)", "## One model\n\n| a |\n|---|\n"
    )
    assert [line for line in lines_ if line.startswith("## ")] == [
        "## One model (`python -m bench.spread`)"
    ]
    assert "| a |" in lines_[2]
