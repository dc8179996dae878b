"""Clause finder: segmentation, classification on real CUAD contracts, red flags and the report."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.mapping import categories_for
from lib.analysis.clauses.red_flags import red_flags
from lib.analysis.clauses.report import DISCLAIMER, NOT_LOOKED_FOR_LABEL, write_report
from lib.analysis.clauses.segment import split_clauses, split_sentences
from lib.analysis.grounding import check_report, contract_index
from lib.analysis.prompts import NOT_FOUND, TEMPLATES, count_findings
from lib.analysis.samples import load_sample, sample_names
from lib.analysis.scoring import coverage, parse_report
from lib.engine.events import ChatRequest, Source, StreamContext, TextDelta, Waiting
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.clause_finder import MODEL, stream_events


def contract(prefix: str) -> tuple[str, dict[str, list[str]]]:
    sample = load_sample(next(n for n in sample_names() if n.startswith(prefix)))
    return sample.text, sample.spans


NUMBERED = """MASTER SUPPLY AGREEMENT

ARTICLE IX
CONFIDENTIALITY

9.1 Each party shall keep the other's information
confidential and shall not disclose it.

(a) This applies to
employees.

Section 4 Term. This Agreement lasts two years.

                                  3

12. Governing Law. This Agreement is governed by the laws of the State of New York.
"""


def test_clauses_keep_exact_offsets_and_numbers() -> None:
    clauses = split_clauses(NUMBERED)
    assert all(NUMBERED[c.start : c.end] == c.text for c in clauses)
    numbers = [c.number for c in clauses]
    assert numbers[-4:] == ["9.1", "(a)", "Section 4", "12."]
    assert "ARTICLE IX" in numbers
    article = clauses[numbers.index("ARTICLE IX")]
    assert article.heading == "CONFIDENTIALITY"
    assert clauses[-2].heading == "Term"
    assert clauses[-1].heading == "Governing Law"


def test_hard_line_breaks_stay_in_one_clause_and_page_numbers_are_left_out() -> None:
    text = "1. The Supplier shall deliver\nthe goods on time and\n\n  7  \n\nin good order.\n"
    clauses = split_clauses(text)
    assert len(clauses) == 1
    assert clauses[0].text.endswith("in good order.")
    assert all(not re.fullmatch(r"\s*7\s*", c.text) for c in clauses)


def test_repeated_running_headers_are_not_clauses() -> None:
    pages = [f"ACME CONFIDENTIAL\n\n{i}. Clause number {i} says something.\n" for i in range(1, 5)]
    text = "\n".join(pages)
    texts = [c.text for c in split_clauses(text)]
    assert "ACME CONFIDENTIAL" not in texts
    assert len(texts) == 4


def test_a_running_header_with_its_page_number_is_never_quoted_and_every_quote_checks() -> None:
    """ "EXCLUSIVE DISTRIBUTOR AGREEMENT Page 3 of 18" on every page: the clause finder once
    quoted it as an exclusivity clause, and the quote checker, which reads past running headers,
    then marked the finder's own quote "not found". Both now read page furniture one way."""
    body = (
        "{n}. The Distributor shall have the exclusive right to sell the Products in the "
        "Territory and shall not sell competing products during the term of this Agreement.\n\n"
    )
    text = "EXCLUSIVE DISTRIBUTOR AGREEMENT\n\n" + "".join(
        body.format(n=n) + f"EXCLUSIVE DISTRIBUTOR AGREEMENT Page {n} of 5\n\n" for n in range(1, 6)
    )
    report = "".join(write_report("Distributor", text, "general", None))
    assert "Page 3 of 5" not in report
    assert all("Page" not in c.text for c in split_clauses(text))
    checked = check_report(contract_index(text), report)
    assert checked and all(c.check.status == "verified" for c in checked)


def test_sentences_skip_abbreviations_and_split_on_semicolons() -> None:
    text = "Acme Inc. and R. C. Boyd agree. Either party may end it; the other may not."
    sentences = [s.text for s in split_sentences(text, 10)]
    assert sentences == [
        "Acme Inc. and R. C. Boyd agree.",
        "Either party may end it;",
        "the other may not.",
    ]
    assert split_sentences(text, 10)[1].start == 10 + text.index("Either")


