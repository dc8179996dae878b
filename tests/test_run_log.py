import csv
import io
import sqlite3
import stat
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from devtools.fake_upstream import Script
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.settings import load_settings
from lib.engine.stream_model import stream_model
from lib.store.migrations import CREATE_V1, SCHEMA_VERSION
from lib.store.records import RunRecord
from lib.store.run_log import (
    ORPHAN_MESSAGE,
    ORPHAN_MIN_AGE_S,
    RunLog,
    export_csv,
    export_json,
    open_run_log,
)

KEY = "fake-ant-api03-RECOGNISABLE-FAKE-KEY-7f3a9c"


def test_round_trip_and_upsert(log_target, make_record):
    log = RunLog(log_target)
    r = make_record(report="## Overall risk: LOW", notes=["cold start"])
    log.append(r)
    r.status, r.output_tokens, r.tokens_reported = RunStatus.DONE, 321, True
    log.append(r)
    assert log.count() == 1
    back = log.get(r.run_id)
    assert back == r


def test_filters(log_target, make_record):
    log = RunLog(log_target)
    now = datetime.now(UTC)
    log.append(make_record(provider="ollama", status="done", started=now - timedelta(days=3)))
    log.append(
        make_record(provider="anthropic", model="claude-sonnet-5-5", status="error", started=now)
    )
    log.append(
        make_record(
            provider="anthropic",
            model="claude-haiku-5-5",
            status="done",
            document_name="NDA_100%.docx",
            started=now,
        )
    )
    assert [r.provider for r in log.query(provider="anthropic")] == ["anthropic", "anthropic"]
    assert len(log.query(status=["done"])) == 2
    assert len(log.query(since=now - timedelta(days=1))) == 2
    assert [r.document_name for r in log.query(document="100%")] == ["NDA_100%.docx"]
    assert log.distinct("provider") == ["anthropic", "ollama"]
    with pytest.raises(ValueError):
        log.distinct("report; DROP TABLE runs")


def test_delete_and_export(log_target, make_record):
    log = RunLog(log_target)
    a, b = make_record(), make_record(document_name="Lease.pdf")
    log.append(a)
    log.append(b)
    assert log.delete([a.run_id]) == 1
    assert log.get(a.run_id) is None and log.count() == 1
    assert log.delete([a.run_id]) == 0  # nothing left to delete
    reopened = RunLog(log_target)  # gone from the store, not only from this view
    remaining = reopened.query()
    assert [r.run_id for r in remaining] == [b.run_id] and reopened.get(a.run_id) is None
    for export in (export_csv(remaining), export_json(remaining)):
        assert b"Lease.pdf" in export and b.run_id.encode() in export
        assert a.run_id.encode() not in export and b"Acme MSA.pdf" not in export


def test_the_csv_writes_counts_as_whole_numbers_beside_runs_without_them(log_target, make_record):
    # A column of counts with one run lacking them was written "1402.0" by pandas.
    log = RunLog(log_target)
    log.append(
        make_record(
            input_tokens=1402, output_tokens=13, status="done", cost_usd=0.016433736003818922
        )
    )
    log.append(make_record(document_name="Lease.pdf"))
    rows = list(csv.DictReader(io.StringIO(export_csv(log.query()).decode())))
    counted = next(r for r in rows if r["document_name"] == "Acme MSA.pdf")
    missing = next(r for r in rows if r["document_name"] == "Lease.pdf")
    assert (counted["input_tokens"], counted["output_tokens"]) == ("1402", "13")
    assert (missing["input_tokens"], missing["output_tokens"]) == ("", "")
    assert counted["cost_usd"] == "0.0164337"  # as readable as the page, not 0.016433736003818922
    # The outcome in the word the History table shows, not the log's value ("done").
    assert (counted["status"], missing["status"]) == (RunStatus.DONE.label, RunStatus.RUNNING.label)


