"""What a run will do and what it may cost, said before it starts, on every front end.

A team choosing between a local model and Claude decides on the plan ("one pass", "focused
review, 7 calls", "does not fit the model's context") and its price, so the Review page, Compare
(each side), Portfolio and `crs-batch` (the batch's total) and the API (`POST /api/estimate`) all
show `estimate_run`'s record. It is made from the very plan the run then gets — the one chosen on
the Review page, else `launch.plan_for` — and a front end starts the run with `estimate.plan`, so
what is shown is what runs.

Every figure is an estimate: input tokens as `lib.analysis.tokens` counts them, output tokens at
most what each call may write (the answer length asked for), so the cost is an upper bound on
what the provider bills for the output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from lib.analysis.long_plan import LongPlan, PlanError, Strategy, merge_system
from lib.analysis.plural import counted
from lib.analysis.tokens import estimate_tokens
from lib.engine.providers.registry import spec_for
from lib.runs.launch import RunRequest, plan_for
from lib.runs.pricing import estimate_cost
from lib.runs.run_plan import one_pass_problem
from lib.store.records import run_maker

Prices = Mapping[str, tuple[float, float]]


class PlanKind(StrEnum):
    ONE_PASS = "one_pass"
    SECTIONS = "sections"  # section by section, then a merge (`LongPlan`)
    TOO_LONG = "too_long"  # refused before any request: it fits the model in no way


_HOW = {
    Strategy.FOCUS: "focused review",
    Strategy.PARTS: "section-by-section review",
}


@dataclass(frozen=True)
class RunEstimate:
    """One run's plan, its model calls, tokens and cost, and the sentence that says them."""

    contract: str
    reviewer: str
    kind: PlanKind
    strategy: Strategy | None
    model_calls: int
    input_tokens: int
    # At most: every call's answer length, the merge's included.
    output_tokens: int
    # USD at most; 0.0 for a model with no per-token price; None for a billed model whose price
    # is not known.
    cost_usd: float | None
    billed: bool
    sentence: str
    problem: str | None = None
    # The plan the run is started with (None: one pass, or refused as too long).
    plan: LongPlan | None = field(default=None, repr=False, compare=False)

    @property
    def focused(self) -> bool:
        return self.kind is PlanKind.SECTIONS

    def as_dict(self) -> dict[str, Any]:
        """The estimate as the API returns it."""
        return {
            "contract": self.contract,
            "reviewer": self.reviewer,
            "plan": self.kind.value,
            "strategy": self.strategy.value if self.strategy else None,
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens_at_most": self.output_tokens,
            "cost_usd_at_most": self.cost_usd,
            "billed": self.billed,
            "problem": self.problem,
            "sentence": self.sentence,
        }


def estimate_run(request: RunRequest, prices: Prices) -> RunEstimate:
    """The plan `request` runs with, and what it sends, may write and may cost; `prices` are the
    operator's overrides (`Settings.prices`). May ask the model's server its context window
    (`run_plan.model_context`, cached), never for an answer."""
    config, contract = request.config, request.document.name
    reviewer = run_maker(config.provider.value, config.model)
    billed = spec_for(config.provider).prices is not None
    if not spec_for(config.provider).follows_prompts:  # the clause finder reads it itself
        sentence = f"{reviewer}: reads the contract itself, no model call, no cost"
        return RunEstimate(
            contract, reviewer, PlanKind.ONE_PASS, None, 0, 0, 0, 0.0, billed, sentence
        )
    plan, problem = request.plan, None
    prompt_tokens = request.prompt.estimated_tokens
    if request.kind != "review":
        problem = one_pass_problem(config, prompt_tokens, request.max_tokens)
    elif plan is None:
        try:
            plan = plan_for(request)
        except PlanError as exc:
            problem = str(exc)
    if problem is not None:
        sentence = f"{reviewer}: does not fit the model's context, so it will not run ({problem})"
        return RunEstimate(
            contract, reviewer, PlanKind.TOO_LONG, None, 0, prompt_tokens, 0, 0.0, billed,
            sentence, problem,
        )  # fmt: skip
    if plan is None:
        kind, calls = PlanKind.ONE_PASS, 1
        sent, written = prompt_tokens, request.max_tokens
        how = "one pass"
    else:
        kind, calls = PlanKind.SECTIONS, plan.model_calls + 1
        sent, written = _sections_tokens(plan)
        how = _HOW[plan.strategy]
    cost = estimate_cost(config.provider, config.model, sent, written, prices)
    if cost is None:
        price = "unknown price"
    elif cost == 0:
        price = "local, no cost" if not billed else "no cost"
    else:
        price = f"up to ${cost:.2f}" if cost >= 0.01 else f"up to ${cost:.4f}"
    sentence = (
        f"{reviewer}: {how}, {counted(calls, 'call')}, ~{sent:,} input tokens, "
        f"up to {written:,} output tokens, {price}"
    )
    strategy = plan.strategy if plan else None
    return RunEstimate(
        contract, reviewer, kind, strategy, calls, sent, written, cost, billed, sentence, plan=plan
    )


