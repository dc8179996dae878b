from datetime import UTC, datetime, timedelta

from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStats, RunStatus
from lib.engine.stream_model import stream_model
from lib.runs.pricing import estimate_cost
from lib.store.records import SessionHistory, records_to_csv, records_to_dataframe


def test_update_from_stats_copies_the_figures(make_record):
    stats = RunStats(started_at=100.0, estimated_input_tokens=500)
    stats.add_text("Hello ", now=100.5)
    stats.add_text("world, this is the report", now=102.5)
    stats.output_tokens, stats.output_reported = 40, True
    stats.finish(RunStatus.DONE, now=103.0)
    r = make_record()
    r.update_from(stats, cost_usd=0.0)
    assert (r.input_tokens, r.output_tokens, r.tokens_reported) == (500, 40, False)
    assert r.ttft_s == 0.5 and r.total_s == 3.0 and r.tokens_per_s == 20.0
    assert r.status == "done" and r.report.startswith("Hello world")


def test_a_run_without_a_model_records_no_speed(make_record):
    """The clause finder writes its whole report in microseconds: a tokens/s figure would be
    millions, and would top every speed chart and Compare row."""

    def ran(provider: Provider) -> RunStats:
        stats = stream_model(ProviderConfig(provider, "m"), "", "").stats  # as every run's are
        stats.started_at = 100.0
        stats.add_text("## Review", now=100.0001)
        stats.add_text(" of the contract", now=100.0002)
        stats.finish(RunStatus.DONE, now=100.001)
        return stats

    finder = make_record(provider=Provider.CLAUSE_FINDER.value)
    finder.update_from(ran(Provider.CLAUSE_FINDER))
    model = make_record()
    model.update_from(ran(Provider.OLLAMA))
    assert finder.tokens_per_s is None and finder.output_tokens == model.output_tokens
    # A model's answer that came in one burst was not timed as it was written either: its
    # "speed" read 39,226 tokens/s in the API, the run log and runs.csv.
    assert model.tokens_per_s is None


def test_session_history_and_table_newest_first(make_record):
    state = {}
    history = SessionHistory.from_state(state)
    now = datetime.now(UTC)
    old = make_record(document_name="old.pdf", started=now - timedelta(minutes=10))
    new = make_record(document_name="new.pdf", started=now - timedelta(minutes=1))
    history.add(old)
    history.add(new)
    assert SessionHistory.from_state(state).get(old.run_id) is old
    frame = records_to_dataframe(history.records)
    assert list(frame["document"]) == ["new.pdf", "old.pdf"]
    assert list(frame.index) == [new.run_id, old.run_id]
    assert frame.loc[new.run_id, "counts"] == "estimated"
    csv = records_to_csv(history.records).decode()
    assert csv.splitlines()[0].startswith("run_id,Time (UTC),Provider")


def test_a_failed_run_says_why_in_the_table(make_record):
    """A failed row said only "failed" in History and the session's table: why came only once
    the row was opened."""
    failed = make_record(status="error", error_kind="timed_out", error_message="Ollama stalled")
    stopped = make_record(status="cancelled")
    frame = records_to_dataframe([failed, stopped])
    assert frame.loc[failed.run_id, "why"] == "Timed out"
    assert frame.loc[stopped.run_id, "why"] == ""
    assert "Why it failed" in records_to_csv([failed]).decode().splitlines()[0]


def test_costs():
    assert estimate_cost(Provider.OLLAMA, "llama3.2", 10_000, 2_000) == 0.0
    assert estimate_cost(Provider.ANTHROPIC, "claude-sonnet-5-5", 1_000_000, 100_000) == 3.0 + 1.5
    assert (
        estimate_cost(
            Provider.ANTHROPIC, "claude-sonnet-5-5", 1_000_000, 0, {"claude-sonnet-5": (2.0, 10.0)}
        )
        == 2.0
    )
    assert estimate_cost(Provider.ANTHROPIC, "mystery-model", 10, 10) is None