def test_one_long_paragraph_still_gives_short_quotes() -> None:
    sentence = "The Distributor may not assign this Agreement without the prior written consent of the Supplier. "
    text = ("Filler words that say nothing in particular here. " * 400) + sentence * 2
    findings = find_clauses(text)
    best = findings.best("Anti-Assignment")
    assert best is not None
    assert len(best.quote.split()) <= 150
    assert text[best.start : best.end] == best.quote


def test_a_contract_pasted_without_line_breaks_is_cut_at_its_clause_numbers_in_sequence() -> None:
    filler = " ".join(["Each party shall act in good faith in performing this agreement."] * 20)
    text = (
        f"1. Term. This agreement lasts two years. {filler} 2. Termination. Either party may"
        " terminate on 30 days' notice, as Section 5. Provides. 3. Governing Law. The laws of"
        f" Delaware govern. 3.1 Venue. The courts of Delaware. 7. Payment. {filler}"
    )
    clauses = split_clauses(text)
    assert [(c.number, c.heading) for c in clauses] == [
        ("1.", "Term"),
        ("2.", "Termination"),
        ("3.", "Governing Law"),
        ("3.1", "Venue"),
    ]
    assert all(text[c.start : c.end] == c.text and c.text == c.text.strip() for c in clauses)
    assert clauses[-1].text.endswith(filler)  # "7." does not follow 3.1: it starts nothing


def test_numbers_inside_ordinary_lines_start_no_clause() -> None:
    text = "1. Fees. The fee is due within 30 days. 2. Interest accrues at 1.5 per cent. Late.\n"
    assert [c.number for c in split_clauses(text)] == ["1."]


@pytest.mark.parametrize(
    ("prefix", "category"),
    [
        ("01_", "Governing Law"),
        ("01_", "Anti-Assignment"),
        ("06_", "Termination For Convenience"),
        ("06_", "Renewal Term"),
        ("10_", "Exclusivity"),
        ("10_", "Audit Rights"),
        ("08_", "Cap On Liability"),
        ("09_", "Parties"),
    ],
)
def test_finder_quotes_the_labelled_clause(prefix: str, category: str) -> None:
    text, spans = contract(prefix)
    findings = find_clauses(text)
    quotes = [f.quote for f in findings.get(category)]
    assert any(coverage(q, s) >= 0.8 for q in quotes for s in spans[category])
    assert all(text[f.start : f.end] == f.quote for f in findings.get(category))


def test_finder_does_not_report_absent_key_clauses() -> None:
    text, spans = contract("01_")
    findings = find_clauses(text)
    for category in ("Non-Compete", "Insurance", "Termination For Convenience"):
        assert not spans[category]
        assert not findings.present(category)


def test_agreement_date_comes_from_the_opening() -> None:
    text, spans = contract("01_")
    assert find_clauses(text).best("Agreement Date").quote == spans["Agreement Date"][0]


@pytest.mark.parametrize(
    ("opening", "date"),
    [
        ("This Agreement is made this ____ day of May, 2000, between A and B.", "____ day of May, 2000"),
        ("This Agreement is dated August __, 2019 by and between A and B.", "August __, 2019"),
        ("This Agreement is made on the 10t h day of January, 2020 by A and B.", "10t h day of January, 2020"),
        ("This Agreement is made on 19  DAY OF MAY , 2010 by A and B.", "19  DAY OF MAY , 2010"),
        ("This Agreement is entered into as of May 3,2006 by and between A and B.", "May 3,2006"),
        ("This Agreement is dated 11/4/10 by and between A and B.", "11/4/10"),
        ("This Agreement is made this [ ] day of [ ], 2020 between A and B.", "[ ] day of [ ], 2020"),
        ("AGENCY AGREEMENT\n\nMay 14, 2014\n\nKeefe, Bruyette & Woods, Inc.\n\n1. Sale.", "May 14, 2014"),
        ("This Agreement is made on the 1s t day of June, 2004 by A and B.", "1s t day of June, 2004"),
        ("This Agreement is effective as of _Dec. 8, 2005 between A and B.", "Dec. 8, 2005"),
        # The sentence split cuts the date ("August." ends a sentence): found in the opening still.
        ("This Agreement is entered into this 16 day of August. 2012 by A and B.", "16 day of August. 2012"),
        # A day written as a word.
        ("This Agreement is made this first day of July, 2017 by A and B.", "first day of July, 2017"),
        ("This Agreement is made the twenty-third day of May, 2001 by A and B.", "twenty-third day of May, 2001"),
    ],
)  # fmt: skip
def test_agreement_date_as_annotators_mark_it_blanks_and_all(opening: str, date: str) -> None:
    text = opening + "\n\n2. Term. The term of this Agreement is one year from delivery of goods.\n"
    assert find_clauses(text, model=False).best("Agreement Date").quote == date


