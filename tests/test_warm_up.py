"""The clause model a finished run's cross-check needs is loaded once per process, on a thread of
its own when a page is shown, not on the first run's worker as its last tokens are drawn."""

from __future__ import annotations

import threading

from lib.analysis.clauses import model
from lib.analysis.grounding import GroundingTracker, contract_index
from lib.analysis.grounding.report import finish_grounding
from lib.runs import launch

CONTRACT = (
    "1. Parties. Acme Ltd and Beta GmbH.\n\n2. Liability. The Supplier's liability is unlimited."
)


def test_the_clause_model_is_loaded_once_by_the_warm_up_not_by_a_finish(monkeypatch):
    monkeypatch.setattr(launch, "_CLAUSE_MODEL", launch._ClauseModelLoad())
    model.load_model.cache_clear()
    loaded_on: list[str] = []
    real = model.read_model

    def recording(path):
        loaded_on.append(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(model, "read_model", recording)
    try:
        launch.warm_up()
        launch.warm_up()  # every page calls it on every script run
        launch._CLAUSE_MODEL.wait()
        finish_grounding(GroundingTracker(contract_index(CONTRACT)), "No cap is stated.", CONTRACT)
        assert loaded_on == ["clause-model"]
    finally:
        model.load_model.cache_clear()
