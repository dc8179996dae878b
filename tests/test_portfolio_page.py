"""The Portfolio page through AppTest: a stored batch's grid, its exports, scoring it, and model
or file text that cannot make the analyst's browser fetch anything."""

from __future__ import annotations

import csv
import io
import json
import re
from hashlib import sha256
from pathlib import Path

import openpyxl
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

from lib.analysis.samples import all_samples
from lib.analysis.scorecard import Scorecard, summary_rows
from lib.runs.batch import BatchSettings, model_label
from lib.store.batch_store import BatchStatus, BatchStore, ItemStatus
from lib.store.records import RunRecord
from lib.store.run_log import RunLog
from lib.ui.portfolio_sections import BATCH_KEY, SHOWN_KEY
from tests.test_scorecard_chart import MIN_ROW_PX, rows_of

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "portfolio.py")
SPEC = {
    "provider": "ollama",
    "model": "llama3.2",
    "base_url": "http://127.0.0.1:9",
    "context_length": None,
}
KEY = "ollama:llama3.2@http://127.0.0.1:9"


def stored_batch(path: Path, name: str = "three", extra: str = "") -> str:
    """Three sample contracts reviewed by one model; `extra` is appended to every report."""
    log = RunLog(path)
    store = BatchStore(log)
    samples = all_samples()[:3]
    batch_id = store.create(name, {**BatchSettings(source="sample").__dict__}, [SPEC],
                            [(s.file_name, "x", KEY) for s in samples])  # fmt: skip
    for sample in samples:
        law = sample.spans["Governing Law"]
        # The span itself as the quote, on one line with its own quote marks made single.
        quote = '"' + " ".join(law[0].replace('"', "'").split()) + '"' if law else "not found"
        report = (
            "## Overall risk: MEDIUM\n## Clause by clause\n"
            f"### Governing law and disputes — YELLOW\n- Found: yes — {quote}\n{extra}"
        )
        record = RunRecord(page="batch", provider="ollama", model="llama3.2", endpoint="http://127.0.0.1:9",
                           document_name=sample.file_name, document_chars=1,
                           document_sha256=sha256(sample.text.encode()).hexdigest(),
                           template="general", report=report, status="done", batch_id=batch_id)  # fmt: skip
        log.append(record)
        store.start_item(batch_id, sample.file_name, KEY, record.run_id)
        store.end_item(batch_id, sample.file_name, KEY, ItemStatus.DONE)
    return batch_id


