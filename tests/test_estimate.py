"""A run's plan and cost before it starts (`lib.runs.estimate`), the one estimate every front end
shows: a long contract against a small-context model is a focused review of N calls, Claude is
priced, a local model costs nothing, and the plan shown is the plan that runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from devtools.long_contract import long_contract
from lib.analysis.documents import document_from_text
from lib.analysis.long_plan import plan_words
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.runs.batch import BatchSettings, estimate_reviews
from lib.runs.estimate import PlanKind, estimate_batch, estimate_run
from lib.runs.launch import RunRequest, plan_for
from lib.runs.long_review import LongReview
from lib.runs.pricing import estimate_cost
from lib.store.owners import Scope
from lib.store.records import review_mode
from lib.store.run_log import RunLog
from tests.test_long_review import CONTEXT

SONNET = "claude-sonnet-4-5"
SAMPLE = Path(
    "lib/analysis/cuad_sample/contracts/19_BIOPURECORP_06_30_1999_EX_10_13_AGENCY_AGREEMENT.txt"
)
SHORT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 Liability is unlimited.\n"


@pytest.fixture(scope="module")
def long_text() -> str:
    return long_contract(300_000).text


def request(config: ProviderConfig, text: str, max_tokens: int = 4096) -> RunRequest:
    return RunRequest(
        page="review",
        config=config,
        document=document_from_text(text, "Franchise.txt"),
        template_key="general",
        instructions="",
        perspective="",
        max_tokens=max_tokens,
        temperature=0.2,
    )


# Windows said in the config: the estimate then asks no server (these tests have none).
def ollama(context: int) -> ProviderConfig:
    return ProviderConfig(Provider.OLLAMA, "llama3.2", "http://127.0.0.1:9", context_length=context)


def claude(context: int | None = None) -> ProviderConfig:
    return ProviderConfig(
        Provider.ANTHROPIC, SONNET, "https://api.anthropic.com", api_key="k", context_length=context
    )


def test_a_long_contract_on_a_small_model_is_a_focused_review_of_its_calls(long_text):
    asked = request(ollama(CONTEXT), long_text)
    estimate = estimate_run(asked, {}, None)
    plan = plan_for(asked)  # what the run gets when started
    assert plan is not None and estimate.plan == plan
    assert estimate.kind is PlanKind.SECTIONS and estimate.focused
    # Its steps, then the merge, in rounds first when the findings may not fit it at once.
    assert estimate.model_calls == plan.model_calls + 1 + estimate.merge_round_calls > 2
    assert estimate.input_tokens > plan.estimated_input_tokens  # the merge reads findings too
    assert estimate.output_tokens >= 4096
    assert estimate.cost_usd == 0.0
    assert estimate.sentence == (
        f"Ollama · llama3.2: {plan_words(plan.strategy, estimate.model_calls, at_most=True)}, "
        f"~{estimate.input_tokens:,} input tokens, up to {estimate.output_tokens:,} output "
        "tokens, local, no cost, time: no earlier runs of this model to go by"
    )


def cap_answers(body: dict) -> Script:
    """Every call writes all it may (4 characters a token, as the app counts them): the worst
    case an estimate of a long review counts on."""
    return Script(tokens=["abc "] * body["options"]["num_predict"])


def words(count: int):
    """Answers of about `count` words, whatever the call may write."""
    return lambda body: Script(tokens=["### Indemnity — YELLOW\n", *["clause "] * count])


@pytest.mark.parametrize(("context", "max_tokens"), [(4096, 4096), (2048, 512)])
def test_a_long_reviews_merge_rounds_are_counted_as_the_run_makes_them(
    fake_upstream: FakeUpstream, context: int, max_tokens: int, make_record
):
    """A merge in rounds made more calls than the estimate said (18 for "14 calls" at a 4k
    context, 27 at 2k) and sent more tokens: the worst case is now counted, "up to" the calls
    the merge may take, every call's answer length in the output tokens."""
    config = ProviderConfig(Provider.OLLAMA, "llama3.2", fake_upstream.url, context_length=context)
    asked = request(config, SAMPLE.read_text(encoding="utf-8"), max_tokens)
    estimate = estimate_run(asked, {}, None)
    assert estimate.plan is not None and estimate.merge_round_calls > 0
    assert estimate.model_calls == estimate.plan.model_calls + 1 + estimate.merge_round_calls
    assert f"focused review, up to {estimate.model_calls} calls, " in estimate.sentence

    fake_upstream.app.responder = cap_answers
    review = LongReview(config, estimate.plan, temperature=0)
    "".join(review)
    assert review.stats.status is RunStatus.DONE, review.stats.error_message
    streams = fake_upstream.streams()
    assert len(streams) == estimate.model_calls == review.stats.planned_calls
    assert sum(r.requested_output for r in streams) == estimate.output_tokens
    assert sum(r.prompt_estimate for r in streams) <= estimate.input_tokens
    # History says the calls it made, its merge's rounds included: it said the plan's steps.
    record = make_record(strategy="focus", parts=estimate.plan.model_calls)
    record.update_from(review.stats)
    assert review_mode(record) == f"focused review, {len(streams)} calls"

    # Shorter answers take no more calls than the worst case.
    fake_upstream.reset()
    fake_upstream.app.responder = words(100)
    review = LongReview(config, estimate.plan, temperature=0)
    "".join(review)
    assert review.stats.status is RunStatus.DONE, review.stats.error_message
    assert estimate.plan.model_calls + 1 < len(fake_upstream.streams()) <= estimate.model_calls


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI])
def test_a_long_review_whose_every_call_writes_its_whole_length_makes_the_estimates_calls(
    fake_upstream: FakeUpstream, provider: Provider
):
    """The server's own context (Ollama's /api/show, vLLM's model list) sizes the plan, and a
    model that would write on and on is stopped by the server at each call's answer length: the
    worst case the estimate counts, "up to N calls", is then the run's N calls exactly."""
    fake_upstream.app.context_limit = 2048
    fake_upstream.default = Script(tokens=["abc "] * 5000)  # longer than any call may write
    base = fake_upstream.url + ("/v1" if provider is Provider.OPENAI else "")
    config = ProviderConfig(provider, "llama3.2", base)
    asked = request(config, SAMPLE.read_text(encoding="utf-8"), max_tokens=512)
    estimate = estimate_run(asked, {}, None)
    assert estimate.plan is not None and estimate.merge_round_calls > 0
    assert f"focused review, up to {estimate.model_calls} calls, " in estimate.sentence

    review = LongReview(config, estimate.plan, temperature=0)
    "".join(review)
    assert review.stats.status is RunStatus.DONE, review.stats.error_message
    streams = fake_upstream.streams()
    assert len(streams) == estimate.model_calls
    assert [r.tokens_sent for r in streams] == [r.requested_output for r in streams]
    assert sum(r.requested_output for r in streams) == estimate.output_tokens
    assert not [r for r in streams if r.over_limit]


