"""Where a batch's contracts come from: uploads, a server folder the operator allowed, the sample,
or the documents of a ContractNLI-layout file (to score a playbook's verdicts on them).

A folder is read only when it lies inside one of the operator's `CRS_BATCH_DIRS` (after resolving
symbolic links and `..`), so a browser user cannot make the server read arbitrary files. The
terminal command passes no allow-list: whoever runs it can read the files anyway.

A folder file larger than the upload limit (CRS_MAX_UPLOAD_MB) is left out from its size alone,
never read whole. Streamlit reruns the page on every click, so the page keeps a `ReadCache`: a
file it has read (same upload bytes, or same folder path, size and modification time) is not
read or parsed again.

A scan (a PDF with no text layer) is a `Scan` until OCR reads it: each front end passes
`read_sources` its `scans`, which reads it (crs-batch, through `lib.runs.scans.read_scan`), finds
it read (the Portfolio page, after its OCR button) or leaves it out saying why (`left_out`).

A file whose text is an earlier file's but for its spacing (a copy under another name, a PDF and
its text export) is left out saying so (`same_text`, `text_key`), before any estimate or run: it
would be reviewed, and billed, twice.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lib.analysis.documents import (
    OCR_PAGES,
    SUPPORTED,
    Document,
    DocumentError,
    Limits,
    NeedsOcr,
    size_problem,
    too_much_text,
)
from lib.analysis.playbook.contractnli import (
    ContractNliError,
    NliSet,
    load_contractnli,
    read_contractnli,
)
from lib.analysis.samples import all_samples
from lib.engine.settings import Settings
from lib.runs.document_sandbox import ReaderBusy, read_upload
from lib.runs.scans import Scan, left_out

SAMPLE_SOURCE = "sample"
UPLOAD_SOURCE = "upload"
FOLDER_PREFIX = "folder:"
CONTRACTNLI_PREFIX = "contractnli:"
MAX_FOLDER_FILES = 5000


@dataclass
class Loaded:
    documents: list[Document] = field(default_factory=list)
    # (file name, reason) for files that could not be read; the batch runs without them.
    problems: list[tuple[str, str]] = field(default_factory=list)
    # The scans among them not read (yet): left out, each in `problems` too.
    scans: list[Scan] = field(default_factory=list)


def sample_contracts() -> list[Document]:
    """The bundled CUAD sample, named by CUAD's file names so its labels match."""
    return [
        Document(s.file_name, s.text, "sample", len(s.text.encode("utf-8"))) for s in all_samples()
    ]


def contractnli_contracts(
    path: Path, settings: Settings, allowed: Sequence[Path] | None = None
) -> Loaded:
    """The documents of a ContractNLI-layout file (see `nli_documents`)."""
    allowed_folder(path.parent, allowed)
    try:
        return nli_documents(load_contractnli(path), settings.document_limits)
    except (ContractNliError, OSError) as exc:
        return Loaded(problems=[(path.name, str(exc))])


def contractnli_upload(name: str, data: bytes, settings: Settings) -> Loaded:
    """The documents of an uploaded ContractNLI-layout file, each under the document size limit."""
    try:
        labels = read_contractnli(data, name)
    except ContractNliError as exc:
        return Loaded(problems=[(name, str(exc))])
    return nli_documents(labels, settings.document_limits)


def nli_documents(labels: NliSet, limits: Limits) -> Loaded:
    """Each labelled document, its text exactly as labelled (the labels' evidence spans are
    offsets into it, so it is not normalised as a pasted text is), held to the limits a file's
    text is."""
    loaded = Loaded(problems=[(name, "not in ContractNLI's layout") for name in labels.skipped])
    for d in labels.documents:
        size = len(d.text.encode("utf-8"))
        too_big = size_problem(d.name, size, limits.max_bytes) or too_much_text(
            d.name, d.text, limits
        )
        if too_big is not None:
            loaded.problems.append((d.name, too_big))
        elif d.text.strip():
            loaded.documents.append(Document(d.name, d.text, "txt", size))
    return loaded


def allowed_folder(folder: Path, allowed: Sequence[Path] | None) -> Path:
    """The folder, resolved; PermissionError unless it is inside an allowed one."""
    resolved = folder.expanduser().resolve()
    if allowed is not None:
        roots = [Path(a).expanduser().resolve() for a in allowed]
        if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
            raise PermissionError("This folder is not one the operator allowed for batches.")
    if resolved.is_file():
        raise NotADirectoryError(f"{folder} is a file, not a folder.")
    if not resolved.is_dir():
        raise FileNotFoundError(f"There is no folder {folder}.")
    return resolved


