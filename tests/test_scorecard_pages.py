"""Stored scorecards on History, and the run log's migration to batches."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.runs.batch_store import BatchStore
from lib.runs.run_log import SCHEMA_VERSION, RunLog
from tests.test_scorecard import card

HISTORY = str(Path(__file__).resolve().parent.parent / "pages" / "2_History.py")


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


def test_migration_from_version_two_keeps_runs_and_adds_batches(tmp_path):
    path = tmp_path / "old.sqlite3"
    RunLog(path)
    db = sqlite3.connect(path)
    db.execute("DROP TABLE batches")
    db.execute("DROP TABLE batch_items")
    db.execute("DROP TABLE scorecards")
    db.execute("DROP INDEX runs_batch")
    db.execute("ALTER TABLE runs DROP COLUMN batch_id")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    log = RunLog(path)
    with log.connect() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    assert "batch_id" in columns
    assert BatchStore(log).list() == []