def test_with_no_date_in_the_opening_the_agreement_date_is_where_the_parties_signed() -> None:
    opening = "SERVICES AGREEMENT\n\nThis Agreement is made by and between A Inc. and B LLC.\n\n"
    body = "".join(
        f"{n}. Clause. The parties agree to term {n} of this Agreement.\n\n" for n in range(2, 80)
    )
    signed = "By: /s/ Jane Roe Title: CEO Date: 1/26/2020\n\nBy: /s/ John Doe Date: 1/27/2020\n"
    found = find_clauses(opening + body + signed, model=False).best("Agreement Date")
    assert found.quote == "1/27/2020"
    # A date at the end that no one signed on is not taken for the agreement date.
    unsigned = "Schedule A was last revised 1/27/2020 by the vendor.\n"
    assert find_clauses(opening + body + unsigned, model=False).best("Agreement Date") is None


def test_parties_quote_runs_to_the_recitals_and_no_title_reads_as_a_company() -> None:
    text = (
        "DISTRIBUTION AGREEMENT\n\nThis Agreement is made and entered into by and between 695014 B.C. "
        'Ltd. dba Galaxy Telecom ("Galaxy") and Galaxy Telnet SRL, a Romanian company '
        '("Telnet").\n\nWHEREAS Galaxy sells telephone services.\n\n1. Appointment. Galaxy '
        "appoints Telnet as its distributor in Romania for the term of this Agreement.\n"
    )
    parties = find_clauses(text, model=False).get("Parties")
    assert "Galaxy Telnet SRL" in parties[0].quote and "WHEREAS" not in parties[0].quote
    names = [f.quote for f in parties[1:]]
    assert not any(name.endswith(" AG") or "AGREEMENT" in name for name in names)
    assert all(text[f.start : f.end] == f.quote for f in parties)


SIGNED_CONTRACT = (
    "SUPPLY AGREEMENT\n\nThis Supply Agreement is made by and between Acme Widgets, Inc. "
    '("Acme") and Beta Foods LLC ("Beta").\n\nWHEREAS Acme makes widgets.\n\n1. Supply. Acme shall supply widgets to Beta '
    "for the term of this Agreement.\n\nIN WITNESS WHEREOF, the parties have executed this "
    "Agreement as of the date first written above.\n\n"
    "ACME WIDGETS, INC.   BETA FOODS HOLDINGS LLC\n\n"
    "By: /s/ Jane Roe   By: /s/ John Doe\n\nName: Jane Roe   Name: John Doe\n\n"
    "Title: President   Title: Chief Executive Officer\n\n"
    "GAMMA LOGISTICS CORPORATION\n\nBy: ______________\nName: Richard Miles\n"
)


def test_parties_named_above_the_signatures_are_quoted_as_the_contracts_text() -> None:
    parties = find_clauses(SIGNED_CONTRACT, model=False).get("Parties")
    quotes = [f.quote for f in parties]
    assert "Beta Foods LLC" in parties[0].quote
    for name in ("ACME WIDGETS, INC.", "BETA FOODS HOLDINGS LLC", "GAMMA LOGISTICS CORPORATION"):
        assert name in quotes  # each its own short quote: the name line, not the whole block
    assert all(SIGNED_CONTRACT[f.start : f.end] == f.quote for f in parties)
    # Signatories, job titles and the signature lines themselves are not parties.
    assert not any(
        word in quote
        for quote in quotes[1:]
        for word in ("Jane Roe", "Richard Miles", "President", "Officer", "By:", "/s/")
    )


