"""The Word file sent back: comments exactly on the evidence, fallback language as redlines.

Every test reopens the file in python-docx (and docx-revisions for tracked changes).
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import zipfile

import docx
import pytest
from docx_revisions import RevisionDocument

from lib.analysis.documents import load_document
from lib.analysis.playbook.checker import check_playbook
from lib.analysis.playbook.format import (
    Evidence,
    Playbook,
    PlaybookResult,
    Position,
    PositionResult,
    Severity,
    Verdict,
)
from lib.analysis.playbook.loader import bundled_playbooks
from lib.runs.playbook_word import AUTHOR, WordFileError, playbook_docx, word_file_name

CAP = Position(
    "cap", "Liability cap", "Liability is capped.", "A cap.", "No cap.", Severity.HIGH,
    fallback="Each party's liability is capped at the fees paid in the preceding twelve months.",
    replace=True,
)  # fmt: skip
LAW = Position("law", "Governing law", "English law governs.", "English law.", "Other law.",
               Severity.LOW, fallback="This Agreement is governed by the laws of England.")  # fmt: skip
AUDIT = Position("audit", "Audit", "Audits once a year.", "Once a year.", "More often.",
                 Severity.LOW, fallback="Audits take place at most once a year.")  # fmt: skip
PLAYBOOK = Playbook("t", "Test", "", (CAP, LAW, AUDIT))


def original_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Supply Agreement", level=1)
    p = document.add_paragraph("9. Liability. The Supplier's liability ", style="List Number")
    bold = p.add_run("shall be unlimited")
    bold.bold = True
    p.add_run(" for data breaches.")
    table = document.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    table.cell(0, 0).text = "Law"
    table.cell(0, 1).text = "This Agreement is governed by the laws of New York."
    document.add_paragraph("12. Notices are given in writing.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def result_for(text: str) -> PlaybookResult:
    cap_quote = "The Supplier's liability shall be unlimited"
    law_quote = "governed by the laws of New York"
    cap_at = text.index(cap_quote)
    law_at = text.index(law_quote)
    return PlaybookResult(
        PLAYBOOK,
        (
            PositionResult("cap", Verdict.DEVIATES, "Data breaches are uncapped.",
                           (Evidence(cap_at, cap_at + len(cap_quote), cap_quote, 0.9),)),
            PositionResult("law", Verdict.DEVIATES, "New York law, not English.",
                           (Evidence(law_at, law_at + len(law_quote), law_quote, 0.8),)),
            PositionResult("audit", Verdict.NOT_ADDRESSED, "No audit clause."),
        ),
        "test",
    )  # fmt: skip


def comment_ranges(data: bytes) -> list[tuple[str, str]]:
    """(commented text, comment text) per comment, read from the reopened file."""
    document = docx.Document(io.BytesIO(data))
    body = document.element.body
    ns = {"w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main"}
    out = []
    for comment in document.comments:
        cid = str(comment.comment_id)
        start = body.xpath(f'.//w:commentRangeStart[@w:id="{cid}"]')[0]
        texts = []
        node = start
        while True:
            node = node.getnext() if node.getnext() is not None else None
            if node is None:
                break
            if node.tag.endswith("commentRangeEnd") and node.get(f"{{{ns['w']}}}id") == cid:
                break
            texts.extend(
                t.text or "" for t in node.iter(f"{{{ns['w']}}}t", f"{{{ns['w']}}}delText")
            )
        out.append(("".join(texts), comment.text))
    return out


def test_each_comment_covers_exactly_its_evidence_across_runs_and_in_a_table_cell():
    data = original_docx()
    text = load_document(data, "supply.docx").text
    out = playbook_docx(result_for(text), text, data)
    ranges = comment_ranges(out)
    assert [r[0] for r in ranges] == [
        "The Supplier's liability shall be unlimited",
        "governed by the laws of New York",
        AUDIT.fallback,  # no passage to hang it on: on the language inserted for it
    ]
    assert ranges[0][1].startswith("DEVIATES — Liability cap")
    assert "Data breaches are uncapped." in ranges[0][1]
    assert ranges[2][1].startswith("NOT ADDRESSED — Audit") and "No audit clause." in ranges[2][1]
    reopened = docx.Document(io.BytesIO(out))
    assert all(c.author == AUTHOR for c in reopened.comments)


def test_cells_that_hold_the_same_words_cost_no_comment():
    """Two "N/A" cells in a row: the text kept one, the Word file then found the other "N/A"
    later on and skipped every paragraph in between, so no comment or redline was made."""
    document = docx.Document()
    row = document.add_table(rows=1, cols=3).rows[0]
    for cell, text in zip(row.cells, ["Support", "N/A", "N/A"], strict=True):
        cell.text = text
    p = document.add_paragraph("9. Liability. The Supplier's liability ")
    p.add_run("shall be unlimited for data breaches.")
    document.add_paragraph("This Agreement is governed by the laws of New York.")
    document.add_paragraph("Schedule 2: N/A")
    out = io.BytesIO()
    document.save(out)
    text = load_document(out.getvalue(), "supply.docx").text
    assert "Support | N/A | N/A" in text
    ranges = comment_ranges(playbook_docx(result_for(text), text, out.getvalue()))
    assert [r[0] for r in ranges] == [
        "The Supplier's liability shall be unlimited",
        "governed by the laws of New York",
        AUDIT.fallback,
    ]


def test_fallback_language_is_a_tracked_insertion_and_replaced_text_a_tracked_deletion():
    data = original_docx()
    text = load_document(data, "supply.docx").text
    out = playbook_docx(result_for(text), text, data)
    revisions = RevisionDocument(io.BytesIO(out)).track_changes
    inserted = [c.text for c in revisions if type(c).__name__ == "TrackedInsertion"]
    deleted = [c.text for c in revisions if type(c).__name__ == "TrackedDeletion"]
    assert any(CAP.fallback in t for t in inserted)
    assert any(LAW.fallback in t for t in inserted)
    assert any(AUDIT.fallback in t for t in inserted)  # not addressed: added at the end
    # Only CAP replaces, and it replaces the quoted sentence whole (not its run-in heading): the
    # quote stopped at "unlimited", and " for data breaches." was left after the new sentence.
    assert "".join(deleted) == "The Supplier's liability shall be unlimited for data breaches."
    assert all(c.author == AUTHOR for c in revisions)
    clause = next(p for p in docx.Document(io.BytesIO(out)).paragraphs if "Liability." in p.text)
    assert clause.text.startswith("9. Liability. ")
    ns = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    kinds = [child.tag.removeprefix(ns) for child in clause._p if child.tag != f"{ns}pPr"]
    assert kinds[-2:] == ["del", "ins"], kinds  # the new sentence where the old one ends
    # The comment still covers the quote alone.
    assert comment_ranges(out)[0][0] == "The Supplier's liability shall be unlimited"


def test_fallback_language_goes_after_the_quoted_sentence_not_inside_it():
    """A model quoted "shall not, in any manner, derive": the fallback was inserted there, in
    the middle of the sentence ("… derive{fallback} any benefit …")."""
    text = (
        "2.04 The Receiving Party shall not, in any manner, derive any benefit from it. "
        "Other terms apply.\n3. Next clause.\n"
    )
    quote = "The Receiving Party shall not, in any manner, derive"
    at = text.index(quote)
    evidence = (Evidence(at, at + len(quote), quote, 0.9),)
    result = PlaybookResult(
        PLAYBOOK, (PositionResult("law", Verdict.DEVIATES, "Wrong.", evidence),), "test"
    )
    out = playbook_docx(result, text)
    (clause,) = [p for p in docx.Document(io.BytesIO(out)).paragraphs if "2.04" in p.text]
    whole = clause._p.xpath("string(.)")
    assert f"any benefit from it. {LAW.fallback} Other terms apply." in whole
    assert RevisionDocument(io.BytesIO(out)).track_changes[0].text == " " + LAW.fallback


def test_the_original_formatting_is_kept():
    data = original_docx()
    text = load_document(data, "supply.docx").text
    reopened = docx.Document(io.BytesIO(playbook_docx(result_for(text), text, data)))
    styles = [p.style.name for p in reopened.paragraphs]
    assert styles[:2] == ["Heading 1", "List Number"]
    assert reopened.tables[0].style.name == "Table Grid"
    bold = reopened.paragraphs[1]._p.xpath(".//w:r[w:rPr/w:b]")
    assert ["".join(r.itertext()) for r in bold] == ["shall be unlimited"]


def test_tracked_changes_already_in_the_upload_are_kept():
    data = original_docx()
    text = load_document(data, "supply.docx").text
    first = playbook_docx(result_for(text), text, data)
    again = playbook_docx(result_for(text), text, first)
    before = len(RevisionDocument(io.BytesIO(first)).track_changes)
    after = len(RevisionDocument(io.BytesIO(again)).track_changes)
    assert after > before > 0


def test_text_contracts_become_a_docx_with_the_same_comments_and_insertions():
    text = (
        "Supply Agreement\n9. Liability. The Supplier's liability shall be unlimited.\x07\n"
        "Law: This Agreement is governed by the laws of New York.\n"
    )
    out = playbook_docx(result_for(text), text)
    assert [r[0] for r in comment_ranges(out)] == [
        "The Supplier's liability shall be unlimited",
        "governed by the laws of New York",
        AUDIT.fallback,
    ]
    assert len(RevisionDocument(io.BytesIO(out)).track_changes) >= 3


def test_macro_enabled_files_are_refused():
    data = original_docx()
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("word/vbaProject.bin", b"\x00macro")
    text = load_document(data, "supply.docx").text
    with pytest.raises(WordFileError, match="macro-enabled"):
        playbook_docx(result_for(text), text, buffer.getvalue())


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_converts_it_and_shows_the_insertions(tmp_path):
    data = original_docx()
    text = load_document(data, "supply.docx").text
    source = tmp_path / "checked.docx"
    source.write_bytes(playbook_docx(result_for(text), text, data))
    done = subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
         "--convert-to", "txt:Text", "--outdir", str(tmp_path), str(source)],
        capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    converted = (tmp_path / "checked.txt").read_text(encoding="utf-8-sig")
    assert CAP.fallback in converted and AUDIT.fallback in converted
    assert "Notices are given in writing." in converted


def test_the_word_files_of_two_checkers_have_names_of_their_own():
    text = (
        "9. Liability. The Supplier's liability shall be unlimited.\n"
        "12. Law. This Agreement is governed by the laws of New York.\n"
    )
    built_in = result_for(text)
    model = dataclasses.replace(built_in, checker="openai · gemma-3-1b")
    names = {word_file_name(r, "uploads/nda_tracked.docx") for r in (built_in, model)}
    assert len(names) == 2
    assert all(n.startswith("uploads nda_tracked - ") and n.endswith(".docx") for n in names)
    assert "/" not in "".join(names) and any("openai · gemma-3-1b" in n for n in names)


def test_a_replaced_passage_over_two_paragraphs_is_deleted_whole():
    text = (
        "8. Indemnity.\n(a) The Supplier shall indemnify the Customer for the Services.\n"
        "(b) The Supplier shall also indemnify the Customer under this Agreement.\n9. Other.\n"
    )
    quote = text[text.index("The Supplier shall indemnify") : text.index(" under this")]
    at = text.index(quote)
    evidence = (Evidence(at, at + len(quote), quote, 0.9),)
    result = PlaybookResult(
        PLAYBOOK, (PositionResult("cap", Verdict.DEVIATES, "Too broad.", evidence),), "test"
    )
    out = playbook_docx(result, text)
    revisions = RevisionDocument(io.BytesIO(out)).track_changes
    deleted = "".join(c.text for c in revisions if type(c).__name__ == "TrackedDeletion")
    # Both list items the quote touches, whole: the first from its text (its marker stays), the
    # second with its marker, as it goes altogether.
    assert deleted == (
        "The Supplier shall indemnify the Customer for the Services."
        "(b) The Supplier shall also indemnify the Customer under this Agreement."
    )
    paragraphs = docx.Document(io.BytesIO(out)).paragraphs
    (second,) = [p for p in paragraphs if "under this" in p._p.xpath("string(.)")]
    assert CAP.fallback in second._p.xpath("string(.//w:ins)")  # where the passage ends


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def valid_revisions(data: bytes) -> list:
    """The body's tracked insertions and deletions, after checking them as Word does: no
    deletion inside a deletion, and each with an id of its own."""
    body = docx.Document(io.BytesIO(data)).element.body
    changes = [e for e in body.iter() if e.tag in (f"{W}ins", f"{W}del")]
    assert not [
        e for e in body.iter(f"{W}del") if any(a.tag == f"{W}del" for a in e.iterancestors())
    ]
    ids = [e.get(f"{W}id") for e in changes]
    assert len(ids) == len(set(ids)), ids
    return changes


def test_a_passage_two_replacing_positions_deviate_on_is_deleted_once():
    """An exclusive purchase that is also a worldwide non-compete: both commercial positions
    replace it, and the second deleted it again inside the first's deletion (a file Word may
    call corrupt), with the fallbacks in reverse playbook order."""
    sentence = (
        "The Customer shall purchase the Products exclusively from the Supplier and shall not "
        "compete with the Supplier anywhere in the world for five (5) years."
    )
    text = f"SUPPLY AGREEMENT\n\n8. Exclusivity. {sentence}\n\n9. Governing Law. This Agreement is governed by the laws of England.\n"
    playbook = bundled_playbooks()["commercial"]
    checked = check_playbook(text, playbook)
    # The exclusivity is the checker's own finding; the non-compete in it a borderline one, which
    # decides nothing, so it is set as a reviewer who read it would.
    (exclusive,) = [r for r in checked.results if r.verdict is Verdict.DEVIATES]
    assert exclusive.position_id == "exclusivity"
    non_compete = PositionResult("non-compete", Verdict.DEVIATES, "Worldwide.", exclusive.evidence)
    result = dataclasses.replace(
        checked,
        results=tuple(
            non_compete if r.position_id == "non-compete" else r for r in checked.results
        ),
    )
    deviating = ["exclusivity", "non-compete"]
    out = playbook_docx(result, text)
    changes = valid_revisions(out)
    deleted = [e.xpath("string(.)") for e in changes if e.tag == f"{W}del"]
    assert deleted == [sentence]
    (clause,) = [p for p in docx.Document(io.BytesIO(out)).paragraphs if "8. Excl" in p.text]
    fallbacks = [e.xpath("string(.)").strip() for e in clause._p.iter(f"{W}ins")]
    assert fallbacks == [playbook.position(i).fallback for i in deviating]
    commented = [c for c in comment_ranges(out) if c[0] == sentence]
    titles = [playbook.position(i).title for i in deviating]
    assert [c[1].split("\n")[0] for c in commented] == [f"DEVIATES — {t}" for t in titles]


def test_three_positions_replacing_one_passage_delete_it_once_and_insert_in_order():
    text = "7. Supply. The Supplier shall be liable without limit and audit at will.\n8. Other.\n"
    quote = "The Supplier shall be liable without limit and audit at will."
    at = text.index(quote)
    evidence = (Evidence(at, at + len(quote), quote, 0.9),)
    positions = tuple(dataclasses.replace(p, replace=True) for p in (CAP, LAW, AUDIT))
    result = PlaybookResult(
        Playbook("t", "Test", "", positions),
        tuple(PositionResult(p.id, Verdict.DEVIATES, "Wrong.", evidence) for p in positions),
        "test",
    )
    changes = valid_revisions(playbook_docx(result, text))
    assert [e.xpath("string(.)").strip() for e in changes] == [
        quote,
        CAP.fallback,
        LAW.fallback,
        AUDIT.fallback,
    ]


def test_a_not_addressed_position_with_a_candidate_passage_gets_its_fallback_in_the_comment():
    """A not-addressed verdict quoting the closest passage: the comment on it called the verdict
    "No passage addresses this position" and the fallback was inserted after the signatures,
    beside a passage that may well address it."""
    text = "4. Return. The Recipient shall return all materials on request.\n5. Other.\n"
    quote = "The Recipient shall return all materials on request."
    at = text.index(quote)
    evidence = (Evidence(at, at + len(quote), quote, 0.8),)
    reason = "No passage decides this position (87% likely); the closest is quoted to check."
    result = PlaybookResult(
        PLAYBOOK,
        (
            PositionResult("audit", Verdict.NOT_ADDRESSED, reason, evidence),
            PositionResult("law", Verdict.NOT_ADDRESSED, "No passage addresses this position."),
        ),
        "test",
    )
    out = playbook_docx(result, text)
    inserted = [c.text for c in RevisionDocument(io.BytesIO(out)).track_changes]
    assert inserted == [LAW.fallback]  # nothing quoted for it: added at the end, as before
    (comment,) = [c for t, c in comment_ranges(out) if t == quote]
    assert "closest candidate, to check" in comment
    assert (
        f"No fallback language was inserted: if it does not address the position, add: {AUDIT.fallback}"
        in comment
    )
