"""docs/BENCHMARKS.md from the benchmark results."""

from __future__ import annotations

import re


def _f(value: float | None, pattern: str = "{:.1f}") -> str:
    return "—" if value is None else pattern.format(value)


PROFILE_NOTES = """## What the profiles showed, and what changed

- **Reasoning models.** The thinking grows in a collapsed panel through the same segmented,
  sanitised Markdown as the report, and `watch` steps when a run's thinking grows as it does for
  text. Two things showed in the first measurements: the panel's "thinking for N s" line redrawn
  on every step (it now redraws only when the whole second changes), and the last thoughts before
  the answer reaching the screen only inside the folded panel, which the page redrew whole at the
  same step (the panel now folds one step after the last thought is drawn, so every thought is
  seen growing). The first thought takes about 110 ms (the panel is created), one token in 2,000.
  The figures and their verdicts are in the reasoning-models section, from the run that wrote it.
- **Claude parsing.** cProfile of `stream_model` on the Anthropic stream: about half the time in the
  SDK's per-event model construction (`construct_type` → pydantic `validate_python`), a quarter in
  its SSE decoder; `MessageStream` also rebuilt a message snapshot per event. The SDK now sends the
  request (auth, typed errors) and the events are decoded with httpx-sse and `json`: 2.42 s → 0.30 s
  for 20,000 events, 5–8× faster than the SDK's `text_stream`. A second profile then showed 19 ms
  of every run in `load_verify_locations`: the SDK built its own TLS context (loading the CA bundle)
  for each client. The client now gets an SDK-default transport on the app's shared TLS context,
  which took the Claude stream from 1.41× to about 1.25× the floor. What is left is httpx-sse's
  line-by-line decoding (three lines per Anthropic event); 100,000 events/s is far above what any
  model sends, so the library stays.
- **Long reports.** `RunStats.text += delta` copied the whole report for every token (quadratic);
  the text is now kept as pieces and joined on demand. Events became NamedTuples (the frozen
  dataclasses' `__init__` showed in the profile). Ollama went from 1.63× to 1.1–1.4× the floor.
- **Token to screen.** The page is fed batches (everything since the last render, at most every
  30 ms for a single stream) by a worker thread, and a long report streams in segments of about
  2,000 characters cut at Markdown block boundaries, each frozen in its own element once finished,
  so an update re-renders a bounded amount of Markdown. Segmenting took the unthrottled lag from
  about 600 ms to about 400 ms. Review and Compare now share one live view (`lib/ui/live_view.py`)
  that draws each step into Markdown placeholders, sanitised and with each completed paragraph's
  quotes checked and marked: at 200 tokens/s the p95 stayed at 35 ms (table 2), for about 15% more
  server CPU than before (1.19 → 1.36 s).
- **Many users.** py-spy on the Streamlit server during ten sessions: after every script run
  Streamlit's source watcher re-scanned all loaded modules and its inotify/polling watchers were
  busy (about 15% of samples together), and each run built a fresh TLS context for its HTTP client
  (about 6%). The served app now watches no files (`fileWatcherType = "none"`) and shares one TLS
  context: p95 went from 1.1–2.7 s to about 0.4–0.7 s. Per-process CPU accounting (`/proc`) then
  showed the server at about 0.25 of a core and the ten Chromium renderers at about 1.5 cores: the
  machine was saturated by rendering. A Chrome DevTools CPU profile of one page at 50 tokens/s put
  each re-render at about 10 ms of renderer time (Streamlit's Markdown component, emotion styles,
  React commit, layout) whatever the size of the update, so cost follows renders per second, not
  tokens. Two changes: live figures refresh once a second instead of four times, and the process
  shares a budget of 70 renders a second across all streams in flight (`lib/runs/live.py`), so ten
  streams render every 143 ms each. p95 went from 0.33–0.46 s to about 0.19–0.21 s.
- **Compare.** Last time each side's p95 was 0–30% above our own single stream, against a 20%
  target, with side b always a few ms behind side a. Timestamps at every stage of a Compare token
  (upstream send, worker receive, the page's draw, Streamlit's send queue, the page's WebSocket
  message event, the MutationObserver) split its latency. Reading and waiting for the next 30 ms
  step were the same as for one stream (p50 15 ms, p95 29 ms). The rest is the browser:
  Streamlit's front end re-renders on every delta, and only about a third of the steps had both
  sides' updates applied in one React commit; otherwise the side drawn second waited for the
  first one's render (+3 ms at p50), and now and then its delta went out on the server's next
  send cycle, 5 ms later. A DevTools profile put Streamlit's Markdown component first in the
  renderer's script time: each update re-parses the whole live segment, which for text without
  blank lines could reach 8,000 characters. Two changes: the side drawn first now alternates
  every step (`lib/runs/live.watch`), so both sides share the wait (b was 40 ms against a's 36 ms;
  now both about 38 ms); and text without blank lines is cut into live segments of at most 4,000
  characters, twice the usual cut. Still seen: stretches of a few seconds, in about one run in
  five, where the time from the server's send to the page's WebSocket message event rises from
  about 5 ms to about 14 ms (p95) with the same renderer CPU and run-queue waits. Tried and
  dropped before: draining the sides half an interval apart (36 to 60 ms) and a 24 ms Compare
  interval (30 to 70 ms): more renders a second, more of those stretches.
- **Render interval.** With the budget in place the floor interval for one or two streams went
  from 50 ms to 30 ms: at 200 tokens/s the p95 went from about 56 ms (level with the baseline's on a
  quiet machine) to about 36 ms, for about 5% more server CPU (1.33 → 1.4 s), still about a quarter
  of the baseline's.
"""


