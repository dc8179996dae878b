"""Stored scorecards on History, and the run log's migration to batches."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.analysis.scorecard import ModelRun, build_scorecard
from lib.store.batch_store import BatchStore
from lib.store.run_log import RunLog
from tests.test_scorecard import A_C1, B_C1, LABELS, card

HISTORY = str(Path(__file__).resolve().parent.parent / "pages" / "history.py")


def test_history_lists_scorecards_and_opens_one_beside_the_previous(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    store = BatchStore(RunLog(path))
    # Before the upgrade, model A's run on c2 failed: it found nothing there.
    first = build_scorecard(
        "before the upgrade",
        LABELS,
        {
            "A": {"c1.txt": ModelRun(A_C1), "c2.txt": ModelRun("", ok=False)},
            "B": {"c1.txt": ModelRun(B_C1), "c2.txt": ModelRun("", ok=False)},
        },
    )
    store.save_scorecard(first.name, first.labels, first.to_dict())
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

    # The figures shown are the opened scorecard's, and the comparison is against the one before.
    summary, comparison = at.dataframe[-2].value, at.dataframe[-1].value
    now = {m.model: m.presence.f1 for m in upgraded.models}
    before = {m.model: m.presence.f1 for m in first.models}
    assert now["A"] == pytest.approx(4 / 7) and before["A"] < now["A"]
    assert summary.loc["A", "presence F1"] == pytest.approx(now["A"])
    assert summary.loc["B", "presence F1"] == pytest.approx(now["B"])
    assert list(comparison.index) == ["A", "B"]
    for model in ("A", "B"):
        row = comparison.loc[model]
        assert row["presence F1"] == pytest.approx(now[model])
        assert row["previous F1"] == pytest.approx(before[model])
        assert row["change"] == pytest.approx(now[model] - before[model])
    assert comparison.loc["A", "change"] > 0 and comparison.loc["B", "change"] == pytest.approx(0)


def test_the_previous_scorecard_is_named_with_its_date(tmp_path, monkeypatch):
    """Two scorecards of one batch on the same labels share a name: "Against the previous
    scorecard (three on CUAD sample)" did not say which one was compared."""
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    store = BatchStore(RunLog(path))
    same = card()
    store.save_scorecard(same.name, same.labels, same.to_dict())
    store.save_scorecard(same.name, same.labels, same.to_dict())
    earlier = store.scorecards()[1]
    at = AppTest.from_file(HISTORY, default_timeout=30).run()
    at.session_state["scorecard_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    when = f"{earlier.created.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    [heading] = [m.value for m in at.markdown if "Against the previous scorecard" in m.value]
    assert f"{same.name} · {when}" in heading.replace("\\", "")  # as the Markdown reads
