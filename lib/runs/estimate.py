"""What a run will do and what it may cost, said before it starts, on every front end.

A team choosing between a local model and Claude decides on the plan ("one pass", "focused
review, 7 calls", "does not fit the model's context") and its price, so the Review page, Compare
(each side), Portfolio and `crs-batch` (the batch's total) and the API (`POST /api/estimate`) all
show `estimate_run`'s record. It is made from the very plan the run then gets — the one chosen on
the Review page, else `launch.planned`'s — and a front end starts the run with `estimate.plan`, so
what is shown is what runs.

Every figure is an estimate: input tokens as `lib.analysis.tokens` counts them, output tokens at
most what each call may write (the answer length asked for), so the cost is an upper bound on
what the provider bills for the output. A long review's merge takes rounds when its findings are
too long to merge at once, which depends on the answers: the estimate takes the worst case, every
call writing its whole answer length, and says "up to N calls" when that adds rounds. The time
is this model's own pace in the run log (`model_pace`: the medians of its last finished reviews)
applied to a typical answer, not to the ceiling: "about 40 s (from 12 earlier runs)", or that
there is nothing to go by.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from statistics import median
from typing import Any

from lib.analysis.long_plan import (
    LongPlan,
    Strategy,
    merge_user,
    plan_words,
    step_findings,
)
from lib.analysis.playbook.checker import CHECKER_NAME
from lib.analysis.plural import counted, duration
from lib.analysis.tokens import CHARS_PER_TOKEN, estimate_tokens
from lib.engine.provider_config import ProviderConfig, shown_url
from lib.engine.providers.registry import spec_for
from lib.runs.catalog import Reach, reach
from lib.runs.launch import RunRequest, planned
from lib.runs.pricing import estimate_cost
from lib.store.records import run_maker
from lib.store.run_log import RunLog

Prices = Mapping[str, tuple[float, float]]


class PlanKind(StrEnum):
    ONE_PASS = "one_pass"
    SECTIONS = "sections"  # section by section, then a merge (`LongPlan`)
    TOO_LONG = "too_long"  # refused before any request: it fits the model in no way


@dataclass(frozen=True)
class RunEstimate:
    """One run's plan, its model calls, tokens and cost, and the sentence that says them."""

    contract: str
    reviewer: str
    kind: PlanKind
    strategy: Strategy | None
    model_calls: int
    # Sent to the model in all its calls: 0 for a run that will not start (too long).
    input_tokens: int
    # At most: every call's answer length, the merge's included.
    output_tokens: int
    # USD at most; 0.0 for a model with no per-token price on this machine or the organisation's
    # network; None for a price not known (a billed model's, or a remote server's).
    cost_usd: float | None
    # Billed per token; None: not known (a server elsewhere, with no price of its own).
    billed: bool | None
    sentence: str
    problem: str | None = None
    # The plan the run is started with (None: one pass, or refused as too long).
    plan: LongPlan | None = field(default=None, repr=False, compare=False)
    # Likely seconds, from `seconds_from_runs` earlier runs of the model; None with none to go
    # by (or a run that will not start), 0 for the clause finder.
    seconds: float | None = None
    seconds_from_runs: int = 0
    # Of `model_calls`, those merging findings in rounds first: made only as far as the answers
    # are too long to merge at once, so `model_calls` is then at most (every call writing its
    # whole answer length).
    merge_round_calls: int = 0
    # The prompt as one request, whether or not it is sent so: what one pass sends, a focused
    # review splits, and a run too long for its model would have sent (0 for the clause finder).
    prompt_tokens: int = 0

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
            "merge_round_calls": self.merge_round_calls,
            "input_tokens": self.input_tokens,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens_at_most": self.output_tokens,
            "cost_usd_at_most": self.cost_usd,
            "billed": self.billed,
            "problem": self.problem,
            "seconds_estimate": None if self.seconds is None else round(self.seconds, 1),
            "seconds_from_runs": self.seconds_from_runs,
            "sentence": self.sentence,
        }


def will_not_start(estimates: Iterable[RunEstimate | None]) -> bool:
    """Whether runs that start together (one review, a comparison's two sides, a playbook check
    or two) will not start, as one of them fits its model in no way: every page offers no button
    for them (Review, Compare, Playbook), as clicked it only recorded refusals (`planned`, the
    check the runs get). `None`: a run not estimated yet (no model picked), which refuses
    nothing."""
    return any(e is not None and e.kind is PlanKind.TOO_LONG for e in estimates)


@dataclass(frozen=True)
class Pace:
    """How a model has answered lately: medians over its last finished reviews (`runs`)."""

    runs: int
    ttft_s: float
    tokens_per_s: float
    # A typical answer of one call, in tokens.
    answer_tokens: float

    def seconds(self, caps: Sequence[int]) -> float:
        """Calls made one after another, as a focused review makes them (`LongReview`), each
        waiting for its first token and writing a typical answer within its own length."""
        return sum(self.ttft_s + min(self.answer_tokens, cap) / self.tokens_per_s for cap in caps)


