"""Quote grounding: speed on a 300,000-character contract, and the scores that set the threshold.

`python -m bench.grounding`. The contract is real contracts concatenated; the report holds ~100
quotes: real spans (some re-wrapped, curly-quoted, elided), real spans with words changed, and
passages from contracts that are not in the index (realistic but invented wording).
"""

from __future__ import annotations

import random
import re
import time

from bench.stats import percentile
from bench.verdict import Verdict, lines
from lib.analysis.grounding import ContractIndex, GroundingTracker, check, check_report
from lib.analysis.grounding.matching import CLOSE_THRESHOLD, OCR_THRESHOLD
from lib.analysis.samples import all_samples

CONTRACT_CHARS = 300_000
REPORT_CHARS = 40_000
QUOTES = {"real": 50, "altered": 25, "invented": 25}
SEED = 7
REPORT_MS_TARGET = 50.0
QUOTE_MS_TARGET = 5.0
FILLER = (
    "This provision is broadly market standard for the customer, although the drafting leaves "
    "room for argument about how the notice period interacts with renewal. "
)


def corpus() -> tuple[str, list[str]]:
    """(indexed contract of CONTRACT_CHARS, texts of the contracts left out of it)."""
    texts = [sample.text for sample in all_samples()]
    indexed: list[str] = []
    while texts and sum(map(len, indexed)) < CONTRACT_CHARS:
        indexed.append(texts.pop(0))
    return "\n\n".join(indexed)[:CONTRACT_CHARS], texts


def span(text: str, rng: random.Random, low: int = 6, high: int = 40) -> str:
    words = text.split()
    n = rng.randint(low, high)
    start = rng.randrange(0, max(1, len(words) - n))
    return " ".join(words[start : start + n])


def alter(quote: str, rng: random.Random, changes: int, vocabulary: list[str]) -> str:
    words = quote.split()
    for i in rng.sample(range(len(words)), min(changes, len(words))):
        words[i] = rng.choice(vocabulary)
    return " ".join(words)


def disguise(quote: str, rng: random.Random) -> str:
    """How a model may reproduce a real span: curly quotes, dashes, or an elision."""
    style = rng.randrange(3)
    if style == 0:
        return quote.replace('"', "“")
    if style == 1:
        return quote.replace("-", "–")
    words = quote.split()
    if len(words) >= 12:
        return " ".join(words[:5]) + " … " + " ".join(words[-5:])
    return quote