def _lag(row: dict) -> str:
    lag = f"{row['lag_after_upstream_ms']:.0f}"
    return lag if row.get("complete", True) else f"> {lag} (not caught up; gave up waiting)"


def _p95(row: dict) -> str:
    if row["runs"] == 1:
        return f"{row['p95_ms']:.0f}"
    return f"{row['p95_ms']:.0f} ({row['p95_min_ms']:.0f}–{row['p95_max_ms']:.0f})"


def render(results: dict, machine: str, when: str, command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {when} on {machine}, with `{command}`. Figures are medians over repeated runs",
        "(browser latencies: of each run's percentiles over every token, with the range of the p95s);",
        "ratios compare programs measured side by side in the same run, because the machine is noisy.",
        "",
    ]
    if "parsers" in results:
        lines += [
            "## 1. Parser throughput (20,000 chunks over loopback)",
            "",
            "| wire format | client | median s | chunks/s | × floor | stream_model ÷ this |",
            "|---|---|---|---|---|---|",
        ]
        for row in results["parsers"]:
            lines.append(
                f"| {row['format']} | {row['client']} | {row['median_s']:.3f} | {row['chunks_per_s']:,.0f} "
                f"| {row['vs_floor']:.2f} | {row['stream_model_vs_this']:.2f} |"
            )
        lines += ["", "Targets: `stream_model` within 1.5× of the floor and not slower than the SDKs "
                  "(stream_model ÷ SDK ≤ 1).", ""]  # fmt: skip
    if "browser" in results:
        browser = results["browser"]
        lines += [
            "## 2. Token to screen (Chromium, MutationObserver)",
            "",
            "| stream | app | runs | tokens | added latency p50 ms | p95 ms (range) | on screen after upstream end ms | server CPU s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for key, row in browser.items():
            if not isinstance(key, tuple):
                continue
            label, app = key
            name = (
                "Contract Review Studio"
                if app == "app.py"
                else "baseline (`st.write_stream` + openai SDK)"
            )
            lines.append(
                f"| {label} | {name} | {row['runs']} | {row['tokens']:,} | {row['p50_ms']:.0f} | {_p95(row)} "
                f"| {_lag(row)} | {row['server_cpu_s']:.2f} |"
            )
        lines += [
            "",
            "Targets: at 200 tokens/s, p95 no worse than the baseline's and server CPU at most a third "
            "of it; unthrottled, the whole report on screen ≤ 500 ms after the upstream finishes and "
            "p95 ≤ 1 s.",
            "",
            "## 3. Two at once (Compare page, both sides 200 tokens/s)",
            "",
            "| side | runs | tokens | p50 ms | p95 ms (range) | after upstream end ms | server CPU s (both) |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in browser["compare"]:
            lines.append(
                f"| {row['side']} | {row['runs']} | {row['tokens']:,} | {row['p50_ms']:.0f} | {_p95(row)} "
                f"| {row['lag_after_upstream_ms']:.0f} | {row['server_cpu_s']:.2f} |"
            )
        many = browser["many"]
        lines += [
            "",
            "Target: each side within 20% of a single stream's figures (table 2, 200 tokens/s).",
            "",
            "## 5. Many users (browser sessions streaming at once, 50 tokens/s each)",
            "",
            "| sessions | runs | completed (worst run) | p50 ms | p95 ms (range) | server CPU s | server peak RSS MB |",
            "|---|---|---|---|---|---|---|",
            f"| {many['users']} | {many['runs']} | {many['completed']} | {many['p50_ms']:.0f} | {_p95(many)} "
            f"| {many['server_cpu_s']:.1f} | {many['server_peak_mb']:.0f} |",
            "",
            "Target: all complete, p95 ≤ 300 ms.",
            "",
        ]
    if "documents" in results:
        lines += [
            "## 4. Documents",
            "",
            "| document | ours s | pdftotext s | ratio |",
            "|---|---|---|---|",
        ]
        for row in results["documents"]:
            lines.append(
                f"| {row['document']} | {row['ours_s']:.3f} | {_f(row['pdftotext_s'], '{:.3f}')} "
                f"| {_f(row['ratio'], '{:.2f}')} |"
            )
        lines += ["", "Target: ≤ 2× `pdftotext`.", ""]
    if "builtin" in results:
        b = results["builtin"]
        lines += [
            "## 6. Built-in model",
            "",
            "| through stream_model tokens/s | same server read directly tokens/s | overhead |",
            "|---|---|---|",
            f"| {b['stream_model_tokens_per_s']:.1f} | {b['direct_tokens_per_s']:.1f} | {b['overhead']:.1%} |",
            "",
            "Target: overhead ≤ 5%. Speeds are medians over six runs each; the overhead is the median",
            "of each back-to-back pair's ratio (the two clients alternate going first), because the",
            "machine's speed drifts between runs.",
            "",
        ]
    if "api" in results:
        from bench.api import render as render_api

        lines += render_api(results["api"])
    if "batch" in results:
        from bench.batch import render as render_batch

        lines += [*render_batch(results["batch"]).splitlines(), ""]
    if "ocr" in results:
        from bench.ocr import render as render_ocr

        lines += render_ocr(results["ocr"])
    if "team" in results:
        from bench.team import render as render_team

        lines += [*render_team(results["team"]).splitlines(), ""]
    if "long_review" in results:
        from bench.long_review import table

        long = results["long_review"]
        lines += [
            "## 7. Long contracts (section by section, 8,192-token context)",
            "",
            table(long["results"], long["prefill"], long["chars"]),
            "",
            "No request may exceed the context (last column). The default strategy is the one",
            "that sends the fewest tokens in the least time on the long contract.",
            "",
        ]
    for title, body in results.get("printed", []):
        lines += [f"## {title}", "", body.rstrip(), ""]
    if "thinking" in results:
        from bench.thinking import render as render_thinking

        lines += [
            "## Reasoning models: thinking, then the answer (Chromium, `python -m bench.thinking`)",
            "",
            *render_thinking(results["thinking"]),
            "",
        ]
    return "\n".join(number_sections(lines) + PROFILE_NOTES.splitlines()) + "\n"


def number_sections(lines: list[str]) -> list[str]:
    """Sections numbered in the order they appear, whichever benchmarks ran."""
    out, n = [], 0
    for line in lines:
        if line.startswith("## "):
            n += 1
            line = f"## {n}. " + re.sub(r"^\d+\.\s+", "", line[3:])
        out.append(line)
    return out
