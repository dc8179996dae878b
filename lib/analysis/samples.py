"""The bundled CUAD sample: 24 real contracts with expert clause labels (CUAD v1, CC BY 4.0).

One place that knows where the sample lives, so the pages (sample contracts one click away), the
scorer, the benchmarks and the tests read the same files.
"""

from __future__ import annotations

import functools
import json
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.analysis.clauses.finder import document_title

SAMPLE_DIR = Path(__file__).resolve().parent / "cuad_sample"
ATTRIBUTION = (
    "Sample contract from CUAD v1 (The Atticus Project, CC BY 4.0): a public SEC EDGAR exhibit."
)


@dataclass(frozen=True)
class SampleContract:
    file_name: str
    text: str
    # Labelled clause texts per CUAD category (an empty list: the clause is absent).
    spans: dict[str, list[str]]

    @property
    def title(self) -> str:
        """A readable name from CUAD's file name: "Sponsorship Agreement — Canopetroleum Inc";
        where the file name cuts the kind short ("Co Branding Agreem"), the contract's own title
        ("Co-Branding Agreement")."""
        tokens = self.file_name.removesuffix(".txt").split("_")[1:]
        numeric = [i for i, token in enumerate(tokens) if token.isdigit()]
        company = " ".join(tokens[: numeric[0]] if numeric else tokens[:1]).title()
        kind = " ".join(tokens[numeric[-1] + 1 :] if numeric else tokens[1:])
        if not kind.lower().endswith("agreement"):
            kind = document_title(self.text) or kind
        return f"{string.capwords(kind) or 'Contract'} — {company}"


@functools.cache
def _labels() -> dict[str, dict[str, Any]]:
    labels: dict[str, dict[str, Any]] = json.loads(
        (SAMPLE_DIR / "labels.json").read_text(encoding="utf-8")
    )["contracts"]
    return labels


def cuad_file_names() -> list[str]:
    """CUAD's own file names for the sample contracts (training leaves these out)."""
    return sorted(v["cuad_filename"] for v in _labels().values())


def sample_names() -> list[str]:
    return sorted(_labels())


def load_sample(file_name: str) -> SampleContract:
    label = _labels()[file_name]
    text = (SAMPLE_DIR / "contracts" / file_name).read_text(encoding="utf-8")
    return SampleContract(file_name, text, label["spans"])


def all_samples() -> list[SampleContract]:
    return [load_sample(name) for name in sample_names()]
