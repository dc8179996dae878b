"""Every front end plans a long contract the same way (`lib.runs.run_plan`): Compare, a batch and
`crs-batch` send no request over the model's context, against the fake server in reject mode;
and each says the plan and its cost before it runs (`lib.runs.estimate`). (The API's case is in
tests/api/test_api_models.py.)"""

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
from lib.runs.batch import BatchRunner, BatchSettings, estimate_reviews
from lib.runs.batch_sources import sample_contracts
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


def page_env(monkeypatch, upstream: FakeUpstream, tmp_path: Path) -> None:
    """The pages on the fake 8k Ollama (and the clause finder), nothing else configured."""
    for name in ("OPENAI_BASE_URL", "CRS_ALLOWED_ENDPOINTS", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", upstream.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "h.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")


def estimate_lines(at: AppTest) -> list[str]:
    """The estimates a page shows, as written (the page escapes them for Markdown)."""
    lines = [c.value for c in at.caption if c.value.startswith("Estimate:")]
    return [line.removeprefix("Estimate: ").replace("\\", "") for line in lines]


def test_compare_shows_each_sides_plan_and_cost_then_runs_that_plan(
    small_model, contract, tmp_path, monkeypatch
):
    page_env(monkeypatch, small_model, tmp_path)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    at.text_area(key="compare_text").input(contract.text).run()
    assert not at.exception, at.exception
    left, right = estimate_lines(at)
    assert left.startswith("Ollama · llama3.2:latest: focused review, ") and left.endswith(
        "local, no cost, time: no earlier runs of this model to go by"
    )
    # At most: the merge takes rounds when the findings are too long to merge at once.
    calls = int(left.split("focused review, ")[1].split(" calls")[0].removeprefix("up to "))
    assert (
        right
        == "Clause finder (no model): reads the contract itself, no model call, no cost, instant"
    )
    assert not small_model.streams(), "an estimate sends no model a request"
    at.button(key="compare").click().run()
    records = {r.provider: r for r in at.session_state[STATE_KEY]}
    assert records["ollama"].strategy == "focus" and 0 < records["ollama"].parts < calls


def test_portfolio_shows_the_batchs_total_and_its_focused_reviews(
    small_model, tmp_path, monkeypatch
):
    page_env(monkeypatch, small_model, tmp_path)
    at = AppTest.from_file(str(Path(PAGE).parent / "portfolio.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    (total,) = estimate_lines(at)
    samples = {d.name: d for d in sample_contracts()}
    chosen = [samples[name] for name in at.multiselect(key="pf_samples").value]
    config = ProviderConfig(Provider.OLLAMA, "llama3.2:latest", small_model.url)
    estimate = estimate_reviews(chosen, [config], BatchSettings(source="sample"), {}, None)
    assert estimate is not None and estimate.focused >= 1, "an 8k model reviews long ones by parts"
    assert total == estimate.sentence
    assert total.startswith(f"{len(chosen)} runs ({estimate.focused} focused review")
    assert total.endswith("local, no cost, time: no earlier runs of its models to go by")
    assert not small_model.streams(), "an estimate sends no model a request"


def test_crs_batch_estimate_prints_the_plan_and_cost_and_sends_nothing(
    fake_upstream, contract, tmp_path, monkeypatch, capsys
):
    """Claude's window is known without asking (200k tokens): `--estimate` asks nothing at all."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_upstream.url)
    monkeypatch.delenv("CRS_ALLOWED_ENDPOINTS", raising=False)
    path = tmp_path / "Franchise.txt"
    path.write_text(contract.text)
    out = tmp_path / "out"
    code = main(["run", str(path), "--model", "anthropic:claude-sonnet-4-5", "--estimate",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "estimate Franchise.txt · Claude (Anthropic) · claude-sonnet-4-5: one pass, 1 call" in (
        printed
    )
    assert "estimate in all: 1 run, 1 model call, ~" in printed and "up to $" in printed
    assert not fake_upstream.requests, "an estimate sends nothing"
    assert not RunLog(tmp_path / "log.sqlite3").query() and not list(out.glob("*.md"))


def test_crs_batch_says_a_long_contracts_plan_before_running_it(
    small_model, contract, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    path = tmp_path / "Franchise.txt"
    path.write_text(contract.text)
    code = main(["run", str(path), "--model", f"ollama:llama3.2@{small_model.url}", "--estimate",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "Ollama · llama3.2: focused review, " in printed and "local, no cost" in printed
    assert "estimate in all: 1 run (1 focused review), " in printed
    # Only the model's context window was asked (to plan for it), no answer.
    assert not small_model.streams()