def test_a_signature_name_already_quoted_in_the_opening_is_not_quoted_again() -> None:
    text = SIGNED_CONTRACT.replace("ACME WIDGETS, INC.   ", "Acme Widgets, Inc.   ")
    quotes = [f.quote for f in find_clauses(text, model=False).get("Parties")]
    assert "Acme Widgets, Inc." in quotes  # from the opening, once
    assert quotes.count("Acme Widgets, Inc.") == 1


def test_a_signature_name_leaves_out_the_labels_and_the_heading_before_it() -> None:
    """The names an analyst reads in the report's header: "SUPPLIER:" labels and an article
    heading on the same line as the name are not part of it."""
    text = SIGNED_CONTRACT.replace(
        "GAMMA LOGISTICS CORPORATION\n", "SUPPLIER: GAMMA LOGISTICS CORPORATION\n"
    ) + ("\nARTICLE 26 - AFFIRMATION AND EXECUTION Delta Freight Inc.\nBy: ______________\n")
    parties = find_clauses(text, model=False).get("Parties")
    quotes = [f.quote for f in parties]
    assert "GAMMA LOGISTICS CORPORATION" in quotes
    assert all(text[f.start : f.end] == f.quote for f in parties)
    assert not any("SUPPLIER" in q or "ARTICLE" in q for q in quotes)


def test_defined_terms_and_kinds_of_company_are_not_quoted_as_parties() -> None:
    text = (
        "AGENCY AGREEMENT\n\nThis Agreement is made by and between North Bancorp, Inc., a "
        'Florida Corporation (the "Company"), and Keefe Securities, LLC (the "Agent"), for the '
        'offering of shares in a community offering (the "Community Offering") under the plan '
        '(the "Plan").\n\nWHEREAS the Company wishes to sell shares.\n'
    )
    names = [f.quote for f in find_clauses(text, model=False).get("Parties")[1:]]
    assert {"North Bancorp, Inc.", "Keefe Securities, LLC", "Company", "Agent"} <= set(names)
    assert not {"Florida Corporation", "Community Offering", "Plan"} & set(names)


def test_a_person_named_as_a_party_is_quoted_and_the_bodys_defined_terms_are_not() -> None:
    text = (
        'ENDORSEMENT AGREEMENT\n\nTHIS ENDORSEMENT AGREEMENT (the "Agreement") is dated as of '
        'this 14th day of November 2017, by and between Eco Widgets, Inc. ("EWI"), a Nevada '
        'corporation, and Jane Doe ("Talent"), an individual.\n\nAGREEMENT\n\n1. Grant. EWI may '
        'use the name and likeness of Talent ("Talent Attributes") in its advertising.\n\n'
        '2. Venues. Promotional Territories ("Territories") shall include radio spots '
        '("Commercial Placements").\n'
    )
    names = [f.quote for f in find_clauses(text, model=False).get("Parties")[1:]]
    assert {"Eco Widgets, Inc.", "EWI", "Jane Doe", "Talent"} <= set(names)
    assert not {"Talent Attributes", "Territories", "Commercial Placements"} & set(names)


def test_company_names_starting_lowercase_or_with_the_are_quoted_whole() -> None:
    text = (
        "CO-BRANDING AGREEMENT\n\nThis Agreement is made by and between Lucent Technologies Inc. "
        '("Lucent"), mPhase Technologies Inc. ("mPhase") and The ARC Group, Inc. ("Sponsor"), '
        "with the consent of The Bank.\n\nWHEREAS mPhase wishes to use the Lucent name.\n"
    )
    names = [f.quote for f in find_clauses(text, model=False).get("Parties")[1:]]
    assert {"Lucent Technologies Inc.", "mPhase Technologies Inc.", "ARC Group, Inc."} <= set(names)
    assert not {"Technologies Inc.", "Bank", "The Bank"} & set(names)


