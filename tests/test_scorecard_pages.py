"""Stored scorecards on History, and the run log's migration to batches."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.runs.batch_store import BatchStore
from lib.runs.run_log import RunLog
from tests.test_scorecard import card

HISTORY = str(Path(__file__).resolve().parent.parent / "pages" / "history.py")


def test_history_lists_scorecards_and_opens_one_beside_the_previous(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    store = BatchStore(RunLog(path))
    first = card()
    store.save_scorecard("before the upgrade", first.labels, first.to_dict())
    upgraded = card()
    upgraded.name = "after the upgrade"
    store.save_scorecard(upgraded.name, upgraded.labels, upgraded.to_dict())
    at = AppTest.from_file(HISTORY, default_timeout=30).run()
    assert not at.exception
    assert "Scorecards" in [h.value for h in at.subheader]
    table = at.dataframe[-1].value
    assert list(table["name"]) == ["after the upgrade", "before the upgrade"]
    at.session_state["scorecard_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any("Against the previous scorecard" in m.value for m in at.markdown)
    assert any("after the upgrade" in c.value for c in at.caption)
