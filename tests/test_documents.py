import io
import zipfile

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF

from devtools.sample_files import docx_bytes, image_pdf_bytes, pdf_bytes, with_image_pages
from lib.analysis.clauses.segment import split_clauses, split_sentences
from lib.analysis.documents import (
    DocumentError,
    NeedsOcr,
    document_from_ocr,
    document_from_text,
    load_document,
)
from lib.analysis.ocr import OcrResult, image_page_warning

FONT_TEXT = "Société Générale §4.2 Liability"  # core PDF fonts are Latin-1 only


def test_text_pdf_pages_and_text():
    data = pdf_bytes(["Page one: the Supplier shall deliver.", f"Page two: {FONT_TEXT}."])
    document = load_document(data, "contract.pdf")
    assert document.pages == 2 and document.kind == "pdf"
    assert "the Supplier shall deliver" in document.text
    assert FONT_TEXT in document.text
    assert document.text.index("Page one") < document.text.index("Page two")
    assert document.char_count == len(document.text) and len(document.sha256) == 64


def test_image_page_is_named_and_blank_page_is_not():
    pdf = pdfium.PdfDocument(
        pdf_bytes(["Clause 1: the Supplier shall deliver goods.", "Clause 2: payment."])
    )
    pdf.new_page(200, 200)  # page 3: blank, nothing is missing from it
    out = io.BytesIO()
    pdf.save(out)
    data = with_image_pages(out.getvalue(), image_pdf_bytes(), [2])
    document = load_document(data, "mixed.pdf")
    assert document.pages == 4 and document.image_pages == (2,)
    assert document.warnings == ["P" + image_page_warning(2)[1:] + "."]
    assert "Clause 2: payment." in document.text


def test_many_image_pages_are_named_up_to_ten_then_counted():
    pictures = pdfium.PdfDocument(image_pdf_bytes())
    for _ in range(11):
        pictures.import_pages(pdfium.PdfDocument(image_pdf_bytes()))
    out = io.BytesIO()
    pictures.save(out)
    data = with_image_pages(
        pdf_bytes(["Clause 1: the Supplier delivers."]), out.getvalue(), range(2, 14)
    )
    document = load_document(data, "exhibits.pdf")
    assert document.image_pages == tuple(range(2, 14))
    assert len(document.warnings) == 11 and "Page 11 is an image" in document.warnings[9]
    assert document.warnings[10] == "2 more pages are images, not text, as well."


def test_a_scan_asks_for_ocr_naming_its_pages():
    with pytest.raises(NeedsOcr) as info:
        load_document(image_pdf_bytes(), "scan.pdf")
    assert info.value.pages == 1 and info.value.image_pages == (1,)
    assert "scan.pdf" in info.value.message and "OCR" in info.value.message


def test_ocr_text_keeps_its_page_offsets_and_says_where_it_came_from():
    text = "Page one text.\n\n\n\nScanned liabil\x02\nity terms."
    result = OcrResult(text, [0, 16], [2], "tesseract", 1.0, ["page 2: faint"])
    document = document_from_ocr(result, "mixed.pdf", 10)
    assert document.text == "Page one text.\n\nScanned liability terms."
    assert document.page_starts == (0, 16)
    assert document.text[document.page_starts[1] :].startswith("Scanned")
    assert document.from_ocr and document.ocr_pages == (2,)
    assert document.text_source == "text of page 2 read by OCR (tesseract)"
    assert document.warnings == ["Page 2: faint."]


def test_ocr_note_collapses_runs_of_pages():
    result = OcrResult("a\n\nb\n\nc\n\nd", [0, 3, 6, 9], [1, 2, 3, 4], "tesseract", 1.0)
    assert document_from_ocr(result, "s.pdf", 1).text_source == (
        "text of pages 1-4 read by OCR (tesseract)"
    )
    two = OcrResult("a\n\nb\n\nc", [0, 3, 6], [1, 3], "tesseract", 1.0)
    assert "pages 1 and 3 read" in document_from_ocr(two, "s.pdf", 1).text_source


def test_ocr_that_found_no_text_is_a_clear_error():
    result = OcrResult("\n\n", [0, 2], [1, 2], "tesseract", 1.0)
    with pytest.raises(DocumentError) as info:
        document_from_ocr(result, "blank.pdf", 1)
    assert "OCR found no text" in info.value.message and "blank.pdf" in info.value.message