def test_the_place_ending_an_address_is_not_quoted_as_a_party() -> None:
    text = (
        "LICENSE AGREEMENT\n\nThis Agreement is made by and between Far East Media Limited, "
        'with offices located at 2 Ice House St, Central, Hong Kong ("Licensor"), and Acme '
        'Ventures, LLC ("Licensee").\n\nWHEREAS Licensor owns content.\n'
    )
    names = [f.quote for f in find_clauses(text, model=False).get("Parties")[1:]]
    assert {"Far East Media Limited", "Licensor", "Licensee"} <= set(names)
    assert "Hong Kong" not in names


def test_parties_listed_after_between_and_and_are_each_quoted() -> None:
    text = (
        "OUTSOURCING AGREEMENT\n\nBETWEEN:\n\n   MODUS MEDIA INTERNATIONAL      LANDDROSTLAAN 51\n"
        '\n(HEREINAFTER "MMI")\n\nAND\n\n   DRAGON SYSTEMS, INC.      320 NEVADA STREET\n\n'
        "This Agreement is made between MMI and Dragon on the terms set out below.\n\n"
        "WHEREAS MMI provides manufacturing services.\n"
    )
    parties = find_clauses(text, model=False).get("Parties")
    quotes = [f.quote for f in parties]
    assert "MODUS MEDIA INTERNATIONAL" in quotes and "DRAGON SYSTEMS, INC." in quotes
    assert not any("NEVADA" in q or "LANDDROSTLAAN" in q for q in quotes)
    assert all(text[f.start : f.end] == f.quote for f in parties)


def test_a_letter_agreement_names_its_parties_without_between() -> None:
    text = (
        "AGENCY AGREEMENT\n\nLadies and Gentlemen:\n\nNorth Bancorp, Inc., a Maryland "
        'corporation (the "Company"), confirms its agreement with Keefe Securities, LLC (the '
        '"Agent") as follows.\n\n1. Offering. The Company will offer its shares through the '
        "Agent on the terms set out in this agreement.\n"
    )
    parties = find_clauses(text, model=False).get("Parties")
    assert parties and "Keefe Securities, LLC" in parties[0].quote
    assert "North Bancorp, Inc." in [f.quote for f in parties]


def test_the_parties_sentence_is_found_after_a_long_table_of_contents() -> None:
    contents = "".join(f"{n}. Heading number {n} 1{n}\n" for n in range(1, 200))
    text = (
        "LICENSE AGREEMENT\n\nTABLE OF CONTENTS\n\n" + contents + "\nThis License Agreement "
        "is entered into by and between Delta Labs, Inc. and Omega Pharma Ltd. on the terms "
        "below.\n\n1. Licence. Delta grants Omega a licence to the patents.\n"
    )
    assert len(contents) > 4000
    parties = find_clauses(text, model=False).get("Parties")
    assert parties and "Omega Pharma Ltd." in parties[0].quote


def test_red_flags_explain_one_sided_termination_and_missing_cap() -> None:
    text = (
        "1. Term. This Agreement shall commence on the date hereof and continue for one year.\n\n"
        "2. Termination. The Customer may terminate this Agreement at any time for any reason "
        "upon thirty days written notice to the Supplier.\n\n"
        "3. Licence. Supplier grants Customer a perpetual, irrevocable licence to use the Software "
        "for any purpose.\n"
    )
    flags = {f.rule: f for f in red_flags(find_clauses(text))}
    assert flags["Termination for convenience by one side only"].severity == "RED"
    assert flags["Perpetual or irrevocable licence"].severity == "RED"
    assert flags["No liability cap found"].severity == "YELLOW"
    assert all(f.explanation for f in flags.values())


def test_mutual_termination_is_not_one_sided() -> None:
    text = (
        "Either party may terminate this Agreement for any reason with thirty days written notice."
    )
    rules = {f.rule for f in red_flags(find_clauses(text))}
    assert "Termination for convenience (both sides)" in rules
    assert "Termination for convenience by one side only" not in rules


