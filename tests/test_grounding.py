"""Quote grounding: normalisation, quote extraction, verdicts on a real contract, streaming."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lib.analysis.clauses.segment import clause_label, place_label
from lib.analysis.grounding import (
    ContractIndex,
    GroundingTracker,
    annotate_markdown,
    check,
    check_report,
    extract_quotes,
)
from lib.analysis.grounding.normalise import normalise
from lib.analysis.page_furniture import running_lines
from lib.analysis.samples import load_sample

CONTRACTS = [
    load_sample("01_CANOPETROLEUM_INC_12_13_2007_EX_10_1_Sponsorship_Agreement.txt").text,
    load_sample("09_OAKTREECAPITALGROUP_LLC_03_02_2020_EX_10_8_Services_Agreement.txt").text,
]
INDEXES = [ContractIndex.build(text) for text in CONTRACTS]
WORDS = [text.split() for text in CONTRACTS]
# Original offset of each word, and the page-furniture lines the index ignores (a quote that
# includes a page number is not expected to verify).
WORD_STARTS = [[m.start() for m in re.finditer(r"\S+", text)] for text in CONTRACTS]
FURNITURE = [running_lines(text) for text in CONTRACTS]
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def real_span(draw: st.DrawFn) -> tuple[int, list[str]]:
    which = draw(st.integers(0, len(CONTRACTS) - 1))
    words = WORDS[which]
    length = draw(st.integers(4, 40))
    start = draw(st.integers(0, len(words) - length))
    first, last = WORD_STARTS[which][start], WORD_STARTS[which][start + length - 1]
    assume(not any(first <= b and a <= last for a, b in FURNITURE[which]))
    return which, words[start : start + length]


def rewrap(words: list[str], width: int) -> str:
    lines, line = [], []
    for word in words:
        line.append(word)
        if sum(len(w) + 1 for w in line) > width:
            lines.append(" ".join(line))
            line = []
    return "\n".join([*lines, " ".join(line)])


def hyphenate(words: list[str], at: int) -> str:
    """Split the longest word with a line-end hyphen, as typeset text does."""
    i = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[i]
    if len(word) < 4 or not word[: at + 1].isalpha() or not word[at + 1].islower():
        return " ".join(words)
    return " ".join([*words[:i], f"{word[: at + 1]}-\n{word[at + 1 :]}", *words[i + 1 :]])


# --- normalisation -----------------------------------------------------------------------------


def test_normalise_unicode_compatibility_forms() -> None:
    assert normalise("the \ufb01nal Ｐａｒｔｙ").text == "the final party"


def test_normalise_curly_quotes_become_one_straight_mark() -> None:
    assert normalise('“Company” and ‘Sponsor’ and "X" and it\'s').text == (
        '"company" and "sponsor" and "x" and it"s'
    )


@pytest.mark.parametrize("dash", ["\u2013", "\u2014", "\u2212", "\u2011", "\u2010"])
def test_normalise_dashes(dash: str) -> None:
    # Every dash is one dash; inside a word it counts for nothing, as PDF text joins
    # "non-⏎exclusive" at a line end while a model quotes "non-exclusive".
    assert normalise(f"ninety{dash}day notice").text == normalise("ninety-day notice").text
    assert normalise(f"ninety{dash}day notice").text == normalise("ninetyday notice").text
    assert normalise(f"fees {dash} net").text == "fees - net"


def test_a_quote_with_or_without_a_words_hyphen_is_verified() -> None:
    # A PDF joined the line-end one only: "non-⏎exclusive, non-transferable".
    index = ContractIndex.build(
        "Licensor grants Licensee a nonexclusive, non-transferable licence."
    )
    assert check(index, "grants Licensee a non-exclusive, non-transferable licence").status == (
        "verified"
    )


def test_normalise_collapses_whitespace_and_line_breaks() -> None:
    assert normalise("  shall\r\n\n not \t  exceed\u00a0the ").text == "shall not exceed the"


def test_normalise_joins_line_end_hyphenation() -> None:
    assert normalise("shall indemni-\n  fication apply").text == "shall indemnification apply"


def test_normalise_keeps_real_hyphen_before_capital() -> None:
    assert normalise("the Non-\nCompete clause").text == "the non-compete clause"


def test_normalise_pdfium_soft_hyphen_mark() -> None:
    assert normalise("indemni\x02\r\nfication and liabil\u00adity").text == (
        "indemnification and liability"
    )


def test_normalise_maps_back_to_original_offsets() -> None:
    original = "The  Supplier shall indemni-\nfy the “Customer”."
    norm = normalise(original)
    at = norm.text.index("indemnify the")
    start, end = norm.original_span(at, at + len("indemnify the"))
    assert original[start:end] == "indemni-\nfy the"


def test_running_headers_page_numbers_are_ignored() -> None:
    pages = [
        "ACME CONFIDENTIAL\nThe Supplier shall\n1\n",
        "ACME CONFIDENTIAL\nindemnify the Customer against\nPage 2 of 3\n",
        "ACME CONFIDENTIAL\nall losses.\n- 3 -\n",
    ]
    text = "".join(pages)
    starts = [sum(map(len, pages[:i])) for i in range(len(pages))]
    index = ContractIndex.build(text, page_starts=starts)
    assert index.norm.text == "the supplier shall indemnify the customer against all losses."
    assert len(running_lines(text, starts)) == 6
    result = check(index, "shall indemnify the Customer against all losses")
    assert result.status == "verified"
    assert result.page == 1
    assert result.contract_text is not None and result.contract_text.startswith("shall")


def test_a_line_repeated_on_few_pages_is_kept() -> None:
    pages = ["Fees\nx\n", "Fees\ny\n", "Fees\nz\n", "a\n", "b\n", "c\n", "d\n"]
    starts = [sum(map(len, pages[:i])) for i in range(len(pages))]
    assert running_lines("".join(pages), starts) == []


def test_page_and_clause_lookup() -> None:
    text = "1. Term. The term is one year.\n2. Fees. 2.1 Fees are due monthly in advance."
    spans = [(0, 30, "1"), (31, len(text), "2"), (40, len(text), "2.1")]
    index = ContractIndex.build(text, page_starts=[0, 31], clause_spans=spans)
    result = check(index, "Fees are due monthly in advance")
    assert (result.status, result.page, result.clause) == ("verified", 2, "2.1")
    assert index.clause_at(5) == "1"
    assert ContractIndex.build(text).page_at(5) is None


# --- verdicts on real contracts --------------------------------------------------------------


@SLOW
@given(
    real_span(), st.sampled_from(["plain", "curly", "wrapped", "hyphenated", "elided"]), st.data()
)
def test_real_span_verifies_however_reproduced(span, style, data) -> None:
    which, words = span
    quote = " ".join(words)
    if style == "curly":
        quote = quote.replace('"', "“").replace("'", "’")
    elif style == "wrapped":
        quote = rewrap(words, data.draw(st.integers(10, 60)))
    elif style == "hyphenated":
        quote = hyphenate(words, data.draw(st.integers(1, 2)))
    elif style == "elided" and len(words) >= 9:
        cut = data.draw(st.integers(3, len(words) - 4))
        quote = " ".join(words[:3]) + " … " + " ".join(words[cut:])
    result = check(INDEXES[which], quote)
    assert result.status == "verified", quote
    assert result.contract_text is not None
    first = re.findall(r"\w+", words[0])
    if first:
        assert first[0].lower() in result.contract_text.lower()


@SLOW
@given(st.lists(st.sampled_from(sorted(set(WORDS[0]))), min_size=6, max_size=30))
def test_random_contract_words_are_not_found(words) -> None:
    quote = " ".join(words)
    result = check(INDEXES[0], quote)
    if quote.lower() not in normalise(CONTRACTS[0]).text:
        assert result.status != "verified"
        assert result.status == "not_found" or len(words) < 8


@SLOW
@given(real_span(), st.data())
def test_real_span_with_words_changed_does_not_verify(span, data) -> None:
    which, words = span
    words = list(words)
    if len(words) < 8:
        return
    positions = data.draw(st.sets(st.integers(0, len(words) - 1), min_size=3, max_size=5))
    for i in positions:
        words[i] = "zebracorn"
    result = check(INDEXES[which], " ".join(words))
    assert result.status != "verified"


def test_one_word_changed_is_close_with_the_contract_wording() -> None:
    result = check(
        INDEXES[0],
        "The Company shall produce no fewer than forty (40) original episodes of the Show",
    )
    assert result.status == "close"
    assert result.contract_text == (
        "The Company shall produce no less than forty (40) original episodes of the Show"
    )


def test_ocr_option_accepts_garbled_text() -> None:
    garbled = "Tbe Cornpany sha1l prodvce no lcss tban forty (40) origina1 episodcs of tbe Sbow"
    assert check(INDEXES[0], garbled).status == "not_found"
    assert check(INDEXES[0], garbled, ocr=True).status == "close"


def test_elided_pieces_far_apart_do_not_verify() -> None:
    quote = "THIS AGREEMENT made this 5th day … IN WITNESS WHEREOF, the parties"
    assert check(INDEXES[0], quote).status != "verified"


def test_empty_and_hostile_input_never_crash() -> None:
    assert check(INDEXES[0], "").status == "not_found"
    assert check(ContractIndex.build(""), "the company shall produce").status == "not_found"
    assert check(INDEXES[0], "\x00\x02 … ... [...] “”").status == "not_found"


# --- quote extraction --------------------------------------------------------------------------


def test_extracts_straight_curly_and_block_quotes() -> None:
    report = (
        'Clause 3 says "the Supplier shall not be liable" and “fees are due in advance”.\n\n'
        "> The Customer may terminate on notice\n> of thirty days.\n\n"
        "> AI-assisted review, not legal advice: check every quote against the contract."
    )
    quotes = extract_quotes(report)
    assert [q.text for q in quotes] == [
        "the Supplier shall not be liable",
        "fees are due in advance",
        "The Customer may terminate on notice of thirty days.",
    ]
    assert [q.kind for q in quotes] == ["inline", "inline", "block"]
    assert report[quotes[0].start : quotes[0].end] == '"the Supplier shall not be liable"'


def test_short_quotes_and_defined_terms_are_skipped() -> None:
    assert extract_quotes('The "Company" and the "Effective Date" and "three word quote".') == []


def test_quote_never_crosses_a_blank_line() -> None:
    report = 'An unclosed "quote that runs on\n\nand a new paragraph with "four words in here".'
    assert [q.text for q in extract_quotes(report)] == ["four words in here"]


def test_blockquote_with_inline_quote_yields_the_inner_quote() -> None:
    report = '> Note: clause 9 reads "each party shall keep confidential" only.'
    assert [q.text for q in extract_quotes(report)] == ["each party shall keep confidential"]


def test_markdown_emphasis_is_dropped_from_quotes() -> None:
    assert [q.text for q in extract_quotes('"shall **not** exceed the fees"')] == [
        "shall not exceed the fees"
    ]


# --- streaming and annotation ------------------------------------------------------------------

REPORT = (
    "## Clause by clause\n"
    '- Found: "The Company shall produce no less than forty (40) original episodes".\n'
    '- Found: "the Supplier shall indemnify the Customer".\n\n'
    "> The Company agrees that Cano shall be identified as the lead sponsor\n\n"
    'Last: "Cano shall be entitled to place signage"'
)


def test_tracker_checks_only_completed_paragraphs_once() -> None:
    tracker = GroundingTracker(INDEXES[0])
    first_line_end = REPORT.index('\n- Found: "the')
    assert tracker.feed(REPORT[:first_line_end]) == []
    new = tracker.feed(REPORT[: first_line_end + 3])  # the next bullet has visibly started
    assert [c.check.status for c in new] == ["verified"]
    assert tracker.feed(REPORT[: first_line_end + 3]) == []
    seen = list(new)
    for end in range(first_line_end + 3, len(REPORT) + 1, 7):
        seen += tracker.feed(REPORT[:end])
    assert len(seen) == 3  # the last paragraph has not ended yet
    seen += tracker.finish(REPORT)
    assert [c.check.status for c in seen] == ["verified", "not_found", "verified", "verified"]
    assert tracker.summary() == {"total": 4, "verified": 3, "close": 0, "not_found": 1}
    assert tracker.finish(REPORT) == []


def test_annotation_marks_each_quote_in_place() -> None:
    checked = check_report(INDEXES[0], REPORT)
    marked = annotate_markdown(REPORT, checked)
    assert 'original episodes" :green[✓ verified]' in marked
    assert 'the Customer" :red[✗ not found in the contract]' in marked
    assert "lead sponsor :green[✓ verified]" in marked
    plain = annotate_markdown(REPORT, checked, colour=False)
    assert ":green[" not in plain and "✓ verified" in plain


def test_close_annotation_escapes_contract_markup() -> None:
    index = ContractIndex.build("The fee is <b>$5</b> :red[per] unit payable on demand forever.")
    checked = check_report(index, 'It says "The fee is <b>$6</b> :red[per] unit payable on demand"')
    assert checked[0].check.status == "close"
    marked = annotate_markdown("x", [])
    assert marked == "x"
    marked = annotate_markdown(
        'It says "The fee is <b>$6</b> :red[per] unit payable on demand"', checked
    )
    suffix = marked.split(":orange[", 1)[1]
    assert (
        "<b>" not in suffix and "\\<b\\>" in suffix and "\\$5" in suffix and "\\:red\\[" in suffix
    )


def test_a_quoted_url_or_number_is_one_word_not_a_quote():
    assert extract_quotes('Inline <img src="http://127.0.0.1:8080/raw.png"> and "§12.1(a)"') == []
    assert len(extract_quotes('he wrote "one two three four"')) == 1


def test_a_curly_quote_may_hold_straight_marks():
    report = 'Law: “The Sub-Advisor shall comply with all laws (the "Applicable Law").” Next "one two three four".'
    quotes = extract_quotes(report)
    assert [q.text for q in quotes] == [
        'The Sub-Advisor shall comply with all laws (the "Applicable Law").',
        "one two three four",
    ]


def test_a_quote_of_redacted_text_is_verified() -> None:
    """SEC filings print redactions as "[***]": the asterisks are the contract's own, not
    Markdown emphasis, and a word-for-word quote of them was marked "close"."""
    contract = '"Annual Quantity" means [***] pounds of Terpene Product per Year, prorated. Fees: *all* of them.'
    index = ContractIndex.build(contract)
    for quote in (
        "means [***] pounds of Terpene Product per Year",
        "Fees: *all* of them",
        "Fees: **all** of them",
    ):
        assert check(index, quote).status == "verified", quote
    report = 'The contract says "means [***] pounds of Terpene Product per Year" here.'
    [quote] = extract_quotes(report)
    assert check(index, quote).status == "verified"


def test_a_clause_is_cited_without_its_numbers_full_stop() -> None:
    assert [clause_label(n) for n in ("3.", "12.1", "12.1.", "12.1(a)", "Section 4", None)] == [
        "§3", "§12.1", "§12.1", "§12.1(a)", "Section 4", ""
    ]  # fmt: skip
    assert [place_label("3.", 2), place_label(None, 2), place_label("3.", None)] == [
        "§3, p. 2", "p. 2", "§3"
    ]  # fmt: skip


CONSULTING = load_sample("05_SPHERE3DCORP_06_24_2020_EX_10_12_CONSULTING_AGREEMENT.txt").text


def _streamed(index: ContractIndex, report: str) -> list[tuple[str, str]]:
    """The live path's verdicts: the report fed a few characters at a time, then finished."""
    tracker = GroundingTracker(index)
    for end in range(0, len(report), 3):
        tracker.feed(report[:end])
    tracker.finish(report)
    return [(c.quote.text, c.check.status) for c in tracker.checked]


