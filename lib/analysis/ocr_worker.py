"""OCR one PDF in a process of its own: `python -m lib.analysis.ocr_worker MEMORY_MB CPU_S`.

Rendering and reading a scan is native code (PDFium, Tesseract) working on untrusted pages, and a
page can cost hundreds of megabytes: run here, a crash or a runaway page ends this child under its
own address-space and CPU limits, never the app's server. The parent (`lib.runs.ocr_job`) stops a
run by ending this process.

Protocol: stdin holds one JSON line (pages to read, page cap, dpi) followed by the PDF's bytes;
stdout gets one JSON line per page about to be read ({"page": n, "total": N}), then one with the
result ({"result": {...}}) or the reason there is none ({"error": message}).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import IO, Any

from lib.analysis.document_worker import take_job


def _say(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def read(stdin: IO[bytes], out: IO[str], memory_bytes: int | None, cpu_seconds: int | None) -> None:
    header, data = take_job(stdin, memory_bytes, cpu_seconds)
    from lib.analysis import ocr

    try:
        result = ocr.ocr_pdf(
            data,
            header["pages"],
            on_page=lambda n, total: _say(out, {"page": n, "total": total}),
            page_cap=header["page_cap"],
            dpi=header["dpi"],
        )
    except ocr.OcrError as exc:
        _say(out, {"error": exc.message})
        return
    except MemoryError:
        _say(out, {"error": "memory"})
        return
    _say(out, {"result": dataclasses.asdict(result)})


def main() -> None:
    memory_mb, cpu_seconds = (int(arg) for arg in sys.argv[1:3])
    read(sys.stdin.buffer, sys.stdout, memory_mb * 1024 * 1024, cpu_seconds)


if __name__ == "__main__":
    main()
