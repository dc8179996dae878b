"""The process's bounds on load: each refuses (or holds back) the request one over its limit with a
message that names the setting."""

from __future__ import annotations

import threading
import time

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from lib.analysis.documents import Document, DocumentError
from lib.engine.limits import OcrLimits, RunLimits, Sandbox
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import load_settings
from lib.runs import batch_sources, document_sandbox
from lib.runs.batch import BatchRunner, BatchSettings
from lib.runs.batch_sources import ReadCache, folder_contracts, read_files
from lib.runs.document_sandbox import ReaderBusy, UploadCache, read_upload
from lib.runs.launch import RunRequest, launch
from lib.runs.live import STREAMS_IN_FLIGHT
from lib.runs.ocr_job import OcrJob
from lib.store.records import SessionHistory

HANGING = ("-c", "import time; time.sleep(60)")


def test_the_bounds_have_stated_defaults_and_operator_overrides():
    default = load_settings({})
    assert (default.sandbox.max_children, default.ocr_limits.max_seconds) == (4, 600.0)
    chosen = {"CRS_MAX_PARSES": "2", "CRS_OCR_MAX_SECONDS": "120"}
    set_up = load_settings(chosen)
    assert (set_up.sandbox.max_children, set_up.ocr_limits.max_seconds) == (2, 120.0)
    assert load_settings({"CRS_OCR_MAX_SECONDS": "0"}).ocr_limits.max_seconds == 0  # no cap
    with pytest.raises(ValueError, match="CRS_OCR_MAX_SECONDS must be a number 0 or more, not"):
        load_settings({"CRS_OCR_MAX_SECONDS": "junk"})


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        # A negative limit read as "no limit" (the checks are > 0), like 0.
        ("CRS_MAX_RUN_SECONDS", "-5", "must be a number 0 or more"),
        ("CRS_MAX_CONCURRENT_RUNS", "-3", "must be a number 0 or more"),
        # A fraction was cut to a whole number: 0.5 pages refused every PDF.
        ("CRS_MAX_PAGES", "0.5", "must be a whole number"),
        ("CRS_MAX_CONCURRENT_RUNS", "1.9", "must be a whole number"),
        # An on/off word not understood left the setting at its default: the lock open.
        ("CRS_LOCK_ENDPOINTS", "enabled", "must be on or off"),
        ("CRS_HISTORY", "disabled", "must be on or off"),
        ("CRS_STORE_CONTRACTS", "ture", "must be on or off"),
    ],
)
def test_a_setting_that_would_quietly_mean_something_else_is_refused_by_name(name, value, said):
    with pytest.raises(ValueError, match=f"{name} {said}, not '{value}'"):
        load_settings({name: value})
    assert load_settings({name: "1"}) is not None  # a plain value is taken


def test_a_reader_child_one_over_the_cap_is_refused_and_not_remembered():
    box = Sandbox(seconds=20, max_children=1)

    def hold() -> None:
        with pytest.raises(DocumentError, match="took longer"):
            read_upload(b"x", "slow.txt", sandbox=Sandbox(seconds=5, max_children=1),
                        worker=HANGING)  # fmt: skip

    holder = threading.Thread(target=hold)
    holder.start()
    deadline = time.monotonic() + 10
    while reading_now() == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    cache = UploadCache()
    with pytest.raises(ReaderBusy, match="CRS_MAX_PARSES"):
        cache.read(b"text", "second.txt", lambda d, n: read_upload(d, n, sandbox=box))
    holder.join(30)
    # Once the child is free, the same file is read: the refusal was not cached.
    document = cache.read(b"text", "second.txt", lambda d, n: read_upload(d, n, sandbox=box))
    assert document.text == "text"


def reading_now() -> int:
    """Reader children running in this process now."""
    return document_sandbox._CHILDREN.count


def test_a_folder_file_over_the_size_limit_is_left_out_without_being_read(tmp_path, monkeypatch):
    (tmp_path / "small.txt").write_text("A short contract.")
    with (tmp_path / "huge.txt").open("wb") as file:
        file.truncate(3 * 1_048_576)  # sparse: 3 MB by its size
    opened: list[str] = []
    real_open = type(tmp_path).open

    def watching_open(self, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "open", watching_open)
    loaded = folder_contracts(tmp_path, load_settings({"CRS_MAX_UPLOAD_MB": "1"}))
    assert [d.name for d in loaded.documents] == ["small.txt"]
    [(name, problem)] = loaded.problems
    assert name == "huge.txt" and "3.0 MB; the limit is 1 MB" in problem
    assert "huge.txt" not in opened


def test_a_rerun_reads_only_new_files(monkeypatch):
    reads: list[str] = []
    real = batch_sources.read_upload

    def counting(data: bytes, name: str, **kwargs) -> Document:
        reads.append(name)
        return real(data, name, **kwargs)

    monkeypatch.setattr(batch_sources, "read_upload", counting)
    cache = ReadCache()
    first = read_files([("a.txt", b"Alpha."), ("b.txt", b"Beta.")], load_settings({}), cache)
    again = read_files(
        [("a.txt", b"Alpha."), ("b.txt", b"Beta."), ("c.txt", b"Gamma.")], load_settings({}), cache
    )
    assert reads == ["a.txt", "b.txt", "c.txt"]
    assert [d.name for d in first.documents] == ["a.txt", "b.txt"]
    assert [d.text for d in again.documents] == ["Alpha.", "Beta.", "Gamma."]
    read_files([("a.txt", b"Alpha, changed.")], load_settings({}), cache)
    assert reads[-1] == "a.txt" and len(reads) == 4


