"""The batch runner against the fake model server: lanes, failures, Stop, resume and the store."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from devtools.sample_files import image_pdf_bytes, pdf_bytes, with_image_pages
from lib.analysis.documents import document_from_text, load_document
from lib.analysis.plural import counted, duration
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings, load_settings
from lib.runs.batch import (
    CHANGED,
    GONE,
    MODEL_REFUSED,
    NOT_GIVEN,
    BatchRunner,
    BatchSettings,
    NotResumed,
    Progress,
    batch_records,
    concurrency_for,
    estimate_eta,
    model_key,
    resume_condition,
    unique_names,
)
from lib.runs.batch_sources import FOLDER_PREFIX, read_files
from lib.runs.portfolio_session import batch_name, unfinished_batches
from lib.store.batch_store import BatchStatus, BatchStore, ItemStatus
from lib.store.records import RunRecord
from lib.store.run_log import RunLog
from tests.test_hostile_upstream import CONTRACT, HOLD_SECONDS, HostileServer, Trickle, config

REPORT = ["## Overall", " risk: LOW\n", "### Governing law — GREEN\n", '- Found: yes "laws of"']


def contracts(n: int) -> list:
    return [
        document_from_text(f"Contract {i}. This agreement is governed by the laws of Utopia.",
                           name=f"contract-{i:02d}.txt")
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture
def run_log(tmp_path) -> RunLog:
    return RunLog(tmp_path / "history.sqlite3")


def settings(tmp_path) -> Settings:
    return Settings(history_db_path=tmp_path / "history.sqlite3")


def test_twenty_contracts_one_provider_failing_half_way_then_resume(tmp_path, run_log):
    with FakeUpstream() as good, FakeUpstream() as flaky:
        good.default = Script(tokens=REPORT, dialect="ollama")
        flaky.default = Script(tokens=REPORT, fault="drop", fault_after=2)
        flaky.push(*[Script(tokens=REPORT) for _ in range(10)])
        ollama = ProviderConfig(Provider.OLLAMA, "llama3.2", good.url)
        openai = ProviderConfig(Provider.OPENAI, "gemma-3-1b", flaky.url + "/v1")
        runner = BatchRunner.create(
            name="data room",
            contracts=contracts(20),
            configs=[ollama, openai],
            batch_settings=BatchSettings(source="upload"),
            settings=settings(tmp_path),
            run_log=run_log,
            concurrency={"openai": 3},
        ).start()
        assert runner.wait(60)

        progress = runner.progress()
        assert (progress.total, progress.done, progress.failed) == (40, 30, 10)
        assert progress.running == 0 and progress.fraction == 1.0
        failures = runner.failures()
        assert {f.model_key for f in failures} == {model_key(openai)}
        assert all(f.error for f in failures)
        store = BatchStore(run_log)
        info = store.get(runner.batch_id)
        assert info is not None and info.status is BatchStatus.FINISHED
        assert "api_key" not in str(info.models)
        items = store.items(runner.batch_id)
        assert sum(i.status is ItemStatus.ERROR for i in items) == 10
        # Every run lands in the run log, grouped by the batch.
        runs = run_log.query()
        assert len(runs) == 40 and {r.batch_id for r in runs} == {runner.batch_id}
        assert [s.batch_id for s in store.unfinished()] == [runner.batch_id]
        failed_contracts = {f.contract for f in failures}

        flaky.default = Script(tokens=REPORT)
        before_good, before_flaky = len(good.streams()), len(flaky.streams())
        again = BatchRunner.resume(
            batch_id=runner.batch_id,
            contracts=contracts(20),
            settings=settings(tmp_path),
            run_log=run_log,
        ).start()
        assert again.wait(60)
        assert len(good.streams()) == before_good, "finished contracts were run again"
        assert len(flaky.streams()) - before_flaky == 10
        assert {c for c, _ in again.items} == failed_contracts
        # The whole batch is counted, the runs done before the cut included.
        resumed = again.progress()
        assert (resumed.total, resumed.done, resumed.failed) == (40, 40, 0)
        assert resumed.fraction == 1.0
        assert all(i.status is ItemStatus.DONE for i in store.items(runner.batch_id))
        assert store.unfinished() == []
        records = batch_records(run_log, runner.batch_id)
        assert len(records.records) == 40 and not records.waiting
        assert all(r.status == "done" for r in records.records.values())
        assert len(run_log.query()) == 50


def test_lanes_keep_to_their_concurrency(tmp_path):
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=[f" t{i}" for i in range(20)], delay=0.01)
        config = ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")
        runner = BatchRunner.create(
            name="b", contracts=contracts(9), configs=[config],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=None,
            concurrency={"openai": 3},
        )  # fmt: skip
        peak = 0
        runner.start()
        while not runner.finished:
            peak = max(peak, runner.progress().running)
            time.sleep(0.005)
        streams = upstream.streams()
        # At no moment more than three requests were open at the server.
        events = sorted(
            [(r.started, 1) for r in streams] + [(r.token_times[-1], -1) for r in streams]
        )
        open_now = max_open = 0
        for _, delta in events:
            open_now += delta
            max_open = max(max_open, open_now)
        assert max_open == 3 and peak <= 3
        assert runner.progress().done == 9


def test_a_worker_starts_its_next_request_while_the_last_run_is_being_finished(tmp_path):
    """A run's finish (quote checks, the cross-check, the log's row) took the worker's place at
    the endpoint: with one request in flight, the next waited for it. Here the first run's row
    cannot be written until the second request has reached the server."""
    second_started = threading.Event()
    held_up: list[str] = []  # runs whose finish the next request had to wait for

    class HeldLog(RunLog):
        def append(self, record) -> None:
            if record.status == "done" and not second_started.wait(10):
                held_up.append(record.document_name)
            super().append(record)

    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=REPORT)
        config = ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")
        log = HeldLog(tmp_path / "history.sqlite3")
        runner = BatchRunner.create(
            name="b", contracts=contracts(2), configs=[config],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=log,
            concurrency={"openai": 1},
        )  # fmt: skip
        runner.start()
        deadline = time.monotonic() + 20
        while len(upstream.streams()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        second_started.set()
        assert runner.wait(20)
    assert held_up == []
    assert runner.progress().done == 2
    assert sorted(r.status for r in log.query()) == ["done", "done"]
    assert [i.status for i in BatchStore(log).items(runner.batch_id)] == [ItemStatus.DONE] * 2


def test_stop_ends_every_running_request_and_resume_finishes(tmp_path, run_log):
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=[f" t{i}" for i in range(400)], delay=0.02)
        config = ProviderConfig(
            Provider.ANTHROPIC, "claude-haiku-5-5", upstream.url, api_key="k" * 20
        )
        runner = BatchRunner.create(
            name="b", contracts=contracts(6), configs=[config],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=run_log,
        ).start()  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            len(upstream.streams()) < 4 or not all(r.tokens_sent for r in upstream.streams())
        ):
            time.sleep(0.01)
        runner.stop()  # four requests streaming, two contracts waiting
        assert runner.wait(5)
        open_streams = upstream.streams()
        assert len(open_streams) == 4, "Stop must not start new requests"
        for record in open_streams:
            assert upstream.wait_for_disconnect(2.0, record)
        progress = runner.progress()
        assert (progress.cancelled, progress.done) == (4, 0)
        assert progress.line() == "0 of 6 runs done · 4 stopped · 2 never started"
        store = BatchStore(run_log)
        assert store.get(runner.batch_id).status is BatchStatus.STOPPED
        statuses = sorted(i.status.value for i in store.items(runner.batch_id))
        assert statuses == ["cancelled"] * 4 + ["pending"] * 2

        upstream.default = Script(tokens=REPORT)
        # Keys are never stored: the resume sends the one configured for Claude's endpoint now.
        operator = replace(
            settings(tmp_path),
            endpoints={Provider.ANTHROPIC: upstream.url},
            api_keys={Provider.ANTHROPIC: "k" * 20},
        )
        again = BatchRunner.resume(
            batch_id=runner.batch_id, contracts=contracts(6), settings=operator, run_log=run_log,
        ).start()  # fmt: skip
        assert again.wait(30) and again.progress().done == 6 and again.progress().total == 6
        assert store.get(runner.batch_id).status is BatchStatus.FINISHED
        assert all(r.cost_usd is not None and r.cost_usd > 0 for r in run_log.query(status="done"))


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI])
def test_stop_ends_a_batch_run_whose_model_window_lookup_trickles(provider, tmp_path, run_log):
    """Planning a run asks the server for the model's window before the run's stream exists:
    Stop did not reach that lookup, and the run went on until the server's trickle ended and
    the read timed out. It ends at once now, recorded as cancelled, nothing sent to the model."""
    trickle = Trickle(provider, lookup=True)
    with HostileServer(trickle) as server:
        runner = BatchRunner.create(
            name="b",
            contracts=[document_from_text(CONTRACT, name="c.txt")],
            configs=[config(server, provider)],
            batch_settings=BatchSettings(),
            settings=settings(tmp_path),
            run_log=run_log,
        ).start()
        assert trickle.answering.wait(10)
        runner.stop()
        assert trickle.hung_up.wait(HOLD_SECONDS)
        assert runner.wait(HOLD_SECONDS)
    [record] = run_log.query(status=RunStatus.CANCELLED.value)
    assert record.report == "" and record.error_message is None
    assert runner.progress().cancelled == 1
    assert not any(b"/chat" in h.split(b"\r\n")[0] for h in server.heads)  # nothing was sent


def test_resume_skips_contracts_whose_text_changed(tmp_path, run_log):
    runner = BatchRunner.create(
        name="b", contracts=contracts(2), configs=[ProviderConfig(Provider.OLLAMA, "m", "http://127.0.0.1:9")],
        batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=run_log,
    )  # fmt: skip
    changed = [document_from_text("other text", name="contract-00.txt"), contracts(2)[1]]
    again = BatchRunner.resume(
        batch_id=runner.batch_id, contracts=changed, settings=settings(tmp_path), run_log=run_log
    )
    assert [c for c, _ in again.items] == ["contract-01.txt"]


def test_concurrency_defaults_and_overrides():
    builtin = ProviderConfig(Provider.BUILTIN, "gemma")
    ollama = ProviderConfig(Provider.OLLAMA, "m", "http://localhost:11434")
    claude = ProviderConfig(Provider.ANTHROPIC, "claude-sonnet-5-5")
    assert concurrency_for(builtin, {"builtin": 8}) == 1
    assert concurrency_for(ollama) == 1 and concurrency_for(ollama, {"ollama": 2}) == 2
    assert concurrency_for(claude) == 4 and concurrency_for(claude, {"anthropic": 999}) == 32
    parsed = load_settings({"CRS_BATCH_CONCURRENCY": "ollama=2, openai=3",
                            "CRS_BATCH_DIRS": "/srv/a,/srv/b"})  # fmt: skip
    assert parsed.batch_concurrency == {"ollama": 2, "openai": 3}
    with pytest.raises(ValueError, match="anthropic=x"):  # refused, not dropped
        load_settings({"CRS_BATCH_CONCURRENCY": "ollama=2, anthropic=x"})
    assert [p.name for p in parsed.batch_dirs] == ["a", "b"]


def test_eta_is_the_slowest_lane():
    lanes = {"fast": (8, 4, [1.0, 1.0]), "slow": (3, 1, [10.0])}
    assert estimate_eta(lanes) == 30.0
    assert estimate_eta({"a": (5, 2, []), "b": (0, 1, [2.0])}, fallback_s=2.0) == 6.0
    assert estimate_eta({"a": (5, 2, [])}) is None
    assert estimate_eta({"a": (0, 2, [])}) == 0.0
    assert duration(75) == "1 min 15 s" and duration(3700) == "1 h 01 min"


def test_duplicate_names_are_kept_apart():
    docs = unique_names(
        [document_from_text("a", name="x.pdf"), document_from_text("b", name="x.pdf")]
    )
    assert [d.name for d in docs] == ["x.pdf", "x.pdf (2)"]


def test_a_renamed_duplicate_keeps_its_pages_and_picture_pages():
    pages = ["Clause one: the Supplier shall deliver.", "Clause two: the Customer shall pay."]
    scanned = load_document(with_image_pages(pdf_bytes(pages), image_pdf_bytes(), [2]), "x.pdf")
    first, second = unique_names([scanned, scanned])
    assert second.name == "x.pdf (2)" and second.image_pages == (2,)
    assert second == dataclasses.replace(first, name="x.pdf (2)")


def test_a_broken_callback_does_not_stop_the_batch(tmp_path):
    calls = []
    lock = threading.Lock()

    def explode(result):
        with lock:
            calls.append(result.contract)
        raise RuntimeError("boom")

    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=REPORT)
        runner = BatchRunner.create(
            name="b", contracts=contracts(3),
            configs=[ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=None,
            on_item=explode,
        ).start()  # fmt: skip
        assert runner.wait(20) and runner.progress().done == 3 and len(calls) == 3


def test_batch_files_are_read_under_the_operators_limits():
    loaded = read_files(
        [("two.pdf", pdf_bytes(["Page one.", "Page two."])), ("one.txt", b"Text.")],
        load_settings({"CRS_MAX_PAGES": "1"}),
    )
    assert [d.name for d in loaded.documents] == ["one.txt"]
    ((name, problem),) = loaded.problems
    assert name == "two.pdf" and "the limit is 1" in problem


def test_resume_sends_the_operators_key_only_to_its_own_endpoint(tmp_path, run_log):
    """A batch made against a typed URL (no key) must not get OPENAI_API_KEY on resume."""
    with FakeUpstream() as typed, FakeUpstream() as configured:
        typed.default = configured.default = Script(tokens=REPORT)
        config = ProviderConfig(Provider.OPENAI, "m", typed.url + "/v1")
        runner = BatchRunner.create(
            name="b", contracts=contracts(1), configs=[config],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=run_log,
        )  # fmt: skip
        operator = replace(
            settings(tmp_path),
            endpoints={Provider.OPENAI: configured.url + "/v1"},
            api_keys={Provider.OPENAI: "operator-secret-" + "x" * 12},
        )
        again = BatchRunner.resume(
            batch_id=runner.batch_id, contracts=contracts(1), settings=operator, run_log=run_log
        ).start()
        assert again.wait(30) and again.progress().done == 1
        sent = [r for r in typed.requests if r.path.endswith("/chat/completions")]
        assert len(sent) == 1
        assert "authorization" not in sent[0].headers


def test_resume_refuses_an_endpoint_the_operator_no_longer_allows(tmp_path, run_log):
    config = ProviderConfig(Provider.OLLAMA, "m", "http://10.0.0.9:11434")
    runner = BatchRunner.create(
        name="b", contracts=contracts(1), configs=[config],
        batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=run_log,
    )  # fmt: skip
    locked = replace(settings(tmp_path), lock_endpoints=True)
    again = BatchRunner.resume(
        batch_id=runner.batch_id, contracts=contracts(1), settings=locked, run_log=run_log
    )
    assert again.items == []
    (left,) = again.not_resumed
    assert left.model_key == "ollama:m@http://10.0.0.9:11434"
    assert "only allows the endpoints" in left.reason
    assert resume_condition(again.not_resumed) == "once the model can be chosen"


def test_what_a_resume_waits_for_is_said_from_the_reasons_present():
    """ "once the contracts are back as they were (or named again), or the model can be chosen"
    was said after every resume that left a run out, whatever left it out."""

    def left(reason: str, model_key: str = "m") -> NotResumed:
        return NotResumed("a.txt", model_key, "M", reason)

    assert resume_condition([]) == ""
    assert resume_condition([left(CHANGED)]) == "once the contract is back as it was"
    assert resume_condition([left(CHANGED), left(GONE[FOLDER_PREFIX])]) == (
        "once the contracts are back as they were"
    )
    refused = [left(f"{MODEL_REFUSED} — no key", key) for key in ("m", "n")]
    assert resume_condition([left(NOT_GIVEN), left("“scan.pdf”: 2 pages need OCR"), *refused]) == (
        "once the contract is given again, or the file can be read, or the models can be chosen"
    )


def test_the_progress_line_counts_every_run_and_promises_no_time_once_stopped():
    line = Progress(total=10, done=3, failed=0, cancelled=1, running=0, elapsed_s=5.0,
                    eta_s=77.0, ended=True).line()  # fmt: skip
    assert line == "3 of 10 runs done · 1 stopped · 6 never started"
    # Still stopping: the run in flight is counted as running, the rest as never started.
    stopping = Progress(total=10, done=5, failed=0, cancelled=0, running=1, elapsed_s=9.0,
                        eta_s=None, ended=True).line()  # fmt: skip
    assert stopping == "5 of 10 runs done · 1 running · 4 never started"
    # Running on, the runs not yet started are still to come, not left out.
    going = Progress(total=10, done=5, failed=0, cancelled=0, running=1, elapsed_s=9.0,
                     eta_s=None).line()  # fmt: skip
    assert going == "5 of 10 runs done · 1 running"
    one = Progress(total=1, done=0, failed=1, cancelled=0, running=0, elapsed_s=1.0, eta_s=None)
    assert one.line() == "0 of 1 run done · 1 failed"


def test_the_time_left_counts_down_and_is_never_a_time_already_passed():
    """The line read "about 14 s left" from 18 s to 37 s: the estimate only changes when a run
    ends, so it stood still, then promised a time already gone."""

    def line(eta_age_s: float) -> str:
        return Progress(total=10, done=6, failed=0, cancelled=0, running=1, elapsed_s=18.0,
                        eta_s=14.0, eta_age_s=eta_age_s).line()  # fmt: skip

    assert line(0.0) == "6 of 10 runs done · 1 running · about 14 s left"
    assert line(4.0) == "6 of 10 runs done · 1 running · about 10 s left"
    assert line(19.0) == "6 of 10 runs done · 1 running · a little longer"


def test_a_batch_running_past_its_estimate_says_a_little_longer(tmp_path):
    with FakeUpstream() as upstream:
        # The first review answers at once; the second goes silent until the batch is stopped.
        upstream.push(Script(tokens=REPORT), Script(tokens=REPORT, fault="stall", fault_after=1))
        runner = BatchRunner.create(
            name="b", contracts=contracts(2),
            configs=[ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=None,
            concurrency={"openai": 1},
        ).start()  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            seen: list[str] = []
            while time.monotonic() < deadline and "a little longer" not in (seen or [""])[-1]:
                seen.append(runner.progress().line())
                time.sleep(0.05)
            assert seen[-1] == "1 of 2 runs done · 1 running · a little longer", seen[-3:]
        finally:
            runner.stop()
            assert runner.wait(10)


def test_counts_read_in_words():
    assert counted(1, "contract") == "1 contract" and counted(1200, "run") == "1,200 runs"
    assert batch_name(contracts(1), [None]) == "1 contract × 1 model"


def test_a_batch_without_a_run_log_shows_its_running_run_and_those_still_to_start(tmp_path):
    """Without a run log the grid had only the runs ended: neither the one streaming nor the
    contracts still queued had a row."""
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=[f" t{i}" for i in range(400)], delay=0.02)
        config = ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")
        runner = BatchRunner.create(
            name="b", contracts=contracts(3), configs=[config],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=None,
            concurrency={"openai": 1},
        ).start()  # fmt: skip
        deadline = time.monotonic() + 20
        while not upstream.streams() and time.monotonic() < deadline:
            time.sleep(0.01)
        shown = runner.records()
        [(first, record)] = shown.records.items()
        assert record.status == "running"
        assert sorted(shown.waiting) == sorted(i for i in runner.items if i != first)
        runner.stop()
        assert runner.wait(20)
    stopped = runner.records()
    assert stopped.waiting == [] and sorted(stopped.not_started) == sorted(shown.waiting)


def test_a_stored_batch_lists_its_runs_not_started_waiting_then_not_started(tmp_path, run_log):
    store = BatchStore(run_log)
    batch_id = store.create("b", {}, [], [("a.txt", "x", "k"), ("b.txt", "x", "k")])
    running = batch_records(run_log, batch_id)
    assert running.waiting == [("a.txt", "k"), ("b.txt", "k")] and running.not_started == []
    # Running, it never reads "did not start": it says where it runs (`here` or elsewhere).
    assert running.not_started_note(resumable=True, here=True) == (
        "This batch is running: its grid fills as it goes."
    )
    assert running.not_started_note(resumable=True, here=False).startswith(
        "This batch is running in another process (crs-batch or another session)"
    )
    store.set_status(batch_id, BatchStatus.STOPPED)
    stopped = batch_records(run_log, batch_id)
    assert stopped.waiting == [] and stopped.not_started == [("a.txt", "k"), ("b.txt", "k")]
    assert stopped.not_started_note(resumable=False, here=False) == (
        "2 runs of this batch did not start before it stopped."
    )


def test_a_stored_batch_counts_its_runs_deleted_from_the_run_log(tmp_path, run_log):
    store = BatchStore(run_log)
    batch_id = store.create("b", {}, [], [("a.txt", "x", "k"), ("b.txt", "x", "k")])
    for contract in ("a.txt", "b.txt"):
        record = RunRecord(page="batch", provider="ollama", model="m", endpoint="",
                           document_name=contract, document_chars=1, document_sha256="",
                           template="general", status="done", batch_id=batch_id)  # fmt: skip
        run_log.append(record)
        store.start_item(batch_id, contract, "k", record.run_id)
        store.end_item(batch_id, contract, "k", ItemStatus.DONE)
    run_log.delete([store.items(batch_id)[0].run_id])
    shown = batch_records(run_log, batch_id)
    assert list(shown.records) == [("b.txt", "k")] and shown.deleted == 1
    assert shown.deleted_note() == "1 run of this batch was deleted on History."


def test_a_duration_is_said_exactly_for_time_left_and_roughly_for_an_estimate():
    assert [duration(s) for s in (0.2, 59.6, 600, 7260)] == [
        "1 s",
        "1 min 00 s",
        "10 min 00 s",
        "2 h 01 min",
    ]
    assert [duration(s, rough=True) for s in (0.2, 89, 91, 5340, 5460)] == [
        "1 s",
        "89 s",
        "2 min",
        "89 min",
        "1 h 31 min",
    ]


def test_a_live_batch_and_its_silent_run_beat_until_the_batch_ends(tmp_path, run_log, monkeypatch):
    """Nothing said a batch still ran: one its process left "running" showed its contracts
    "waiting" for ever. A running batch, and its run that waits for a silent model, are stamped
    by the process's heartbeat until the batch ends."""
    from lib.store.heartbeat import HEARTBEAT, timestamp

    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=REPORT, fault="stall", fault_after=0)
        config = ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")
        runner = BatchRunner.create(
            name="b", contracts=contracts(1), configs=[config],
            batch_settings=BatchSettings(), settings=settings(tmp_path), run_log=run_log,
        ).start()  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while not upstream.streams() and time.monotonic() < deadline:
                time.sleep(0.01)
            [(run_id)] = [r.run_id for r in run_log.query()]
            for minutes in (1, 2):
                at = datetime.now(UTC) + timedelta(minutes=minutes)
                monkeypatch.setattr(HEARTBEAT, "clock", lambda at=at: at)
                HEARTBEAT.beat()
                with run_log.connect() as db:
                    batch = db.execute("SELECT heartbeat_at FROM batches").fetchone()[0]
                    run = db.execute("SELECT heartbeat_at FROM runs").fetchone()[0]
                assert batch == run == timestamp(at)
            assert BatchStore(run_log).get(runner.batch_id).live()
        finally:
            runner.stop()
            assert runner.wait(20)
    assert not HEARTBEAT.holds(runner.batch_id) and not HEARTBEAT.holds(run_id)
    assert BatchStore(run_log).get(runner.batch_id).status is BatchStatus.STOPPED