def test_docx_keeps_paragraphs_and_tables_in_order():
    document = load_document(
        docx_bytes(
            [
                "1. Parties: Acme Ltd and Société Générale.",
                [["Fee", "Due"], ["€10,000", "30 days"]],
                "2. Term: three years.",
            ]
        ),
        "contract.docx",
    )
    text = document.text
    assert (
        text.index("1. Parties")
        < text.index("Fee | Due")
        < text.index("€10,000 | 30 days")
        < text.index("2. Term")
    )


def test_word_paragraphs_and_tables_become_clauses_of_their_own():
    """Word numbers clauses outside the text: without the gaps, a whole Word contract was one
    clause, and a quote of the paragraph after a table ran into the table's rows."""
    document = load_document(
        docx_bytes(
            [
                "Fees",
                "The Customer shall pay the fees set out below.",
                [["Service", "Fee"], ["Hosting", "$100 per month"]],
                "Payment is due within thirty days of invoice.",
                "Governing Law",
                "This Agreement is governed by the laws of England.",
            ]
        ),
        "contract.docx",
    )
    clauses = split_clauses(document.text)
    by_text = {c.text.splitlines()[-1]: c for c in clauses}
    assert by_text["The Customer shall pay the fees set out below."].heading == "Fees"
    law = by_text["This Agreement is governed by the laws of England."]
    assert law.heading == "Governing Law" and "Payment" not in law.text
    assert by_text["Hosting | $100 per month"].text.startswith("Service | Fee")
    sentences = [s.text for c in clauses for s in split_sentences(c.text, c.start)]
    assert "Payment is due within thirty days of invoice." in sentences
    assert not any("Hosting" in s and ("below" in s or "Payment" in s) for s in sentences)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("Clause 1 — Société".encode("utf-16"), "utf-16 BOM"),
        (b"\xef\xbb\xbfClause 1 \xe2\x80\x94 Soci\xc3\xa9t\xc3\xa9", "utf-8 BOM"),
        ("Clause 1 — Société".encode(), "utf-8"),
        ("Clause 1 — Société anonyme, conformément à l'article".encode("cp1252"), "cp1252"),
    ],
)
def test_text_encodings(data, encoding):
    document = load_document(data, "contract.txt")
    assert document.text.startswith("Clause 1 — Soci"), encoding
    assert "Société" in document.text


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (
            "Société Générale and Müller GmbH agree a fee of €1,000 within 30 days’ notice.",
            "cp1252",
        ),
        ("Die Gebühr beträgt 500 € pro Monat; Kündigung mit 3 Monaten Frist.", "cp1252"),
        ("Umowa zawarta w Łodzi pomiędzy spółką Zażółć gęślą jaźń sp. z o.o.", "cp1250"),
    ],
)
def test_windows_text_files_read_as_written(text, encoding):
    """charset-normalizer read the first two as cp775 ("Sociķtķ … Ć1,000"), leaving cp1252 out
    of its matches: a Western contract saved on Windows must read as written, and says its
    encoding was guessed."""
    document = load_document(text.encode(encoding), "contract.txt")
    assert document.text == text
    assert any("does not say how its text is encoded" in w for w in document.warnings)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_mark_is_text_not_binary(encoding):
    text = "1. Term. This Agreement lasts three years — Société Générale."
    document = load_document(text.encode(encoding), "contract.txt")
    assert document.text == text and document.warnings == []


def test_a_text_read_as_cp1252_that_may_be_another_code_page_says_so():
    """An English contract naming a Polish party reads as cp1252 with no sign of trouble: the
    letters are wrong ("Zak³ad"), and only the analyst's eye can tell, so the page asks for it."""
    text = "This Agreement is made between Acme Ltd and Zakład Produkcyjny sp. z o.o., Łódź."
    document = load_document(text.encode("cp1250"), "contract.txt")
    assert any("read as cp1252" in w and "save the file as UTF-8" in w for w in document.warnings)


def test_pasted_text_normalises_newlines():
    document = document_from_text("a\r\nb\rc")
    assert document.text == "a\nb\nc" and document.kind == "pasted"


