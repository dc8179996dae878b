"""Expert clause labels for scoring: the bundled CUAD sample, a folder in CUAD's own layout, or a
simple CSV of contract, category, clause text.

A `LabelledSet` maps a contract's name to its labelled spans per category; an empty list says the
category was checked and is absent. Categories are the ones the source labels (CUAD's 41 for CUAD,
whatever a CSV names), so a team's own labels are scored on their own categories. Files are
untrusted: a malformed row is skipped, never fatal.
"""

from __future__ import annotations

import ast
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from lib.analysis.clauses.categories import CUAD_CATEGORIES, EXTRA_CATEGORIES
from lib.analysis.documents import DEFAULT_MAX_BYTES
from lib.analysis.samples import all_samples

CUAD_MASTER = "master_clauses.csv"
CUAD_TEXTS = "full_contract_txt"
_KNOWN = {c.lower(): c for c in (*CUAD_CATEGORIES, *EXTRA_CATEGORIES)}
MAX_CSV_BYTES = 50_000_000


class LabelError(ValueError):
    """The labels cannot be read at all (a missing file, no usable column)."""


@dataclass
class LabelledSet:
    source: str
    categories: tuple[str, ...]
    labels: dict[str, dict[str, list[str]]]
    # Contract texts where the source carries them (CUAD sample and folders); CSVs do not.
    texts: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def match(self, contract_name: str) -> str | None:
        """The labelled contract a document name refers to: exact, else by file stem."""
        if contract_name in self.labels:
            return contract_name
        stem = contract_key(contract_name)
        return next((name for name in self.labels if contract_key(name) == stem), None)


def contract_key(name: str) -> str:
    """A file name without folder, extension or case: "Deals/ACME.PDF" and "acme.txt" agree."""
    pure = PurePath(name.replace("\\", "/")).name
    for suffix in (".pdf", ".txt", ".docx", ".md"):
        if pure.lower().endswith(suffix):
            pure = pure[: -len(suffix)]
    return pure.strip().lower()


def letters_and_digits(name: str) -> str:
    """A name by its letters and digits: CUAD's file names differ from its `Filename` column in
    punctuation and accents ("MACY'S" vs "MACY_S")."""
    stem = contract_key(name.strip(" '\""))
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", folded)


def _is_answer_column(name: str) -> bool:
    """CUAD's `<category>-Answer` columns (once `<category>- Answer`) hold answers, not spans."""
    return re.sub(r"[\s-]+", "", name).lower().endswith("answer")


def canonical_category(name: str) -> str:
    cleaned = " ".join(str(name).split())
    return _KNOWN.get(cleaned.lower(), cleaned)


def sample_labels() -> LabelledSet:
    samples = all_samples()
    return LabelledSet(
        "CUAD sample (24 contracts)",
        CUAD_CATEGORIES,
        {s.file_name: {c: list(s.spans.get(c, [])) for c in CUAD_CATEGORIES} for s in samples},
        {s.file_name: s.text for s in samples},
    )


def _spans(cell: str) -> list[str]:
    """CUAD writes a cell's spans as a Python list literal; anything else is one span."""
    cell = (cell or "").strip()
    if not cell:
        return []
    if cell.startswith("["):
        try:
            value = ast.literal_eval(cell)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return [cell]
        if isinstance(value, list):
            return [str(v) for v in value if str(v).strip()]
    return [cell]


def cuad_folder(folder: Path) -> LabelledSet:
    """`master_clauses.csv` plus `full_contract_txt/<file stem>.txt`, as CUAD v1 ships them.

    Only files inside the folder are read (a link out of it, say to another user's files or to
    `/dev/zero`, is skipped like a missing file), and none larger than a labels file or a
    contract may be."""
    root = folder.resolve()
    master = folder / CUAD_MASTER
    if not _inside(master, root, MAX_CSV_BYTES):
        raise LabelError(
            f"{folder.name} has no {CUAD_MASTER} (of at most {MAX_CSV_BYTES:,} bytes)."
        )
    texts_dir = folder / CUAD_TEXTS
    by_stem = {}
    if texts_dir.is_dir():
        by_stem = {
            letters_and_digits(p.name): p
            for p in sorted(texts_dir.iterdir())
            if p.suffix == ".txt" and _inside(p, root, DEFAULT_MAX_BYTES)
        }
    rows = csv.DictReader(io.StringIO(master.read_text(encoding="utf-8", errors="replace")))
    columns = [c for c in (rows.fieldnames or []) if c and not _is_answer_column(c)]
    if "Filename" not in columns:
        raise LabelError(f"{CUAD_MASTER} has no Filename column.")
    categories = tuple(canonical_category(c) for c in columns if c != "Filename")
    out = LabelledSet(f"CUAD folder {folder.name}", categories, {})
    for row in rows:
        filename = (row.get("Filename") or "").strip()
        path = by_stem.get(letters_and_digits(filename))
        if not filename or path is None:
            out.skipped.append(filename or "(row without a file name)")
            continue
        name = path.name
        out.labels[name] = {
            canonical_category(c): _spans(row.get(c) or "") for c in columns if c != "Filename"
        }
        out.texts[name] = path.read_text(encoding="utf-8", errors="replace")
    return out


def _inside(path: Path, root: Path, max_bytes: int) -> bool:
    """A regular file under `root` once links are followed, of at most `max_bytes`."""
    resolved = path.resolve()
    return (
        resolved.is_relative_to(root)
        and resolved.is_file()
        and resolved.stat().st_size <= max_bytes
    )


def label_csv(data: bytes, source: str = "CSV labels") -> LabelledSet:
    """Rows of contract, category, clause text (a header row is recognised and skipped).

    Every category the file names is scored on every contract it names: a category a contract
    has no row for is labelled absent there. A row with an empty clause text only says so.
    """
    if len(data) > MAX_CSV_BYTES:
        raise LabelError("The label file is too large.")
    text = data.decode("utf-8-sig", errors="replace")
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["contract", "category"]:
        rows = rows[1:]
    spans: dict[str, dict[str, list[str]]] = {}
    categories: list[str] = []
    skipped = []
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            skipped.append(f"row {number}")
            continue
        contract, category = row[0].strip(), canonical_category(row[1])
        clause = row[2].strip() if len(row) > 2 else ""
        if category not in categories:
            categories.append(category)
        entry = spans.setdefault(contract, {}).setdefault(category, [])
        if clause:
            entry.append(clause)
    if not spans:
        raise LabelError("No rows of contract, category, clause text were found.")
    labels = {
        contract: {c: list(found.get(c, [])) for c in categories}
        for contract, found in spans.items()
    }
    return LabelledSet(source, tuple(categories), labels, skipped=skipped)
