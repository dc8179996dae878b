"""History page through AppTest against a real SQLite run log."""

from __future__ import annotations

import io
import json
from csv import DictReader
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.runs.records import RunRecord
from lib.runs.run_log import RunLog

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "history.py")


FINISHED = dict(
    status="done",
    report="## Overall risk: LOW\nAll fine.",
    ttft_s=0.4,
    total_s=5.0,
    tokens_per_s=40.0,
    output_tokens=200,
    input_tokens=900,
)


@pytest.fixture
def log(tmp_path, monkeypatch, make_record) -> RunLog:
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    monkeypatch.delenv("CRS_HISTORY", raising=False)
    log = RunLog(path)
    now = datetime.now(UTC)

    def finished(**fields) -> RunRecord:
        return make_record(**(FINISHED | fields))

    log.append(finished(started=now - timedelta(hours=2)))
    log.append(
        finished(
            provider="anthropic",
            model="claude-sonnet-5-5",
            document_name="Lease.docx",
            tokens_per_s=90.0,
            ttft_s=1.2,
            started=now - timedelta(hours=1),
            report="## Overall risk: HIGH\nClaude report",
        )
    )
    log.append(
        finished(
            status="error",
            error_kind="interrupted",
            error_message="dropped",
            document_name="NDA.pdf",
            started=now,
        )
    )
    return log


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def test_lists_all_runs_newest_first_with_charts(log):
    at = page()
    table = at.dataframe[0].value
    assert list(table["document"]) == ["NDA.pdf", "Lease.docx", "Acme MSA.pdf"]
    assert len(at.get("vega_lite_chart")) == 2


def test_filters(log):
    at = page()
    at.multiselect(key="f_provider").set_value(["anthropic"]).run()
    assert list(at.dataframe[0].value["document"]) == ["Lease.docx"]
    at.multiselect(key="f_provider").set_value([]).run()
    at.text_input(key="f_document").input("nda").run()
    assert list(at.dataframe[0].value["document"]) == ["NDA.pdf"]
    at.text_input(key="f_document").input("").run()
    at.multiselect(key="f_status").set_value(["done"]).run()
    assert len(at.dataframe[0].value) == 2


def select(at: AppTest, rows: list[int]) -> AppTest:
    at.session_state["log_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def test_open_a_past_report(log):
    at = select(page(), [1])
    assert any("Claude report" in m.value for m in at.markdown)
    assert any(b.label == "Download Word" for b in at.get("download_button"))


def test_delete_needs_confirmation(log):
    at = select(page(), [0])
    assert at.button(key="delete").disabled  # not confirmed yet
    assert log.count() == 3
    at.checkbox(key="confirm").check().run()
    at.button(key="delete").click().run()
    assert log.count() == 2
    assert [r.document_name for r in log.query()] == ["Lease.docx", "Acme MSA.pdf"]


def export(at: AppTest, downloads, label: str):
    (button,) = [b for b in at.get("download_button") if b.label == label]
    return downloads.of(button)


def test_exports_hold_the_runs_that_match_the_filters(log, downloads):
    at = page()
    csv = export(at, downloads, "Export CSV")
    assert csv.mimetype == "text/csv" and csv.file_name == "contract-review-history.csv"
    rows = list(DictReader(io.StringIO(csv.data.decode("utf-8"))))
    assert [r["document_name"] for r in rows] == ["NDA.pdf", "Lease.docx", "Acme MSA.pdf"]
    assert [r["status"] for r in rows] == ["error", "done", "done"]
    assert rows[1]["report"] == "## Overall risk: HIGH\nClaude report"
    assert rows[0]["error_kind"] == "interrupted"

    at.multiselect(key="f_provider").set_value(["anthropic"]).run()
    exported = json.loads(export(at, downloads, "Export JSON").data)
    assert [(r["document_name"], r["model"], r["tokens_per_s"]) for r in exported] == [
        ("Lease.docx", "claude-sonnet-5-5", 90.0)
    ]
    assert datetime.fromisoformat(exported[0]["started"]) == log.get(exported[0]["run_id"]).started


def test_log_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("CRS_HISTORY", "off")
    at = page()
    assert any("switched off" in i.value for i in at.info)