def page_env(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    return path


def export(at: AppTest, downloads, name: str) -> bytes:
    (button,) = [b for b in at.get("download_button") if b.label == name]
    return downloads.of(button).data


def test_grid_exports_and_scorecard_of_a_stored_batch(tmp_path, monkeypatch, downloads):
    path = page_env(tmp_path, monkeypatch)
    batch_id = stored_batch(path)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "Findings grid" in [h.value for h in at.subheader]
    grid = at.dataframe[0].value
    assert len(grid) == 3 and set(grid["Governing law and disputes"]) == {"YELLOW"}
    assert set(grid["Audit rights"]) == {"missing"}
    assert any("3 of 3 rows" in c.value for c in at.caption)
    names = sorted(s.file_name for s in all_samples()[:3])

    # The exports hold the grid as shown: one row per contract, its levels per category.
    rows = list(csv.DictReader(io.StringIO(export(at, downloads, "Export CSV").decode())))
    assert sorted(r["contract"] for r in rows) == names
    assert {r["Governing law and disputes"] for r in rows} == {"YELLOW"}
    assert {r["Audit rights"] for r in rows} == {"missing"}
    assert {r["risk"] for r in rows} == {"MEDIUM"} and {r["YELLOW"] for r in rows} == {"1"}
    sheet = openpyxl.load_workbook(io.BytesIO(export(at, downloads, "Export XLSX"))).active
    header = [c.value for c in sheet[1]]
    assert header == list(rows[0])
    law = header.index("Governing law and disputes") + 1
    assert [sheet.cell(r, law).value for r in range(2, 5)] == ["YELLOW"] * 3
    assert sheet.cell(2, law).fill.fgColor.rgb.endswith("FFF3CD")

    # Filtered to nothing, the export holds the header only.
    at.text_input(key="pf_f_name").input("no such contract").run()
    assert list(csv.reader(io.StringIO(export(at, downloads, "Export CSV").decode())))[1:] == []
    at.text_input(key="pf_f_name").input("").run()

    at.button(key="pf_score").click().run()
    assert not at.exception
    [stored] = BatchStore(RunLog(path)).scorecards()
    assert stored.batch_id == batch_id and stored.labels.startswith("CUAD sample")
    [model] = stored.body["models"]
    law = next(c for c in model["categories"] if c["category"] == "Governing Law")
    labelled = sum(bool(s.spans["Governing Law"]) for s in all_samples()[:3])
    assert (
        law["labelled"] == labelled
        and law["presence"][0] == labelled
        and law["right_hits"] == labelled
    )
    assert model["quotes_not_found"] == 0 and model["quotes"] == labelled
    # Both charts as the page draws them: a row of readable height per model and per category.
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    assert len(charts) == 2 and all(rows_of(chart) >= MIN_ROW_PX for chart in charts)

    # The scorecard download is the summary shown: one row for the model, its figures.
    [row] = list(
        csv.DictReader(io.StringIO(export(at, downloads, "Download scorecard (CSV)").decode()))
    )
    [expected] = summary_rows(Scorecard.from_dict(stored.body))
    assert row["model"] == model_label(SPEC) == expected["model"]
    assert int(row["contracts"]) == 3
    assert float(row["presence F1"]) == pytest.approx(expected["presence F1"])
    assert float(row["right clause"]) == pytest.approx(expected["right clause"])


PORT = 9
IMAGE = f"![x](http://127.0.0.1:{PORT}/p.png?q=secret)"
RAW = f'<img src="http://127.0.0.1:{PORT}/raw.png">'
HOSTILE = (
    f"- Also: {IMAGE} and {RAW}\n"
    f'- Found: yes — "![q](http://127.0.0.1:{PORT}/q.png) is not in the contract"\n'
    f"### Something new {IMAGE} {RAW} — RED\n- Found: yes {IMAGE}\n"
)
_CODE = re.compile(r"<code>.*?</code>", re.S)


def fetches(markdown: str) -> list[str]:
    """What a Markdown renderer would make the browser load or link from this text: images, raw
    HTML and links to the listener's port (a URL shown in a code span is text)."""
    html = _CODE.sub("", MarkdownIt("commonmark").enable("table").render(markdown))
    found = re.findall(
        r"<img[^>]*>|<a [^>]*>|<(?!/?(?:p|strong|em|ul|ol|li|h\d|br|hr)\b)[a-z]+", html
    )
    return found + ([f"port {PORT}"] if f"127.0.0.1:{PORT}" in html else [])


def shown_markdown(at: AppTest) -> list[str]:
    """Every piece of text the page hands Streamlit as Markdown, column tooltips included (the
    level legend, the page's own HTML, aside)."""
    kinds = ("markdown", "caption", "warning", "error", "info", "subheader")
    elements = [e for kind in kinds for e in getattr(at, kind)]
    texts = [e.value for e in elements if not getattr(e.proto, "allow_html", False)]
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        texts += [str(c.get("help", "")) for c in config.values() if isinstance(c, dict)]
    return texts


def test_model_and_file_text_is_defused_everywhere_on_the_page(tmp_path, monkeypatch):
    path = page_env(tmp_path, monkeypatch)
    stored_batch(path, name=f"batch {IMAGE} {RAW}", extra=HOSTILE)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    grid = at.dataframe[0].value
    hostile_column = next(c for c in grid.columns if "p.png" in c)
    config = json.loads(at.dataframe[0].proto.columns)
    assert any("p.png" in str(c.get("help", "")) for c in config.values() if isinstance(c, dict))
    # Open the governing-law cell (its section holds the image) and the hostile heading's cell.
    for column in ("Governing law and disputes", hostile_column):
        at.session_state["pf_grid"] = {
            "selection": {"rows": [], "columns": [], "cells": [[0, column]]}
        }
        at.run()
        assert not at.exception
        assert any("Not found in the contract" in w.value for w in at.warning) or column != (
            "Governing law and disputes"
        )
        leaks = {text: fetches(text) for text in shown_markdown(at) if fetches(text)}
        assert leaks == {}, leaks
    # The words are still there to read, as text.
    assert any("image not loaded" in m.value or "p.png" in m.value for m in at.markdown)
    at.button(key="pf_score").click().run()
    assert not at.exception
    assert any("batch" in c.value and "p.png" in c.value for c in at.caption)
    leaks = {text: fetches(text) for text in shown_markdown(at) if fetches(text)}
    assert leaks == {}, leaks


def test_a_batch_this_session_starts_is_shown_and_a_later_pick_stays(tmp_path, monkeypatch):
    # The batch picker is a keyed widget: it kept showing the batch picked before, so a batch
    # that had just finished stayed off screen until the page was reloaded.
    path = page_env(tmp_path, monkeypatch)
    old = stored_batch(path, "old")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.selectbox(key=SHOWN_KEY).value == old
    new = stored_batch(path, "new")
    at.session_state[BATCH_KEY] = new  # what Run batch (or Resume) sets
    at.run()
    assert not at.exception
    assert at.selectbox(key=SHOWN_KEY).value == new
    assert "new · " in at.selectbox(key=SHOWN_KEY).format_func(new)
    at.selectbox(key=SHOWN_KEY).select(old).run()
    at.run()
    assert at.selectbox(key=SHOWN_KEY).value == old


def test_a_scorecard_is_shown_under_the_batch_it_scored_only(tmp_path, monkeypatch):
    """Scored, then another batch shown: the page kept the first batch's card, figures and
    models it did not run included, under the second."""
    path = page_env(tmp_path, monkeypatch)
    first = stored_batch(path, "first")
    second = stored_batch(path, "second")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key=SHOWN_KEY).select(first).run()
    at.button(key="pf_score").click().run()
    assert any(b.label == "Download scorecard (CSV)" for b in at.get("download_button"))
    at.selectbox(key=SHOWN_KEY).select(second).run()
    assert not at.exception
    assert not any(b.label == "Download scorecard (CSV)" for b in at.get("download_button"))
    at.selectbox(key=SHOWN_KEY).select(first).run()
    assert any(b.label == "Download scorecard (CSV)" for b in at.get("download_button"))