def _sections_tokens(plan: LongPlan) -> tuple[int, int]:
    """Input and (at most) output tokens of a planned review: its steps, then a merge reading
    every step's findings (at most their answer length each, and what the app wrote itself),
    within the merge's room. A merge in rounds, when the findings do not fit, adds calls."""
    budget = plan.budget
    calls = [step for step in plan.steps if step.local_text is None]
    findings = sum(step.max_tokens for step in calls) + sum(
        estimate_tokens(step.local_text) for step in plan.steps if step.local_text is not None
    )
    system = merge_system(
        plan.template, plan.document_name, plan.perspective, plan.instructions, final=True
    )
    merge_input = estimate_tokens(system) + min(
        findings, budget.input_room(system, budget.merge_output_tokens)
    )
    written = sum(step.max_tokens for step in calls) + budget.merge_output_tokens
    return plan.estimated_input_tokens + merge_input, written


@dataclass(frozen=True)
class BatchEstimate:
    """Every run of a batch estimated, and the batch's total."""

    runs: tuple[RunEstimate, ...]

    @property
    def focused(self) -> int:
        return sum(run.focused for run in self.runs)

    @property
    def too_long(self) -> int:
        return sum(run.kind is PlanKind.TOO_LONG for run in self.runs)

    @property
    def model_calls(self) -> int:
        return sum(run.model_calls for run in self.runs)

    @property
    def input_tokens(self) -> int:
        return sum(run.input_tokens for run in self.runs)

    @property
    def output_tokens(self) -> int:
        return sum(run.output_tokens for run in self.runs)

    @property
    def cost_usd(self) -> float:
        """What the runs of a known price may cost together."""
        return sum(run.cost_usd or 0.0 for run in self.runs)

    @property
    def unpriced(self) -> int:
        return sum(run.cost_usd is None for run in self.runs)

    @property
    def sentence(self) -> str:
        """The batch in one line: how many runs take a focused review (or cannot run), calls,
        tokens and the cost of them all."""
        kinds = [counted(self.focused, "focused review")] if self.focused else []
        if self.too_long:
            kinds.append(f"{self.too_long} too long for its model")
        runs = counted(len(self.runs), "run") + (f" ({', '.join(kinds)})" if kinds else "")
        if self.cost_usd > 0:
            price = f"up to ${self.cost_usd:.2f}"
        else:
            price = "no cost" if any(r.billed for r in self.runs) else "local, no cost"
        if self.unpriced:
            price += f", {counted(self.unpriced, 'run')} of unknown price"
        return (
            f"{runs}, {counted(self.model_calls, 'model call')}, ~{self.input_tokens:,} input "
            f"tokens, up to {self.output_tokens:,} output tokens, {price}"
        )


def estimate_batch(requests: Sequence[RunRequest], prices: Prices) -> BatchEstimate:
    """Each run of a batch estimated as it would run alone (`estimate_run`)."""
    return BatchEstimate(tuple(estimate_run(request, prices) for request in requests))
