"""A template topic the clause finder has no rule for reads "not looked for", never "not found"."""

from __future__ import annotations

from lib.analysis.clauses.mapping import categories_for
from lib.analysis.clauses.report import NOT_LOOKED_FOR_LABEL, write_report
from lib.analysis.prompts import NOT_FOUND_LABEL, TEMPLATES
from lib.analysis.samples import all_samples


def test_a_topic_without_a_rule_says_it_was_not_looked_for():
    """Six of the NDA template's topics (permitted use, compelled disclosure, …) map to no
    category the finder looks for, yet each read "Found: no — not found — check by hand", as if
    the contract had been searched, and counted among the topics without a matching clause."""
    unjudged = [t for t in TEMPLATES["nda"].categories if not categories_for(t)]
    assert "Permitted use" in unjudged
    report = "".join(write_report("NDA", all_samples()[0].text, "nda"))
    for topic in unjudged:
        section = report.split(f"### {topic} — ", 1)[1].split("\n\n", 1)[0]
        assert f"- Found: {NOT_LOOKED_FOR_LABEL}" in section
        assert NOT_FOUND_LABEL not in section
        assert f"- {topic}: {NOT_LOOKED_FOR_LABEL}" in report  # the missing-clauses list
    assert f"({len(unjudged)} topics it has no rule for)" in report