def test_claude_is_priced_for_the_tokens_it_is_sent_and_may_write(long_text):
    whole = estimate_run(request(claude(), SHORT), {}, None)
    assert whole.kind is PlanKind.ONE_PASS and whole.model_calls == 1 and whole.plan is None
    assert whole.cost_usd == estimate_cost(Provider.ANTHROPIC, SONNET, whole.input_tokens, 4096)
    assert whole.cost_usd and whole.cost_usd > 0 and whole.billed
    assert ": one pass, 1 call, " in whole.sentence and "up to $0.06" in whole.sentence
    # Over its window, Claude too reviews section by section: every call priced.
    focused = estimate_run(request(claude(context=20_000), long_text), {}, None)
    assert focused.focused and focused.model_calls > 2
    expected = estimate_cost(
        Provider.ANTHROPIC, SONNET, focused.input_tokens, focused.output_tokens
    )
    assert focused.cost_usd == expected and expected and expected > whole.cost_usd
    assert f"focused review, {focused.model_calls} calls" in focused.sentence
    assert not focused.merge_round_calls  # its findings fit the merge at once
    assert f"up to ${expected:.2f}" in focused.sentence
    # An operator's price counts.
    cheap = estimate_run(request(claude(), SHORT), {"claude-sonnet": (0.0, 1.0)}, None)
    assert cheap.cost_usd == pytest.approx(4096 / 1_000_000)


def test_a_local_model_that_holds_the_contract_reads_it_in_one_pass_at_no_cost():
    estimate = estimate_run(request(ollama(128_000), SHORT), {}, None)
    assert estimate.kind is PlanKind.ONE_PASS and estimate.cost_usd == 0.0
    assert estimate.sentence.endswith("one pass, 1 call, ~" + f"{estimate.input_tokens:,}"
                                      " input tokens, up to 4,096 output tokens, local, no cost, "
                                      "time: no earlier runs of this model to go by")  # fmt: skip


def test_a_context_too_small_for_any_plan_says_it_will_not_run(long_text):
    estimate = estimate_run(request(ollama(1024), long_text), {}, None)
    assert estimate.kind is PlanKind.TOO_LONG and estimate.model_calls == 0
    assert "does not fit the model's context, so it will not run" in estimate.sentence
    assert estimate.problem and "too small to merge findings" in estimate.problem


