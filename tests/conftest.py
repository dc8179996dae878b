"""Fixtures every test file may use: the fake model server and one way to build a run record.

Documents (PDF, Word) come from `devtools.sample_files`, which the benchmarks share.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1.element_tree import UnknownElement

from devtools.fake_upstream import FakeUpstream
from devtools.postgres import Cluster, PostgresUnavailable, throwaway_cluster
from lib.analysis import ocr
from lib.analysis.ocr import ocr_status
from lib.store.records import RunRecord

# Every property test draws the same examples every run: CI is green or red for the code, not for
# the draw (a random draw once found a case no run before had, and failed one CI in several).
# A case a draw finds is kept as an explicit `@example`; `--hypothesis-seed` explores anew.
settings.register_profile("repeatable", derandomize=True)
settings.load_profile("repeatable")

RECORD_DEFAULTS: dict[str, Any] = {
    "page": "review",
    "provider": "ollama",
    "model": "llama3.2",
    "endpoint": "http://localhost:11434",
    "document_name": "Acme MSA.pdf",
    "document_chars": 1200,
    "document_sha256": "ab" * 32,
    "template": "general",
}


@pytest.fixture(autouse=True)
def nothing_remembered_from_another_test() -> None:
    """What a process remembers of a model server (its context window, a warning already given,
    the pages' cached estimates and plans) is keyed by the server's URL. Each test's fake server
    takes a free port, and the system hands a port out again: a test read another's context
    window and estimate (a run planned for a window the server no longer had), and the endpoint
    pool's figures of another's (a run sent to the other endpoint, as this URL was picked last)."""
    import streamlit as st

    from lib.runs import run_plan
    from lib.runs.endpoint_pool import POOL

    with run_plan._detected_lock:
        run_plan._detected.clear()
        run_plan._warned.clear()
    with POOL._room:
        POOL._states.clear()
    st.cache_data.clear()


@pytest.fixture
def fake_upstream() -> Iterator[FakeUpstream]:
    """A fresh fake model server on a free loopback port for one test."""
    with FakeUpstream() as upstream:
        yield upstream


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the whole run. Without PostgreSQL the tests that need
    it skip — unless CRS_REQUIRE_POSTGRES=1 (CI), where they must run."""
    try:
        with throwaway_cluster() as cluster:
            yield cluster
    except PostgresUnavailable as exc:
        if os.environ.get("CRS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CRS_REQUIRE_POSTGRES=1 but PostgreSQL cannot start: {exc}")
        pytest.skip(f"no PostgreSQL here: {exc}")


@pytest.fixture
def ocr_engine() -> None:
    """Tesseract and its English model. Without them the tests that read scans skip, saying what
    to install — unless CRS_REQUIRE_OCR=1 (CI), where they must run."""
    status = ocr_status()
    if status.available:
        return
    if os.environ.get("CRS_REQUIRE_OCR") == "1":
        pytest.fail(f"CRS_REQUIRE_OCR=1 but OCR cannot run: {status.message}")
    pytest.skip(status.message)


@pytest.fixture
def empty_ocr_cache() -> Iterator[None]:
    """The server-wide OCR cache empty before and after: a scan read by one test must not be
    found read by the next."""
    ocr.CACHE.clear()
    yield
    ocr.CACHE.clear()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> str:
    """A fresh, empty database of the session's cluster, for one test."""
    return postgres_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def log_target(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Where a run log lives, once per database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "h.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def make_record() -> Callable[..., RunRecord]:
    """`make_record(**fields)`: a run record of a review of "Acme MSA.pdf" by a local model,
    still running unless told otherwise; any field can be overridden."""

    def make(**fields: Any) -> RunRecord:
        return RunRecord(**{**RECORD_DEFAULTS, **fields})

    return make


@dataclass(frozen=True)
class Download:
    data: bytes
    mimetype: str
    file_name: str | None


class Downloads:
    """What each download button of an AppTest run would hand the browser, found by its URL."""

    def __init__(self) -> None:
        self.by_url: dict[str, Download] = {}

    def of(self, button: UnknownElement) -> Download:
        return self.by_url[button.proto.url]


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> Downloads:
    """Records the bytes behind every download button: AppTest shows only a button's label, and
    a test of an export must read what the analyst would get."""
    seen = Downloads()
    add = MediaFileManager.add

    def recording_add(self: MediaFileManager, data: bytes | str, mimetype: str, *args, **kw) -> str:
        url = add(self, data, mimetype, *args, **kw)
        if isinstance(data, bytes):
            seen.by_url[url] = Download(data, mimetype, kw.get("file_name"))
        return url

    monkeypatch.setattr(MediaFileManager, "add", recording_add)
    return seen