def make_report(contract: str, others: list[str], rng: random.Random) -> tuple[str, list[str]]:
    vocabulary = sorted(set(re.findall(r"[a-z]{4,}", contract.lower())))
    quotes: list[tuple[str, str]] = []
    for _ in range(QUOTES["real"]):
        quotes.append(("real", disguise(span(contract, rng), rng)))
    for _ in range(QUOTES["altered"]):
        quotes.append(("altered", alter(span(contract, rng, 10, 40), rng, 3, vocabulary)))
    for _ in range(QUOTES["invented"]):
        quotes.append(("invented", span(rng.choice(others), rng)))
    rng.shuffle(quotes)
    per_quote = REPORT_CHARS // len(quotes)
    paragraphs = []
    for _, quote in quotes:
        clean = quote.replace('"', "'").replace("“", "'")
        prose = FILLER * max(1, (per_quote - len(clean)) // len(FILLER))
        paragraphs.append(f'- Found: yes — the clause reads "{clean}". {prose}')
    return "\n\n".join(paragraphs), [kind for kind, _ in quotes]


def timing(contract: str, others: list[str]) -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    index = ContractIndex.build(contract)
    build = time.perf_counter() - started
    report, kinds = make_report(contract, others, rng)
    checked = check_report(index, report)  # warm-up, and the verdicts
    totals = []
    for _ in range(5):
        tracker = GroundingTracker(index)
        started = time.perf_counter()
        tracker.finish(report)
        totals.append(time.perf_counter() - started)
    # Each quote's own time is its best of 5, so a garbage-collection pause is not charged to it.
    per_quote = []
    for item in checked:
        runs = []
        for _ in range(5):
            t0 = time.perf_counter()
            check(index, item.quote)
            runs.append(time.perf_counter() - t0)
        per_quote.append(min(runs))
    print(f"contract {len(contract):,} chars; report {len(report):,} chars, {len(checked)} quotes")
    print(f"index build: {build * 1000:.0f} ms")
    print(f"check whole report (extract + check), best of 5: {min(totals) * 1000:.1f} ms")
    print(f"slowest quote (its best of 5): {max(per_quote) * 1000:.2f} ms")
    outcome: dict[str, dict[str, int]] = {}
    for kind, item in zip(kinds, checked, strict=True):
        outcome.setdefault(kind, {}).setdefault(item.check.status, 0)
        outcome[kind][item.check.status] += 1
    for kind, counts in outcome.items():
        print(f"  {kind:9} {counts}")
    verdicts = [
        Verdict("check whole report", min(totals) * 1000, REPORT_MS_TARGET, " ms", "{:.1f}"),
        Verdict("slowest quote", max(per_quote) * 1000, QUOTE_MS_TARGET, " ms", "{:.2f}"),
    ]
    print()
    print("\n".join(lines(verdicts)).rstrip())


def scores(contract: str, others: list[str], samples: int = 1000) -> None:
    """Score distributions of quote kinds; the threshold must sit between them."""
    rng = random.Random(SEED + 1)
    index = ContractIndex.build(contract)
    vocabulary = sorted(set(re.findall(r"[a-z]{4,}", contract.lower())))
    kinds = {
        "real, 1 word changed": lambda: alter(span(contract, rng, 8, 40), rng, 1, vocabulary),
        "real, 2 words changed": lambda: alter(span(contract, rng, 8, 40), rng, 2, vocabulary),
        "real, 3 words changed": lambda: alter(span(contract, rng, 8, 40), rng, 3, vocabulary),
        "real, OCR-garbled 5%": lambda: garble(span(contract, rng, 8, 40), rng, 0.05),
        "real, OCR-garbled 10%": lambda: garble(span(contract, rng, 8, 40), rng, 0.10),
        "other contract's wording": lambda: span(rng.choice(others), rng, 8, 40),
        "other contract's, 4-7 words": lambda: span(rng.choice(others), rng, 4, 7),
        "random contract words": lambda: " ".join(rng.choices(vocabulary, k=rng.randint(8, 40))),
    }
    print(f"\nscores (rapidfuzz partial_ratio on normalised text), {samples} quotes of 8-40 words")
    print(
        f"{'kind':32} {'p1':>6} {'p5':>6} {'p50':>6} {'p95':>6} {'p99':>6}  "
        f">= {CLOSE_THRESHOLD:.0f} / >= {OCR_THRESHOLD:.0f}"
    )
    for name, make in kinds.items():
        values = [check(index, make()).score for _ in range(samples)]
        above = sum(v >= CLOSE_THRESHOLD for v in values) / samples
        above_ocr = sum(v >= OCR_THRESHOLD for v in values) / samples
        cells = " ".join(f"{percentile(values, q):6.1f}" for q in (1, 5, 50, 95, 99))
        print(f"{name:32} {cells}  {above:6.0%} / {above_ocr:4.0%}")


def garble(text: str, rng: random.Random, rate: float) -> str:
    """Replace `rate` of the characters as OCR does: look-alikes, or a dropped character."""
    confusions = {"l": "1", "o": "0", "e": "c", "i": "l", "m": "rn", "s": "5", "a": "o"}
    return "".join((confusions.get(ch, "") if rng.random() < rate else ch) for ch in text)


def main() -> None:
    contract, others = corpus()
    timing(contract, others)
    scores(contract, others)


if __name__ == "__main__":
    main()
