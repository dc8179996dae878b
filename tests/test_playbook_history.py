"""Playbook checks in History: listed with their verdict counts, opened with their scorecard,
verdicts and evidence, and the Word file only where the contract is at hand."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import Script
from lib.analysis.documents import document_from_text
from lib.analysis.playbook.format import Playbook
from lib.analysis.playbook.loader import bundled_playbooks
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import Settings
from lib.runs.playbook_run import IGNORED_FORMAT, PlaybookOutcome, PlaybookRequest, start_playbook
from lib.store.records import records_to_dataframe, verdicts_by_checker
from lib.store.run_log import RunLog
from lib.ui.tables import rows_key
from tests.playbook_fixtures import lines

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "history.py")
CONTRACT = (
    "SUPPLY AGREEMENT\n\n7. Indemnity. The Supplier shall indemnify and hold harmless the Customer "
    "against all claims.\n\n"
    "9. Governing Law. This Agreement shall be governed by the laws of the State of New York.\n"
)


def checked(
    tmp_path, keep_contract: bool, book: Playbook | None = None
) -> tuple[RunLog, PlaybookOutcome]:
    path = tmp_path / "h.sqlite3"
    log = RunLog(path)
    settings = Settings(history_db_path=path, store_contract_text=keep_contract)
    request = PlaybookRequest(
        document_from_text(CONTRACT, "supply.txt"), book or bundled_playbooks()["commercial"]
    )
    run = start_playbook(request, history=None, run_log=log, settings=settings)
    outcome = list(run.updates())[-1]
    assert isinstance(outcome, PlaybookOutcome)
    # The contract's one-sided indemnity is a high-severity deviation.
    assert outcome.counts.deviates >= 1 and outcome.counts.high_severity_deviations >= 1
    return log, outcome


def page(tmp_path, monkeypatch) -> AppTest:
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "h.sqlite3"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    table = rows_key("log_table", at.session_state["log_ids"])
    at.session_state[table] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    return at.run()


def test_a_playbook_check_is_listed_with_its_counts(tmp_path):
    log, outcome = checked(tmp_path, keep_contract=False)
    records = log.query()
    frame = records_to_dataframe(records)
    assert frame["template"].iloc[0] == "playbook: commercial"
    assert frame["verdicts"].iloc[0] == outcome.summary
    by_verdict = verdicts_by_checker(log.query(with_text=False))
    counts = dict(zip(by_verdict["verdict"], by_verdict["positions"], strict=True))
    assert counts["meets"] == outcome.counts.meets
    assert counts["deviates"] == outcome.counts.deviates


def test_history_opens_a_playbook_check_with_its_scorecard_and_word_file(tmp_path, monkeypatch):
    _, outcome = checked(tmp_path, keep_contract=True)
    at = page(tmp_path, monkeypatch)
    assert not at.exception, at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Meet"] == str(outcome.counts.meets)
    assert tiles["Deviate"] == str(outcome.counts.deviates)
    assert tiles["High-severity deviations"] == str(outcome.counts.high_severity_deviations)
    table = next(d.value for d in at.dataframe if "Verdict" in d.value.columns)
    assert "deviates" in table[table["Position"] == "Mutual indemnity"].iloc[0]["Verdict"]
    assert any("Word file" in b.label for b in at.get("download_button"))
    assert len(at.get("vega_lite_chart")) >= 1


def test_without_the_contract_history_says_why_there_is_no_word_file(tmp_path, monkeypatch):
    _, outcome = checked(tmp_path, keep_contract=False)
    at = page(tmp_path, monkeypatch)
    assert not at.exception, at.exception
    assert not any("Word file" in b.label for b in at.get("download_button"))
    assert any("not kept with this run" in c.value for c in at.caption)
    # A passage found when checked is shown as recorded, not called "not found" for want of
    # the contract's text around it.
    row = next(i for i, r in enumerate(outcome.result.results) if r.evidence)
    verdicts = rows_key("history_verdicts", [outcome.record.run_id])
    at.session_state[verdicts] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not any("Not found in the contract" in w.value for w in at.warning)
    passage = outcome.result.results[row].evidence[0].text
    assert any(passage in t.value for t in at.text)


def test_history_shows_the_positions_as_checked_not_todays_playbook_of_that_id(
    tmp_path, monkeypatch
):
    # An uploaded copy of the bundled playbook keeps its id; History must not show the bundled
    # titles (and fallback language in the Word file) for what was checked against the copy.
    bundled = bundled_playbooks()["commercial"]
    edited = dataclasses.replace(
        bundled,
        positions=tuple(
            dataclasses.replace(p, title="Our own indemnity rule", fallback="OUR FALLBACK.")
            if p.id == "indemnity"
            else p
            for p in bundled.positions
        ),
    )
    checked(tmp_path, keep_contract=True, book=edited)
    at = page(tmp_path, monkeypatch)
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "Verdict" in d.value.columns)
    assert "Our own indemnity rule" in set(table["Position"])
    assert "Mutual indemnity" not in set(table["Position"])


def test_history_shows_the_problems_the_playbook_page_showed_after_the_check(
    tmp_path, monkeypatch, fake_upstream, log_target
):
    """A model that ignored the format: the Playbook page warned so as the check ended, and
    reopening the run on History lost the warning, leaving rows "without an answer" unexplained.
    The problems are kept with the run, in either database, and drawn by the same function."""
    fake_upstream.push(Script(tokens=lines("This contract looks fine to me overall.\nRegards.")))
    log = RunLog(log_target)
    model = ProviderConfig(Provider.OPENAI, "m", f"{fake_upstream.url}/v1", read_timeout=10)
    request = PlaybookRequest(
        document_from_text(CONTRACT, "supply.txt"), bundled_playbooks()["commercial"], model
    )
    settings = Settings(history_db_path=tmp_path / "h.sqlite3")
    run = start_playbook(request, history=None, run_log=log, settings=settings)
    outcome = list(run.updates())[-1]
    assert isinstance(outcome, PlaybookOutcome) and outcome.problems[0] == IGNORED_FORMAT
    stored = log.get(outcome.record.run_id)
    assert stored is not None and stored.playbook_problems == list(outcome.problems)
    if not log_target.endswith(".sqlite3"):
        return  # the page below reads the SQLite log
    at = page(tmp_path, monkeypatch)
    assert not at.exception, at.exception
    assert [w.value for w in at.warning if w.icon == ":material/rule:"] == list(outcome.problems)