def test_a_cell_selected_in_one_batch_is_not_opened_in_the_next_one_shown(tmp_path, monkeypatch):
    path = page_env(tmp_path, monkeypatch)
    first = stored_batch(path, "first")
    second = stored_batch(path, "second")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key=SHOWN_KEY).select(first).run()
    column = "Governing law and disputes"
    at.session_state["pf_grid"] = {"selection": {"rows": [], "columns": [], "cells": [[0, column]]}}
    at.run()
    opened = [m.value for m in at.markdown if m.value.startswith("**") and " · " in m.value]
    assert opened, "the selected cell opens its passage"
    at.selectbox(key=SHOWN_KEY).select(second).run()
    assert not at.exception
    assert not [m.value for m in at.markdown if m.value.startswith("**") and " · " in m.value]


def test_a_report_per_contract_opens_its_quotes_in_the_contract(tmp_path, monkeypatch):
    """The batch has the sample's text: the report's quotes open their passages, as on the
    Review page (without it the view said only how many quotes were checked)."""
    path = page_env(tmp_path, monkeypatch)
    stored_batch(path)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="pf_report_view_passage").options


def test_a_reloaded_page_finds_its_running_batch_and_stop_stops_it(tmp_path, monkeypatch):
    """After a reload (a new session) the grid showed the batch but Stop did nothing, and the
    model kept being asked for every contract left."""
    from devtools.fake_upstream import FakeUpstream, Script
    from lib.engine.provider_config import Provider, ProviderConfig
    from lib.engine.settings import load_settings
    from lib.runs.batch import RUNNING, BatchSettings
    from lib.runs.batch_sources import sample_contracts
    from lib.runs.portfolio_session import start_batch

    path = page_env(tmp_path, monkeypatch)
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=[f" w{i}" for i in range(200)], delay=0.05)
        config = ProviderConfig(Provider.OLLAMA, "llama3.2", upstream.url, read_timeout=10)
        settings = load_settings({"CRS_HISTORY_DB": str(path)})
        runner = start_batch(
            sample_contracts()[:4], [config], BatchSettings(source="sample"), settings,
            RunLog(path),
        )  # fmt: skip
        try:
            # A viewer who may see every batch but owns none of this one (an admin) is not
            # handed it: their Stop would stop someone else's batch.
            monkeypatch.setenv("CRS_ADMINS", "root")
            admin = AppTest.from_file(PAGE, default_timeout=60)
            admin.user = {"is_logged_in": True, "email": "root", "email_verified": True}
            monkeypatch.setattr("lib.ui.identity._login_configured", lambda: True)
            admin.run()
            assert not admin.exception and BATCH_KEY not in admin.session_state
            monkeypatch.setattr("lib.ui.identity._login_configured", lambda: False)
            # The analyst of this one-user app, in a new session (a reload): no batch id kept.
            at = AppTest.from_file(PAGE, default_timeout=60).run()
            assert not at.exception
            assert at.session_state[BATCH_KEY] == runner.batch_id
            at.button(key="pf_stop").click().run()
            assert runner.wait(30) and RUNNING.get(runner.batch_id) is runner
            assert len(upstream.streams()) < 4  # the contracts left were never sent
        finally:
            runner.stop()


