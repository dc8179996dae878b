"""A text that is not a contract says so in the clause finder's report, before its flags."""

from __future__ import annotations

import pytest

from lib.analysis.clauses.report import NOT_A_CONTRACT, write_report
from lib.analysis.samples import all_samples

SHOPPING_LIST = (
    "Shopping list\n\nmilk, eggs, bread\nbutter\napples and pears for the weekend.\n"
    "Call the plumber on Monday about the sink.\n"
)


def overall(report: str) -> str:
    """The report's "Overall risk" section, where an analyst reads the verdict first."""
    return report.split("## Overall risk:", 1)[1].split("\n## ", 1)[0]


def test_a_shopping_list_is_said_not_to_read_as_a_contract() -> None:
    """It got "Overall risk: MEDIUM" and flags such as "no liability cap found", which read like
    findings about a contract."""
    report = "".join(write_report("shopping list.txt", SHOPPING_LIST))
    assert NOT_A_CONTRACT in overall(report)


@pytest.mark.parametrize("sample", all_samples(), ids=lambda s: s.file_name[:40])
def test_no_bundled_contract_is_said_not_to_be_one(sample) -> None:
    assert NOT_A_CONTRACT not in "".join(write_report(sample.file_name, sample.text))


def test_an_empty_document_says_it_has_no_text_instead() -> None:
    report = "".join(write_report("empty.txt", "   \n"))
    assert "The document has no text to review." in report and NOT_A_CONTRACT not in report