@dataclass(frozen=True)
class SourceFile:
    """A file to read: its name in the batch, a key that changes when its content does, its size,
    and how to get its bytes (only called when the file is read)."""

    name: str
    key: tuple[object, ...]
    size: int
    data: Callable[[], bytes]


# What reading a file gives: a contract, a scan waiting for OCR, or why it is left out.
Entry = Document | Scan | str
# A scan to a contract (read with OCR) or the reason it is left out.
ScanTaker = Callable[[Scan], Document | str]


def uploaded(name: str, data: bytes) -> SourceFile:
    digest = hashlib.sha256(data).hexdigest()
    return SourceFile(name, ("upload", name, digest), len(data), lambda: data)


def _on_disk(path: Path, name: str, max_bytes: int) -> SourceFile:
    status = path.stat()
    # The name is part of the key: read from its parent folder the same file is "a/x.txt", from
    # its own "x.txt", and a batch stores the name it was read under (it finds it again by it).
    key = ("folder", name, str(path), status.st_size, status.st_mtime_ns)

    def data() -> bytes:
        with path.open("rb") as file:  # at most one byte over the limit, if it grew since
            return file.read(max_bytes + 1)

    return SourceFile(name, key, status.st_size, data)


class ReadCache:
    """The files of the last list read (one session's uploads or folder), by key: a rerun of the
    page reads only what is new. Keeps no more than the last list, and never a refusal that a
    later try may not meet (`ReaderBusy`)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[object, ...], Entry] = {}

    def read(
        self, files: Iterable[SourceFile], read: Callable[[SourceFile], Entry]
    ) -> list[tuple[str, Entry]]:
        """(name, document, scan or why it was left out) per file, `read` called for new ones
        only."""
        kept: dict[tuple[object, ...], Entry] = {}
        out = []
        for file in files:
            entry = self._entries.get(file.key)
            if entry is None:
                entry, final = _read_one(file, read)
                if final:
                    kept[file.key] = entry
            else:
                kept[file.key] = entry
            out.append((file.name, entry))
        self._entries = kept
        return out


def _read_one(file: SourceFile, read: Callable[[SourceFile], Entry]) -> tuple[Entry, bool]:
    try:
        return read(file), True
    except ReaderBusy as exc:
        return exc.message, False


@dataclass
class FolderListing:
    """A folder's files to read, and (name, reason) for each file in it the batch does not read."""

    files: list[SourceFile]
    unread: list[tuple[str, str]]


def folder_files(
    folder: Path, settings: Settings, allowed: Sequence[Path] | None = None
) -> FolderListing:
    """Every supported file in the folder and its subfolders, named by its relative path; every
    other file is named with why it is not read, so a data room's spreadsheet is not missed
    unsaid. Hidden files and the files of hidden folders (".DS_Store", ".git/…") are not named
    when of another type: the operating system's or a tool's bookkeeping, never an analyst's
    contract, which would bury the lines that matter."""
    root = allowed_folder(folder, allowed)
    files, unread = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = str(path.relative_to(root))
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED:
            if not any(part.startswith(".") for part in path.relative_to(root).parts):
                unread.append((name, not_a_contract_type(suffix)))
        elif allowed is not None and not path.resolve().is_relative_to(root):
            unread.append((name, "a link to a file outside the allowed folder"))
        elif len(files) >= MAX_FOLDER_FILES:
            unread.append((name, f"beyond the {MAX_FOLDER_FILES:,} files a folder's batch reads"))
        else:
            files.append(path)
    max_bytes = settings.document_limits.max_bytes
    return FolderListing([_on_disk(p, str(p.relative_to(root)), max_bytes) for p in files], unread)


def not_a_contract_type(suffix: str) -> str:
    """Why a folder's file of another type is not read."""
    kind = suffix or "no file extension"
    return f"not a contract file type: {kind} (a batch reads {', '.join(SUPPORTED)})"


def folder_contracts(
    folder: Path,
    settings: Settings,
    allowed: Sequence[Path] | None = None,
    cache: ReadCache | None = None,
    scans: ScanTaker | None = None,
) -> Loaded:
    """Every supported file in the folder and its subfolders, read (see `read_sources`); every
    file not read among `problems`, in the order of their names."""
    listing = folder_files(folder, settings, allowed)
    loaded = read_sources(listing.files, settings, cache, scans=scans)
    loaded.problems = sorted([*listing.unread, *loaded.problems])
    return loaded