def test_a_file_read_from_another_folder_is_named_from_that_folder(tmp_path):
    """The cache once gave a file the name it had when its parent folder was listed: a batch of
    folder "a" stored "a/contract1.txt", and read again from "a" found no such contract."""
    settings = load_settings({"CRS_BATCH_DIRS": str(tmp_path)})
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "contract1.txt").write_text("1. Term. Two years.")
    cache = ReadCache()
    whole = folder_contracts(tmp_path, settings, settings.batch_dirs, cache)
    assert [d.name for d in whole.documents] == ["a/contract1.txt"]
    sub = folder_contracts(tmp_path / "a", settings, settings.batch_dirs, cache)
    assert [d.name for d in sub.documents] == ["contract1.txt"]


def test_the_ocr_reader_is_held_at_most_its_limit_and_then_passed_on():
    limits = OcrLimits(base_seconds=30.0, seconds_per_page=20.0, max_seconds=2.0)
    first = OcrJob(b"%PDF", [1, 2, 3], limits, worker=HANGING)
    second = OcrJob(b"%PDF-other", [1], limits, worker=HANGING)
    first.join(30)
    assert first.finished and first.result is None
    assert first.error is not None and "CRS_OCR_MAX_SECONDS" in first.error
    assert "after 2 s" in first.error
    # The next session's run got the reader once the first let go of it.
    second.join(30)
    assert second.finished and second.error is not None and "CRS_OCR_MAX_SECONDS" in second.error


def test_batch_workers_count_against_the_run_cap_and_a_review_one_over_is_refused():
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=[f" t{i}" for i in range(100)], delay=0.05)
        settings = load_settings({"OPENAI_BASE_URL": upstream.url + "/v1"})
        settings = type(settings)(
            **{**settings.__dict__, "run_limits": RunLimits(max_concurrent_runs=2)}
        )
        config = ProviderConfig(Provider.OPENAI, "m", upstream.url + "/v1")
        contracts = [Document(f"c{i}.txt", f"Contract {i}.", "txt", 12) for i in range(4)]
        runner = BatchRunner.create(
            name="four", contracts=contracts, configs=[config],
            batch_settings=BatchSettings(), settings=settings, run_log=None,
            concurrency={"openai": 4},
        ).start()  # fmt: skip
        deadline = time.monotonic() + 20
        while runner.progress().waiting < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        progress = runner.progress()
        assert STREAMS_IN_FLIGHT.count == 2
        assert progress.waiting == 2 and "2 waiting" in progress.line()
        # A review asked for now is the run one over the cap: refused, saying which setting.
        _, live = launch(
            RunRequest("review", config, contracts[0], "general", "", "", 100, 0.0),
            history=SessionHistory([]), run_log=None, settings=settings,
        )  # fmt: skip
        live.cancel()
        assert live.error is not None and "CRS_MAX_CONCURRENT_RUNS" in str(live.error)
        assert runner.wait(60)
        # The server marks a stream complete once its last frame is out, which may be just after
        # the client read it: wait for that mark, not for a time.
        deadline = time.monotonic() + 15
        while not all(s.completed for s in upstream.streams()) and time.monotonic() < deadline:
            time.sleep(0.02)
        streams = upstream.streams()
        assert len(streams) == 4 and all(s.completed for s in streams)
        # Never more than two requests in flight at the server.
        events = sorted(
            [(s.started, 1) for s in streams] + [(s.token_times[-1], -1) for s in streams]
        )
        running = peak = 0
        for _, step in events:
            running += step
            peak = max(peak, running)
        assert peak <= 2
    assert STREAMS_IN_FLIGHT.count == 0


def test_settings_the_pages_and_batch_read_alike_are_refused_or_expanded_alike(tmp_path):
    with pytest.raises(ValueError, match="CRS_BATCH_CONCURRENCY takes provider=N"):
        load_settings({"CRS_BATCH_CONCURRENCY": "ollama=two"})  # was dropped: defaults ran
    with pytest.raises(ValueError, match="Unknown provider in CRS_BATCH_CONCURRENCY 'olama=3'"):
        load_settings({"CRS_BATCH_CONCURRENCY": "olama=3"})
    assert load_settings({"CRS_BATCH_CONCURRENCY": "ollama=3"}).batch_concurrency == {"ollama": 3}
    for bad in ("nan", "inf"):  # NaN priced every run at nothing, with no word of it
        with pytest.raises(ValueError, match=r'\[prices."llama3"\]'):
            load_settings({}, {"prices": {"llama3": {"input": bad, "output": 1}}})
    with pytest.raises(ValueError, match=r"\[prices\] in the secrets file is a table"):
        load_settings({}, {"prices": "x"})
    with pytest.raises(ValueError, match="ANTHROPIC_BASE_URL must start with http"):
        load_settings({"ANTHROPIC_BASE_URL": "ftp://user:secret@x"})
    home = load_settings({"CRS_HISTORY_DB": "~/crs/h.sqlite3", "CRS_UPLOAD_DIR": "~/up"})
    assert "~" not in str(home.history_db_path) and "~" not in str(home.upload_dir)
    assert str(home.history_db_path).endswith("crs/h.sqlite3")