@pytest.mark.parametrize(
    ("data", "name", "fragment"),
    [
        (pdf_bytes(["secret terms"], password="pw"), "locked.pdf", "password"),
        (image_pdf_bytes(), "scan.pdf", "scan"),
        (pdf_bytes(["Clause one text here"])[:300], "broken.pdf", "damaged"),
        (b"", "empty.txt", "empty"),
        (bytes(range(256)) * 10, "binary.txt", "binary"),
        (b"this is plain text, not a zip", "fake.docx", "not a valid Word"),
        (b"x" * 2048, "big.txt", "limit is"),
        (b"MZ\x90\x00", "setup.exe", "not a supported file type"),
        (b"PK\x03\x04garbage", "corrupt.docx", "Word"),
    ],
)
def test_bad_files_give_clear_errors(data, name, fragment):
    with pytest.raises(DocumentError) as info:
        load_document(data, name, max_bytes=1024 if name == "big.txt" else 25 * 1024 * 1024)
    assert fragment in info.value.message
    assert name in info.value.message


def test_docx_zip_without_word_content():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(DocumentError) as info:
        load_document(buffer.getvalue(), "odd.docx")
    assert "Word" in info.value.message


def test_pdfium_line_end_hyphen_joins_the_word():
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.text(10, 20, "The Supplier accepts unlimited liabil-")
    pdf.text(10, 26, "ity for all claims.")
    document = load_document(bytes(pdf.output()), "hyphenated.pdf")
    assert "\x02" not in document.text
    assert "unlimited liability for all claims." in document.text
    assert document_from_text("liabil\x02\r\nity").text == "liability"


def _numbered_docx(
    paragraphs: list[tuple[str, int | None] | tuple[str, int, str]],
    levels: list[tuple[str, str, str]] | None = None,
    nums: str = '<w:num w:numId="90"><w:abstractNumId w:val="90"/></w:num>',
    legal: bool = False,
) -> bytes:
    """A Word file whose clauses Word numbers itself: by default "%1." from 9, then "%1.%2",
    then "(%3)". A paragraph is (text, level) in list 90, or (text, level, numId)."""
    from docx import Document as WordDocument
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = WordDocument()
    numbering = document.part.numbering_part.element
    levels = levels or [
        ("decimal", "%1.", "9"),
        ("decimal", "%1.%2", "1"),
        ("lowerLetter", "(%3)", "1"),
    ]
    xml = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text}"/>{"<w:isLgl/>" if legal and i else ""}</w:lvl>'
        for i, (fmt, text, start) in enumerate(levels)
    )
    numbering.insert(
        0, parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">{xml}</w:abstractNum>')
    )
    for num in parse_xml(f"<w:numbering {nsdecls('w')}>{nums}</w:numbering>"):
        numbering.append(num)
    for text, level, *num_id in paragraphs:
        paragraph = document.add_paragraph(text)
        if level is not None:
            paragraph._p.get_or_add_pPr().append(
                parse_xml(
                    f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/>'
                    f'<w:numId w:val="{num_id[0] if num_id else 90}"/></w:numPr>'
                )
            )
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _lines(data: bytes) -> list[str]:
    return [line for line in load_document(data, "contract.docx").text.splitlines() if line]


def test_word_numbers_its_clauses_and_the_text_carries_them():
    """Word's automatic numbers are not in a paragraph's text: every quote cited "unnumbered
    paragraph" and two clauses were quoted as one."""
    data = _numbered_docx(
        [
            ("Interest.", 0),
            ("Calculation of interest.", 1),
            ("The rate is the margin; and", 2),
            ("LIBOR.", 2),
            ("Default interest applies on late sums.", 1),
            ("Termination. Either party may end this Agreement.", 0),
            ("Signed by both parties.", None),
        ]
    )
    assert _lines(data) == [
        "9. Interest.",
        "9.1 Calculation of interest.",
        "(a) The rate is the margin; and",
        "(b) LIBOR.",
        "9.2 Default interest applies on late sums.",
        "10. Termination. Either party may end this Agreement.",
        "Signed by both parties.",
    ]
    clauses = split_clauses(load_document(data, "loan.docx").text)
    assert [c.number for c in clauses][:2] == ["9.", "9.1"] and clauses[-1].number is None