def test_a_batch_totals_its_runs_and_counts_its_focused_reviews(long_text):
    contracts = [
        document_from_text(long_text, "Franchise.txt"),
        document_from_text(SHORT, "Short.txt"),
    ]
    batch = estimate_reviews(contracts, [ollama(CONTEXT), claude()], BatchSettings(), {}, None)
    assert batch is not None and len(batch.runs) == 4
    # The long contract is focused on the 8k model only; Claude's window holds it.
    assert batch.focused == 1
    claude_runs = [r for r in batch.runs if r.billed]
    assert len(claude_runs) == 2 and all(r.cost_usd for r in claude_runs)
    assert batch.cost_usd == pytest.approx(sum(r.cost_usd or 0 for r in claude_runs))
    assert batch.sentence.startswith(
        f"4 runs (1 focused review), {batch.model_calls} model calls, ~{batch.input_tokens:,}"
    )
    assert batch.sentence.endswith(
        f"up to ${batch.cost_usd:.2f}, time: no earlier runs of its models to go by"
    )


def recorded(make_record, **fields):
    """A finished one-pass review of the test's Ollama model, at its endpoint."""
    defaults = {"model": "llama3.2", "endpoint": "http://127.0.0.1:9", "status": RunStatus.DONE}
    return make_record(**(defaults | fields))


def test_the_time_is_the_models_own_pace_in_the_run_log(log_target, make_record, long_text):
    log = RunLog(log_target).scoped(Scope(owner="ann", sees="ann"))
    log.append_many([
        recorded(make_record, owner="ann", ttft_s=2.0, tokens_per_s=10.0, output_tokens=400),
        # Its thinking is in its time to the first answer token, not in its answer.
        recorded(make_record, owner="ann", ttft_s=4.0, tokens_per_s=20.0, output_tokens=900,
                 thinking_tokens=300),
        # A focused review of 3 steps and a merge: 2,000 tokens are 500 a call.
        recorded(make_record, owner="ann", ttft_s=3.0, tokens_per_s=30.0, output_tokens=2000,
                 strategy="focus", parts=3),
        # None of these is gone by: stopped, another model, another server, a playbook check,
        # someone else's.
        recorded(make_record, owner="ann", ttft_s=99.0, tokens_per_s=1.0, output_tokens=10,
                 status=RunStatus.CANCELLED),
        recorded(make_record, owner="ann", ttft_s=99.0, tokens_per_s=1.0, output_tokens=10,
                 model="qwen3"),
        recorded(make_record, owner="ann", ttft_s=99.0, tokens_per_s=1.0, output_tokens=10,
                 endpoint="http://gpu2:11434"),
        recorded(make_record, owner="ann", ttft_s=99.0, tokens_per_s=1.0, output_tokens=10,
                 kind="playbook"),
        recorded(make_record, owner="bob", ttft_s=99.0, tokens_per_s=1.0, output_tokens=10),
    ])  # fmt: skip
    # Medians: 3 s to the first token, 20 tokens/s, answers of 500 tokens: 3 + 500 / 20 = 28 s.
    one_pass = estimate_run(request(ollama(128_000), SHORT), {}, log)
    assert one_pass.seconds == pytest.approx(28.0) and one_pass.seconds_from_runs == 3
    assert one_pass.sentence.endswith("local, no cost, about 28 s (from 3 earlier runs)")
    assert one_pass.as_dict()["seconds_estimate"] == 28.0
    assert one_pass.as_dict()["seconds_from_runs"] == 3
    # A focused review's calls run one after another: each its 3 s and its answer, at most
    # what the call may write.
    focused = estimate_run(request(ollama(CONTEXT), long_text), {}, log)
    assert focused.plan is not None
    lengths = [s.max_tokens for s in focused.plan.steps if s.local_text is None]
    lengths.append(focused.plan.budget.merge_output_tokens)
    lengths += [focused.plan.budget.step_output_tokens] * focused.merge_round_calls
    assert len(lengths) == focused.model_calls
    assert focused.seconds == pytest.approx(sum(3 + min(500, n) / 20 for n in lengths))
    # A batch reads each model's pace once and adds its runs up.
    batch = estimate_batch(
        [request(ollama(128_000), SHORT), request(ollama(128_000), SHORT)], {}, log
    )
    assert batch.sentence.endswith("about 56 s run one after another")


