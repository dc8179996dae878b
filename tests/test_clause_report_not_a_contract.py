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


GERMAN_NDA = (
    "GEHEIMHALTUNGSVEREINBARUNG\n\nzwischen der Muster GmbH, Hauptstraße 1, 10115 Berlin "
    '(nachfolgend "Offenlegende Partei") und der Beispiel AG, Marktplatz 5, 80331 München '
    '(nachfolgend "Empfangende Partei").\n\n§ 1 Vertrauliche Informationen\nDie Empfangende '
    "Partei verpflichtet sich, alle vertraulichen Informationen streng geheim zu halten und nicht "
    "an Dritte weiterzugeben.\n\n§ 2 Laufzeit\nDiese Vereinbarung tritt mit Unterzeichnung in "
    "Kraft und gilt für die Dauer von drei Jahren.\n\n§ 3 Anwendbares Recht\nDiese Vereinbarung "
    "unterliegt dem Recht der Bundesrepublik Deutschland. Gerichtsstand ist Berlin.\n"
)


def test_a_contract_in_german_is_told_the_finder_reads_english() -> None:
    """A German NDA read "it may not be a contract": the real reason the finder recognised
    nothing is that its phrases are English, and the sentence now gives that reason too."""
    said = overall("".join(write_report("nda.txt", GERMAN_NDA)))
    assert NOT_A_CONTRACT in said
    assert "not be in English" in said


@pytest.mark.parametrize("sample", all_samples(), ids=lambda s: s.file_name[:40])
def test_no_bundled_contract_is_said_not_to_be_one(sample) -> None:
    assert NOT_A_CONTRACT not in "".join(write_report(sample.file_name, sample.text))


def test_an_empty_document_says_it_has_no_text_instead() -> None:
    report = "".join(write_report("empty.txt", "   \n"))
    assert "The document has no text to review." in report and NOT_A_CONTRACT not in report