def read_files(
    files: Iterable[tuple[str, bytes]],
    settings: Settings,
    cache: ReadCache | None = None,
    scans: ScanTaker | None = None,
) -> Loaded:
    """Files given as (name, bytes), read as `read_sources` reads them."""
    files = (uploaded(name, data) for name, data in files)
    return read_sources(files, settings, cache, scans=scans)


def read_sources(
    files: Iterable[SourceFile],
    settings: Settings,
    cache: ReadCache | None = None,
    keep: Callable[[str, bytes], object] | None = None,
    scans: ScanTaker | None = None,
) -> Loaded:
    """Each file read in the limited child process, as the pages read one upload; one over the
    size limit is left out before its bytes are read. `keep` gets each file read for the first
    time (the page keeps a copy of uploads with it where the operator asked for copies). A scan
    goes to `scans`, asked again on every call (it may have been read since); without it, it is
    left out saying where OCR is offered."""
    limits, sandbox = settings.document_limits, settings.sandbox

    def read(file: SourceFile) -> Entry:
        too_big = size_problem(file.name, file.size, limits.max_bytes)
        if too_big is not None:
            return too_big
        data = file.data()
        try:
            document = read_upload(data, file.name, limits=limits, sandbox=sandbox)
        except ReaderBusy:
            raise
        except NeedsOcr as exc:
            return Scan(file.name, file.key, file.data, exc.reason, exc.image_pages)
        except DocumentError as exc:
            return exc.message
        except Exception as exc:  # a file that breaks a parser must not end the batch
            return f"could not be read ({type(exc).__name__})"
        if keep is not None:
            keep(file.name, data)
        return document if document.text.strip() else "has no text"

    loaded = Loaded()
    first_read: dict[str, str] = {}  # each text's `text_key` → the file first read with it
    for name, entry in (cache or ReadCache()).read(files, read):
        if isinstance(entry, Scan):
            scan = entry
            entry = left_out(scan.reason, OCR_PAGES) if scans is None else scans(scan)
            if not isinstance(entry, Document):
                loaded.scans.append(scan)
        key = text_key(entry.text) if isinstance(entry, Document) else ""
        if isinstance(entry, Document) and key in first_read:
            entry = same_text(first_read[key])
        if isinstance(entry, Document):
            first_read[key] = name
            loaded.documents.append(entry)
        else:
            loaded.problems.append((name, entry))
    return loaded


def same_text(first: str) -> str:
    """Why a file is left out whose text is an earlier file's but for its spacing (`text_key`):
    run twice, a paid model would bill the same review twice. Told, not dropped silently, so the
    analyst sees where the copy went."""
    return f"same text as {first}"


def text_key(text: str) -> str:
    """What two copies of one contract share: its words in order, every run of Unicode whitespace
    one space and none at either end. A PDF and its text export wrap lines differently, and carry
    trailing spaces, runs of spaces or CRLF where the other has one; their exact texts (the
    sha256 a run's record keeps) differ, yet they are one review. A letter or a punctuation mark
    apart, they are two contracts, both read."""
    return hashlib.sha256(_WHITESPACE.sub(" ", text).strip(" ").encode("utf-8")).hexdigest()


# Unicode's whitespace: Python's `\s` (and `str.split`) also takes the four information
# separators U+001C–U+001F, control characters a text differing in is another text.
_WHITESPACE = re.compile(r"[^\S\x1c-\x1f]+")


def reload_source(
    source: str,
    settings: Settings,
    allowed: Sequence[Path] | None,
    scans: ScanTaker | None = None,
) -> Loaded | None:
    """The contracts of a stored batch's source again, for a resume (`crs-batch resume` and the
    Portfolio page's Resume alike); None for uploads and for a source this process may not or
    cannot read (a folder `crs-batch` read that the pages' allowed folders do not hold, or one
    gone since): its contracts are chosen again, like uploads. A folder's scans go to `scans`
    (read with OCR by `take_scan` on every front end); its `problems` say why a file was not
    read, which a resume names for that file's runs."""
    try:
        if source == SAMPLE_SOURCE:
            return Loaded(sample_contracts())
        if source.startswith(FOLDER_PREFIX):
            folder = Path(source.removeprefix(FOLDER_PREFIX))
            return folder_contracts(folder, settings, allowed, scans=scans)
        if source.startswith(CONTRACTNLI_PREFIX):
            path = Path(source.removeprefix(CONTRACTNLI_PREFIX))
            return contractnli_contracts(path, settings, allowed)
    except OSError:
        return None
    return None