def test_with_no_earlier_runs_the_estimate_says_so(log_target):
    estimate = estimate_run(request(ollama(128_000), SHORT), {}, RunLog(log_target))
    assert estimate.seconds is None and estimate.seconds_from_runs == 0
    assert estimate.sentence.endswith(", time: no earlier runs of this model to go by")
    assert estimate.as_dict()["seconds_estimate"] is None


def test_the_clause_finder_is_instant():
    finder = ProviderConfig(Provider.CLAUSE_FINDER, "rules", "")
    estimate = estimate_run(request(finder, SHORT), {}, None)
    assert estimate.seconds == 0.0 and estimate.sentence.endswith("no cost, instant")


def openai_at(base_url: str) -> ProviderConfig:
    return ProviderConfig(Provider.OPENAI, "qwen3", base_url, context_length=128_000)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8000/v1", "http://10.0.0.5:8000/v1", "http://gpu1:8000/v1",
     "http://vllm.internal/v1"],
)  # fmt: skip
def test_a_server_on_this_machine_or_the_own_network_costs_nothing(base_url):
    estimate = estimate_run(request(openai_at(base_url), SHORT), {}, None)
    assert estimate.cost_usd == 0.0 and estimate.billed is False
    assert ", local, no cost, " in estimate.sentence


def test_a_remote_server_with_no_price_is_not_called_free():
    """An OpenAI-compatible server at a remote address was "local, no cost", billed false: it is
    where the contract goes (the sidebar's rule) that says whether it is local."""
    estimate = estimate_run(request(openai_at("https://api.openai.invalid/v1"), SHORT), {}, None)
    assert estimate.cost_usd is None and estimate.billed is None
    assert ", price not known (billed by that server's owner), " in estimate.sentence
    assert "no cost" not in estimate.sentence
    assert estimate.as_dict()["billed"] is None
    # A pool is local only when every endpoint is.
    pooled = openai_at("http://127.0.0.1:8000/v1,https://api.openai.invalid/v1")
    assert estimate_run(request(pooled, SHORT), {}, None).billed is None
    # An operator's price for the model counts wherever it is served.
    priced = estimate_run(
        request(openai_at("https://api.openai.invalid/v1"), SHORT), {"qwen3": (1.0, 2.0)}, None
    )
    assert priced.cost_usd and priced.billed is True and "up to $" in priced.sentence


def test_runs_too_long_for_their_model_count_in_no_total(long_text):
    """A batch's totals counted the prompts of runs that never start as input tokens."""
    contracts = [
        document_from_text(long_text, "Franchise.txt"),
        document_from_text(SHORT, "Short.txt"),
    ]
    batch = estimate_reviews(contracts, [ollama(1024), claude()], BatchSettings(), {}, None)
    assert batch is not None and batch.too_long == 2
    refused = [r for r in batch.runs if r.kind is PlanKind.TOO_LONG]
    sent = [r for r in batch.runs if r.kind is not PlanKind.TOO_LONG]
    assert batch.input_tokens == sum(r.input_tokens for r in sent) > 0
    assert batch.model_calls == sum(r.model_calls for r in sent)
    for run in refused:
        # Its prompt's size is kept, named as what it would have sent, not as tokens sent.
        assert run.input_tokens == 0 and run.prompt_tokens > 0
        assert run.as_dict()["input_tokens"] == 0
        assert run.as_dict()["prompt_tokens"] == run.prompt_tokens
        assert f"sends nothing (its prompt: ~{run.prompt_tokens:,} tokens). " in run.sentence
    assert batch.sentence.startswith(
        f"4 runs (2 too long for its model), 2 model calls, ~{batch.input_tokens:,} input tokens"
    )


def test_a_batch_with_runs_of_unknown_price_is_never_said_to_cost_nothing():
    """A Claude batch of a model with no known price read "no cost, 2 runs of unknown price"."""
    unknown = ProviderConfig(
        Provider.ANTHROPIC, "claude-unreleased", "https://api.anthropic.com", api_key="k"
    )
    contracts = [document_from_text(SHORT, "A.txt"), document_from_text(SHORT, "B.txt")]
    batch = estimate_reviews(contracts, [unknown], BatchSettings(), {}, None)
    assert batch is not None and batch.unpriced == 2
    assert ", 2 runs of unknown price, " in batch.sentence and "no cost" not in batch.sentence
    # Beside runs that cost nothing, those are named as the others.
    mixed = estimate_reviews(contracts, [unknown, ollama(128_000)], BatchSettings(), {}, None)
    assert mixed is not None
    assert ", 2 runs of unknown price, the others local, no cost, " in mixed.sentence