def test_a_restarted_list_and_legal_numbering_read_as_word_shows_them():
    """ "Restart numbering" is a list of its own starting again ((a), (b) under each clause, not
    (c), (d)); legal numbering writes "Article I"'s sub-clauses "1.1", not "I.1"."""
    restart = (
        '<w:num w:numId="90"><w:abstractNumId w:val="90"/></w:num>'
        '<w:num w:numId="91"><w:abstractNumId w:val="90"/>'
        '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="1"/></w:lvlOverride></w:num>'
    )
    letters = [("lowerLetter", "(%1)", "1")]
    data = _numbered_docx(
        [
            ("first", 0),
            ("second", 0),
            ("Clause two.", None),
            ("first again", 0, "91"),
            ("second again", 0, "91"),
        ],
        letters,
        restart,
    )
    assert _lines(data) == [
        "(a) first",
        "(b) second",
        "Clause two.",
        "(a) first again",
        "(b) second again",
    ]
    articles = [("upperRoman", "Article %1", "1"), ("decimal", "%1.%2", "1")]
    data = _numbered_docx(
        [("Definitions", 0), ("Terms.", 1), ("Payment", 0), ("Fees.", 1)], articles, legal=True
    )
    assert _lines(data) == [
        "Article I Definitions",
        "1.1 Terms.",
        "Article II Payment",
        "2.1 Fees.",
    ]


@pytest.mark.parametrize(
    ("levels", "level"),
    [
        ([("decimal", "%1.", "1")], 12),  # a level past Word's nine
        ([("decimal", "%1.", "\N{SUPERSCRIPT TWO}")], 0),  # a "digit" int() refuses
        ([("decimal", "%1.", "9" * 5000)], 0),
        ([("lowerLetter", "(%1)", "1000000000")], 0),  # a 38-million-letter label
        ([("decimal", "%1.%2", "1")], 0),  # a pattern naming a level it lacks
    ],
)
def test_nonsense_in_a_word_files_numbering_loses_a_number_not_the_document(levels, level):
    lines = _lines(_numbered_docx([("The Supplier shall deliver the goods.", level)], levels))
    assert len(lines) == 1 and lines[0].endswith("The Supplier shall deliver the goods.")
    assert len(lines[0]) < 60


def test_a_list_style_numbers_its_paragraphs_and_a_bullet_is_no_number():
    from docx import Document as WordDocument

    document = WordDocument()
    for text, style in [
        ("Definitions.", "List Number"),
        ("Term.", "List Number"),
        ("Note", "List Bullet"),
    ]:
        document.add_paragraph(text, style=style)
    out = io.BytesIO()
    document.save(out)
    assert _lines(out.getvalue()) == ["1. Definitions.", "2. Term.", "Note"]


def test_numbered_paragraphs_in_a_table_are_numbered_and_counted():
    """A numbered line in a table cell got no number and did not count: the next clause was
    "9.1" where Word shows "9.2"."""
    from docx import Document as WordDocument
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = WordDocument(io.BytesIO(_numbered_docx([("Services.", 0), ("Credits.", 1)])))
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell.paragraphs[0].text = "Uptime 99.9%."
    cell.paragraphs[0]._p.get_or_add_pPr().append(
        parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="1"/><w:numId w:val="90"/></w:numPr>')
    )
    document.paragraphs[0]._p.addnext(document.tables[0]._tbl)  # a schedule after clause 9
    out = io.BytesIO()
    document.save(out)
    assert _lines(out.getvalue()) == ["9. Services.", "9.1 Uptime 99.9%.", "9.2 Credits."]


def test_word_text_is_what_word_shows_with_changes_accepted():
    """python-docx reads a paragraph's direct runs only: a tracked insertion ("three (3)"), a
    field's result, a content control and a table inside a cell vanished, and a quote of what
    was left ("continues for years") checked as verified."""
    from docx import Document as WordDocument
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    w = nsdecls("w")
    document = WordDocument()
    term = document.add_paragraph("This Agreement continues for ")
    term._p.append(
        parse_xml(
            f'<w:ins {w} w:id="1" w:author="A" w:date="2026-01-01T00:00:00Z"><w:r><w:t>three (3)</w:t></w:r></w:ins>'
        )
    )
    term._p.append(
        parse_xml(
            f'<w:del {w} w:id="2" w:author="A" w:date="2026-01-01T00:00:00Z"><w:r><w:delText>two</w:delText></w:r></w:del>'
        )
    )
    term.add_run(" years, subject to clause ")
    term._p.append(
        parse_xml(f'<w:fldSimple {w} w:instr=" REF x "><w:r><w:t>1.2</w:t></w:r></w:fldSimple>')
    )
    term.add_run(".")
    document.element.body.insert(
        len(document.element.body) - 1,
        parse_xml(
            f"<w:sdt {w}><w:sdtContent><w:p><w:r><w:t>The Customer shall pay within 30 days.</w:t></w:r></w:p></w:sdtContent></w:sdt>"
        ),
    )
    cell = document.add_table(rows=1, cols=1).cell(0, 0)
    cell.paragraphs[0].text = "Service levels:"
    inner = cell.add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "Uptime", "99.5%"
    out = io.BytesIO()
    document.save(out)
    text = load_document(out.getvalue(), "contract.docx").text
    assert "This Agreement continues for three (3) years, subject to clause 1.2." in text
    assert "two" not in text
    assert "The Customer shall pay within 30 days." in text
    assert "Service levels:\nUptime | 99.5%" in text


