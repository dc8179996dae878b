"""Prompt caching: three templates on one long contract, before and after the stable prefix.

`python -m bench.caching [--quick]`. The contract is the generated 300,000-character franchise
agreement (`devtools/long_contract.py`, ~75,000 tokens; 60,000 characters with `--quick`),
reviewed with three templates one after another, as an analyst trying templates or a playbook
would. The fake model server reads prompts at 1,000 tokens/s and keeps a prefix cache
(`Script.prefix_cache`): a repeated prefix is read from it at no cost in time, and for Claude
only up to the block marked `cache_control`, reported and priced as Claude does.

Before: each run's contract tag drawn at random (what the app did before the tag was derived from
the contract), so no two prompts share more than a few characters, and nothing marked for Claude's
cache. After: the prompts as the app builds them now. Claude runs are priced by the app's own
`run_cost` at Claude Sonnet 4.5's list prices; the local server (llama.cpp's
OpenAI-compatible API) costs nothing, so only its time counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import time
from dataclasses import dataclass

from devtools.fake_upstream import FakeUpstream, Script
from devtools.long_contract import long_contract
from lib.analysis.prompts import TEMPLATES, Prompt, build_prompt
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import stream_model
from lib.runs.pricing import run_cost

TEMPLATE_KEYS = ("general", "nda", "msa")
PREFILL_TOKENS_PER_S = 1000.0
TOKENS_PER_S = 200.0
ANSWER_TOKENS = 200
MAX_TOKENS = 1024
CLAUDE_MODEL = "claude-sonnet-4-5"
# Verdicts: what the stable prefix should buy on three templates.
TIME_TARGET = 0.5  # total time after ≤ half of before
COST_TARGET = 0.6  # Claude's cost after ≤ 0.6× before
READ_TARGET = 0.9  # each later template reads ≥ 90% of its prompt from the cache


@dataclass(frozen=True)
class Run:
    template: str
    seconds: float
    input_tokens: int
    cache_read: int
    cache_write: int
    cost: float


@dataclass(frozen=True)
class Series:
    server: str
    after: bool
    runs: tuple[Run, ...]

    @property
    def seconds(self) -> float:
        return sum(r.seconds for r in self.runs)

    @property
    def cost(self) -> float:
        return sum(r.cost for r in self.runs)

    @property
    def fresh_tokens(self) -> int:
        return sum(r.input_tokens - r.cache_read for r in self.runs)


def random_tag(prompt: Prompt) -> Prompt:
    """The prompt with a contract tag drawn at random, as every run had before."""
    fresh = f"contract-{secrets.token_hex(6)}"
    return dataclasses.replace(
        prompt,
        system=prompt.system.replace(prompt.tag, fresh),
        user=prompt.user.replace(prompt.tag, fresh),
        tag=fresh,
        prefix_chars=0,
    )


def series(upstream: FakeUpstream, config: ProviderConfig, text: str, after: bool) -> Series:
    upstream.reset()  # a cold cache for each series
    upstream.default = Script(
        tokens=[" word"] * ANSWER_TOKENS,
        delay=1 / TOKENS_PER_S,
        prefill_tokens_per_s=PREFILL_TOKENS_PER_S,
        prefix_cache=True,
    )
    runs = []
    for key in TEMPLATE_KEYS:
        prompt = build_prompt(TEMPLATES[key], text, "Franchise agreement.txt")
        if not after:
            prompt = random_tag(prompt)
        started = time.monotonic()
        stream = stream_model(
            config,
            prompt.system,
            prompt.user,
            max_tokens=MAX_TOKENS,
            stable_prefix=prompt.prefix_chars,
        )
        for _ in stream:
            pass
        seconds = time.monotonic() - started
        stats = stream.stats
        if stats.status is not RunStatus.DONE:
            raise RuntimeError(f"{config.provider} {key} ended {stats.status}")
        served = upstream.streams()[-1]
        cache_read = stats.cache_read if stats.cache_read is not None else served.cache_read
        cost = run_cost(config, stats)
        runs.append(
            Run(
                key,
                seconds,
                stats.input_token_count,
                cache_read,
                stats.cache_written or 0,
                cost or 0.0,
            )
        )
    server = "Claude" if config.provider is Provider.ANTHROPIC else "Local server (llama.cpp)"
    return Series(server, after, tuple(runs))


def run(quick: bool = False) -> list[Series]:
    text = long_contract(60_000 if quick else 300_000).text
    results = []
    with FakeUpstream() as upstream:
        configs = (
            ProviderConfig(
                Provider.ANTHROPIC, CLAUDE_MODEL, upstream.url, api_key="sk-bench", read_timeout=600
            ),
            ProviderConfig(Provider.OPENAI, "bench", f"{upstream.url}/v1", read_timeout=600),
        )
        for config in configs:
            # A first request outside the timing: the SDK's import and the client's first
            # connection are not what caching changes.
            upstream.push(Script(tokens=["ok"]))
            list(stream_model(config, "Warm up.", "1. Term.", max_tokens=8))
            for after in (False, True):
                results.append(series(upstream, config, text, after))
    return results


def table(results: list[Series], chars: int) -> str:
    names = ", ".join(TEMPLATE_KEYS)
    lines = [
        f"Contract: {chars:,} characters; templates {names}, one after another. Fake server: "
        f"{PREFILL_TOKENS_PER_S:,.0f} prompt tokens/s read, a prefix cache, {ANSWER_TOKENS} "
        f"answer tokens at {TOKENS_PER_S:.0f} tokens/s. Claude priced as {CLAUDE_MODEL}.",
        "",
        "| Server | Prompts | Seconds per template | Total time (s) | Prompt tokens read afresh "
        "| Read from the cache | Written to it | Cost (USD) |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in results:
        per = " · ".join(f"{r.seconds:.1f}" for r in s.runs)
        prompts = "random tag" + (", no mark" if s.server == "Claude" else "")
        if s.after:
            prompts = "contract prefix" + (", cache mark" if s.server == "Claude" else "")
        lines.append(
            f"| {s.server} | {prompts} | {per} | {s.seconds:.1f} | {s.fresh_tokens:,} | "
            f"{sum(r.cache_read for r in s.runs):,} | {sum(r.cache_write for r in s.runs):,} | "
            f"{s.cost:.4f} |"
        )
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def verdicts(results: list[Series]) -> list[str]:
    """One line per target, computed from this run's figures."""
    lines = []
    by = {(s.server, s.after): s for s in results}
    for server in dict.fromkeys(s.server for s in results):
        before, after = by[(server, False)], by[(server, True)]
        ratio = after.seconds / before.seconds
        lines.append(
            f"- {server}, total time after ≤ {TIME_TARGET}× before: {after.seconds:.1f} s vs "
            f"{before.seconds:.1f} s = {ratio:.2f}× — {_verdict(ratio <= TIME_TARGET)}"
        )
        shares = [r.cache_read / r.input_tokens for r in after.runs[1:] if r.input_tokens]
        lowest = min(shares, default=0.0)
        lines.append(
            f"- {server}, every later template reads ≥ {READ_TARGET:.0%} of its prompt from the "
            f"cache: lowest {lowest:.1%} — {_verdict(lowest >= READ_TARGET)}"
        )
        if before.cost > 0:
            cost_ratio = after.cost / before.cost
            lines.append(
                f"- {server}, cost after ≤ {COST_TARGET}× before: ${after.cost:.4f} vs "
                f"${before.cost:.4f} = {cost_ratio:.2f}× — {_verdict(cost_ratio <= COST_TARGET)}"
            )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 60,000-character contract")
    args = parser.parse_args(argv)
    results = run(args.quick)
    print(table(results, 60_000 if args.quick else 300_000))
    print()
    print("\n".join(verdicts(results)))


if __name__ == "__main__":
    main()
