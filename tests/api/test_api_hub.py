"""The hub's streams when their own pump fails: the client is told and the run is let go."""

from __future__ import annotations

import asyncio
import json
import threading

from lib.api.hub import STREAM_FAILED, ApiRun, RunHub


def test_a_pump_that_fails_ends_its_stream_with_an_error_and_the_run(make_record):
    """Before, the pump's task died unseen: the client read keep-alives for ever and the run kept
    its place among the app's runs (text no event could carry did it)."""

    async def scenario() -> ApiRun:
        hub = RunHub(resume_grace_s=0.01, stats_interval_s=1.0)
        run = ApiRun(make_record(), live=None, resume=False)

        async def pump() -> None:
            run.add({"type": "token", "text": "so far"})
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

        await hub._guarded(run, pump())
        return run

    run = asyncio.run(scenario())
    assert run.ended
    last = json.loads(run.events[-1].decode().split("data: ", 1)[1])
    assert last == {"type": "error", "message": STREAM_FAILED, "kind": "bad_response", "notes": []}


def test_an_upload_refused_while_the_reader_is_busy_is_a_429_not_a_bad_file():
    """The file is fine: a client told 400 would give up on it; 429 says send it again."""
    import pytest

    from lib.api.report_request import ApiError, ReportRequest, Upload, read_document
    from lib.engine.settings import load_settings
    from lib.runs import document_sandbox

    settings = load_settings({"CRS_MAX_PARSES": "1"})
    upload = Upload("deal.txt", b"1. Term. Two years.")
    assert document_sandbox._CHILDREN.admit(1)  # another session's file being read
    try:
        with pytest.raises(ApiError) as refused:
            read_document(ReportRequest(), upload, settings)
    finally:
        document_sandbox._CHILDREN.release()
    assert refused.value.status == 429 and refused.value.body["kind"] == "reader_busy"
    # "Send it again in a moment", as the docs say: not the 60 s a run's place may take.
    assert refused.value.retry_after_s == 2
    assert read_document(ReportRequest(), upload, settings).text.startswith("1. Term.")


def test_an_ended_runs_events_are_kept_a_grace_from_when_its_last_client_left(make_record):
    """The grace was counted from the run's end: a resuming client that had fallen behind and
    came back within the grace found its run's events gone (404) and never got `done`."""
    import time

    async def scenario() -> tuple[bool, bool]:
        hub = RunHub(resume_grace_s=0.6, stats_interval_s=1.0)
        run = ApiRun(make_record(), live=None, resume=True, ended=True)
        hub._runs[run.run_id] = run
        run.left_at = time.monotonic() - 0.3  # the client dropped 0.3 s before the run ended
        hub._forget(run)
        kept = run.run_id in hub._runs
        await asyncio.sleep(0.6)
        return kept, run.run_id in hub._runs

    kept, still = asyncio.run(scenario())
    assert kept and not still


def test_a_stats_event_counts_thinking_only_for_a_run_that_thought():
    """A run that never thought had `thinking_tokens: 0` in its stats events and null in its
    done event and record."""
    from lib.api.hub import stats_event
    from lib.engine.run_stats import RunStats

    plain = RunStats(started_at=1.0)
    plain.add_text("Answer", now=1.5)
    assert stats_event(plain)["thinking_tokens"] is None
    thinking = RunStats(started_at=1.0)
    thinking.add_thinking("weigh the cap", now=1.1)
    assert stats_event(thinking)["thinking_tokens"] == thinking.thinking_token_count > 0


def test_a_run_refused_before_its_first_request_ends_with_an_error_event(fake_upstream):
    """A run its model cannot hold streamed `start` then `done` with status "error": no `error`
    event, no kind, no message."""
    from lib.analysis.documents import document_from_text
    from lib.engine.provider_config import Provider, ProviderConfig
    from lib.engine.settings import load_settings
    from lib.runs.launch import RunRequest, launch
    from lib.store.records import SessionHistory

    fake_upstream.app.context_limit = 1024
    clauses = "\n".join(
        f"{i}. Term {i}. The parties agree to clause {i} in full." for i in range(900)
    )
    request = RunRequest(
        "api", ProviderConfig(Provider.OLLAMA, "llama3.2", fake_upstream.url),
        document_from_text(clauses, "Long"), "general", "", "", 512, 0.2,
    )  # fmt: skip
    settings = load_settings({"CRS_HISTORY": "off"})

    async def scenario() -> list[dict]:
        hub = RunHub(resume_grace_s=0.01, stats_interval_s=1.0)
        run = await hub.start(
            lambda notify: launch(
                request, history=SessionHistory([]), run_log=None, settings=settings, notify=notify
            ),
            resume=False,
        )
        while not run.ended:
            await run.changed.wait()
        return [json.loads(e.decode().split("data: ", 1)[1]) for e in run.events]

    events = asyncio.run(scenario())
    assert [e["type"] for e in events] == ["start", "error"]
    assert events[-1]["kind"] == "context_too_long" and "does not fit" in events[-1]["message"]
    assert fake_upstream.streams() == []


class _StubbornStream:
    """A model stream that goes on blocking after it was closed, until let go: the window in
    which a stopped run's worker has not yet written its record."""

    def __init__(self) -> None:
        from lib.engine.run_stats import RunStats

        self.stats = RunStats(started_at=1.0)
        self.released = threading.Event()

    def __iter__(self):
        self.released.wait(10)
        return iter(())

    def close(self) -> None:
        from lib.engine.run_stats import RunStatus

        self.stats.finish(RunStatus.CANCELLED)

    def refuse(self, error) -> None:
        raise AssertionError("not refused")


def test_a_second_delete_gives_the_status_get_gives_while_the_stop_is_carried_out(make_record):
    """The second DELETE answered `{"stopped": false, "status": "running"}` (the record, written
    when the run has ended) while `GET /api/runs/{id}` already said "cancelled" (its figures)."""
    from fastapi.testclient import TestClient

    from lib.api.app import create_app
    from lib.api.config import ApiConfig
    from lib.engine.settings import load_settings
    from lib.runs.live import LiveRun

    stream = _StubbornStream()
    run = ApiRun(make_record(), live=LiveRun(stream), resume=True)
    app = create_app(load_settings({"CRS_HISTORY": "off"}), ApiConfig(host="127.0.0.1"))
    app.state.hub._runs[run.run_id] = run
    url = f"/api/runs/{run.run_id}"
    try:
        with TestClient(app, base_url="http://localhost") as client:
            assert client.delete(url).json() == {"run_id": run.run_id, "stopped": True}
            assert run.record.status.value == "running" and not run.ended  # its worker runs on
            assert client.get(url).json()["status"] == "cancelled"
            again = client.delete(url).json()
            assert again == {"run_id": run.run_id, "stopped": False, "status": "cancelled"}
    finally:
        stream.released.set()
