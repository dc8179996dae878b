"""The one way the pages offer a file.

A download button reruns the page when clicked, by default. A rerun drops the files the other
buttons would build on their click (a Word report is built only when asked for): a second download
clicked while the first one's rerun ran gave no file. Nothing on a page changes when a file is
taken, so no download reruns it.
"""

from __future__ import annotations

from typing import Any


def offer(target: Any, label: str, data: Any, file_name: str, mime: str, **options: Any) -> None:
    """A download button in `target` (`st`, a column or a container); `data` may be a callable
    that builds the file on click."""
    target.download_button(label, data, file_name, mime, on_click="ignore", **options)
