"""Cost of the safety layers: `python -m bench.safe_render`.

- the Markdown sanitiser on a real report (per update of the live tail, and a whole report);
- reading an upload in a child process with limits, against reading it in the server process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bench.documents import make_docx, make_pdf
from bench.stats import median
from lib.analysis.documents import load_document
from lib.analysis.safe_markdown import safe_markdown
from lib.runs.document_sandbox import read_upload
from lib.ui.segments import HARD_LIMIT

REPORT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "reports" / "sample_review.md"


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times) * 1000


def main() -> None:
    report = REPORT.read_text()
    long_report = "\n\n".join([report] * 15)
    tail = long_report[:HARD_LIMIT]
    print(
        f"sanitise the live tail ({len(tail):,} chars): {_median_ms(lambda: safe_markdown(tail), 50):.2f} ms"
    )
    print(
        f"sanitise a whole report ({len(long_report):,} chars): "
        f"{_median_ms(lambda: safe_markdown(long_report), 10):.1f} ms"
    )
    for name, data in (("100-page PDF", make_pdf()), ("100-page DOCX", make_docx())):
        filename = "bench." + name.rsplit(" ", 1)[1].lower()
        inside = _median_ms(lambda d=data, f=filename: load_document(d, f), 5)
        child = _median_ms(lambda d=data, f=filename: read_upload(d, f), 5)
        print(f"read a {name}: {inside:.0f} ms in process, {child:.0f} ms in a limited child")


if __name__ == "__main__":
    main()
