"""A playbook check as every front end starts it, over real HTTP against the fake model server:
verdicts arrive while the model writes, a failed or cancelled run keeps them, the run log keeps
the run with its verdicts, and the built-in checker goes through the same call."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from lib.analysis.documents import document_from_text
from lib.analysis.playbook.format import Verdict, result_from_dict
from lib.analysis.playbook.loader import parse_playbook
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings
from lib.runs.model_choice import ChoiceError, ModelChoice
from lib.runs.playbook_run import (
    BUILTIN_PROVIDER,
    CUT_OFF,
    EMPTY_ANSWER,
    IGNORED_FORMAT,
    NOT_REACHED,
    NOT_STARTED,
    OUT_OF_TOKENS,
    RETURNED_NOTHING,
    TRUNCATED,
    PlaybookOutcome,
    PlaybookRequest,
    PositionUpdate,
    Tick,
    start_playbook,
)
from lib.store.records import SessionHistory
from lib.store.run_log import RunLog
from tests.playbook_fixtures import (
    CONTRACT,
    MINI_PLAYBOOK,
    SECTION_AUDIT,
    SECTION_CAP,
    SECTION_LAW,
    lines,
)

PLAYBOOK = parse_playbook(MINI_PLAYBOOK)


@pytest.fixture
def setup(tmp_path):
    settings = Settings(history_db_path=tmp_path / "h.sqlite3")
    return settings, RunLog(tmp_path / "h.sqlite3"), SessionHistory([])


def config(upstream: FakeUpstream) -> ProviderConfig:
    return ProviderConfig(Provider.OPENAI, "m", f"{upstream.url}/v1", read_timeout=10)


def request(checker) -> PlaybookRequest:
    return PlaybookRequest(document_from_text(CONTRACT, "supply.txt"), PLAYBOOK, checker)


def collect(run, on_update=None) -> tuple[list[PositionUpdate], PlaybookOutcome]:
    decided: list[PositionUpdate] = []
    for update in run.updates(idle=0.05):
        if isinstance(update, PositionUpdate):
            decided.append(update)
            if on_update is not None:
                on_update(update)
        elif isinstance(update, PlaybookOutcome):
            return decided, update
    raise AssertionError("the updates ended without an outcome")


def test_a_model_answering_in_the_format_gives_verdicts_while_it_still_writes(fake_upstream, setup):
    settings, log, history = setup
    tokens = lines(SECTION_CAP + SECTION_LAW + SECTION_AUDIT)
    fake_upstream.push(Script(tokens=tokens, delay=0.03))
    run = start_playbook(request(config(fake_upstream)), history=history, run_log=log,
                         settings=settings)  # fmt: skip
    seen_while_streaming: list[tuple[str, int, bool]] = []

    def note(update: PositionUpdate) -> None:
        upstream = fake_upstream.streams()[-1]
        seen_while_streaming.append(
            (update.result.position_id, upstream.tokens_sent, upstream.completed)
        )

    decided, outcome = collect(run, note)
    # The first verdict was handed over before the model had sent its whole answer.
    first_id, tokens_then, completed_then = seen_while_streaming[0]
    assert first_id == "cap" and tokens_then < len(tokens) and not completed_then
    assert [u.index for u in decided] == [0, 1, 2]
    assert outcome.status is RunStatus.DONE and outcome.error is None
    assert [r.verdict for r in outcome.result.results] == [
        Verdict.DEVIATES, Verdict.MEETS, Verdict.NOT_ADDRESSED,
    ]  # fmt: skip
    cap = outcome.result.results[0]
    assert cap.evidence[0].check == "verified" and cap.evidence[0].clause == "9."
    assert outcome.summary == "1 meet, 1 deviate, 1 not addressed — 1 high-severity deviation"
    assert [r.position_id for r in outcome.high_severity] == ["cap"]
    # The request carried the playbook's positions and the contract.
    sent = str(fake_upstream.streams()[-1].body)
    assert "[cap] Liability cap" in sent and "laws of England" in sent
    # One history row, in the run log too, of kind "playbook" with its verdicts.
    assert history.records == [run.record]
    stored = log.get(run.record.run_id)
    assert stored is not None and stored.kind == "playbook" and stored.playbook_id == "mini"
    assert stored.status is RunStatus.DONE and stored.playbook_summary == outcome.summary
    assert [result_from_dict(v) for v in stored.verdicts] == list(outcome.result.results)
    assert stored.quotes_total == 2 and stored.quotes_verified == 2


def test_a_model_that_ignores_the_format_gets_no_guessed_verdict(fake_upstream, setup):
    settings, log, history = setup
    fake_upstream.push(Script(tokens=lines("This contract looks fine to me overall.\nRegards.")))
    run = start_playbook(request(config(fake_upstream)), history=history, run_log=log,
                         settings=settings)  # fmt: skip
    _, outcome = collect(run)
    assert outcome.status is RunStatus.DONE
    assert all(r.verdict is None and r.problem for r in outcome.result.results)
    assert outcome.problems[0] == IGNORED_FORMAT
    assert outcome.summary.startswith("0 meet, 0 deviate, 0 not addressed, 3 without an answer")
    assert log.get(run.record.run_id).playbook_summary == outcome.summary


def test_an_empty_answer_says_the_model_returned_nothing(fake_upstream, setup):
    settings, log, history = setup
    fake_upstream.push(Script(tokens=[]))
    run = start_playbook(request(config(fake_upstream)), history=history, run_log=log,
                         settings=settings)  # fmt: skip
    _, outcome = collect(run)
    assert outcome.status is RunStatus.DONE
    assert outcome.problems == (EMPTY_ANSWER,)
    assert all(r.verdict is None and r.problem == RETURNED_NOTHING for r in outcome.result.results)
    assert outcome.summary.startswith("0 meet, 0 deviate, 0 not addressed, 3 without an answer")


def test_a_run_failing_mid_stream_keeps_the_verdicts_it_reached(fake_upstream, setup):
    settings, log, history = setup
    tokens = lines(SECTION_CAP + SECTION_LAW + SECTION_AUDIT)
    cut_after = len(lines(SECTION_CAP)) + 2  # inside the second section
    fake_upstream.push(Script(tokens=tokens, fault="drop", fault_after=cut_after))
    run = start_playbook(request(config(fake_upstream)), history=history, run_log=log,
                         settings=settings)  # fmt: skip
    decided, outcome = collect(run)
    assert outcome.status is RunStatus.ERROR and outcome.error
    cap, law, audit = outcome.result.results
    assert cap.verdict is Verdict.DEVIATES
    assert law.verdict is None and law.problem == CUT_OFF
    assert audit.verdict is None and audit.problem == NOT_REACHED
    assert [u.result.position_id for u in decided] == ["cap", "law", "audit"]
    stored = log.get(run.record.run_id)
    assert stored.status is RunStatus.ERROR and stored.kind == "playbook"
    assert [v["verdict"] for v in stored.verdicts] == ["deviates", None, None]


def test_cancel_keeps_the_verdicts_so_far_and_records_the_cancelled_run(fake_upstream, setup):
    settings, log, history = setup
    tokens = lines(SECTION_CAP + SECTION_LAW + SECTION_AUDIT)
    # The model goes silent in the middle of its second section and never ends its answer.
    stall_after = len(lines(SECTION_CAP)) + 2
    fake_upstream.push(Script(tokens=tokens, fault="stall", fault_after=stall_after))
    run = start_playbook(request(config(fake_upstream)), history=history, run_log=log,
                         settings=settings)  # fmt: skip
    updates = run.updates(idle=0.05)
    first = next(u for u in updates if isinstance(u, PositionUpdate))
    assert first.result.position_id == "cap" and first.result.verdict is Verdict.DEVIATES
    writing = next(u for u in updates if isinstance(u, Tick) and u.writing)
    assert writing.writing == "law" and writing.stats is not None
    run.cancel()
    rest = list(updates)
    outcome = rest[-1]
    assert isinstance(outcome, PlaybookOutcome) and outcome.status is RunStatus.CANCELLED
    assert fake_upstream.streams()[-1].disconnected_at is not None
    assert [r.problem for r in outcome.result.results] == ["", CUT_OFF, NOT_REACHED]
    stored = log.get(run.record.run_id)
    assert stored.status is RunStatus.CANCELLED and stored.verdicts[0]["verdict"] == "deviates"


def test_a_contract_over_the_models_context_is_refused_as_too_long(fake_upstream, setup):
    settings, log, history = setup
    small = replace(config(fake_upstream), context_length=1024)
    run = start_playbook(request(small), history=history, run_log=log, settings=settings)
    _, outcome = collect(run)
    assert outcome.status is RunStatus.ERROR and "context" in (outcome.error or "")
    assert not fake_upstream.streams() or all(
        "chat" not in r.path for r in fake_upstream.streams()
    ), "nothing was sent to the model"
    # The model was never asked: no position says the run ended before the model reached it.
    assert all(r.problem == NOT_STARTED for r in outcome.result.results)
    assert outcome.record.not_started


def test_a_model_choice_is_resolved_through_the_one_path(fake_upstream, setup):
    settings, log, history = setup
    choice = ModelChoice(Provider.OPENAI, "m", "http://10.255.255.1:9/v1")
    with pytest.raises(ChoiceError):
        start_playbook(request(choice), history=history, run_log=log, settings=settings)
    assert history.records == []


def test_the_clause_finder_is_refused_as_a_checker(setup):
    settings, log, history = setup
    with pytest.raises(ChoiceError, match="writes no verdicts"):
        start_playbook(request(ModelChoice(Provider.CLAUSE_FINDER)), history=history,
                       run_log=log, settings=settings)  # fmt: skip
    assert history.records == []


def test_the_built_in_checker_goes_through_the_same_call(setup):
    settings, log, history = setup
    from lib.analysis.playbook.loader import bundled_playbooks

    book = bundled_playbooks()["commercial"]
    document = document_from_text(CONTRACT, "supply.txt")
    run = start_playbook(PlaybookRequest(document, book), history=history, run_log=log,
                         settings=settings)  # fmt: skip
    decided, outcome = collect(run)
    assert [u.index for u in decided] == list(range(len(book.positions)))
    assert outcome.status is RunStatus.DONE
    law = outcome.result.results[[p.id for p in book.positions].index("governing-law")]
    assert law.verdict is Verdict.MEETS
    stored = log.get(run.record.run_id)
    assert stored.provider == BUILTIN_PROVIDER and stored.kind == "playbook"
    assert stored.playbook_summary == outcome.summary and len(stored.verdicts) == len(decided)


def test_a_model_out_of_output_tokens_leaves_the_rest_unanswered(fake_upstream, setup):
    settings, log, history = setup
    tokens = lines(SECTION_CAP + SECTION_LAW)[:-4]  # the answer stops inside the second section
    fake_upstream.push(Script(tokens=tokens, finish_reason="length"))
    run = start_playbook(request(config(fake_upstream)), history=history, run_log=log,
                         settings=settings)  # fmt: skip
    _, outcome = collect(run)
    assert outcome.status is RunStatus.DONE and outcome.problems[0] == TRUNCATED
    assert [r.problem for r in outcome.result.results] == ["", CUT_OFF, OUT_OF_TOKENS]


def test_two_model_checkers_compared_start_together_or_neither(fake_upstream, setup):
    """With one place free, the first checker ran (billed) and the cap refused the second; the
    built-in checker takes no place and runs beside a refused model."""
    from lib.engine.errors import ErrorKind
    from lib.engine.limits import RunLimits
    from lib.runs.live import STREAMS_IN_FLIGHT
    from lib.runs.playbook_run import start_playbooks

    _, log, history = setup
    settings = Settings(run_limits=RunLimits(max_concurrent_runs=1))
    before = STREAMS_IN_FLIGHT.count
    runs = start_playbooks(
        [request(config(fake_upstream)), request(config(fake_upstream))],
        history=history,
        run_log=log,
        settings=settings,
    )
    outcomes = [collect(run)[1] for run in runs]
    assert fake_upstream.streams() == []
    assert [o.status for o in outcomes] == [RunStatus.ERROR, RunStatus.ERROR]
    assert all(r.record.error_kind == ErrorKind.RATE_LIMITED for r in runs)
    assert "cannot compare" in (runs[0].record.error_message or "")
    fake_upstream.default = Script(tokens=lines(SECTION_LAW))
    runs = start_playbooks(
        [request(None), request(config(fake_upstream))],
        history=history,
        run_log=log,
        settings=settings,
    )
    outcomes = [collect(run)[1] for run in runs]
    assert outcomes[0].status is RunStatus.DONE and len(fake_upstream.streams()) == 1
    assert STREAMS_IN_FLIGHT.count == before


def test_two_checkers_compared_one_of_which_the_contract_does_not_fit_send_nothing(
    fake_upstream, setup
):
    """The second checker's model was refused as too long and the first ran alone, billed: half a
    comparison."""
    from lib.engine.errors import ErrorKind
    from lib.runs.launch import NOT_TOGETHER
    from lib.runs.playbook_run import start_playbooks

    settings, log, history = setup
    fake_upstream.default = Script(tokens=lines(SECTION_LAW))
    small = replace(config(fake_upstream), context_length=1024)
    runs = start_playbooks(
        [request(config(fake_upstream)), request(small)],
        history=history,
        run_log=log,
        settings=settings,
    )
    outcomes = [collect(run)[1] for run in runs]
    assert fake_upstream.streams() == []
    assert [o.status for o in outcomes] == [RunStatus.ERROR, RunStatus.ERROR]
    # The side that fits is not started for the other, not refused as too long itself.
    kinds = [r.record.error_kind for r in runs]
    assert kinds == [ErrorKind.PARTNER_CANNOT_RUN, ErrorKind.CONTEXT_TOO_LONG]
    # The side that fits says which did not; the other says why itself.
    assert (runs[0].record.error_message or "").startswith(NOT_TOGETHER)
    assert "1,024 tokens" in (runs[0].record.error_message or "")
    assert "1,024 tokens" in (runs[1].record.error_message or "")
    assert all(r.record.not_started for r in runs)
    assert {r.problem for o in outcomes for r in o.result.results} == {NOT_STARTED}