def test_every_general_template_category_maps_to_something() -> None:
    for title in TEMPLATES["general"].categories:
        assert categories_for(title), title
    assert categories_for("Term, renewal and break options")[:2] == (
        "Expiration Date",
        "Renewal Term",
    )


SKELETON = [
    r"^# Contract review: ",
    r"^## Overall risk: (LOW|MEDIUM|HIGH|CRITICAL)$",
    r"^## Key findings$",
    r"^## Clause by clause$",
    r"^### .+ — (GREEN|YELLOW|RED)$",
    r"^## Missing or unusual clauses$",
    r"^## Negotiation plan and next steps$",
]


def _quotes(report: str) -> list[str]:
    return [a or b for a, b in re.findall(r"\"([^\"]+?)\"|“([^”]+?)”", report)]


@pytest.mark.parametrize("prefix", ["06_", "12_", "17_"])
def test_report_has_the_skeleton_and_exact_quotes(prefix: str) -> None:
    text, _ = contract(prefix)
    report = "".join(write_report("Sample", text, "general", [0, 5000, 20000]))
    positions = []
    for pattern in SKELETON:
        match = re.search(pattern, report, re.MULTILINE)
        assert match, pattern
        positions.append(match.start())
    assert positions == sorted(positions)
    assert report.rstrip().endswith(DISCLAIMER)
    assert "no language model was used" in report
    assert "p. " in report
    body = report.split("## Overall risk", 1)[1]
    quotes = [q for q in _quotes(body) if q != "(empty)"]
    assert len(quotes) >= 5
    for quote in quotes:
        # A page break inside a quoted sentence is left out: as one space where only blank lines
        # and page numbers stood, else as " … " (test_clause_page_breaks).
        position = 0
        for piece in quote.split(" … "):
            found = re.search(
                r"\s+(?:\d+\s+)*".join(map(re.escape, piece.split())), text[position:]
            )
            assert found, quote
            position += found.end()


def test_report_lists_missing_categories_as_not_found() -> None:
    """Every topic of a contract with none of them reads "not found — check by hand", never GREEN,
    in its section, in the missing list and for the grid."""
    template = TEMPLATES["nda"]
    report = "".join(write_report("x", "The parties agree to meet for lunch on Friday.", "nda"))
    sections = count_findings(report).categories
    assert set(sections) == set(template.categories)
    # Nothing is GREEN; a missing clause that is a risk in itself keeps its flag.
    assert NOT_FOUND in set(sections.values()) <= {NOT_FOUND, "YELLOW", "RED"}
    # A topic the finder has no rule for says it did not look (`NOT_LOOKED_FOR_LABEL`).
    looked = [t for t in template.categories if categories_for(t)]
    assert report.count("- Found: no — not found — check by hand") == len(looked)
    missing = report.split("## Missing or unusual clauses\n", 1)[1].split("\n\n", 1)[0]
    assert missing.splitlines() == [
        f"- {title}: {'not found — check by hand' if title in looked else NOT_LOOKED_FOR_LABEL}"
        for title in template.categories
    ]


def test_a_topic_with_nothing_found_is_never_green() -> None:
    text, _ = contract("01_")
    report = "".join(write_report("x", text, "general"))
    levels = count_findings(report).categories
    for title, level in levels.items():
        section = report.split(f"### {title} — ", 1)[1].split("\n### ", 1)[0]
        if "Found: yes" not in section:
            assert level != "GREEN", title
    assert levels["Indemnity"] == NOT_FOUND


def test_report_round_trips_through_the_parser() -> None:
    text, spans = contract("06_")
    predicted = parse_report("".join(write_report("x", text, "general", None)))
    assert predicted["Termination For Convenience"].present
    assert predicted["Governing Law"].present
    assert not predicted.get("Insurance")
    assert any(
        coverage(q, s) >= 0.8
        for q in predicted["Anti-Assignment"].quotes
        for s in spans["Anti-Assignment"]
    )


