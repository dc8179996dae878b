"""Model text drawn as Markdown loads nothing, runs nothing and links only to the contract's hosts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from lib.analysis.safe_markdown import escape_markdown, hosts_in, safe_markdown

PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
REPORT = (Path(__file__).parent / "fixtures" / "reports" / "sample_review.md").read_text()


def tokens(markdown: str):
    for token in PARSER.parse(markdown):
        yield token
        yield from token.children or []


def links(markdown: str) -> list[str]:
    return [str(t.attrs["href"]) for t in tokens(markdown) if t.type == "link_open"]


def code(markdown: str) -> list[str]:
    return [t.content for t in tokens(markdown) if t.type in ("code_inline", "fence")]


def visible(markdown: str) -> str:
    """The characters a reader sees, text and code alike."""
    kinds = ("text", "code_inline")
    return "".join(
        t.content if t.type in kinds else " "
        for t in tokens(markdown)
        if t.type in (*kinds, "softbreak")
    )


def test_an_image_becomes_its_alt_text_and_url_as_text():
    out = safe_markdown("Risk ![x](http://127.0.0.1:9/p.png?q=secret) here", ())
    assert not [t for t in tokens(out) if t.type == "image"]
    assert code(out) == ["http://127.0.0.1:9/p.png?q=secret"]
    assert out.startswith("Risk x (image not loaded: `http://127.0.0.1:9/p.png?q=secret`) here")


def test_reference_style_images_and_links_are_neutralised_too():
    out = safe_markdown(
        "![a][one] and [b][two] and ![c]\n\n[one]: http://h/1.png\n[two]: http://h/2\n[c]: //h/3",
        (),
    )
    assert not [t for t in tokens(out) if t.type in ("image", "link_open")]
    assert code(out) == ["http://h/1.png", "http://h/2", "//h/3"]


def test_links_to_the_contracts_hosts_stay_links_others_become_text():
    hosts = hosts_in("Notices by e-mail to legal@acme.com; terms at https://www.acme.com/terms.")
    out = safe_markdown(
        "[terms](https://acme.com/t) [go](http://evil.test/?q=1) <http://evil.test>", hosts
    )
    assert links(out) == ["https://acme.com/t"]
    assert code(out) == ["http://evil.test/?q=1", "http://evil.test"]
    assert "go (`http://evil.test/?q=1`)" in out


def test_raw_html_is_shown_as_text():
    out = safe_markdown('<img src="http://h/x.png">\n\nand <b onclick="x()">bold</b>', ())
    assert not [t for t in tokens(out) if t.type.startswith("html")]
    text = visible(out)
    assert '<img src="http://h/x.png">' in text and '<b onclick="x()">' in text


def test_dangerous_schemes_never_become_links():
    out = safe_markdown(
        "[a](javascript:alert(1)) [b](data:text/html,hi) [c](vbscript:x) ![d](data:image/png;base64,AAAA)",
        {"alert"},
    )
    assert links(out) == []
    assert not [t for t in tokens(out) if t.type == "image"]


def test_bare_urls_and_addresses_go_into_code_spans_so_no_autolink_forms():
    # Streamlit's GFM finds URLs in text nodes after unescaping, so escaping alone is no defence.
    out = safe_markdown("See http://evil.test/x, www.evil.test and a@evil.test.", ())
    assert code(out) == ["http://evil.test/x", "www.evil.test", "a@evil.test"]
    assert "evil" not in " ".join(t.content for t in tokens(out) if t.type == "text")


def test_structure_survives():
    out = safe_markdown(REPORT, ())
    original = [(t.type, t.tag) for t in PARSER.parse(REPORT) if t.type != "inline"]
    assert [(t.type, t.tag) for t in PARSER.parse(out) if t.type != "inline"] == original
    assert safe_markdown(out, ()) == out


def test_lists_quotes_tables_and_code_keep_their_shape():
    source = (
        "## Findings\n\n1) **Cap** — `100%` of fees\n2) none\n\n> quoted\n> - item\n\n"
        "| a | b |\n|:-|-:|\n| `x|y` | 2 |\n\n```py\nprint('![i](http://h)')\n```\n"
    )
    out = safe_markdown(source, ())
    assert [(t.type, t.tag) for t in PARSER.parse(out)] == [
        (t.type, t.tag) for t in PARSER.parse(source)
    ]
    assert "print('![i](http://h)')\n" in code(out)


def test_escape_markdown_keeps_a_label_literal_on_one_line():
    name = "![x](http://h/p.png)\n# contract_v2 *final*.pdf"
    out = escape_markdown(name)
    assert "\n" not in out
    assert visible(out) == " ".join(name.split())
    assert code(escape_markdown("see www.evil.test.pdf")) == ["www.evil.test.pdf"]


MARKUP = st.sampled_from(
    [
        "![",
        "](",
        ")",
        "[",
        "]",
        "<",
        ">",
        "http://evil.test/p?q=1",
        "www.evil.test",
        "`",
        "*",
        "_",
        "\n",
        "\n\n",
        "    ",
        "- ",
        "1. ",
        "> ",
        "|",
        "---",
        "```",
        "[r]: http://evil.test/r",
        "![r]",
        "&#33;",
        "\\",
        "<img src=http://evil.test/i>",
        "javascript:",
        ":red[",
        "$",
        "~~",
    ]
)
TEXT = st.lists(st.one_of(MARKUP, st.text(max_size=5)), max_size=40).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_nothing_loads_and_the_hostile_host_appears_only_as_text(source):
    out = safe_markdown(source, {"acme.com"})
    found = list(tokens(out))
    assert not [t for t in found if t.type in ("image", "html_inline", "html_block")]
    assert all("evil" not in href for href in links(out))
    # What a GFM autolink pass over text nodes could turn into a link: no URL outside code.
    text = " ".join(t.content for t in found if t.type == "text")
    assert not re.search(r"evil\.test|://|www\.", text)


def test_a_url_beside_a_code_span_stays_quoted():
    """Found by the property test above: the quoted URL's fence and the next span's fence met
    and merged into one run that closed neither, leaving the URL as bare text."""
    out = safe_markdown("http://evil.test/p?q=1`![```![`", {"acme.com"})
    found = list(tokens(out))
    assert "http://evil.test/p?q=1" in [t.content for t in found if t.type == "code_inline"]
    assert not re.search(r"evil\\.test", " ".join(t.content for t in found if t.type == "text"))


@pytest.mark.parametrize("marker", ["- ", "> ", "1. ", "* > "])
def test_a_line_nested_past_the_parsers_limit_hides_nothing_after_it(marker):
    """markdown-it stops a block at its nesting limit and drops the rest of the text: one line
    of 30 nested markers would hide every finding below it on the page."""
    report = (
        "## Overall risk: LOW\n"
        + marker * 30
        + "deep\nA para\n\n### Limitation of liability — RED\nUncapped liability: HIDDEN.\n\nlast\n"
    )
    shown = safe_markdown(report)
    assert "\n### Limitation of liability — RED\n" in shown
    for word in ("deep", "A para", "HIDDEN", "last"):
        assert word in shown, (word, shown)


def test_a_list_nested_by_indentation_past_the_limit_keeps_every_item():
    report = "".join("  " * i + f"- item{i}\n" for i in range(40)) + "\nThe end of the report.\n"
    shown = safe_markdown(report)
    assert all(f"item{i}" in shown for i in range(40)) and "The end of the report" in shown


def test_bidi_controls_cannot_reorder_what_is_shown():
    """U+202E shows "invoice\u202efdp.exe" as "invoiceexe.pdf": a model's text must read in the
    order it is written, in a report, a code span, a table or a label."""
    controls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    text = (
        "## Risk \u202eWOL\u202c\n\n- pay `x\u2067y` now\n\n| a | b\u202e |\n|---|---|\n| 1 | 2 |\n"
    )
    shown = safe_markdown(text)
    assert not set(controls) & set(shown)
    assert "WOL" in shown and "xy" in shown
    assert not set(controls) & set(escape_markdown("file\u202efdp.exe"))


# What a model writes to make a marker text at the start of a line, which the writer must keep
# text wherever it puts it.
LINE_MARKERS = st.sampled_from(
    ["\\- ", "\\=", "===", "\\+ ", "\\# ", "1\\. x", "\n2\\) x", "\\> ", "&#45; ", "&#61;", "\n"]
)
LINES = st.lists(st.one_of(MARKUP, LINE_MARKERS, st.text(max_size=5)), max_size=40).map("".join)


def shape(markdown: str) -> tuple[list[str], str]:
    """What a parser makes of it: its structure, and the characters shown (spacing aside)."""
    kinds = [t.type for t in tokens(markdown) if t.type not in ("text", "softbreak")]
    return kinds, "".join(visible(markdown).split())


@settings(max_examples=600, deadline=None)
@given(LINES)
def test_what_it_writes_parses_to_the_structure_it_meant(source):
    """Only syntax characters are escaped, and a line's markers only where a line may begin: if
    the writer left one bare, sanitising its output again would find structure it did not write."""
    out = safe_markdown(source, {"acme.com"})
    assert shape(safe_markdown(out, {"acme.com"})) == shape(out)


def test_a_contracts_sentence_keeps_its_punctuation_as_written():
    """A downloaded report is read as text too: a sentence's commas, stops, quotes, brackets and
    hyphens are not escaped, while Streamlit's own markup stays text: maths, and a colon before a
    word (its directives, ":red[…]", and icons)."""
    sentence = 'The Supplier\'s third-party liability (Section 2.1) is capped, "as agreed"; see: 4.'
    assert safe_markdown(sentence).strip() == sentence
    out = safe_markdown("Fee $5 and $6 :smile: :material/home: 10:30")
    assert out.strip() == "Fee \\$5 and \\$6 \\:smile: \\:material/home: 10\\:30"