def model_pace(run_log: RunLog | None, config: ProviderConfig) -> Pace | None:
    """The model's pace at its endpoint, from the run log in one query; None without a log or
    without a finished review of it to go by."""
    if run_log is None:
        return None
    timings = run_log.timings(config.provider.value, config.model, shown_url(config.base_url))
    if not timings:
        return None
    return Pace(
        runs=len(timings),
        ttft_s=median(t.ttft_s for t in timings),
        tokens_per_s=median(t.tokens_per_s for t in timings),
        answer_tokens=median(t.answer_tokens / t.calls for t in timings),
    )


NO_PACE = "time: no earlier runs of this model to go by"


def _time_clause(seconds: float | None, pace: Pace | None) -> str:
    if seconds is None or pace is None:
        return NO_PACE
    return f"about {duration(seconds, rough=True)} (from {counted(pace.runs, 'earlier run')})"


def estimate_run(request: RunRequest, prices: Prices, run_log: RunLog | None) -> RunEstimate:
    """The plan `request` runs with, and what it sends, may write, may cost and may take;
    `prices` are the operator's overrides (`Settings.prices`), `run_log` (as its viewer sees it)
    holds the model's earlier runs. May ask the model's server its context window
    (`run_plan.model_context`, cached), never for an answer."""
    config = request.config
    reads_itself = not spec_for(config.provider).follows_prompts
    return _estimate(request, prices, None if reads_itself else model_pace(run_log, config))


UNKNOWN_OWNER_PRICE = "price not known (billed by that server's owner)"


def _billed(config: ProviderConfig) -> bool | None:
    """Whether a run is billed per token: a provider with list prices is; one with none costs
    nothing on this machine or the organisation's own network (`catalog.reach`, the rule the
    sidebar's "where the contract goes" follows), and elsewhere (a remote OpenAI-compatible
    server) may be billed by that server's owner at a price the app does not know: None."""
    if spec_for(config.provider).prices is not None:
        return True
    local = reach(config.provider, config.base_url) in (Reach.THIS_MACHINE, Reach.OWN_NETWORK)
    return False if local else None


def _reads_itself(contract: str, reviewer: str, billed: bool | None = False) -> RunEstimate:
    """The estimate of a run that calls no model (the clause finder, the built-in playbook
    checker): one pass on this machine, no call, no token, no cost, instant."""
    sentence = f"{reviewer}: reads the contract itself, no model call, no cost, instant"
    return RunEstimate(
        contract, reviewer, PlanKind.ONE_PASS, None, 0, 0, 0, 0.0, billed, sentence, seconds=0.0
    )  # fmt: skip


def builtin_check_estimate(contract: str) -> RunEstimate:
    """The built-in playbook checker's check of `contract`, estimated: it calls no model. Said
    by the Playbook page and answered by `POST /api/estimate` alike (which refused it with a
    400, though a client asks for every check's estimate before it runs it)."""
    return _reads_itself(contract, CHECKER_NAME)


def _estimate(request: RunRequest, prices: Prices, pace: Pace | None) -> RunEstimate:
    config, contract = request.config, request.document.name
    reviewer = run_maker(config.provider.value, config.model)
    billed = _billed(config)
    if not spec_for(config.provider).follows_prompts:  # the clause finder reads it itself
        return _reads_itself(contract, reviewer, billed)
    prompt_tokens = request.prompt.estimated_tokens
    runs_as, problem = planned(request)  # the run's own check, so what is shown is what runs
    plan = runs_as.plan
    if problem is not None:
        sentence = (
            f"{reviewer}: does not fit the model's context, so it will not run and sends "
            f"nothing (its prompt: ~{prompt_tokens:,} tokens). {problem}"
        )
        return RunEstimate(
            contract, reviewer, PlanKind.TOO_LONG, None, 0, 0, 0, 0.0, billed, sentence, problem,
            prompt_tokens=prompt_tokens,
        )  # fmt: skip
    if plan is None:
        kind, calls, round_calls = PlanKind.ONE_PASS, 1, 0
        sent, written = prompt_tokens, request.max_tokens
        how, caps = f"{plan_words(None)}, 1 call", [request.max_tokens]
    else:
        steps = _planned_calls(plan)
        kind, calls, caps = PlanKind.SECTIONS, len(steps.caps), steps.caps
        sent, written = sum(steps.inputs), sum(caps)
        round_calls = steps.round_calls
        how = plan_words(plan.strategy, calls, at_most=round_calls > 0)
    seconds = pace.seconds(caps) if pace is not None else None
    cost = estimate_cost(config.provider, config.model, sent, written, prices)
    if cost is not None and cost > 0:
        billed = True  # an operator's price for a model of a provider with none of its own
        price = f"up to ${cost:.2f}" if cost >= 0.01 else f"up to ${cost:.4f}"
    elif billed is None:
        cost, price = None, UNKNOWN_OWNER_PRICE
    elif cost is None:
        price = "unknown price"
    else:
        price = "local, no cost" if not billed else "no cost"
    sentence = (
        f"{reviewer}: {how}, ~{sent:,} input tokens, "
        f"up to {written:,} output tokens, {price}, {_time_clause(seconds, pace)}"
    )
    strategy = plan.strategy if plan else None
    return RunEstimate(
        contract, reviewer, kind, strategy, calls, sent, written, cost, billed, sentence,
        plan=plan, seconds=seconds, seconds_from_runs=pace.runs if pace else 0,
        merge_round_calls=round_calls, prompt_tokens=prompt_tokens,
    )  # fmt: skip


