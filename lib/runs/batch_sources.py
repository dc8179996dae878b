"""Where a batch's contracts come from: uploads, a server folder the operator allowed, the sample.

A folder is read only when it lies inside one of the operator's `CRS_BATCH_DIRS` (after resolving
symbolic links and `..`), so a browser user cannot make the server read arbitrary files. The
terminal command passes no allow-list: whoever runs it can read the files anyway.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lib.analysis.documents import SUPPORTED, Document, DocumentError
from lib.analysis.samples import all_samples
from lib.runs.document_sandbox import limits_from_env, read_upload

SAMPLE_SOURCE = "sample"
UPLOAD_SOURCE = "upload"
FOLDER_PREFIX = "folder:"
MAX_FOLDER_FILES = 5000


@dataclass
class Loaded:
    documents: list[Document] = field(default_factory=list)
    # (file name, reason) for files that could not be read; the batch runs without them.
    problems: list[tuple[str, str]] = field(default_factory=list)


def sample_contracts() -> list[Document]:
    """The bundled CUAD sample, named by CUAD's file names so its labels match."""
    return [
        Document(s.file_name, s.text, "sample", len(s.text.encode("utf-8"))) for s in all_samples()
    ]


def allowed_folder(folder: Path, allowed: Sequence[Path] | None) -> Path:
    """The folder, resolved; PermissionError unless it is inside an allowed one."""
    resolved = folder.expanduser().resolve()
    if allowed is not None:
        roots = [Path(a).expanduser().resolve() for a in allowed]
        if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
            raise PermissionError("This folder is not one the operator allowed for batches.")
    if not resolved.is_dir():
        raise FileNotFoundError(f"There is no folder {folder.name}.")
    return resolved


def folder_contracts(folder: Path, allowed: Sequence[Path] | None = None) -> Loaded:
    """Every supported file in the folder and its subfolders, named by its relative path."""
    root = allowed_folder(folder, allowed)
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)[
        :MAX_FOLDER_FILES
    ]
    if allowed is not None:
        files = [p for p in files if p.resolve().is_relative_to(root)]
    return read_files((str(p.relative_to(root)), p.read_bytes()) for p in files)


def read_files(files: Iterable[tuple[str, bytes]]) -> Loaded:
    """Each file read in the limited child process, as the pages read one upload."""
    limits, sandbox = limits_from_env(os.environ)
    loaded = Loaded()
    for name, data in files:
        try:
            document = read_upload(data, name, limits=limits, sandbox=sandbox)
        except DocumentError as exc:
            loaded.problems.append((name, exc.message))
            continue
        except Exception as exc:  # a file that breaks a parser must not end the batch
            loaded.problems.append((name, f"could not be read ({type(exc).__name__})"))
            continue
        if not document.text.strip():
            loaded.problems.append((name, "has no text"))
            continue
        loaded.documents.append(document)
    return loaded


def reload_source(source: str, allowed: Sequence[Path] | None) -> Loaded | None:
    """The contracts of a stored batch's source again, for a resume; None for uploads."""
    if source == SAMPLE_SOURCE:
        return Loaded(sample_contracts())
    if source.startswith(FOLDER_PREFIX):
        return folder_contracts(Path(source.removeprefix(FOLDER_PREFIX)), allowed)
    return None
