"""Playbook scorecards in the run log: kept per owner beside review scorecards on SQLite and
PostgreSQL, read back figure for figure, and opened on History beside ContractNLI's published
figures without disturbing the review scorecards' comparison with the previous one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.analysis.playbook.loader import bundled_playbooks
from lib.analysis.playbook.scorer import PUBLISHED
from lib.runs.portfolio_playbook import (
    CheckerScore,
    is_playbook_scorecard,
    save_scorecard,
    scores_from_dict,
)
from lib.store.batch_store import BatchStore
from lib.store.owners import Scope
from lib.store.run_log import RunLog
from tests.test_scorecard import card

HISTORY = str(Path(__file__).resolve().parent.parent / "pages" / "history.py")
ALICE = Scope(owner="alice@firm.example", sees="alice@firm.example")
BOB = Scope(owner="bob@firm.example", sees="bob@firm.example")
BUILT_IN = CheckerScore(
    "Built-in playbook checker (no model)",
    61,
    {
        "accuracy": 0.8512,
        "f1_deviates": 0.4,
        "f1_meets": 0.9,
        "evidence_map": 0.87,
        "precision_at_80_recall": math.nan,  # undefined: stored as null, read back as NaN
    },
)
MODEL = CheckerScore("openai · m", 2, {"accuracy": 0.5, "f1_deviates": 0.0})


def nda_playbook():
    return bundled_playbooks()["nda"]


def test_a_playbook_scorecard_round_trips_through_the_run_log_per_owner(log_target):
    log = RunLog(log_target)
    alice, bob = BatchStore(log.scoped(ALICE)), BatchStore(log.scoped(BOB))
    batch_id = alice.create("NDAs", {}, [], [("a.txt", "00", "checker")])
    body = save_scorecard(alice, [BUILT_IN, MODEL], nda_playbook(), "dev.json", "NDAs", batch_id)
    [stored] = alice.scorecards()
    assert bob.scorecards() == []
    assert stored.batch_id == batch_id and stored.labels == "dev.json"
    assert stored.name == body["name"] == f"NDAs · {nda_playbook().name} on dev.json"
    assert is_playbook_scorecard(stored.body) and stored.body == body
    assert stored.body["published"] == PUBLISHED
    built_in, model = scores_from_dict(stored.body)
    assert (built_in.checker, built_in.contracts) == (BUILT_IN.checker, 61)
    assert built_in.figures["accuracy"] == pytest.approx(0.8512)
    assert built_in.figures["evidence_map"] == pytest.approx(0.87)
    assert math.isnan(built_in.figures["precision_at_80_recall"])
    assert model.figures == MODEL.figures
    # Nothing scored (no contract had labels): shown, never stored.
    save_scorecard(alice, [], nda_playbook(), "other.json", "NDAs")
    assert len(alice.scorecards()) == 1


def test_a_review_scorecard_is_not_a_playbook_one():
    assert not is_playbook_scorecard(card().to_dict())
    assert scores_from_dict({"kind": "playbook", "checkers": ["odd", {"figures": 3}]}) == []


def test_history_opens_a_playbook_scorecard_beside_the_published_figures(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    store = BatchStore(RunLog(path))
    before, after = card(), card()
    before.name, after.name = "reviews before", "reviews after"
    store.save_scorecard(before.name, before.labels, before.to_dict())
    # A playbook scorecard on the same label name between two review scorecards.
    save_scorecard(store, [BUILT_IN], nda_playbook(), after.labels, "61 NDAs")
    store.save_scorecard(after.name, after.labels, after.to_dict())

    at = AppTest.from_file(HISTORY, default_timeout=30).run()
    assert not at.exception
    listed = at.dataframe(key="scorecard_table").value
    assert list(listed["kind"]) == ["review", "playbook", "review"]
    assert listed["models"].iloc[1] == BUILT_IN.checker

    at.session_state["scorecard_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    shown = at.dataframe[-1].value
    ours = shown[~shown["reference"]]
    assert list(ours["checker"]) == [BUILT_IN.checker] and list(ours["NDAs"]) == [61]
    assert ours["NLI accuracy"].iloc[0] == pytest.approx(0.8512)
    assert ours["F1 deviates"].iloc[0] == pytest.approx(0.4)
    assert ours["evidence mAP"].iloc[0] == pytest.approx(0.87)
    published = shown[shown["reference"]].set_index("checker")
    assert set(published.index) == set(PUBLISHED)
    bert = PUBLISHED["Span NLI BERT-base"]
    assert published.loc["Span NLI BERT-base", "NLI accuracy"] == pytest.approx(bert["accuracy"])
    assert any("61 NDAs · " in c.value for c in at.caption)

    # The newest review scorecard is still compared with the previous review one, past the
    # playbook scorecard stored between them.
    at.session_state["scorecard_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any("Against the previous scorecard" in m.value for m in at.markdown)
    assert any("reviews before" in m.value for m in at.markdown)