@dataclass(frozen=True)
class _Calls:
    """A planned review's model calls in the worst case: what each is sent and may write."""

    inputs: list[int]
    caps: list[int]
    # Calls of merge rounds, made only when the findings are too long to merge at once.
    round_calls: int


def _planned_calls(plan: LongPlan) -> _Calls:
    """Every call of a planned review: its steps, then its merge as the run makes it
    (`LongPlan.merge`), in the worst case where every call writes its whole answer length, so
    the findings are as long as they can be and the merge takes the most rounds."""
    calls = [step for step in plan.steps if step.local_text is None]
    inputs = [step.estimated_input_tokens for step in calls]
    caps = [step.max_tokens for step in calls]
    merge = plan.merge
    findings = [
        step_findings(step.label, _answer(step.max_tokens) if step.local_text is None
                      else step.local_text)
        for step in plan.steps
    ]  # fmt: skip
    rounds = 0
    while (batches := merge.next_round(findings)) is not None:
        combined = []
        for batch in batches:
            if len(batch) == 1:
                combined.append(batch[0])
                continue
            inputs.append(estimate_tokens(merge.round_system) + estimate_tokens(merge_user(batch)))
            caps.append(merge.round_output_tokens)
            combined.append(_answer(merge.round_output_tokens))
            rounds += 1
        findings = combined
    final = merge_user(merge.final_findings(findings))
    inputs.append(estimate_tokens(merge.final_system) + estimate_tokens(final))
    caps.append(merge.final_output_tokens)
    return _Calls(inputs, caps, rounds)


def _answer(tokens: int) -> str:
    """A stand-in for an answer `tokens` long, as `estimate_tokens` counts it."""
    return "x" * int(tokens * CHARS_PER_TOKEN)


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
        tokens and the cost of them all. A run too long for its model sends nothing, so counts
        in none of them; a run of unknown price is never summed up as costing nothing."""
        kinds = [counted(self.focused, "focused review")] if self.focused else []
        if self.too_long:
            kinds.append(f"{self.too_long} too long for its model")
        runs = counted(len(self.runs), "run") + (f" ({', '.join(kinds)})" if kinds else "")
        if self.cost_usd > 0:
            price = f"up to ${self.cost_usd:.2f}"
        else:
            priced = [
                run
                for run in self.runs
                if run.cost_usd is not None and run.kind is not PlanKind.TOO_LONG
            ]
            price = "no cost" if any(run.billed for run in priced) else "local, no cost"
        if self.unpriced:
            known = len(self.runs) - self.too_long - self.unpriced
            unknown = f"{counted(self.unpriced, 'run')} of unknown price"
            price = f"{unknown}, the others {price}" if known else unknown
        return (
            f"{runs}, {counted(self.model_calls, 'model call')}, ~{self.input_tokens:,} input "
            f"tokens, up to {self.output_tokens:,} output tokens, {price}, {self.time}"
        )

    @property
    def time(self) -> str:
        """The runs' likely time one after another (a batch runs several at once where its
        models allow, so it takes less), and the runs whose model has nothing to go by."""
        runnable = [run for run in self.runs if run.kind is not PlanKind.TOO_LONG]
        unknown = sum(run.seconds is None for run in runnable)
        seconds = sum(run.seconds or 0.0 for run in runnable)
        if unknown == len(runnable):
            return "time: no earlier runs of its models to go by"
        if not unknown and not seconds:  # the clause finder's alone
            return "instant"
        said = f"about {duration(seconds, rough=True)} run one after another"
        if unknown:
            said += f" ({counted(unknown, 'run')} with no earlier runs of its model to go by)"
        return said


def estimate_batch(
    requests: Sequence[RunRequest], prices: Prices, run_log: RunLog | None
) -> BatchEstimate:
    """Each run of a batch estimated as it would run alone (`estimate_run`), each model's pace
    read once for all its runs."""
    paces: dict[tuple[str, str, str], Pace | None] = {}
    runs = []
    for request in requests:
        config = request.config
        key = (config.provider.value, config.model, config.base_url)
        if key not in paces and spec_for(config.provider).follows_prompts:
            paces[key] = model_pace(run_log, config)
        runs.append(_estimate(request, prices, paces.get(key)))
    return BatchEstimate(tuple(runs))
