"""Long reviews end to end against the fake model server holding requests to an 8k context."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import FakeUpstream, Script
from devtools.long_contract import long_contract
from lib.analysis.documents import document_from_text
from lib.analysis.long_plan import LongPlan, Strategy, plan_long_review
from lib.analysis.prompts import TEMPLATES, count_findings, default_instructions
from lib.engine.errors import ErrorKind, OutputLimit, TimedOut
from lib.engine.events import StreamContext
from lib.engine.limits import RunLimits
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStats, RunStatus
from lib.engine.settings import Settings
from lib.engine.stream_model import stream_model
from lib.runs.launch import RunRequest, launch
from lib.runs.long_review import LongReview, LongRunStats
from lib.runs.run_plan import context_fit, model_context
from lib.store.records import STATE_KEY, RunRecord, SessionHistory, records_to_dataframe
from lib.store.run_log import RunLog

GENERAL = TEMPLATES["general"]
CONTEXT = 8192
MERGED = ["# Contract review: Franchise\n", "## Overall risk: HIGH\n", "### Indemnity — RED\n"]


@pytest.fixture(scope="module")
def contract():
    return long_contract(300_000)


def answer(body: dict) -> Script:
    """Findings for a step, a report for the final merge, told apart by their system prompts."""
    messages = body.get("messages") or []
    system = messages[0]["content"] if messages else ""
    if "you do not see the contract" in system:
        return Script(tokens=MERGED)
    if "combine notes" in system:
        return Script(tokens=["### Indemnity — RED\n", "- combined\n"])
    return Script(tokens=["### Indemnity — YELLOW\n", "- clause 3.2: ", '"indemnify"\n'])


def reported_prompt(body: dict) -> int:
    """What the fake reports as prompt tokens when nothing was cut (server.py `frames`)."""
    return max(1, len(json.dumps(body["messages"])) // 4)


def config_for(provider: Provider, upstream: FakeUpstream) -> ProviderConfig:
    base = f"{upstream.url}/v1" if provider is Provider.OPENAI else upstream.url
    return ProviderConfig(provider, "llama3.2", base, read_timeout=10)


def plan_for(contract, strategy: Strategy, context: int = CONTEXT):
    return plan_long_review(
        GENERAL,
        contract.text,
        "Franchise",
        context_length=context,
        max_tokens=4096,
        strategy=strategy,
        instructions=default_instructions(GENERAL),
        page_starts=contract.page_starts,
    )


def run_to_end(review: LongReview) -> str:
    return "".join(review)


@pytest.mark.parametrize(
    ("provider", "mode"), [(Provider.OLLAMA, "truncate"), (Provider.OPENAI, "reject")]
)
@pytest.mark.parametrize("strategy", list(Strategy))
def test_a_300k_contract_is_reviewed_with_an_8k_model_and_no_request_exceeds_it(
    fake_upstream, contract, provider, mode, strategy
):
    fake_upstream.app.context_limit, fake_upstream.app.context_mode = CONTEXT, mode
    fake_upstream.app.responder = answer
    plan = plan_for(contract, strategy)
    review = LongReview(config_for(provider, fake_upstream), plan, temperature=0.2)
    text = run_to_end(review)

    stats = review.stats
    assert stats.status is RunStatus.DONE, stats.error_message
    streams = fake_upstream.streams()
    assert len(streams) >= plan.model_calls + 1
    assert all(r.context_limit is not None and r.context_limit <= CONTEXT for r in streams)
    assert not [r.prompt_estimate + r.requested_output for r in streams if r.over_limit]
    assert not any("truncated" in note for note in stats.notes)
    # Each step's findings are in the text under its heading, the merged report comes last.
    for step in plan.steps:
        assert f"## {step.label}\n" in text
    assert text.rstrip().endswith("### Indemnity — RED") and review.merged == "".join(MERGED)
    assert count_findings(text).categories["Indemnity"] == "RED"
    # The totals add up every call, as each server reported them.
    assert stats.calls_done == len(streams)
    assert stats.input_token_count == sum(reported_prompt(r.body) for r in streams)
    assert stats.output_token_count == sum(len(r.token_times) for r in streams)
    assert stats.tokens_reported


def test_the_fake_catches_a_prompt_over_the_context(fake_upstream, contract):
    """The check above can fail: one ordinary pass of the same contract is rejected."""
    fake_upstream.app.context_limit = CONTEXT
    cfg = config_for(Provider.OPENAI, fake_upstream)
    plan = plan_for(contract, Strategy.PARTS, context=200_000)  # planned for a bigger model
    review = LongReview(cfg, plan, temperature=0.2)
    with pytest.raises(Exception, match="context"):
        run_to_end(review)
    assert review.stats.status is RunStatus.ERROR
    assert fake_upstream.streams()[-1].over_limit


def test_ollama_truncation_is_what_the_fake_does_without_a_plan(fake_upstream, contract):
    fake_upstream.app.context_limit, fake_upstream.app.context_mode = CONTEXT, "truncate"
    cfg = config_for(Provider.OLLAMA, fake_upstream)
    plan = plan_for(contract, Strategy.PARTS, context=200_000)
    review = LongReview(cfg, plan, temperature=0.2)
    run_to_end(review)
    assert fake_upstream.streams()[0].over_limit
    assert any("truncated" in note for note in review.stats.notes)


def test_stop_half_way_keeps_the_finished_parts_and_records_them(fake_upstream, contract, tmp_path):
    fake_upstream.app.context_limit = CONTEXT
    fake_upstream.default = Script(
        tokens=["### Indemnity — YELLOW\n"] + [f" note{i}" for i in range(20)], delay=0.01
    )
    history = SessionHistory([])
    log = RunLog(tmp_path / "runs.sqlite3")
    plan = plan_for(contract, Strategy.PARTS)
    record, live = launch(
        RunRequest(
            page="review",
            config=config_for(Provider.OPENAI, fake_upstream),
            document=document_from_text(contract.text, "Franchise"),
            template_key="general",
            instructions=default_instructions(GENERAL),
            perspective="",
            max_tokens=4096,
            temperature=0.2,
            plan=plan,
        ),
        history=history,
        run_log=log,
        settings=Settings(history_db_path=tmp_path / "runs.sqlite3"),
    )
    review = live.stream
    assert isinstance(review, LongReview)
    deadline = time.monotonic() + 20
    while len(review.findings) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(review.findings) >= 3
    live.cancel()
    # Ending the run (checking its quotes, writing the log) may outlast cancel's short join on a
    # busy machine: wait for the worker itself, generously.
    deadline = time.monotonic() + 30
    while not live.finished and time.monotonic() < deadline:
        time.sleep(0.02)
    assert live.finished and review.stats.status is RunStatus.CANCELLED
    finished = list(review.findings)
    assert len(finished) < len(plan.steps)
    assert fake_upstream.wait_for_disconnect(10)
    # The review's thread has ended, so no call can start later: the server saw the finished
    # parts and at most the one Stop cut short, nothing after.
    assert len(fake_upstream.streams()) in (len(finished), len(finished) + 1)
    for step in plan.steps[: len(finished)]:
        assert f"## {step.label}\n### Indemnity — YELLOW\n note0" in record.report.replace(
            "\n\n", "\n"
        )
    stored = log.get(record.run_id)
    assert stored is not None and stored.status is RunStatus.CANCELLED
    assert stored.finish_reason is None  # not the last finished call's
    assert stored.notes == [
        f"{len(finished)} of {len(plan.steps)} steps of this long review finished; no combined"
        " report was made. Trying again runs every step again."
    ]
    assert stored.report == record.report and stored.strategy == "parts"
    assert stored.parts == plan.model_calls
    assert stored.input_tokens and stored.input_tokens >= 3 * 3000


def test_an_error_in_a_part_ends_the_run_and_keeps_the_parts_before_it(fake_upstream, contract):
    fake_upstream.push(Script(tokens=["### Indemnity — RED\n", "first part"]), Script(status=500))
    plan = plan_for(contract, Strategy.PARTS)
    review = LongReview(config_for(Provider.OPENAI, fake_upstream), plan, temperature=0)
    with pytest.raises(Exception):  # noqa: B017 - the provider's own error type
        run_to_end(review)
    assert review.stats.status is RunStatus.ERROR and review.stats.error_kind is not None
    assert "first part" in review.stats.text and len(fake_upstream.streams()) == 2
    # How far it got, and what another try costs: the failing call's error alone said neither.
    assert review.stats.notes == [
        f"1 of {len(plan.steps)} steps of this long review finished; no combined report was"
        " made. Trying again runs every step again."
    ]
    # The first call's "stop" was the run's finish reason beside its error.
    assert review.stats.finish_reason is None
    # The refused call is not billed: its prompt's estimate was added to the first call's
    # reported count, and the run's counts were called estimates.
    first = reported_prompt(fake_upstream.streams()[0].body)
    assert review.stats.input_token_count == first and review.stats.tokens_reported


def test_progress_names_the_step_and_an_eta(fake_upstream, contract):
    fake_upstream.default = Script(tokens=["a", "b"])
    review = LongReview(
        config_for(Provider.OPENAI, fake_upstream),
        plan_for(contract, Strategy.FOCUS),
        temperature=0,
    )
    seen: list[str] = []
    for _ in review:
        if review.stats.progress and review.stats.progress not in seen:
            seen.append(review.stats.progress)
    steps = [
        re.fullmatch(r"(.+) · call (\d+) of (\d+)( · about \d+ (?:s|min)(?: \d+ s)? left)?", line)
        for line in seen
    ]
    assert all(steps), seen
    calls = review.stats.calls_done
    assert [(int(m[2]), int(m[3])) for m in steps] == [(n, calls) for n in range(1, calls + 1)]
    assert [bool(m[4]) for m in steps] == [False] + [True] * (calls - 1)  # an ETA once one call ran
    labels = [m[1] for m in steps]
    assert "Indemnity" in labels and labels[-1] == "Merged report" and len(set(labels)) == calls
    assert review.stats.progress is None and review.stats.status is RunStatus.DONE
    assert review.stats.finish_reason == "stop" and review.stats.notes == []  # the merge's


def test_ollama_context_comes_from_the_server_and_claude_only_goes_long_when_needed(
    fake_upstream,
):
    fake_upstream.app.context_limit = 8192
    assert model_context(config_for(Provider.OLLAMA, fake_upstream)) == 8192
    claude = ProviderConfig(Provider.ANTHROPIC, "claude-sonnet-5-5", fake_upstream.url)
    assert model_context(claude) == 200_000
    assert not context_fit(claude, 1_000, 4_096).choosable
    assert context_fit(claude, 200_000, 4_096).choosable
    assert context_fit(config_for(Provider.OLLAMA, fake_upstream), 1_000, 4_096).choosable
    # The clause finder reads the whole contract itself: nothing to split, however long.
    finder = ProviderConfig(Provider.CLAUSE_FINDER, "rules")
    assert not context_fit(finder, 1_000, 4_096).choosable
    assert context_fit(finder, 5_000_000, 4_096).fits


def test_a_servers_context_is_asked_again_after_a_while(fake_upstream, monkeypatch):
    """Learnt once per process: Ollama restarted with a larger context still had contracts
    split into ten calls (or, smaller, sent whole and refused) until the app restarted."""
    from lib.runs import run_plan

    config = replace(config_for(Provider.OLLAMA, fake_upstream), model="ctx-probe")
    fake_upstream.app.context_limit = 8192
    assert model_context(config) == 8192
    fake_upstream.app.context_limit = 30_000
    assert model_context(config) == 8192  # within the while: not asked on every rerun
    monkeypatch.setattr(run_plan, "CONTEXT_TTL_S", 0.0)
    assert model_context(config) == 30_000


def test_review_page_plans_and_runs_a_long_contract_by_itself(fake_upstream, tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "CRS_ALLOWED_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    fake_upstream.app.context_limit, fake_upstream.app.context_mode = CONTEXT, "truncate"
    fake_upstream.app.responder = answer
    text = long_contract(60_000).text
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60
    )
    at.run()
    # A contract that fits first: the switch is off and the analyst's to turn on.
    at.text_area(key="review_text").input(text[:3_000]).run()
    assert not at.toggle(key="long_on").value and not at.toggle(key="long_on").disabled
    at.text_area(key="review_text").input(text)
    at.run()
    assert not at.exception, at.exception
    # Then one that does not: locked on (it showed off, kept from before, and ran long anyway).
    assert at.toggle(key="long_on").value and at.toggle(key="long_on").disabled
    estimate = next(c.value for c in at.caption if c.value.startswith("Estimate:"))
    steps = at.dataframe[0].value
    calls = len(steps) - sum(steps["Tokens"].str.startswith("no call: nothing found to send"))
    assert calls < len(steps)
    # Its calls and the merge, said before Review is clicked, as every front end says them.
    # At most: its merge takes rounds when the findings are too long to merge at once.
    said = re.search(r"focused review, (up to )?(\d+) calls", estimate)
    assert said and int(said[2]) >= calls + 1 and "local, no cost" in estimate
    at.button(key="review").click().run()
    assert not at.exception, at.exception
    (record,) = at.session_state[STATE_KEY]
    assert record.status is RunStatus.DONE and record.strategy == "focus"
    assert record.parts == calls
    assert record.report.endswith("".join(MERGED))
    assert not any(r.over_limit for r in fake_upstream.streams())


@pytest.mark.builtin
def test_the_section_by_section_switch_follows_the_contract_in_hand(
    fake_upstream, tmp_path, monkeypatch
):
    """Locked on by a long contract, the switch stayed on for the next, short one: split into a
    focused review of two calls (History: strategy focus) where a fresh session made one pass."""
    for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "CRS_ALLOWED_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    fake_upstream.app.context_limit = CONTEXT
    fake_upstream.app.responder = answer
    root = Path(__file__).resolve().parent.parent
    agency = root / "lib/analysis/cuad_sample/contracts"
    agency /= "19_BIOPURECORP_06_30_1999_EX_10_13_AGENCY_AGREEMENT.txt"
    short = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited.\n"
    at = AppTest.from_file(str(root / "app.py"), default_timeout=60)
    at.run()

    def estimate() -> str:
        return next(c.value for c in at.caption if c.value.startswith("Estimate:"))

    at.text_area(key="review_text").input(agency.read_text()).run()
    assert at.toggle(key="long_on").value and at.toggle(key="long_on").disabled
    assert "focused review" in estimate()
    at.text_area(key="review_text").input(short).run()
    assert not at.exception, at.exception
    assert not at.toggle(key="long_on").value and not at.toggle(key="long_on").disabled
    assert "one pass, 1 call" in estimate()
    at.button(key="review").click().run()
    (record,) = at.session_state[STATE_KEY]
    assert record.strategy is None and record.parts is None
    # The analyst's own choice holds for the contract it was made for, and for it alone.
    at.toggle(key="long_on").set_value(True).run()
    at.text_input(key="review_perspective").input("the customer").run()
    assert at.toggle(key="long_on").value and "focused review" in estimate()
    at.text_area(key="review_text").input(short + "12.2 Termination on notice.\n").run()
    assert not at.toggle(key="long_on").value and "one pass, 1 call" in estimate()


def test_the_built_in_model_reviews_a_contract_longer_than_its_context():
    """The real llama.cpp server enforces its own context: every call must fit it."""
    config = ProviderConfig(Provider.BUILTIN, "gemma-3-270m-it", context_length=2048)
    text = long_contract(10_000).text
    plan = plan_long_review(
        GENERAL, text, "Franchise", context_length=2048, max_tokens=48, strategy=Strategy.PARTS
    )
    assert plan.model_calls >= 2
    review = LongReview(config, plan, temperature=0)
    run_to_end(review)
    assert review.stats.status is RunStatus.DONE, review.stats.error_message
    assert review.stats.calls_done >= plan.model_calls + 1 and review.merged


def test_history_shows_how_a_run_was_reviewed():
    single = RunRecord("review", "ollama", "m", "", "doc", 10, "", "general")
    long = RunRecord("review", "ollama", "m", "", "doc", 10, "", "general", strategy="focus")
    long.parts = 13
    frame = records_to_dataframe([single, long])
    assert dict(zip(frame.index, frame["review"], strict=True)) == {
        single.run_id: "one pass",
        # As its estimate said it ("focus, 13 calls + merge" beside "focused review, 14 calls").
        long.run_id: "focused review, 14 calls",
    }


def parts_review(upstream, contract, limits: RunLimits) -> tuple[LongReview, LongPlan]:
    """A whole-contract review under `limits` on the fake Ollama, and its plan."""
    plan = plan_for(contract, Strategy.PARTS)
    config = config_for(Provider.OLLAMA, upstream)
    return LongReview(config, plan, temperature=0, limits=limits), plan


def test_the_runs_output_cap_holds_over_all_its_calls(fake_upstream, contract):
    """Each call gets what is left of the run's cap: many calls under it each must not add up
    to a report past it."""
    fake_upstream.default = Script(tokens=["### Indemnity — YELLOW\n"] + ["- finding\n"] * 6)
    review, plan = parts_review(fake_upstream, contract, RunLimits(max_output_chars=400))
    with pytest.raises(OutputLimit) as raised:
        run_to_end(review)
    assert "400 characters" in raised.value.message
    assert review.stats.error_kind is ErrorKind.OUTPUT_LIMIT
    assert review.stats.chars <= 400 and len(fake_upstream.streams()) < plan.model_calls + 1


def test_the_runs_wall_time_holds_over_all_its_calls(fake_upstream, contract):
    fake_upstream.default = Script(tokens=["a", "b", "c", "d"], delay=0.25)
    review, plan = parts_review(fake_upstream, contract, RunLimits(max_run_seconds=1.6))
    with pytest.raises(TimedOut) as raised:
        run_to_end(review)
    assert "after 1.6 s" in raised.value.message  # the run's limit, not what the last call had
    assert review.stats.status is RunStatus.ERROR
    assert 1 < len(fake_upstream.streams()) < plan.model_calls + 1


@pytest.mark.parametrize("thinking", [False, True])
def test_every_call_asks_as_the_run_does_and_its_thinking_is_the_runs(
    fake_upstream, contract, thinking
):
    fake_upstream.default = Script(tokens=["### Indemnity — YELLOW\n"], thinking=["weigh ", "it"])
    review = LongReview(
        config_for(Provider.OLLAMA, fake_upstream),
        plan_for(contract, Strategy.FOCUS),
        temperature=0,
        thinking=thinking,
    )
    text = run_to_end(review)
    bodies = [r.body for r in fake_upstream.streams()]
    assert len(bodies) == review.stats.calls_done > 2
    assert all(b.get("think") is thinking for b in bodies)
    # The fake thinks whatever it is asked; every call's thinking is shown as the run's, each
    # under the step it was for.
    labels = [step.label for step in review.plan.steps if step.local_text is None]
    expected = [f"{label}:\n\nweigh it" for label in [*labels, "Merged report"]]
    assert review.stats.thinking == "\n\n".join(expected)
    assert "weigh" not in text


def test_a_thinking_models_long_review_is_capped_on_its_report_not_its_thinking(
    fake_upstream, contract
):
    """Thinking and report shared one budget over the calls: 650 characters of thinking ended a
    131-character report at a 700-character cap, "the report reached 700 characters"."""
    fake_upstream.default = Script(tokens=["### Indemnity — YELLOW\n"], thinking=["t" * 300])
    review = LongReview(
        config_for(Provider.OLLAMA, fake_upstream),
        plan_for(contract, Strategy.FOCUS),
        temperature=0,
        thinking=True,
        limits=RunLimits(max_output_chars=2_000),
    )
    run_to_end(review)
    assert review.stats.status is RunStatus.DONE, review.stats.error_message
    assert review.stats.thinking_chars > 2_000 > review.stats.chars


def test_a_long_reviews_thinking_time_and_speed_add_up_its_calls_own(fake_upstream, contract):
    """Thinking time ran from the first call's first thought to its first answer token, so a
    review of 15 thinking calls said "Thought for 0 s"; its speed counted the gaps between calls
    (and their thinking) as answering."""
    fake_upstream.default = Script(
        tokens=["### Indemnity — YELLOW\n", "- a\n", "- b\n"], thinking=["weigh ", "it"], delay=0.03
    )
    calls: list = []

    def opened(*args, **kwargs):
        calls.append(stream_model(*args, **kwargs))
        return calls[-1]

    review = LongReview(
        config_for(Provider.OLLAMA, fake_upstream),
        plan_for(contract, Strategy.FOCUS),
        temperature=0,
        thinking=True,
        open_stream=opened,
    )
    run_to_end(review)
    assert len(calls) > 2
    thought = [c.stats.thinking_seconds() for c in calls]
    assert review.stats.thinking_seconds() == pytest.approx(sum(thought))
    spans = [c.stats.last_token_at - c.stats.first_token_at for c in calls]
    tokens = [c.stats.answer_token_count for c in calls]
    assert review.stats.tokens_per_second == pytest.approx(sum(tokens) / sum(spans))


def test_a_contract_no_plan_can_hold_is_said_once_and_not_offered(
    fake_upstream, tmp_path, monkeypatch
):
    """With a 1,200-token context the page said it would review section by section, then that
    it could not, then the estimate said it again; and Review, clicked, recorded a refusal."""
    for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "CRS_ALLOWED_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    fake_upstream.app.context_limit = 1200
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60
    )
    at.run()
    at.text_area(key="review_text").input(long_contract(20_000).text).run()
    assert not at.exception, at.exception
    said = [m.value for m in [*at.info, *at.error, *at.warning]]
    [warning] = [w.value.replace("\\", "") for w in at.warning]  # as written, unescaped
    assert "does not fit the model's context, so it will not run" in warning
    # The reason as sentences of its own: it read "…even section by section: A 1,200-token…".
    assert (
        "tokens). The contract does not fit the model, even section by section. A 1,200-token "
        "context is too small to merge findings: use a model"
    ) in warning
    assert not any("section by section and the findings are merged" in m for m in said)
    assert not at.error and at.button(key="review").disabled


def test_a_server_that_cannot_say_its_window_is_warned_of_again_only_after_it_answered(
    monkeypatch, caplog
):
    """Each distinct warning once per endpoint and model, not once per contract planned; a
    server that answered in between and fails again is said to, as that is news."""
    from lib.runs import run_plan

    monkeypatch.setattr(run_plan, "CONTEXT_TTL_S", 0.0)
    answers: list[int | Exception] = []

    def context_window(config: ProviderConfig, ctx: StreamContext | None) -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    spec = replace(run_plan.spec_for(Provider.OPENAI), context_window=context_window)
    monkeypatch.setattr(run_plan, "spec_for", lambda provider: spec)
    config = ProviderConfig(Provider.OPENAI, "window-once", "http://127.0.0.1:9/v1")
    other = replace(config, model="window-twice")

    def warned() -> list[str]:
        return [r.getMessage() for r in caplog.records if "context window" in r.getMessage()]

    answers[:] = [ConnectionError(), ConnectionError(), TimeoutError(), ConnectionError()]
    assert [model_context(config) for _ in range(3)] == [None] * 3
    assert len(warned()) == 2 and warned()[-1].endswith("TimeoutError")
    assert model_context(other) is None and len(warned()) == 3  # another model: its own
    answers[:] = [8192, ConnectionError()]
    assert model_context(config) == 8192 and len(warned()) == 3
    assert model_context(config) is None and len(warned()) == 4


def test_a_long_reviews_silence_runs_from_its_current_calls_request():
    """Each call's read timeout counts from its own request: the silence between two calls'
    words is the next call's wait, not the run's."""
    stats = LongRunStats(started_at=0.0, read_timeout=300.0)
    stats.add_text("Part 1 findings", now=5.0)
    assert stats.last_heard == 5.0
    stats.current = RunStats(started_at=9.0)
    assert stats.last_heard == 9.0