def test_a_word_file_says_which_of_its_parts_hold_text_it_does_not_read():
    """A footnote carving out the cap ("… except data breaches, for which liability is
    unlimited"), a text box, an embedded document: not read, and once without a word."""
    from docx import Document as WordDocument
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    w = nsdecls("w")
    plain = docx_bytes(["9. Liability is capped at the fees paid."])
    assert load_document(plain, "plain.docx").warnings == []

    document = WordDocument()
    clause = document.add_paragraph("9. Liability is capped at the fees paid.")
    clause._p.append(
        parse_xml(
            f"<w:r {w}><w:pict><w:txbxContent><w:p><w:r><w:t>10. Liquidated damages apply."
            "</w:t></w:r></w:p></w:txbxContent></w:pict></w:r>"
        )
    )
    out = io.BytesIO()
    document.save(out)
    footnotes = (
        f'<w:footnotes {w}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/>'
        '</w:r></w:p></w:footnote><w:footnote w:id="1"><w:p><w:r><w:t>Except data breaches, '
        "for which liability is unlimited.</w:t></w:r></w:p></w:footnote></w:footnotes>"
    )
    data = with_part(
        out.getvalue(),
        "word/footnotes.xml",
        footnotes,
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
    )
    read = load_document(data, "cap.docx")
    assert "capped at the fees paid" in read.text and "unlimited" not in read.text
    (warning,) = read.warnings
    assert "text boxes and footnotes, which is not read" in warning


def with_part(docx: bytes, name: str, xml: str, reltype: str, content_type: str) -> bytes:
    """The Word file with one more part, related to its main document."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/_rels/document.xml.rels":
                rel = (
                    f'<Relationship Id="rIdNote" Type="{reltype}" Target="{name.split("/")[-1]}"/>'
                )
                data = data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")
            elif item.filename == "[Content_Types].xml":
                override = f'<Override PartName="/{name}" ContentType="{content_type}"/>'
                data = data.replace(b"</Types>", override.encode() + b"</Types>")
            dst.writestr(item, data)
        dst.writestr(name, xml)
    return out.getvalue()


def test_a_filled_form_fields_value_is_read_with_its_page():
    """A fillable template's parties and fees are typed into form fields: the viewer draws them
    on the page, but they were not in its text, and the review read them as blanks."""
    from devtools.sample_files import form_pdf_bytes

    data = form_pdf_bytes("This Agreement is made between", "Acme Ltd and Beta GmbH")
    text = load_document(data, "filled.pdf").text
    assert "This Agreement is made between" in text and "Acme Ltd and Beta GmbH" in text


def test_a_word_file_whose_footnotes_cannot_be_parsed_is_read_and_says_so():
    broken = with_part(
        docx_bytes(["9. Liability is capped at the fees paid."]),
        "word/footnotes.xml",
        '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:footnote",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
    )
    read = load_document(broken, "broken.docx")
    assert "capped at the fees paid" in read.text
    assert any("footnotes, which is not read" in w for w in read.warnings)


def test_a_guessed_japanese_encoding_asks_to_check_the_text_not_its_accents():
    text = (
        "第1条 本契約は、甲と乙の間で締結される秘密保持契約である。秘密情報は第三者に開示しない。"
    )
    document = load_document(text.encode("shift_jis"), "contract.txt")
    assert document.text == text
    warning = next(w for w in document.warnings if "does not say how its text is encoded" in w)
    assert "accented" not in warning and "Check its text" in warning


def test_a_documents_name_loses_its_control_characters():
    """A name sent with a NUL ("a\\u0000b", which PostgreSQL text refuses) or a line break was
    stored as it came; every front end's document passes through the one rule."""
    from lib.analysis.documents import Document, document_from_text

    assert document_from_text("1. Term.", "a\x00b\r\nc\x1b[31m ").name == "a b  c [31m"
    assert Document(name="\tdeal.pdf\x7f", text="x", kind="pdf", size_bytes=1).name == "deal.pdf"
