"""Portfolio with a playbook, through AppTest: a batch checked by the built-in checker fills the
contracts × positions grid, coloured by verdict and severity, with its CSV, XLSX and verdicts
exports; a selected cell opens its evidence; and playbook, model or file text cannot make the
analyst's browser fetch anything."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from lib.analysis.playbook.format import Evidence, PositionResult, Verdict
from lib.analysis.playbook.loader import bundled_playbooks, parse_playbook
from lib.analysis.samples import all_samples
from lib.runs.batch import BUILTIN_SPEC, RUNNING, BatchSettings, model_key
from lib.runs.portfolio import FAILED, GridRun
from lib.runs.portfolio import RUNNING as CHECKING
from lib.runs.portfolio_playbook import (
    CELL_COLOURS,
    LEAD,
    is_playbook_scorecard,
    position_columns,
    verdict_grid,
)
from lib.store.batch_store import BatchStore, ItemStatus
from lib.store.records import RunRecord
from lib.store.run_log import RunLog
from lib.ui.portfolio_view import styled_verdicts
from tests.test_playbook_batch_cli import LABELS, PLAYBOOK
from tests.test_portfolio_page import IMAGE, PAGE, RAW, export, fetches, page_env, shown_markdown


def test_a_playbook_batch_fills_the_verdicts_grid_and_its_exports(tmp_path, monkeypatch, downloads):
    page_env(tmp_path, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="pf_mode").set_value("Check against a playbook").run()
    names = [s.file_name for s in all_samples()[:2]]
    at.multiselect(key="pf_samples").set_value(names).run()
    at.selectbox(key="pf_pb_choice").set_value("commercial").run()
    at.button(key="pf_run").click().run()
    assert not at.exception
    runner = RUNNING.get(at.session_state["pf_batch"])
    assert runner is not None and runner.wait(60)
    at.run()
    assert not at.exception
    assert "Verdicts grid" in [h.value for h in at.subheader]
    book = bundled_playbooks()["commercial"]
    columns = position_columns(book)
    grid = at.dataframe(key="pf_verdicts").value
    assert sorted(grid["contract"]) == sorted(names)
    assert list(grid.columns) == [*LEAD, *columns]
    assert set(grid["checker"]) == {"Built-in playbook checker (no model)"}
    cells = {v for c in columns for v in grid[c]}
    assert cells <= set(CELL_COLOURS) and cells & {"meets", "not addressed"}

    rows = list(csv.DictReader(io.StringIO(export(at, downloads, "Export CSV").decode())))
    assert sorted(r["contract"] for r in rows) == sorted(names)
    sheet = openpyxl.load_workbook(io.BytesIO(export(at, downloads, "Export XLSX"))).active
    header = [c.value for c in sheet[1]]
    assert header == list(rows[0])
    first = header.index(columns[0]) + 1
    value = sheet.cell(2, first).value
    assert sheet.cell(2, first).fill.fgColor.rgb.endswith(CELL_COLOURS[value][0])
    verdicts = list(csv.DictReader(io.StringIO(export(at, downloads, "Verdicts CSV").decode())))
    assert len(verdicts) == 2 * len(book.positions)
    assert {v["position_id"] for v in verdicts} == {p.id for p in book.positions}
    assert {v["position"] for v in verdicts} == {p.title for p in book.positions}

    # A selected cell opens the position's evidence for that contract.
    at.session_state["pf_verdicts"] = {
        "selection": {"rows": [], "columns": [], "cells": [[0, columns[0]]]}
    }
    at.run()
    assert not at.exception
    assert any(book.positions[0].title in m.value for m in at.markdown)


HOSTILE_BOOK = f"""
[playbook]
id = "hostile"
name = "Team book {IMAGE}"