def test_a_batch_its_process_left_running_is_resumed_and_beats_again(tmp_path, run_log):
    """Cut off by a crash: its unstarted contracts read "not started", it is offered for a
    resume, and the resume takes it over with a fresh heartbeat and runs what was left."""
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=REPORT)
        config = ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")
        crashed = BatchRunner.create(
            name="b",
            contracts=contracts(2),
            configs=[config],
            batch_settings=BatchSettings(),
            settings=settings(tmp_path),
            run_log=run_log,
        )  # its process died before it started a run
        store = BatchStore(run_log)
        store.beat([crashed.batch_id], datetime.now(UTC) - timedelta(minutes=10))
        assert len(batch_records(run_log, crashed.batch_id).not_started) == 2
        assert [u.info.batch_id for u in unfinished_batches(store)] == [crashed.batch_id]
        again = BatchRunner.resume(
            batch_id=crashed.batch_id, contracts=contracts(2), settings=settings(tmp_path),
            run_log=run_log,
        )  # fmt: skip
        assert store.get(crashed.batch_id).live() and unfinished_batches(store) == []
        assert again.start().wait(30)
    assert store.get(crashed.batch_id).status is BatchStatus.FINISHED
    assert {r.status for r in batch_records(run_log, crashed.batch_id).records.values()} == {
        RunStatus.DONE
    }
