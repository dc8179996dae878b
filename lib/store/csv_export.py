"""Every CSV the app offers, written one way: spreadsheet formulas in cells and headers are defused,
and no cell carries a character the page would not show (`exportable`, shared by every file the
app writes).

A document name, model name or error message comes from outside (a file's name, a server's reply),
and so does a column header (Portfolio's category columns are the headings a model wrote); a cell
starting with `=`, `+`, `-` or `@` would run as a formula when an analyst opens the CSV in a
spreadsheet (OWASP "CSV injection"). Such cells get a leading apostrophe, which spreadsheets show
as text.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from lib.analysis.safe_markdown import without_bidi

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What XML 1.0 cannot hold: C0 controls but tab and line breaks, lone surrogates, U+FFFE/U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def exportable(text: str) -> str:
    """Text with the characters no file the app writes should carry removed: what Word's and
    Excel's XML cannot hold, and the direction controls the page drops (they make a reason or a
    name read in another order than it is written)."""
    return _NOT_XML.sub("", without_bidi(text))


def defuse(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _plain(value: object) -> object:
    """A measured figure to six significant digits ("0.0164337", not "0.016433736003818922"):
    what the page shows rounded, the file shows readable, with nothing a reader could use lost."""
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return float(f"{value:.6g}")
    return value


def _cell(value: object) -> object:
    return defuse(exportable(value) if isinstance(value, str) else _plain(value))


def csv_bytes(frame: pd.DataFrame, *, index: bool = True) -> bytes:
    # Cell by cell into object columns: `DataFrame.map` infers each column's type again, and a
    # column of counts with one missing value would be written as floats ("1402.0").
    safe = frame.astype(object)
    for column in range(frame.shape[1]):
        safe.iloc[:, column] = [_cell(v) for v in frame.iloc[:, column]]
    safe.columns = safe.columns.map(_cell)
    if index:
        safe.index = safe.index.map(_cell)
        safe.index.names = [_cell(name) for name in safe.index.names]
    return safe.to_csv(index=index).encode("utf-8")