ODD_INPUTS = [
    "",
    "   \n\n  ",
    "x" * 20000,
    "word " * 30000,
    "| a | b |\n|---|---|\n| 1 | 2 |\n" * 200,
    "LICENCE\n\nPermission is hereby granted, free of charge, to any person obtaining a copy.",
    '"""""""""" (((( ]]]] \x00 \ufeff §§ 1. 2. 3. (a) (b)',
    "1.\n2.\n3.\n(a)\n(b)\nARTICLE\nSection",
]


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_input_never_raises(text: str) -> None:
    findings = find_clauses(text)
    for items in findings.by_category.values():
        for f in items:
            assert text[f.start : f.end] == f.quote
    report = "".join(write_report("odd", text, "no-such-template", [0, -5, 10]))
    assert report.startswith("# Contract review: odd")
    assert report.rstrip().endswith(DISCLAIMER)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=600))
def test_any_text_gives_exact_clauses_and_a_report(text: str) -> None:
    for clause in split_clauses(text):
        assert text[clause.start : clause.end] == clause.text
    report = "".join(write_report("fuzz", text, "general"))
    assert "## Clause by clause" in report


def test_the_clause_finder_says_it_is_reading_the_clauses_before_its_first_section() -> None:
    # A long contract's first section comes after all its clauses are read (14 s for 20 MB); the
    # page said "Waiting for the model…" meanwhile, though there is none.
    text = load_sample(sample_names()[0])
    request = ChatRequest("", "", 4096, 0.0, 0, Source("c.txt", text, "general"))
    config = ProviderConfig(Provider.CLAUSE_FINDER, MODEL)
    events = stream_events(config, request, StreamContext())
    first, second = next(events), next(events)
    assert isinstance(first, Waiting) and "no model" in first.reason
    assert isinstance(second, TextDelta) and second.text.startswith("# Contract review")


def test_a_list_item_is_cited_under_the_clause_it_belongs_to() -> None:
    text = (
        "12. Liability\n\n12.1 Neither party is liable for:\n(a) lost profits;\n(b) lost data; or\n"
        "(i) any claim under clause (b);\n(ii) fines.\n(c) indirect loss.\n\n"
        "Section 13 Notices\n(a) in writing;\n(g) by courier;\n(h) by hand;\n(i) by email.\n"
    )
    cited = [(c.number, c.cited) for c in split_clauses(text)]
    assert cited == [
        ("12.", "12."),
        ("12.1", "12.1"),
        ("(a)", "12.1(a)"),
        ("(b)", "12.1(b)"),
        ("(i)", "12.1(b)(i)"),
        ("(ii)", "12.1(b)(ii)"),
        ("(c)", "12.1(c)"),
        ("Section 13", "Section 13"),
        ("(a)", "Section 13(a)"),
        ("(g)", "Section 13(g)"),
        ("(h)", "Section 13(h)"),
        ("(i)", "Section 13(i)"),
    ]


@pytest.mark.parametrize(
    "clause",
    [
        "4.1 CONFIDENTIALITY. All information communicated to it will be held in strict confidence.",
        "7. Confidentiality. The terms of this Agreement shall be treated as strictly confidential.",
        "28. Non-Disclosure. Each party shall keep the other's plans in strictest confidence.",
    ],
)
def test_a_confidentiality_clause_worded_as_contracts_word_it_is_found(clause: str) -> None:
    """ "held in strict confidence" and "treated as strictly confidential" were reported NOT FOUND
    under a heading that says Confidentiality."""
    text = (
        f"1. Parties. Acme Inc and Beta LLC agree as follows.\n\n{clause}\n\n9. Notices. By mail."
    )
    (finding, *_) = find_clauses(text).get("Confidentiality")
    assert finding.quote in clause


def test_every_sample_is_offered_under_a_whole_title() -> None:
    """CUAD's file names cut the kind of contract short ("Co Branding Agreem", "Tradema"): the
    picker showed those cuts."""
    titles = [load_sample(name).title for name in sample_names()]
    assert all(title.split(" — ")[0].endswith("Agreement") for title in titles), titles
    assert "Co-branding Agreement — Mphasetechnologiesinc" in titles
