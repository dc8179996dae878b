"""Model text drawn as Markdown loads nothing, runs nothing and links only to the contract's hosts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
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
@example("://evil.test")  # found by a random draw: a URL's run with no scheme
@example("![]()http://evil.test/p?q=1`")  # and an image with no URL: its empty code span
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


# Markup that leaves no link, image or HTML to neutralise: the output must keep the structure
# of the source's own parse, no more and no less. Markers made text ("\\- ") and entities that
# decode to a marker or a line break ("&#45; ", "&#13;") are what a model would write to start a
# line the writer leaves bare.
STRUCTURE = st.sampled_from(
    ["*", "_", "`", "```", "~~", "$", ":red[", "|", "---", "\n", "\n\n", "    ", "- ", "1. ",
     "> ", "\\", "\\- ", "\\=", "===", "\\+ ", "\\# ", "1\\. x", "\n2\\) x", "\\> ", "#", " #",
     "&#45; ", "&#61;", "&#35;", "&#13;", "&#10;", "\r", "2.1 ", "(", ")", "."]
)  # fmt: skip
BLOCKS = st.lists(st.one_of(STRUCTURE, st.text(alphabet="ab -#=\n", max_size=5)), max_size=30).map(
    "".join
)


def blocks(markdown: str) -> list[str]:
    """The block structure a parser makes of it (a code block written as a fence is one)."""
    skip = ("paragraph_open", "paragraph_close", "inline")
    kinds = (t.type for t in PARSER.parse(markdown) if t.type not in skip)
    return ["fence" if kind == "code_block" else kind for kind in kinds]


@settings(max_examples=600, deadline=None)
@given(BLOCKS)
@example("- ***")  # a list item holding a rule: written "- ---", the whole line was a rule
@example("* ---")
@example("*&#13;*")  # emphasis around an entity's line break: written bare, a list item
@example("a&#13;- b")  # a line break an entity puts before a list marker
@example("-\n\n\n-")  # two lists one after the other: written alike, they merged into one
@example("- a\n  - &#32;")  # an empty item under a paragraph line: written "-", a heading rule
@example("1. a\n   1. &#10;")  # the same in a numbered list: its nested list was lost
def test_what_it_writes_has_the_structure_of_what_it_read(source):
    """Only syntax characters are escaped, and a line's markers only where a line may begin: a
    marker left bare would add a list, heading or rule the source never had (`*&#13;*`, emphasis
    around an entity's line break, came out as a list item)."""
    assert blocks(safe_markdown(source)) == blocks(source)


def test_a_contracts_sentence_keeps_its_punctuation_as_written():
    """A downloaded report is read as text too: a sentence's commas, stops, quotes, brackets and
    hyphens are not escaped, while Streamlit's own markup stays text: maths, and a colon before a
    word (its directives, ":red[…]", and icons)."""
    sentence = 'The Supplier\'s third-party liability (Section 2.1) is capped, "as agreed"; see: 4.'
    assert safe_markdown(sentence).strip() == sentence
    out = safe_markdown("Fee $5 and $6 :smile: :material/home: 10:30")
    assert out.strip() == "Fee \\$5 and \\$6 \\:smile: \\:material/home: 10\\:30"
