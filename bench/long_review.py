"""Long contracts: tokens sent and wall time per strategy, against one pass with unlimited context.

`python -m bench.long_review [--quick] [--prefill N]`. The contract is the generated 300,000-character
franchise agreement (`devtools/long_contract.py`, ~75,000 tokens). The fake model server generates
200 tokens/s and reads prompts at `--prefill` tokens/s (a local model's prompt evaluation; 0 leaves
it out). Answer lengths are fixed per kind of call, so the strategies differ only in what they send
and how many calls they make: a part's findings 300 tokens, a category's 200, a combining pass 400,
a report 1,500 (never more than the call allows).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

from devtools.fake_upstream import FakeUpstream, Script
from devtools.long_contract import long_contract
from lib.analysis.long_plan import Strategy, plan_long_review
from lib.analysis.prompts import TEMPLATES, build_prompt, default_instructions
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import stream_model
from lib.runs.long_review import LongReview

CONTEXT = 8192
MAX_TOKENS = 4096
TOKENS_PER_S = 200.0
DEFAULT_PREFILL = 1000.0
LENGTHS = {"part": 300, "category": 200, "combine": 400, "report": 1500}


@dataclass(frozen=True)
class Result:
    name: str
    calls: int
    tokens_sent: int
    output_tokens: int
    wall_s: float
    over_limit: int


def _kind(prompt: str) -> str:
    if "you do not see the contract" in prompt or "Answer in Markdown with exactly" in prompt:
        return "report"
    if "combine notes" in prompt:
        return "combine"
    return "category" if "You see only the passages" in prompt else "part"


def responder(prefill: float) -> Any:
    def choose(body: dict[str, Any]) -> Script:
        messages = body.get("messages") or [{}]
        prompt = " ".join(str(m.get("content", "")) for m in messages)
        n = min(LENGTHS[_kind(prompt)], int(body["max_tokens"]))
        return Script(tokens=[" word"] * n, delay=1 / TOKENS_PER_S, prefill_tokens_per_s=prefill)

    return choose


def _measure(name: str, upstream: FakeUpstream, run: Any) -> Result:
    upstream.reset()
    started = time.monotonic()
    status, output = run()
    wall = time.monotonic() - started
    if status is not RunStatus.DONE:
        raise RuntimeError(f"{name} ended {status}")
    streams = upstream.streams()
    return Result(
        name,
        len(streams),
        sum(r.prompt_estimate for r in streams),
        output,
        wall,
        sum(r.over_limit for r in streams),
    )


def run(quick: bool = False, prefill: float = DEFAULT_PREFILL) -> list[Result]:
    chars = 60_000 if quick else 300_000
    contract = long_contract(chars)
    template = TEMPLATES["general"]
    instructions = default_instructions(template)
    results = []
    with FakeUpstream() as upstream:
        config = ProviderConfig(Provider.OPENAI, "bench", f"{upstream.url}/v1", read_timeout=600)

        def single() -> tuple[RunStatus, int]:
            upstream.app.responder = responder(prefill)
            prompt = build_prompt(template, contract.text, "Franchise", instructions=instructions)
            stream = stream_model(config, prompt.system, prompt.user, max_tokens=MAX_TOKENS)
            for _ in stream:
                pass
            return stream.stats.status, stream.stats.output_token_count

        results.append(_measure("One pass, unlimited context", upstream, single))
        for strategy in Strategy:
            plan = plan_long_review(
                template,
                contract.text,
                "Franchise",
                context_length=CONTEXT,
                max_tokens=MAX_TOKENS,
                strategy=strategy,
                instructions=instructions,
                page_starts=contract.page_starts,
            )

            def long(plan: Any = plan) -> tuple[RunStatus, int]:
                upstream.app.responder = responder(prefill)
                upstream.app.context_limit = CONTEXT
                review = LongReview(config, plan, temperature=0.2)
                for _ in review:
                    pass
                return review.stats.status, review.stats.output_token_count

            label = f"{strategy.label} ({strategy.value}), {CONTEXT:,}-token context"
            results.append(_measure(label, upstream, long))
    return results


def table(results: list[Result], prefill: float, chars: int) -> str:
    lines = [
        f"Contract: {chars:,} characters. Fake server: {TOKENS_PER_S:.0f} tokens/s generation, "
        + (f"{prefill:,.0f} tokens/s prompt reading." if prefill else "no prompt reading time."),
        "",
        "| Run | Calls | Tokens sent | Output tokens | Wall time (s) | Over the context |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.calls} | {r.tokens_sent:,} | {r.output_tokens:,} | "
            f"{r.wall_s:.1f} | {r.over_limit} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 60,000-character contract")
    parser.add_argument(
        "--prefill", type=float, default=DEFAULT_PREFILL, help="prompt tokens/s; 0: none"
    )
    args = parser.parse_args()
    results = run(args.quick, args.prefill)
    print(table(results, args.prefill, 60_000 if args.quick else 300_000))


if __name__ == "__main__":
    main()
