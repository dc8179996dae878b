"""Reading labels in ContractNLI's layout: `{"documents": [...], "labels": {...}}`.

Each document has its text, its `spans` (the sentences and list items annotators chose evidence
from) and, per hypothesis, a choice (Entailment / Contradiction / NotMentioned) with evidence span
indices. The file is untrusted input: a document without text or spans is skipped and named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib.analysis.playbook.format import VERDICT_FOR_CHOICE, Verdict

MAX_FILE_BYTES = 200_000_000


class ContractNliError(ValueError):
    """The file cannot be read as ContractNLI labels at all."""


@dataclass(frozen=True)
class Label:
    verdict: Verdict
    spans: tuple[int, ...]


@dataclass(frozen=True)
class NliDocument:
    id: str
    name: str
    text: str
    spans: tuple[tuple[int, int], ...]
    labels: dict[str, Label]


@dataclass
class NliSet:
    hypotheses: dict[str, str]
    documents: list[NliDocument]
    skipped: list[str] = field(default_factory=list)


def parse_contractnli(data: dict[str, Any]) -> NliSet:
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise ContractNliError("not ContractNLI labels: no 'documents' list")
    heads = data.get("labels")
    hypotheses = {
        str(k): str(v.get("hypothesis", ""))
        for k, v in (heads if isinstance(heads, dict) else {}).items()
        if isinstance(v, dict)
    }
    documents: list[NliDocument] = []
    skipped: list[str] = []
    for i, raw in enumerate(data["documents"]):
        if not isinstance(raw, dict):
            skipped.append(f"document {i + 1}")
            continue
        name = str(raw.get("file_name") or raw.get("id") or f"document {i + 1}")
        try:
            text = raw["text"]
            spans = tuple((int(s), int(e)) for s, e in raw["spans"])
            annotations = raw["annotation_sets"][0]["annotations"]
            labels = {
                h: Label(VERDICT_FOR_CHOICE[a["choice"]], tuple(int(x) for x in a["spans"]))
                for h, a in annotations.items()
            }
            if not isinstance(text, str) or any(
                x >= len(spans) or x < 0 for lab in labels.values() for x in lab.spans
            ):
                raise ValueError
        except (KeyError, IndexError, TypeError, ValueError):
            skipped.append(name)
            continue
        documents.append(NliDocument(str(raw.get("id", i)), name, text, spans, labels))
    return NliSet(hypotheses, documents, skipped)


def read_contractnli(data: bytes, name: str) -> NliSet:
    """Labels from a file's bytes (an upload, or a file read by `load_contractnli`)."""
    if len(data) > MAX_FILE_BYTES:
        raise ContractNliError(f"{name} is too large")
    try:
        return parse_contractnli(json.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ContractNliError(f"{name} cannot be read: {exc}") from None


def load_contractnli(path: str | Path) -> NliSet:
    path = Path(path)
    if path.is_dir():
        candidates = sorted(path.glob("*.json"))
        if not candidates:
            raise ContractNliError(f"{path.name}: no JSON file in the folder")
        path = candidates[0]
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ContractNliError(f"{path.name} is too large")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ContractNliError(f"{path.name} cannot be read: {exc}") from None
    return read_contractnli(data, path.name)
