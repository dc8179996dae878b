"""The report's header and its "Unusual for this template" list state only what the report calls
found; a category with borderline findings alone is marked "unsure" in the header, as its topic
is, and left out of the unusual list (it is under "Check these")."""

from __future__ import annotations

import re

import pytest

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.report import HEADER_BORDERLINE, write_report
from lib.analysis.samples import SampleContract, all_samples

SAMPLES = all_samples()
SCORE = re.compile(r"\bmodel (\d\.\d\d)\)")


def _header_and_unusual(sample: SampleContract) -> tuple[str, list[str]]:
    report = "".join(write_report(sample.file_name, sample.text))
    header = report.split("\n\n", 1)[0]
    unusual = [line for line in report.splitlines() if line.startswith("- Unusual")]
    return header, unusual


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.file_name[:12])
def test_header_and_unusual_list_quote_confident_findings_only(sample: SampleContract) -> None:
    """The header quoted an opening party paragraph as the "Term:" at model 0.02; the list read
    "Unusual — Minimum Commitment" on a revenue-share formula at 0.12."""
    band = find_clauses(sample.text).check_band
    assert band is not None
    header, unusual = _header_and_unusual(sample)
    stated = [part for part in header.split(" · ") if HEADER_BORDERLINE not in part]
    for line in [*stated, *unusual]:
        scores = [float(s) for s in SCORE.findall(line)]
        assert all(score >= round(band[1], 2) for score in scores), line


def test_a_borderline_term_reads_unsure_in_the_header() -> None:
    """Several bundled samples find their expiry at borderline scores only."""
    unsure = []
    for sample in SAMPLES:
        findings = find_clauses(sample.text)
        term = findings.get("Expiration Date")
        if term and not findings.sure("Expiration Date"):
            header, _ = _header_and_unusual(sample)
            unsure.append(f"Term: {HEADER_BORDERLINE} — " in header)
    assert unsure and all(unsure)