def test_migrates_from_version_1(tmp_path, make_record):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(CREATE_V1)
    db.execute(
        "INSERT INTO runs (run_id, started, page, provider, model, endpoint, document_name, document_chars, "
        "template, instructions, tokens_reported, status, report) VALUES ('old1', ?, 'review', 'ollama', 'm', "
        "'e', 'Old.pdf', 10, 'general', '', 0, 'done', 'old report')",
        (datetime.now(UTC).isoformat(),),
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    log = RunLog(path)
    old = log.get("old1")
    assert old.report == "old report" and old.comparison_id is None and old.document_sha256 == ""
    log.append(make_record(comparison_id="cmp1"))
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_concurrent_writers_lose_nothing(log_target, make_record):
    log = RunLog(log_target)
    errors = []

    def writer(n):
        try:
            for i in range(50):
                r = make_record(document_name=f"doc-{n}-{i}")
                log.append(r)
                r.status = RunStatus.DONE
                log.append(r)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = log.query(limit=10_000)
    assert len(rows) == 400 and all(r.status == "done" for r in rows)
    assert len({r.document_name for r in rows}) == 400
    if log.path is not None:
        assert sqlite3.connect(log.path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_file_is_owner_only(tmp_path):
    log = RunLog(tmp_path / "sub" / "h.sqlite3")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700


def test_off_switch(tmp_path):
    assert (
        open_run_log(
            load_settings({"CRS_HISTORY": "off", "CRS_HISTORY_DB": str(tmp_path / "x.db")})
        )
        is None
    )
    assert not (tmp_path / "x.db").exists()


def test_api_key_never_reaches_the_database(tmp_path, fake_upstream, make_record):
    fake_upstream.push(Script(status=401))
    cfg = ProviderConfig(Provider.ANTHROPIC, "claude-sonnet-5-5", fake_upstream.url, api_key=KEY)
    stream = stream_model(cfg, "sys", "contract")
    with pytest.raises(Exception):  # noqa: B017 - any provider error will do
        list(stream)
    log = RunLog(tmp_path / "h.sqlite3")
    r = make_record(provider=cfg.provider.value, model=cfg.model, endpoint=cfg.base_url)
    r.update_from(stream.stats)
    log.append(r)
    log.append(make_record(error_message=repr(cfg)))
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert r.error_kind == "auth_failed"
    assert KEY.encode() not in raw
    assert (
        KEY not in export_csv(log.query()).decode() and KEY not in export_json(log.query()).decode()
    )


def test_a_first_version_log_migrates_to_the_latest_and_keeps_its_runs(tmp_path, make_record):
    """Every migration in turn, on a log written by the first release, with a run in it."""
    path = tmp_path / "v1.sqlite3"
    with sqlite3.connect(path) as db:
        for statement in filter(str.strip, CREATE_V1.split(";")):
            db.execute(statement)
        db.execute(
            "INSERT INTO runs (run_id, started, page, provider, model, endpoint, document_name,"
            " document_chars, template, instructions, tokens_reported, status, report)"
            " VALUES ('old', '2026-01-02T03:04:05+00:00', 'review', 'ollama', 'm', '', 'a.pdf',"
            " 10, 'general', '', 0, 'done', 'kept report')"
        )
        db.execute("PRAGMA user_version = 1")
    log = RunLog(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    old = log.get("old")
    assert old is not None and old.report == "kept report" and old.quotes_total is None
    new = make_record(strategy="focus", parts=3, quotes_total=2, batch_id="b1")
    log.append(new)
    stored = log.get(new.run_id)
    assert stored is not None
    assert (stored.strategy, stored.parts, stored.quotes_total, stored.batch_id) == (
        "focus",
        3,
        2,
        "b1",
    )


def test_thinking_is_kept_with_the_run_but_out_of_lists_and_the_csv(log_target, make_record):
    log = RunLog(log_target)
    r = make_record(report="## Overall risk: LOW", thinking="Clause 4 first, then 9.")
    r.thinking_tokens, r.thinking_reported, r.ttft_thinking_s, r.thinking_s = 7, True, 0.4, 3.2
    log.append(r)
    back = log.get(r.run_id)
    assert back == r
    listed = log.query(with_text=False)[0]
    assert listed.thinking == "" and listed.thinking_tokens == 7 and listed.thinking_reported
    assert "Clause 4 first" not in export_csv(log.query()).decode()
    assert "Clause 4 first" in export_json(log.query()).decode()


def without_heartbeat(log: RunLog, *run_ids: str) -> None:
    """Rows as a version without heartbeats wrote them."""
    with log.connect() as db:
        for run_id in run_ids:
            db.execute("UPDATE runs SET heartbeat_at = NULL WHERE run_id = ?", [run_id])


def heartbeat_of(log: RunLog, run_id: str) -> str | None:
    with log.connect() as db:
        row = db.execute("SELECT heartbeat_at FROM runs WHERE run_id = ?", [run_id]).fetchone()
    return row["heartbeat_at"]


def test_a_run_whose_heartbeat_stopped_is_ended_and_one_still_beating_is_not(
    log_target, make_record
):
    """A process that crashed or restarted left its runs "running" on History for two hours:
    nothing told a stopped process from a slow run. A run whose process stopped beating for
    a few minutes is ended, however recent its start; one beating is not, however silent."""
    log = RunLog(log_target)
    now = datetime.now(UTC)
    gone = make_record(report="## Overall risk: HIGH\nso far", started=now - timedelta(minutes=8))
    thinking = make_record(started=now - timedelta(minutes=40))
    log.append(gone)
    log.append(thinking)
    log.beat([gone.run_id], now - timedelta(minutes=6))
    log.beat([thinking.run_id], now - timedelta(seconds=40))
    assert log.end_orphans(ORPHAN_MIN_AGE_S, now=now) == 1
    ended, still = log.get(gone.run_id), log.get(thinking.run_id)
    assert ended is not None and still is not None
    assert ended.status is RunStatus.ERROR and ended.error_kind == "interrupted"
    assert ended.error_message == ORPHAN_MESSAGE and "process running it" in ORPHAN_MESSAGE
    assert ended.report == "## Overall risk: HIGH\nso far"
    assert still.status is RunStatus.RUNNING
    # An ended run is not stamped again.
    log.beat([gone.run_id], now)
    assert heartbeat_of(log, gone.run_id) < heartbeat_of(log, thinking.run_id)


def test_a_row_without_a_heartbeat_keeps_the_two_hour_rule(log_target, make_record):
    """Rows written before there were heartbeats say nothing of their process: only their age
    past the longest a run may take tells."""
    log = RunLog(log_target)
    now = datetime.now(UTC)
    recent = make_record(started=now - timedelta(hours=1))
    old = make_record(started=now - timedelta(hours=3))
    log.append(recent)
    log.append(old)
    without_heartbeat(log, recent.run_id, old.run_id)
    assert log.end_orphans(ORPHAN_MIN_AGE_S, now=now) == 1
    assert log.get(recent.run_id).status is RunStatus.RUNNING
    assert log.get(old.run_id).status is RunStatus.ERROR
    # Without a wall-time cap the age tells nothing: only heartbeats end runs.
    again = make_record(started=now - timedelta(hours=30))
    log.append(again)
    without_heartbeat(log, again.run_id)
    assert log.end_orphans(None, now=now) == 0


def test_runs_left_running_by_a_stopped_process_are_ended_when_the_log_is_opened(
    tmp_path, make_record
):
    """A crash or a restart left rows "running" for ever: History counted them as running and
    nothing said they had been cut off. Past the run's wall-time cap no process can still be
    streaming them."""
    path = tmp_path / "h.sqlite3"
    log = RunLog(path)
    cut_off = make_record(report="## Overall risk: HIGH\nso far",
                          started=datetime.now(UTC) - timedelta(hours=3))  # fmt: skip
    streaming = make_record(report="just started")
    log.append(cut_off)
    log.append(streaming)
    without_heartbeat(log, cut_off.run_id, streaming.run_id)  # rows of an older version
    opened = open_run_log(
        load_settings({"CRS_HISTORY_DB": str(path), "CRS_MAX_RUN_SECONDS": "1800"})
    )
    assert opened is not None
    ended, still = opened.get(cut_off.run_id), opened.get(streaming.run_id)
    assert ended is not None and still is not None
    assert ended.status is RunStatus.ERROR and ended.error_kind == "interrupted"
    assert ended.report == "## Overall risk: HIGH\nso far" and "restart or a crash" in str(
        ended.error_message
    )
    assert still.status is RunStatus.RUNNING


def test_a_streaming_runs_report_so_far_is_in_the_log_before_it_ends(
    tmp_path, fake_upstream, monkeypatch
):
    """Only a run's start and end were written: a crash between lost all it had written."""
    from lib.analysis.documents import document_from_text
    from lib.runs import launch as launching
    from lib.store.records import SessionHistory

    monkeypatch.setattr(launching, "SAVE_EVERY_S", 0.0)
    path = tmp_path / "h.sqlite3"
    log = RunLog(path)
    fake_upstream.push(Script(tokens=[f" w{i}" for i in range(40)], delay=0.1))
    config = ProviderConfig(Provider.OLLAMA, "llama3.2", fake_upstream.url, read_timeout=10)
    request = launching.RunRequest(
        "review", config, document_from_text("1. Term. Two years."), "general", "", "", 100, 0.0
    )
    record, live = launching.launch(
        request, history=SessionHistory([]), run_log=log, settings=load_settings({})
    )
    try:
        saved = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # until the row holds some of the text, while running
            saved = log.get(record.run_id)
            if saved is not None and " w3" in saved.report:
                break
            time.sleep(0.05)
        assert saved is not None and saved.status is RunStatus.RUNNING and " w3" in saved.report
    finally:
        live.cancel()


def test_a_log_that_refuses_writes_is_tried_again_only_after_a_while(fake_upstream, monkeypatch):
    """With the database gone, every token after the first save tried to save again, each try
    waiting for the database: the stream crawled at one token per wait."""
    from lib.analysis.documents import document_from_text
    from lib.runs import launch as launching
    from lib.runs.live import watch
    from lib.store.database import StoreUnavailable
    from lib.store.records import SessionHistory

    class Refusing:
        calls = 0

        def append(self, record) -> None:
            Refusing.calls += 1
            raise StoreUnavailable("no connection")

    monkeypatch.setattr(launching, "SAVE_EVERY_S", 0.0)
    fake_upstream.push(Script(tokens=[f" w{i}" for i in range(40)]))
    config = ProviderConfig(Provider.OLLAMA, "llama3.2", fake_upstream.url, read_timeout=10)
    request = launching.RunRequest(
        "review", config, document_from_text("1. Term. Two years."), "general", "", "", 100, 0.0
    )
    record, live = launching.launch(
        request, history=SessionHistory([]), run_log=Refusing(), settings=load_settings({})
    )
    for _ in watch([live]):  # until the run has ended
        pass
    assert record.report.count(" w") == 40 and record.status is RunStatus.DONE
    assert Refusing.calls == 3  # its start, one save of its progress, its end
    assert record.notes[-1] == launching.NOT_KEPT_NOTE


def test_ends_a_log_could_not_take_are_written_once_it_answers(make_record, monkeypatch):
    """A run that ended while the database was away stayed "running" in History until the
    two-hour orphan rule called it interrupted, though the app still held its whole report."""
    from lib.runs import launch as launching
    from lib.store.database import StoreUnavailable

    class Flaky:
        """A log whose database is away until `down` is cleared."""

        def __init__(self) -> None:
            self.down, self.rows, self.tries = True, {}, 0

        def append(self, record: RunRecord) -> None:
            self.tries += 1
            if self.down:
                raise StoreUnavailable("no connection")
            self.rows[record.run_id] = (record.report, list(record.notes))

    monkeypatch.setattr(launching, "_UNSAVED", [])
    monkeypatch.setattr(launching, "_next_try", 0.0)
    flaky, other = Flaky(), Flaky()
    first, second = make_record(report="one"), make_record(report="two")
    launching.end_record(first, flaky)
    launching.end_record(second, flaky)
    launching.end_record(make_record(report="elsewhere"), other)
    assert first.notes == [launching.NOT_KEPT_NOTE] and flaky.tries == 2

    launching.save_unsaved(flaky)  # still away: one try, then none for a while
    assert flaky.tries == 3 and first.notes == [launching.NOT_KEPT_NOTE]
    launching.save_unsaved(flaky)
    assert flaky.tries == 3

    flaky.down = False
    launching.save_unsaved(flaky)  # within the wait: not tried
    assert flaky.rows == {}
    launching.end_record(third := make_record(report="three"), flaky)  # it answers: all go in
    assert flaky.rows == {r.run_id: (r.report, []) for r in (third, first, second)}
    assert first.notes == second.notes == []
    assert [r.report for _, r in launching._UNSAVED] == ["elsewhere"]  # another database's