def test_a_defined_term_in_straight_marks_does_not_end_the_quote() -> None:
    """Models quote a defined term inside a quote in straight marks; the quote was cut at the
    term's opening mark and its first part alone was checked (and verified)."""
    index = ContractIndex.build(CONSULTING)
    wrong = '- Term: "This Agreement is for a term (the "Term") of 36 months" per the contract.\n'
    right = '- Term: "This Agreement is for a term (the "Term") of 12 months" per the contract.\n'
    [checked] = check_report(index, wrong)
    assert checked.quote.text == 'This Agreement is for a term (the "Term") of 36 months'
    assert wrong[checked.quote.start : checked.quote.end].endswith('36 months"')
    assert checked.check.status != "verified"
    assert [(c.quote.text, c.check.status) for c in check_report(index, right)] == [
        ('This Agreement is for a term (the "Term") of 12 months', "verified")
    ]
    assert _streamed(index, wrong + right) == [
        (checked.quote.text, checked.check.status),
        ('This Agreement is for a term (the "Term") of 12 months', "verified"),
    ]
    marked = annotate_markdown(wrong, check_report(index, wrong), colour=False)
    assert '(the "Term") of 36 months"' in marked


@pytest.mark.parametrize("marks", ['""', "“”"])
def test_a_nested_defined_term_matches_the_contracts_own_marks(marks: str) -> None:
    term = f"{marks[0]}Company{marks[1]}"
    index = ContractIndex.build(
        f"Consultant shall indemnify, defend and hold harmless the {term} only for gross "
        "negligence of the Consultant."
    )
    verified = 'It says "defend and hold harmless the "Company" only for gross negligence" here.'
    differs = 'It says "defend and hold harmless the "Company" only for simple negligence" here.'
    assert _streamed(index, verified) == [
        ('defend and hold harmless the "Company" only for gross negligence', "verified")
    ]
    [(text, status)] = _streamed(index, differs)
    assert text == 'defend and hold harmless the "Company" only for simple negligence'
    assert status != "verified"


def test_separate_quotes_on_one_line_stay_two_quotes() -> None:
    report = (
        'It says "the Supplier shall not be liable" and "fees are due in advance" (see "the '
        'Customer may terminate on notice"), then “one two three four” and "five six seven eight".'
    )
    assert [q.text for q in extract_quotes(report)] == [
        "the Supplier shall not be liable",
        "fees are due in advance",
        "the Customer may terminate on notice",
        "one two three four",
        "five six seven eight",
    ]
    nested_curly = 'Term: "a term (the “Term”) of 36 months." Then "one two three four".'
    assert [q.text for q in extract_quotes(nested_curly)] == [
        "a term (the “Term”) of 36 months.",
        "one two three four",
    ]
