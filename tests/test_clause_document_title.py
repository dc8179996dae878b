"""The contract's type is its title, not the capitals of a filing notice or a name beside it."""

from __future__ import annotations

from lib.analysis.clauses.finder import document_title
from lib.analysis.clauses.report import write_report
from lib.analysis.samples import all_samples

BIOPURE = next(s for s in all_samples() if s.file_name.startswith("19_BIOPURE"))
# The opening of SEC exhibits whose redacted parts are noted in capitals, as CUAD has them.
LICENCE = (
    "Exhibit 10.5 CERTAIN CONFIDENTIAL INFORMATION CONTAINED IN THIS DOCUMENT, MARKED BY [***], "
    "HAS BEEN OMITTED BECAUSE ARTARA THERAPEUTICS, INC. HAS DETERMINED THE INFORMATION (I) IS NOT "
    "MATERIAL AND (II) WOULD LIKELY CAUSE COMPETITIVE HARM TO ARTARA THERAPEUTICS, INC. IF "
    "PUBLICLY DISCLOSED. SPONSORED RESEARCH AND LICENSE AGREEMENT This Sponsored Research and "
    'License Agreement (this "Agreement") is entered into on November 28, 2018.'
)
SERVICES = (
    "EXHIBIT 4.25 INFORMATION IN THIS EXHIBIT IDENTIFIED BY [ * * * ] IS CONFIDENTIAL AND HAS "
    "BEEN EXCLUDED BECAUSE IT IS BOTH (I) NOT MATERIAL AND (II) WOULD LIKELY CAUSE COMPETITIVE "
    "HARM TO THE REGISTRANT IF PUBLICLY DISCLOSED. SERVICES AGREEMENT This Services Agreement "
    '(this "Agreement") is entered into as of October 1, 2019.'
)


def test_a_redaction_notice_is_not_part_of_the_title() -> None:
    """The run of capitals crossed the notice's full stop: "THERAPEUTICS, INC. IF PUBLICLY
    DISCLOSED. SPONSORED RESEARCH AND LICENSE", "HARM TO THE REGISTRANT IF PUBLICLY DISCLOSED.
    SERVICES AGREEMENT"."""
    assert document_title(LICENCE) == "SPONSORED RESEARCH AND LICENSE AGREEMENT"
    assert document_title(SERVICES) == "SERVICES AGREEMENT"


def test_initials_stay_in_the_title() -> None:
    assert document_title("U.S. DISTRIBUTION AGREEMENT\n\nThis Agreement") == (
        "U.S. DISTRIBUTION AGREEMENT"
    )


def test_a_name_set_apart_by_a_wide_gap_is_not_part_of_the_title() -> None:
    """The Biopure sample's first line is "BIOPURE CORPORATION        AGENCY AGREEMENT"."""
    assert document_title(BIOPURE.text) == "AGENCY AGREEMENT"
    report = "".join(write_report(BIOPURE.file_name, BIOPURE.text))
    assert 'Contract type: "AGENCY AGREEMENT"' in report