[[positions]]
id = "cap"
title = "Cap {IMAGE}"
position = 'Liability is capped {IMAGE} {RAW}.'
meets = "A cap."
deviates = "No cap."
severity = "high"
"""


def stored_playbook_batch(path) -> None:
    log = RunLog(path)
    store = BatchStore(log)
    book = parse_playbook(HOSTILE_BOOK)
    settings = BatchSettings.for_playbook(book, source="upload")
    key = model_key(None)
    contract = f"deal {IMAGE}.txt"
    text = f"9. Liability. The liability is unlimited {RAW}.\n"
    batch_id = store.create("hostile", {**settings.__dict__}, [BUILTIN_SPEC],
                            [(contract, "x", key)])  # fmt: skip
    start = text.index("The liability")
    result = PositionResult(
        "cap",
        Verdict.DEVIATES,
        f"Uncapped {IMAGE} {RAW}",
        (Evidence(start, len(text) - 1, text[start:-1], 1.0, "9"),),
    )
    record = RunRecord(page="batch", provider="playbook_checker", model="built-in", endpoint="",
                       document_name=contract, document_chars=len(text), document_sha256="x",
                       template="playbook", status="done", batch_id=batch_id, kind="playbook",
                       playbook_id="hostile", contract_text=text,
                       verdicts=[result.to_dict()])  # fmt: skip
    log.append(record)
    store.start_item(batch_id, contract, key, record.run_id)
    store.end_item(batch_id, contract, key, ItemStatus.DONE)


def test_playbook_model_and_file_text_is_defused_in_the_verdicts_grid(tmp_path, monkeypatch):
    path = page_env(tmp_path, monkeypatch)
    stored_playbook_batch(path)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    grid = at.dataframe(key="pf_verdicts").value
    (column,) = [c for c in grid.columns if c.startswith("Cap")]
    assert grid[column][0] == "deviates · high"
    at.session_state["pf_verdicts"] = {
        "selection": {"rows": [], "columns": [], "cells": [[0, column]]}
    }
    at.run()
    assert not at.exception
    # The evidence opened in the contract's own text, and the words are there, as text.
    assert any("The liability is unlimited" in t.value for t in at.text)
    assert any("p.png" in m.value for m in at.markdown)
    leaks = {text: fetches(text) for text in shown_markdown(at) if fetches(text)}
    assert leaks == {}, leaks


def test_ndas_from_a_contractnli_file_are_checked_and_scored_beside_the_published_figures(
    tmp_path, monkeypatch, downloads
):
    path = page_env(tmp_path, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="pf_mode").set_value("Check against a playbook").run()
    at.radio(key="pf_source").set_value("contractnli").run()
    data = json.dumps(LABELS).encode()
    at.file_uploader(key="pf_nli_docs").set_value(("tiny.json", data, "application/json")).run()
    at.selectbox(key="pf_pb_choice").set_value("Upload a playbook (.toml)…").run()
    at.file_uploader(key="pf_pb_file").set_value(("tiny.toml", PLAYBOOK.encode(), "text/plain"))
    at.run()
    at.button(key="pf_run").click().run()
    assert not at.exception
    runner = RUNNING.get(at.session_state["pf_batch"])
    assert runner is not None and runner.wait(60)
    at.run()
    assert sorted(at.dataframe(key="pf_verdicts").value["contract"]) == ["nda-a.txt", "nda-b.txt"]
    # The built-in checker cannot decide a team's own positions: every cell says so.
    assert set(at.dataframe(key="pf_verdicts").value["No sharing"]) == {"needs a model"}

    at.file_uploader(key="pf_nli_labels").set_value(("tiny.json", data, "application/json"))
    at.run()
    at.button(key="pf_nli_score").click().run()
    assert not at.exception
    card = at.dataframe[-1].value
    ours = card[~card["reference"]].iloc[0]
    # By hand: no verdict counts as wrong with no evidence (a checker that answers nothing is
    # right nowhere, not wherever the NDA says nothing): accuracy 0; F1 of both classes 0; every
    # span scores 0, so each position's AP and P@R80 is the share of gold spans, 1/3.
    assert ours["NDAs"] == 2
    assert ours["NLI accuracy"] == 0
    assert ours["F1 deviates"] == 0 and ours["F1 meets"] == 0
    assert ours["evidence mAP"] == pytest.approx(1 / 3)
    assert ours["P@R80"] == pytest.approx(1 / 3)
    published = card[card["reference"]]
    assert "Span NLI BERT-base" in set(published["checker"])
    rows = list(
        csv.DictReader(io.StringIO(export(at, downloads, "Download scorecard (CSV)").decode()))
    )
    assert len(rows) == len(card)
    # Kept in the run log for History, as the page showed it.
    [stored] = BatchStore(RunLog(path)).scorecards()
    assert is_playbook_scorecard(stored.body) and stored.labels == "tiny.json"
    assert stored.batch_id == at.session_state["pf_batch"]
    [checker] = stored.body["checkers"]
    assert checker["contracts"] == 2
    assert checker["figures"]["accuracy"] == 0


def test_ndas_from_a_contractnli_file_start_on_the_nda_playbook_until_the_analyst_picks(
    tmp_path, monkeypatch
):
    page_env(tmp_path, monkeypatch)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.radio(key="pf_mode").set_value("Check against a playbook").run()
    assert at.selectbox(key="pf_pb_choice").value == "commercial"  # CUAD's commercial samples
    at.radio(key="pf_source").set_value("contractnli").run()
    assert at.selectbox(key="pf_pb_choice").value == "nda"
    one = json.dumps({**LABELS, "documents": LABELS["documents"][:1]}).encode()
    at.file_uploader(key="pf_nli_docs").set_value(("one.json", one, "application/json")).run()
    assert "1 contract in one.json" in [c.value.replace("\\", "") for c in at.caption]
    at.radio(key="pf_source").set_value("sample").run()
    assert at.selectbox(key="pf_pb_choice").value == "commercial"  # given back with the NDAs
    at.radio(key="pf_source").set_value("contractnli").run()
    # The analyst's own pick wins, whatever the contracts are.
    at.selectbox(key="pf_pb_choice").set_value("commercial").run()
    at.radio(key="pf_source").set_value("sample").run()
    at.radio(key="pf_source").set_value("contractnli").run()
    assert not at.exception
    assert at.selectbox(key="pf_pb_choice").value == "commercial"


def test_a_position_titled_like_one_of_the_grids_own_columns_gets_a_column_of_its_own():
    book = parse_playbook(
        '[playbook]\nid = "t"\nname = "T"\n'
        + "".join(
            f'[[positions]]\nid = "{pid}"\ntitle = "{title}"\nposition = "P"\nmeets = "M"\n'
            'deviates = "D"\n'
            for pid, title in (("a", "Status"), ("b", "meets"), ("c", "Cap"), ("d", "Cap"))
        )
    )
    columns = position_columns(book)
    assert columns == ["Status (a)", "meets (b)", "Cap (c)", "Cap (d)"]
    record = RunRecord(page="batch", provider="playbook_checker", model="built-in", endpoint="",
                       document_name="x.txt", document_chars=1, document_sha256="", template="general",
                       status="done", verdicts=[])  # fmt: skip
    grid = verdict_grid([GridRun("x.txt", "checker", record)], book)
    assert grid.columns.is_unique and grid.loc[0, "status"] == "complete"
    styled_verdicts(grid).to_html()  # pandas refuses to style repeated columns


def test_a_check_still_running_is_running_in_the_verdicts_grid_never_failed():
    """A check with no verdicts yet read "failed" in every position while it ran; once it ends
    without any, it still says failed."""
    book = parse_playbook(
        '[playbook]\nid = "t"\nname = "T"\n[[positions]]\nid = "a"\ntitle = "Cap"\n'
        'position = "P"\nmeets = "M"\ndeviates = "D"\n'
    )

    def run(status: str) -> GridRun:
        record = RunRecord(page="batch", provider="ollama", model="m", endpoint="",
                           document_name="x.txt", document_chars=1, document_sha256="",
                           template="general", status=status, verdicts=[])  # fmt: skip
        return GridRun(f"{status}.txt", "m", record)

    grid = verdict_grid([run("running"), run("error")], book)
    assert list(grid["Cap"]) == [CHECKING, FAILED]
    assert CHECKING in CELL_COLOURS


def test_a_failed_check_says_failed_in_its_cells_as_a_failed_review_does():
    """A check that failed mid-answer read "no answer" in the positions it never reached, where
    a failed review's cells read "failed" and its status "error": one outcome, three words."""
    from lib.analysis.playbook.format import PositionResult, Verdict
    from lib.runs.portfolio import FAILED

    book = parse_playbook(
        '[playbook]\nid = "t"\nname = "T"\n[[positions]]\nid = "a"\ntitle = "Cap"\n'
        'position = "P"\nmeets = "M"\ndeviates = "D"\n[[positions]]\nid = "b"\n'
        'title = "Term"\nposition = "P"\nmeets = "M"\ndeviates = "D"\n'
    )
    decided = PositionResult("a", Verdict.MEETS, "ok").to_dict()
    unreached = PositionResult("b", None, "No verdict.", problem="not reached").to_dict()
    record = RunRecord(page="batch", provider="ollama", model="m", endpoint="",
                       document_name="x.txt", document_chars=1, document_sha256="",
                       template="general", status="error", verdicts=[decided, unreached])  # fmt: skip
    (row,) = verdict_grid([GridRun("x.txt", "m", record)], book).to_dict("records")
    assert row["status"] == FAILED == "failed"
    assert row["Cap"] == "meets" and row["Term"] == FAILED


