"""Token to screen for a reasoning model: thinking, then the answer, against an answer alone.

A stream of 2,000 thinking tokens then 2,000 answer tokens at 200 tokens/s goes to the Review page
(Ollama's `message.thinking`, as a qwen3 or deepseek-r1 sends it); the thinking grows in the
collapsed "Thinking…" panel, the answer in the report. The same page then gets 2,000 answer tokens
alone at the same rate. Thinking tokens (`h00042`) and answer tokens (`t00042`) are timed apart by
the page's MutationObserver (`bench.browser`), each against the time the fake server sent it.
Target: the p95 of both within 10% of the answer-only stream's, measured in the same run.

`python -m bench.thinking [--quick]`
"""

from __future__ import annotations

import argparse

from playwright.sync_api import sync_playwright

from bench import verdict
from bench.browser import (
    ARGS,
    CATCH_UP_LIMIT_S,
    _open,
    _paste,
    _wait_seen,
    streamlit,
    summarise,
    tokens,
)
from bench.stats import cpu_seconds, percentile
from devtools.chromium import CHROMIUM
from devtools.fake_upstream import FakeUpstream, Script

RATE = 200.0
# Each stream's p95 within this much of the answer-only stream's, measured in the same run.
TARGET_RATIO = 1.10


def _added(page, prefix: str, sent_times: list[float], wall_offset: float) -> dict:
    seen = page.evaluate(f"() => window.__seen['{prefix}']")
    sent = [(t + wall_offset) * 1000 for t in sent_times]
    added = [s - t for s, t in zip(seen, sent, strict=False)]
    return {
        "p50_ms": percentile(added, 50) if added else None,
        "p95_ms": percentile(added, 95) if added else None,
        "tokens": len(sent),
        "complete": len(seen) >= len(sent),
    }


def one_run(page, upstream: FakeUpstream, n: int) -> dict[str, dict]:
    """Thinking then answer, and an answer alone, on one Streamlit server: three rows."""
    env = {"OLLAMA_HOST": upstream.url}
    rows: dict[str, dict] = {}
    with streamlit("app.py", env) as (url, pid):
        _open(page, url, ["h", "t"])
        _paste(page, "Contract text")
        button = page.locator(".st-key-review button").first
        upstream.push(Script(thinking=tokens("h", n), tokens=tokens("t", n), delay=1 / RATE))
        cpu_before = cpu_seconds(pid)
        button.click()
        _wait_seen(page, "t", n, timeout_s=2 * n / RATE + CATCH_UP_LIMIT_S)
        cpu = cpu_seconds(pid) - cpu_before
        record = upstream.streams()[-1]
        times = record.token_times
        rows["thinking"] = _added(page, "h", times[:n], record.wall_offset)
        rows["answer after thinking"] = _added(page, "t", times[n:], record.wall_offset)
        rows["answer after thinking"]["server_cpu_s"] = cpu

        _open(page, url, ["h", "t"])
        _paste(page, "Contract text")
        button = page.locator(".st-key-review button").first
        upstream.push(Script(tokens=tokens("t", n), delay=1 / RATE))
        cpu_before = cpu_seconds(pid)
        button.click()
        _wait_seen(page, "t", n, timeout_s=n / RATE + CATCH_UP_LIMIT_S)
        cpu = cpu_seconds(pid) - cpu_before
        record = upstream.streams()[-1]
        rows["answer only"] = _added(page, "t", record.token_times, record.wall_offset)
        rows["answer only"]["server_cpu_s"] = cpu
    return rows


def run(quick: bool = False) -> dict:
    n, repeats = (500, 1) if quick else (2000, 3)
    runs: dict[str, list[dict]] = {}
    with FakeUpstream() as upstream, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        for _ in range(repeats):
            for key, row in one_run(page, upstream, n).items():
                runs.setdefault(key, []).append(row)
            page.goto("about:blank")
        browser.close()
    results = {key: summarise(rows) for key, rows in runs.items()}
    results["tokens"] = n
    return results


def render(results: dict) -> list[str]:
    base = results["answer only"]["p95_ms"]
    lines = [
        f"{results['tokens']:,} thinking tokens then {results['tokens']:,} answer tokens at "
        f"{RATE:.0f} tokens/s (Ollama's `message.thinking`), against {results['tokens']:,} answer "
        "tokens alone on the same server. Target: the p95 of both within 10% of the answer-only "
        "stream's.",
        "",
        "| stream | runs | complete | p50 ms | p95 ms (range) | p95 ÷ answer only |",
        "|---|---|---|---|---|---|",
    ]
    verdicts = []
    for key in ("thinking", "answer after thinking", "answer only"):
        row = results[key]
        ratio = row["p95_ms"] / base if base and row["p95_ms"] else None
        lines.append(
            f"| {key} | {row['runs']} | {'yes' if row['complete'] else 'no'} "
            f"| {row['p50_ms']:.0f} | {row['p95_ms']:.0f} ({row['p95_min_ms']:.0f}–"
            f"{row['p95_max_ms']:.0f}) | {'—' if ratio is None else f'{ratio:.2f}'} |"
        )
        if key != "answer only":
            value = row["p95_ms"] if row["complete"] else None
            verdicts.append(
                verdict.ratio(f"{key}, p95", value, "the answer-only stream's", base,
                              TARGET_RATIO, unit=" ms")
            )  # fmt: skip
    return [*lines, "", *verdict.lines(verdicts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print("\n".join(render(run(quick=args.quick))))


if __name__ == "__main__":
    main()