def running_batch(path: Path, started: int = 1, done: int = 0) -> tuple[str, list[str]]:
    """A stored batch of three sample contracts, still running: its first `done` runs complete,
    the next `started` still streaming, and the rest waiting for a place."""
    log = RunLog(path)
    store = BatchStore(log)
    samples = all_samples()[:3]
    batch_id = store.create("live", {**BatchSettings(source="sample").__dict__}, [SPEC],
                            [(s.file_name, "x", KEY) for s in samples])  # fmt: skip
    for i, sample in enumerate(samples[: done + started]):
        status = "done" if i < done else "running"
        record = RunRecord(page="batch", provider="ollama", model="llama3.2", endpoint="",
                           document_name=sample.file_name, document_chars=1,
                           document_sha256=sha256(sample.text.encode()).hexdigest(),
                           template="general", report="## Overall risk: HIGH\n", status=status,
                           batch_id=batch_id)  # fmt: skip
        log.append(record)
        store.start_item(batch_id, sample.file_name, KEY, record.run_id)
        if status == "done":
            store.end_item(batch_id, sample.file_name, KEY, ItemStatus.DONE)
    return batch_id, sorted(s.file_name for s in samples)


def test_a_running_batch_shows_every_contract_those_not_started_waiting(
    tmp_path, monkeypatch, downloads
):
    """A 40-contract batch showed only the runs begun (6 rows): the contracts still queued
    behind the cap had no row, so the analyst could not tell what was still to come."""
    from lib.runs.portfolio import WAITING

    path = page_env(tmp_path, monkeypatch)
    _, names = running_batch(path)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    grid = at.dataframe(key="pf_grid").value
    assert sorted(grid["contract"]) == names
    assert sorted(grid["status"]) == ["running", WAITING, WAITING]
    waiting = grid[grid["status"] == WAITING]
    assert set(waiting["Audit rights"]) == {WAITING} and set(waiting["risk"]) == {""}
    # The exports of a running batch are the grid as shown: every contract, the waiting ones
    # saying so, so a file taken mid-batch never passes for the whole batch's findings.
    rows = list(csv.DictReader(io.StringIO(export(at, downloads, "Export CSV").decode())))
    assert sorted(r["contract"] for r in rows) == names
    assert sorted(r["status"] for r in rows) == ["running", WAITING, WAITING]
    # A waiting row's cell opens no passage, and no error.
    at.session_state["pf_grid"] = {
        "selection": {"rows": [], "columns": [], "cells": [[2, "Audit rights"]]}
    }
    at.run()
    assert not at.exception
    assert any("not started yet" in i.value for i in at.info)


