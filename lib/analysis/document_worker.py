"""Read one upload in a process of its own: `python -m lib.analysis.document_worker`.

PDFium is native code and python-docx inflates XML: a hostile file can crash, hang or exhaust the
process that parses it. Run here, that process is a child with its own address-space and CPU
limits (set below, before any parser is imported), so the app's server only sees an exit code.

Protocol: stdin holds one JSON line (file name, limits) followed by the file's bytes; stdout gets
one JSON object, either the document or the reason it could not be read.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import sys
from typing import IO, Any

from lib.analysis.documents import DocumentError, Limits, NeedsOcr, load_document


def limit_resource(kind: int, value: int) -> None:
    """Lower this process's soft limit, never above the hard one it was given."""
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, hard))


def take_job(
    stdin: IO[bytes], memory_bytes: int | None, cpu_seconds: int | None
) -> tuple[dict[str, Any], bytes]:
    """The job's header and bytes, with this process's limits set in between: before the file's
    bytes are read into memory and before any parser is imported."""
    header = json.loads(stdin.readline())
    if memory_bytes:
        limit_resource(resource.RLIMIT_AS, memory_bytes)
    if cpu_seconds:
        limit_resource(resource.RLIMIT_CPU, cpu_seconds)
    return header, stdin.read()


def read(stdin: IO[bytes], memory_bytes: int | None, cpu_seconds: int | None) -> dict[str, Any]:
    header, data = take_job(stdin, memory_bytes, cpu_seconds)
    try:
        document = load_document(data, header["name"], limits=Limits(**header["limits"]))
    except NeedsOcr as exc:
        scan = {"reason": exc.reason, "pages": exc.pages, "image_pages": exc.image_pages}
        return {"error": exc.message, "scan": scan}
    except DocumentError as exc:
        return {"error": exc.message}
    except MemoryError:
        return {"error": "memory"}
    return {"document": dataclasses.asdict(document)}


def main() -> None:
    memory_mb, cpu_seconds = (int(arg) for arg in sys.argv[1:3])
    result = read(sys.stdin.buffer, memory_mb * 1024 * 1024, cpu_seconds)
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
