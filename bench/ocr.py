"""OCR engines on a generated 8-page 200-dpi scan: `python -m bench.ocr [--pages N] [--angle D]`.

The scan is a real contract printed to PDF, rendered at 200 dpi, skewed 0.8°, blurred and given
sensor noise (`bench/scans.py`). Each installed candidate reads it through the app's own
`ocr_pdf`, in a child process of its own so peak memory is that engine's alone and the engines'
OpenCV builds cannot clash (the scan is made by the parent and handed over on stdin, so making it
does not count); the child refuses every network connection, so an engine that would
fetch a model at run time fails here. Character error rate is the Levenshtein distance between the
OCR text and the printed text, whitespace collapsed, over the length of the printed text.
Targets: CER ≤ 3% and ≤ 60 s for 8 pages on the two-core reference machine.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from importlib.util import find_spec

from rapidfuzz.distance import Levenshtein

from bench.scans import NOISY, Degradation, Scan, scan, squash
from lib.analysis import ocr

PAGES = 8
CER_TARGET = 0.03
SECONDS_TARGET = 60.0


@dataclass(frozen=True)
class Figures:
    candidate: str
    dpi: int
    cer: float
    seconds: float
    per_page: float
    peak_mb: float


class PyTesseract:
    """The Tesseract command line through pytesseract: one process and one PNG per page."""

    name = "pytesseract"

    @contextmanager
    def open(self) -> Iterator[Callable]:
        import pytesseract

        yield lambda image: pytesseract.image_to_string(image, lang="eng")


class RapidOcr:
    """RapidOCR's PP-OCR models on ONNX Runtime, from either of its PyPI packages."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.name = module

    @contextmanager
    def open(self) -> Iterator[Callable]:
        import numpy as np

        engine = __import__(self.module, fromlist=["RapidOCR"]).RapidOCR()

        def read(image) -> str:
            found = engine(np.asarray(image.convert("RGB")))
            if self.module == "rapidocr_onnxruntime":
                return "\n".join(line[1] for line in (found[0] or []))
            return "\n".join(found.txts or [])

        yield read


# name → (engine, render dpi, extra environment, is it installed)
CANDIDATES: dict[str, tuple[Callable[[], ocr.Engine], int, dict[str, str], Callable[[], bool]]] = {
    "tesserocr@300": (ocr.Tesseract, 300, {}, ocr.ocr_available),
    "tesserocr@200": (ocr.Tesseract, 200, {}, ocr.ocr_available),
    "pytesseract@300": (
        PyTesseract,
        300,
        {},
        lambda: bool(find_spec("pytesseract") and shutil.which("tesseract")),
    ),
    "pytesseract@300 OMP_THREAD_LIMIT=1": (
        PyTesseract,
        300,
        {"OMP_THREAD_LIMIT": "1"},
        lambda: bool(find_spec("pytesseract") and shutil.which("tesseract")),
    ),
    "rapidocr-onnxruntime@200": (
        lambda: RapidOcr("rapidocr_onnxruntime"),
        200,
        {},
        lambda: find_spec("rapidocr_onnxruntime") is not None,
    ),
    "rapidocr@200": (
        lambda: RapidOcr("rapidocr"),
        200,
        {},
        lambda: find_spec("rapidocr") is not None,
    ),
}


def refuse_network() -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("the OCR benchmark allows no network access")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]


def cer(result: ocr.OcrResult, truth: list[str]) -> float:
    ends = [*result.page_starts[1:], len(result.text)]
    pages = [result.text[a:b] for a, b in zip(result.page_starts, ends, strict=True)]
    errors = sum(
        Levenshtein.distance(squash(p), squash(t)) for p, t in zip(pages, truth, strict=True)
    )
    return errors / sum(len(squash(t)) for t in truth)


