"""Every front end plans a long contract the same way (`lib.runs.run_plan`): Compare, a batch and
`crs-batch` send no request over the model's context, against the fake server in reject mode.
(The API's case is in tests/api/test_api_models.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import FakeUpstream
from devtools.long_contract import long_contract
from lib.analysis.documents import document_from_text
from lib.cli.batch import main
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import Settings
from lib.runs.batch import BatchRunner, BatchSettings
from lib.store.records import STATE_KEY
from lib.store.run_log import RunLog
from tests.test_long_review import CONTEXT, answer

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "compare.py")


@pytest.fixture(scope="module")
def contract():
    return long_contract(300_000)


@pytest.fixture
def small_model(fake_upstream: FakeUpstream) -> FakeUpstream:
    """An 8k-token Ollama model that refuses (reject mode) anything over its context."""
    fake_upstream.app.context_limit, fake_upstream.app.context_mode = CONTEXT, "reject"
    fake_upstream.app.responder = answer
    return fake_upstream


def assert_nothing_over_the_limit(upstream: FakeUpstream) -> None:
    streams = upstream.streams()
    assert len(streams) > 2, "a long review makes several calls"
    assert not [r for r in streams if r.over_limit]


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI])
def test_a_batch_plans_a_long_contract_by_itself(small_model, contract, tmp_path, provider):
    """Ollama says its model's context in /api/show, vLLM in its model list."""
    log = RunLog(tmp_path / "log.sqlite3")
    base = small_model.url + ("/v1" if provider is Provider.OPENAI else "")
    config = ProviderConfig(provider, "llama3.2", base, read_timeout=30)
    runner = BatchRunner.create(
        name="long", contracts=[document_from_text(contract.text, "Franchise.txt")],
        configs=[config], batch_settings=BatchSettings(),
        settings=Settings(history_db_path=tmp_path / "log.sqlite3"), run_log=log,
    ).start()  # fmt: skip
    assert runner.wait(120)
    (record,) = log.query()
    assert record.status == "done", record.error_message
    assert record.strategy == "focus" and record.parts and record.parts > 1
    assert_nothing_over_the_limit(small_model)


def test_crs_batch_plans_a_long_contract_by_itself(small_model, contract, tmp_path, monkeypatch):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    path = tmp_path / "Franchise.txt"
    path.write_text(contract.text)
    code = main(["run", str(path), "--model", f"ollama:llama3.2@{small_model.url}",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    (record,) = RunLog(tmp_path / "log.sqlite3").query()
    assert record.status == "done" and record.strategy == "focus"
    assert_nothing_over_the_limit(small_model)


def test_compare_plans_a_long_contract_on_each_side(small_model, contract, tmp_path, monkeypatch):
    for name in ("OPENAI_BASE_URL", "CRS_ALLOWED_ENDPOINTS", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", small_model.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "h.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert at.selectbox(key="compare0_provider").value == Provider.OLLAMA
    at.text_area(key="compare_text").input(contract.text).run()
    at.button(key="compare").click().run()
    assert not at.exception, at.exception
    records = {r.provider: r for r in at.session_state[STATE_KEY]}
    assert records["ollama"].status == "done", records["ollama"].error_message
    assert records["ollama"].strategy == "focus"
    assert records["clause_finder"].strategy is None  # the clause finder has no context to fit
    assert_nothing_over_the_limit(small_model)