def test_a_stopped_batch_lists_the_contracts_it_never_started(tmp_path, monkeypatch, downloads):
    """Once a batch stopped, the contracts it had not started lost their rows: the grid and its
    exports held 1 of the batch's 3 contracts, with no word of the other 2."""
    from lib.runs.portfolio import NOT_STARTED

    path = page_env(tmp_path, monkeypatch)
    batch_id, names = running_batch(path, started=0, done=1)
    BatchStore(RunLog(path)).set_status(batch_id, BatchStatus.STOPPED)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    grid = at.dataframe(key="pf_grid").value
    assert sorted(grid["contract"]) == names
    assert sorted(grid["status"]) == ["complete", NOT_STARTED, NOT_STARTED]
    unstarted = grid[grid["status"] == NOT_STARTED]
    assert set(unstarted["Audit rights"]) == {NOT_STARTED} and set(unstarted["risk"]) == {""}
    rows = list(csv.DictReader(io.StringIO(export(at, downloads, "Export CSV").decode())))
    assert sorted(r["status"] for r in rows) == ["complete", NOT_STARTED, NOT_STARTED]
    assert any(
        c.value == "2 runs of this batch did not start before it stopped: Resume it under "
        "Unfinished batches to run them."
        for c in at.caption
    )
    assert at.button(key=f"pf_resume_{batch_id}")
    # Its cell says why it has no passage, and what runs it.
    row = list(grid["status"]).index(NOT_STARTED)
    at.session_state["pf_grid"] = {
        "selection": {"rows": [], "columns": [], "cells": [[row, "Audit rights"]]}
    }
    at.run()
    assert not at.exception
    assert any("did not start before the batch stopped" in i.value for i in at.info)


def test_a_run_a_resume_could_not_run_says_so_and_why(tmp_path, monkeypatch, downloads):
    """A run a resume left out (its contract gone) read "not started", its cell saying that
    resuming the batch runs it, which the next resume would not do either."""
    from lib.runs.batch import GONE, SAMPLE_SOURCE
    from lib.runs.portfolio import NOT_RESUMED, NOT_STARTED

    path = page_env(tmp_path, monkeypatch)
    batch_id, names = running_batch(path, started=0, done=1)
    store = BatchStore(RunLog(path))
    store.set_status(batch_id, BatchStatus.STOPPED)
    why = GONE[SAMPLE_SOURCE]
    store.end_item(batch_id, names[2], KEY, ItemStatus.NOT_RESUMED, why)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    grid = at.dataframe(key="pf_grid").value
    said = f"{NOT_RESUMED}: {why}"
    assert sorted(grid["status"]) == ["complete", said, NOT_STARTED]
    left = grid[grid["status"] == said]
    assert list(left["contract"]) == [names[2]] and set(left["Audit rights"]) == {NOT_RESUMED}
    rows = list(csv.DictReader(io.StringIO(export(at, downloads, "Export CSV").decode())))
    assert said in [r["status"] for r in rows]
    row = list(grid["status"]).index(said)
    at.session_state["pf_grid"] = {
        "selection": {"rows": [], "columns": [], "cells": [[row, "Audit rights"]]}
    }
    at.run()
    assert not at.exception
    assert [i.value for i in at.info if "resum" in i.value] == [f"This run was not resumed: {why}."]


def test_a_running_batch_with_no_run_begun_yet_shows_its_waiting_grid(tmp_path, monkeypatch):
    path = page_env(tmp_path, monkeypatch)
    _, names = running_batch(path, started=0)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert sorted(at.dataframe(key="pf_grid").value["contract"]) == names


def test_a_batch_scored_mid_run_leaves_its_running_contracts_out_and_says_so(tmp_path, monkeypatch):
    """Scored mid-batch, the runs still running or waiting counted as failed runs, scored as
    reports that found nothing."""
    path = page_env(tmp_path, monkeypatch)
    running_batch(path, started=1, done=1)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.button(key="pf_score").click().run()
    assert not at.exception
    assert any(i.value == "2 contracts still running or not run yet, not scored." for i in at.info)
    [stored] = BatchStore(RunLog(path)).scorecards()
    [model] = stored.body["models"]
    assert model["failed"] == [] and model["contracts"] == 1 and len(model["running"]) == 2
    assert len(stored.body["contracts"]) == 1