def measure(name: str, document: Scan) -> Figures:
    factory, dpi, _, _ = CANDIDATES[name]
    refuse_network()
    result = ocr.ocr_pdf(document.pdf, engine=factory(), dpi=dpi)
    # The command-line engine reads in child processes; count the largest of them as well.
    peak_kb = max(
        resource.getrusage(who).ru_maxrss
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    peak_mb = peak_kb / 1024
    pages = len(result.pages_ocred)
    return Figures(
        name, dpi, cer(result, document.truth), result.seconds, result.seconds / pages, peak_mb
    )


def run_child(name: str, document: Scan) -> Figures | str:
    env = {**os.environ, **CANDIDATES[name][2]}
    handed = json.dumps({"pdf": base64.b64encode(document.pdf).decode(), "truth": document.truth})
    command = [sys.executable, "-m", "bench.ocr", "--one", name]
    done = subprocess.run(command, input=handed, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return "failed: " + (done.stderr.strip().splitlines() or ["no message"])[-1]
    return Figures(**json.loads(done.stdout.strip().splitlines()[-1]))


def run(pages: int = PAGES, how: Degradation = NOISY) -> dict[str, Figures | str]:
    """Figures per installed candidate, or why it could not be measured."""
    document = scan(pages, how)
    results: dict[str, Figures | str] = {}
    for name, (_, _, _, installed) in CANDIDATES.items():
        results[name] = run_child(name, document) if installed() else "not installed"
    return results


def render(results: dict[str, Figures | str], pages: int = PAGES) -> list[str]:
    """The OCR section of docs/BENCHMARKS.md; the app reads with the first candidate."""
    budget = SECONDS_TARGET * pages / PAGES
    lines = [
        f"## 8. OCR ({pages}-page generated scan at {NOISY.dpi} dpi: skewed, blurred, noisy)",
        "",
        "| candidate | render dpi | CER | total s | s/page | peak MB | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, figures in results.items():
        if isinstance(figures, str):
            lines.append(f"| {name} | — | — | — | — | — | {figures} |")
            continue
        meets = figures.cer <= CER_TARGET and figures.seconds <= budget
        lines.append(
            f"| {name} | {figures.dpi} | {figures.cer:.2%} | {figures.seconds:.1f} | "
            f"{figures.per_page:.2f} | {figures.peak_mb:.0f} | "
            f"{'meets targets' if meets else 'misses'} |"
        )
    lines += [
        "",
        f"Targets: CER ≤ {CER_TARGET:.0%} against the printed text, ≤ {SECONDS_TARGET:.0f} s for "
        f"{PAGES} pages.",
        "The app reads with tesserocr at 300 dpi, in a child process of its own;",
        "`python -m bench.ocr` prints the same table. Peak memory is the reading process's",
        "largest resident size; a candidate not installed here is listed as such.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=PAGES)
    parser.add_argument("--angle", type=float, default=NOISY.angle, help="skew in degrees")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    how = replace(NOISY, angle=args.angle)
    if args.one:
        handed = json.loads(sys.stdin.read())
        document = Scan(base64.b64decode(handed["pdf"]), handed["truth"])
        print(json.dumps(asdict(measure(args.one, document))))
        return
    print(
        f"{args.pages}-page scan at {how.dpi} dpi, skew {how.angle}°, blur {how.blur}, "
        f"noise σ={how.noise}; {os.cpu_count()} CPUs"
    )
    print(
        f"{'candidate':36} {'dpi':>4} {'CER':>7} {'total s':>8} {'s/page':>7} {'peak MB':>8}  verdict"
    )
    budget = SECONDS_TARGET * args.pages / PAGES
    for name, figures in run(args.pages, how).items():
        if isinstance(figures, str):
            print(f"{name:36} {figures}")
            continue
        meets = figures.cer <= CER_TARGET and figures.seconds <= budget
        print(
            f"{name:36} {figures.dpi:>4} {figures.cer:>7.2%} {figures.seconds:>8.1f} "
            f"{figures.per_page:>7.2f} {figures.peak_mb:>8.0f}  "
            f"{'meets targets' if meets else 'misses'}"
        )


if __name__ == "__main__":
    main()
