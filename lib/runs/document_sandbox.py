"""Read an upload in a child process with memory and time limits, once per upload.

A crash in PDFium, a parser stuck in a loop or a file that inflates past memory ends the child
(`lib.analysis.document_worker`), never the app's server and every session in it. The child gets
no environment but the path to this repository, so a parser exploit finds no keys in it.

Each child may take 1 GB of address space, so the process starts at most `Sandbox.max_children`
at once (CRS_MAX_PARSES), whoever asks: the pages, Portfolio's file lists and the API. A file
beyond that is refused at once with a message saying so, rather than queued behind the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from lib.analysis.documents import Document, DocumentError, Limits, NeedsOcr
from lib.analysis.plural import counted
from lib.engine.limits import InFlight, Sandbox

ROOT = Path(__file__).resolve().parents[2]
WORKER = ("-m", "lib.analysis.document_worker")


DEFAULT_LIMITS = Limits()
DEFAULT_SANDBOX = Sandbox()


class ReaderBusy(DocumentError):
    """Not read: the process is already reading as many files as it may at once. Never cached:
    the same file is read once a child is free."""


_CHILDREN = InFlight()


def busy_reader_message(filename: str, limit: int) -> str:
    return (
        f"“{filename}” was not read: the server is already reading {counted(limit, 'file')}, its "
        "limit at one time. Try again in a moment (the operator can raise CRS_MAX_PARSES)."
    )


def read_upload(
    data: bytes,
    filename: str,
    *,
    limits: Limits = DEFAULT_LIMITS,
    sandbox: Sandbox = DEFAULT_SANDBOX,
    worker: Sequence[str] = WORKER,
) -> Document:
    """The upload as a `Document`, or a `DocumentError` saying why not (`ReaderBusy` when
    `sandbox.max_children` children are reading already); `worker` is the child's Python
    arguments (tests put a crashing or hanging one there)."""
    if not _CHILDREN.admit(sandbox.max_children):
        raise ReaderBusy(busy_reader_message(filename, sandbox.max_children))
    try:
        return _read_in_child(data, filename, limits, sandbox, worker)
    finally:
        _CHILDREN.release()


def _read_in_child(
    data: bytes, filename: str, limits: Limits, sandbox: Sandbox, worker: Sequence[str]
) -> Document:
    header = json.dumps({"name": filename, "limits": dataclasses.asdict(limits)}).encode()
    command = [
        sys.executable,
        *worker,
        str(sandbox.memory_mb),
        str(max(1, round(sandbox.seconds))),
    ]
    try:
        done = subprocess.run(
            command,
            input=header + b"\n" + data,
            capture_output=True,
            timeout=sandbox.seconds,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT)},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DocumentError(
            f"“{filename}” took longer than {sandbox.seconds:.0f} s to read and was abandoned; it "
            "may be damaged or built to stall the reader. Export it again, or paste the text."
        ) from None
    try:
        result = json.loads(done.stdout) if done.returncode == 0 else {}
    except ValueError:
        result = {}
    if "document" in result:
        return Document(**result["document"])
    if result.get("error") == "memory":
        raise DocumentError(
            f"“{filename}” needs more than {sandbox.memory_mb:,} MB to read; it may be damaged or "
            "built to exhaust the server. Export it again, or paste the text."
        )
    if "scan" in result:
        scan = result["scan"]
        raise NeedsOcr(str(scan["reason"]), int(scan["pages"]), list(scan["image_pages"]))
    if "error" in result:
        raise DocumentError(str(result["error"]))
    raise DocumentError(
        f"“{filename}” made the document reader fail; it may be damaged or built to attack it. "
        "Export it again (e.g. print to a new PDF), or paste the text."
    )


class UploadCache:
    """The last few uploads read, by content and name: Streamlit reruns the page on every click,
    and each rerun would otherwise start a child and parse the file again."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], Document | DocumentError] = OrderedDict()

    def read(
        self, data: bytes, filename: str, reader: Callable[[bytes, str], Document]
    ) -> Document:
        key = (hashlib.sha256(data).hexdigest(), filename)
        if key not in self._entries:
            try:
                self._entries[key] = reader(data, filename)
            except ReaderBusy:
                raise
            except DocumentError as exc:
                self._entries[key] = exc
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        entry = self._entries[key]
        if isinstance(entry, DocumentError):
            raise entry
        return entry