def test_a_stopped_batch_scored_leaves_its_contracts_never_started_out(tmp_path, monkeypatch):
    """A batch cut off (stopped, or its process gone) was scored as if the contracts it never
    started had been the model's failures, or left them out without a word."""
    path = page_env(tmp_path, monkeypatch)
    batch_id, _ = running_batch(path, started=0, done=1)
    BatchStore(RunLog(path)).set_status(batch_id, BatchStatus.STOPPED)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.button(key="pf_score").click().run()
    assert not at.exception
    assert any(i.value == "2 contracts still running or not run yet, not scored." for i in at.info)
    [stored] = BatchStore(RunLog(path)).scorecards()
    [model] = stored.body["models"]
    assert model["failed"] == [] and model["contracts"] == 1 and len(model["running"]) == 2


def test_a_batch_scored_before_any_run_ended_makes_no_scorecard_of_zeros(tmp_path, monkeypatch):
    """Scored at once, the card read 0.00 everywhere and was stored under the batch's name,
    listed on History beside the real one."""
    from lib.analysis.scorecard import NOTHING_ENDED

    path = page_env(tmp_path, monkeypatch)
    running_batch(path, started=1)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.button(key="pf_score").click().run()
    assert not at.exception
    assert [w.value for w in at.warning] == [NOTHING_ENDED]
    assert BatchStore(RunLog(path)).scorecards() == []


def test_runs_deleted_on_history_are_named_on_the_batch_grid_not_silently_gone(
    tmp_path, monkeypatch
):
    """A run deleted on History vanished from its batch's grid with no word: the grid just had
    a row fewer."""
    path = page_env(tmp_path, monkeypatch)
    batch_id = stored_batch(path)
    log = RunLog(path)
    [first, second, third] = [i.run_id for i in BatchStore(log).items(batch_id)]
    assert log.delete([first]) == 1
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert len(at.dataframe(key="pf_grid").value) == 2
    assert "1 run of this batch was deleted on History." in [i.value for i in at.info]
    # Every run deleted: the page says so, not "Run a batch to see its grid here".
    log.delete([second, third])
    at.run()
    assert "3 runs of this batch were deleted on History." in [i.value for i in at.info]


def test_a_batch_resumed_in_another_process_reads_as_running_there_its_queued_runs_waiting(
    tmp_path, monkeypatch
):
    """While crs-batch resumed a batch, the page's note still said its runs "did not start before
    it stopped: Resume it under Unfinished batches" (where it rightly was not), nothing said
    another process ran it, and a stopped run queued for the resume read "stopped"."""
    import os

    from lib.engine.settings import load_settings
    from lib.runs.batch import BatchRunner
    from lib.runs.batch_sources import sample_contracts
    from lib.runs.portfolio import WAITING

    path = page_env(tmp_path, monkeypatch)
    log = RunLog(path)
    store = BatchStore(log)
    documents = sample_contracts()[:3]
    batch_id = store.create("resumed", {**BatchSettings(source="sample").__dict__}, [SPEC],
                            [(d.name, d.sha256, KEY) for d in documents])  # fmt: skip
    for document, status in zip(documents[:2], ("done", "cancelled"), strict=True):
        record = RunRecord(page="batch", provider="ollama", model="llama3.2", endpoint="",
                           document_name=document.name, document_chars=1,
                           document_sha256=document.sha256, template="general",
                           report="## Overall risk: HIGH\n", status=status,
                           batch_id=batch_id)  # fmt: skip
        log.append(record)
        store.start_item(batch_id, document.name, KEY, record.run_id)
        store.end_item(batch_id, document.name, KEY, ItemStatus(status))
    store.set_status(batch_id, BatchStatus.STOPPED)
    # Another process's resume, as crs-batch takes the batch over: running, its heartbeat fresh.
    BatchRunner.resume(batch_id=batch_id, contracts=documents, settings=load_settings(os.environ, {}),
                       run_log=log)  # fmt: skip
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    grid = at.dataframe(key="pf_grid").value
    assert sorted(grid["status"]) == ["complete", WAITING, WAITING]
    notes = [c.value for c in at.caption]
    assert any(n.startswith("This batch is running in another process (crs-batch") for n in notes)
    assert not any("did not start" in n for n in notes)
    assert f"pf_resume_{batch_id}" not in [b.key for b in at.button]