def test_a_check_not_started_yet_is_a_waiting_row_of_the_verdicts_grid():
    """A playbook batch's contracts queued behind the cap had no row in the verdicts grid."""
    from lib.runs.portfolio import WAITING, Waiting

    book = parse_playbook(
        '[playbook]\nid = "t"\nname = "T"\n[[positions]]\nid = "a"\ntitle = "Cap"\n'
        'position = "P"\nmeets = "M"\ndeviates = "D"\n'
    )
    grid = verdict_grid([], book, [Waiting("later.txt", "m")])
    assert list(grid["contract"]) == ["later.txt"] and list(grid["status"]) == [WAITING]
    assert list(grid["Cap"]) == [WAITING] and grid.loc[0, "high severity"] == 0
    assert WAITING in CELL_COLOURS


def test_a_playbook_batch_scored_mid_run_leaves_its_running_checks_out_and_says_so():
    """Scored mid-batch, a check still running was scored as it stood: every position it had not
    answered yet counted wrong."""
    from lib.analysis.playbook.contractnli import parse_contractnli
    from lib.runs.portfolio import Waiting
    from lib.runs.portfolio_playbook import (
        score_checkers,
        scorecard_dict,
        scorecard_table,
        scores_from_dict,
    )

    book = parse_playbook(PLAYBOOK)
    labels = parse_contractnli(LABELS)
    record = RunRecord(page="batch", provider="ollama", model="m", endpoint="",
                       document_name="nda-a.txt", document_chars=1, document_sha256="",
                       template="general", status="running", verdicts=[])  # fmt: skip
    [scores] = score_checkers(
        [GridRun("nda-a.txt", "m", record)], labels, book, [Waiting("nda-b.txt", "m")]
    )
    assert scores.contracts == 0 and len(scores.running) == 2
    note = "2 contracts still running or not run yet, not scored."
    assert note in scorecard_table([scores], "labels.json")
    assert scores_from_dict(scorecard_dict([scores], "labels.json"))[0].running == scores.running


def test_playbook_scores_with_no_check_ended_make_no_scorecard():
    from lib.analysis.scorecard import NO_LABELS, NOTHING_ENDED
    from lib.runs.portfolio_playbook import CheckerScore, nothing_to_score

    assert nothing_to_score([]) == NO_LABELS
    waiting = CheckerScore("built-in", 0, {}, running=("nda-1",))
    assert nothing_to_score([waiting]) == NOTHING_ENDED
    assert nothing_to_score([waiting, CheckerScore("m", 1, {})]) is None
