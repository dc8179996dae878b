"""History page through AppTest against a real SQLite run log."""

from __future__ import annotations

import io
import json
from csv import DictReader
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.store.records import RunRecord
from lib.store.run_log import RunLog
from lib.ui.tables import MISSING, rows_key

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
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    # Each run a tick over its box, on an axis that need not start at 0: runs of one speed made a
    # box too thin to see.
    speed = json.loads(charts[0].proto.spec)
    assert sorted(layer["mark"]["type"] for layer in speed["layer"]) == ["boxplot", "tick"]
    assert all(layer["encoding"]["x"]["scale"] == {"zero": False} for layer in speed["layer"])


def test_a_figure_a_run_does_not_have_reads_as_a_dash_not_none(log):
    """A run without cache figures or a first thinking token showed "None" in those cells,
    Streamlit's mark for a missing value, a word from the code rather than a figure."""
    table = page().dataframe[0]
    assert table.value["cache_read_tokens"].isna().any()  # the rows this is about
    assert table.proto.placeholder == MISSING == "—"


def test_runs_without_a_speed_get_a_line_not_an_empty_speed_chart(
    tmp_path, monkeypatch, make_record
):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    monkeypatch.delenv("CRS_HISTORY", raising=False)
    RunLog(path).append(
        make_record(**(FINISHED | {"provider": "clause_finder", "tokens_per_s": None}))
    )
    at = page()
    assert len(at.get("vega_lite_chart")) == 1  # time to first token, not an empty speed axis
    assert any("no complete run here measured one" in c.value for c in at.caption)


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


def test_the_filters_stay_while_the_analyst_is_on_another_page(log):
    at = AppTest.from_file(str(Path(PAGE).parent.parent / "app.py"), default_timeout=30)
    at.switch_page("pages/history.py").run()
    at.multiselect(key="f_provider").set_value(["ollama"]).run()
    at.text_input(key="f_document").input("acme").run()
    assert list(at.dataframe[0].value["document"]) == ["Acme MSA.pdf"]
    at.switch_page("app.py").run()
    at.switch_page("pages/history.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="f_provider").value == ["ollama"]
    assert list(at.dataframe[0].value["document"]) == ["Acme MSA.pdf"]


def test_a_range_with_only_its_first_day_picked_shows_runs_from_that_day_on(log, make_record):
    old = datetime.now(UTC) - timedelta(days=40)
    log.append(make_record(**(FINISHED | {"document_name": "Old.pdf", "started": old})))
    at = page()
    assert "Old.pdf" not in set(at.dataframe[0].value["document"])  # the last 30 days
    at.date_input(key="f_dates").set_value((old.date() + timedelta(days=5),)).run()
    assert "Old.pdf" not in set(at.dataframe[0].value["document"])
    assert len(at.dataframe[0].value) == 3
    at.date_input(key="f_dates").set_value((old.date(),)).run()
    assert len(at.dataframe[0].value) == 4


def select(at: AppTest, rows: list[int]) -> AppTest:
    table = rows_key("log_table", at.session_state["log_ids"])
    at.session_state[table] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    return at.run()


def confirm_box(at: AppTest):
    (box,) = [c for c in at.checkbox if c.label.startswith("Yes, delete")]
    return box


def test_open_a_past_report(log, downloads):
    at = select(page(), [1])
    assert any("Claude report" in m.value for m in at.markdown)
    assert any(b.label == "Download Word" for b in at.get("download_button"))
    # Taking a file reruns nothing: a rerun dropped the Word file a second click would build.
    assert all(b.proto.ignore_rerun for b in at.get("download_button"))
    markdown = export(at, downloads, "Download Markdown").data.decode()
    assert markdown.rstrip().endswith(
        "## Overall risk: HIGH\n\nClaude report"
    )  # that run's report, as drawn


def test_delete_needs_confirmation(log):
    at = select(page(), [0])
    assert at.button(key="delete").disabled  # not confirmed yet
    assert log.count() == 3
    confirm_box(at).check().run()
    at.button(key="delete").click().run()
    assert log.count() == 2
    assert [r.document_name for r in log.query()] == ["Lease.docx", "Acme MSA.pdf"]
    assert list(at.dataframe[0].value["document"]) == ["Lease.docx", "Acme MSA.pdf"]  # shown gone
    assert "Deleted 1 run." in [s.value for s in at.success]
    # Nothing is ticked or confirmed after a delete: a second click deletes nothing.
    assert not [c for c in at.checkbox if c.label.startswith("Yes, delete")]
    assert not [b for b in at.button if b.key == "delete"]


def test_a_tick_and_its_confirmation_do_not_move_to_other_runs(log):
    """With a run ticked and its deletion confirmed, a filter that changed the rows left the
    tick on whatever run now had that row number, confirmed: one click deleted it."""
    at = select(page(), [0])
    confirm_box(at).check().run()
    at.text_input(key="f_document").input("Acme").run()
    assert list(at.dataframe[0].value["document"]) == ["Acme MSA.pdf"]
    assert not [b for b in at.button if b.key == "delete"]  # no run is ticked any more
    at = select(at, [0])
    assert confirm_box(at).value is False and at.button(key="delete").disabled


def export(at: AppTest, downloads, label: str):
    (button,) = [b for b in at.get("download_button") if b.label == label]
    return downloads.of(button)


def test_exports_hold_the_runs_that_match_the_filters(log, downloads):
    at = page()
    csv = export(at, downloads, "Export CSV")
    assert csv.mimetype == "text/csv" and csv.file_name == "contract-review-history.csv"
    rows = list(DictReader(io.StringIO(csv.data.decode("utf-8"))))
    assert [r["document_name"] for r in rows] == ["NDA.pdf", "Lease.docx", "Acme MSA.pdf"]
    assert [r["status"] for r in rows] == [
        "failed",
        "complete",
        "complete",
    ]  # as the table words it
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


def test_an_empty_log_names_every_front_end_whose_runs_appear_here(tmp_path, monkeypatch):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.delenv("CRS_HISTORY", raising=False)
    (empty,) = [i.value for i in page().info if i.value.startswith("No runs match")]
    for front_end in ("Review", "Compare", "Playbook", "Portfolio", "crs-batch", "API"):
        assert front_end in empty


def test_pages_through_many_runs(tmp_path, monkeypatch, make_record):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    log = RunLog(path)
    now = datetime.now(UTC)
    for n in range(60):
        log.append(make_record(document_name=f"c{n:02d}.pdf", started=now - timedelta(minutes=n)))
    at = page()
    assert len(at.dataframe[0].value) == 50
    assert any("60 runs match" in c.value and "page 1 of 2" in c.value for c in at.caption)
    at.number_input(key="f_page").set_value(2).run()
    assert list(at.dataframe[0].value["document"]) == [f"c{n:02d}.pdf" for n in range(50, 60)]
    at.text_input(key="f_document").input("c5").run()  # fewer matches: back to the last page
    assert list(at.dataframe[0].value["document"]) == [f"c{n:02d}.pdf" for n in range(50, 60)]


def owned_log(tmp_path, monkeypatch, make_record, user):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    monkeypatch.setattr("lib.ui.identity.current_user", lambda settings: user)
    log = RunLog(path)
    log.append(make_record(document_name="Alice.pdf", owner="alice@firm.example"))
    log.append(make_record(document_name="Bob.pdf", provider="anthropic", owner="bob@firm.example"))
    log.append(make_record(document_name="Anonymous.pdf", owner="session:elsewhere"))
    return log


def test_a_signed_in_user_sees_only_their_runs(tmp_path, monkeypatch, make_record):
    owned_log(tmp_path, monkeypatch, make_record, "alice@firm.example")
    at = page()
    assert list(at.dataframe[0].value["document"]) == ["Alice.pdf"]
    assert list(at.multiselect(key="f_provider").options) == ["Ollama"]  # as analysts read it


def test_an_admin_sees_every_run(tmp_path, monkeypatch, make_record):
    owned_log(tmp_path, monkeypatch, make_record, "alice@firm.example")
    monkeypatch.setenv("CRS_ADMINS", "alice@firm.example")
    assert len(page().dataframe[0].value) == 3
    # Names match exactly, on the pages as in the API: `ALICE@…` on the list is someone else.
    monkeypatch.setenv("CRS_ADMINS", "ALICE@firm.example")
    assert list(page().dataframe[0].value["document"]) == ["Alice.pdf"]


def test_a_login_names_the_user_by_a_verified_email_or_the_subject(
    tmp_path, monkeypatch, make_record
):
    """An identity provider that lets a user type any email must not make them that user (here
    an admin): without `email_verified` the stable subject names them."""
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    monkeypatch.setenv("CRS_ADMINS", "lead@firm.example")
    monkeypatch.setattr("lib.ui.identity._login_configured", lambda: True)
    log = RunLog(path)
    log.append(make_record(document_name="Lead.pdf", owner="lead@firm.example"))
    log.append(make_record(document_name="Mine.pdf", owner="oidc|4711"))
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.user = {"is_logged_in": True, "email": "lead@firm.example", "sub": "oidc|4711"}
    at.run()
    assert list(at.dataframe[0].value["document"]) == ["Mine.pdf"]
    at.user = {**at.user, "email_verified": True}
    at.run()
    assert sorted(at.dataframe[0].value["document"]) == ["Lead.pdf", "Mine.pdf"]


def test_anonymous_on_a_served_app_sees_only_this_session(tmp_path, monkeypatch, make_record):
    owned_log(tmp_path, monkeypatch, make_record, None)
    monkeypatch.setenv("CRS_LOCK_ENDPOINTS", "1")  # served behind a proxy on this machine
    at = page()
    assert not at.dataframe
    monkeypatch.setenv("CRS_SHARED_LOG", "1")
    assert len(page().dataframe[0].value) == 3


def test_a_shared_database_or_a_proxy_counts_as_a_served_app():
    from lib.engine.settings import load_settings

    assert not load_settings({}).serves_a_team  # the checked-in config listens on loopback
    assert load_settings({"CRS_DATABASE_URL": "postgresql://crs@db/crs"}).serves_a_team
    assert load_settings({"CRS_LOCK_ENDPOINTS": "1"}).serves_a_team
    assert load_settings({}, listen_address="0.0.0.0").serves_a_team
    # A proxy's user header is configured, or this request came through a proxy.
    assert load_settings({"CRS_USER_HEADER": "X-Forwarded-User"}).serves_a_team
    assert load_settings({}).serves_a_team_for({"X-Forwarded-For": "203.0.113.7"})
    assert not load_settings({}).serves_a_team_for({"Host": "localhost"})


def test_one_run_is_counted_in_the_singular_and_pasted_text_is_not_called_a_file(
    tmp_path, monkeypatch, make_record
):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    RunLog(path).append(make_record(document_name="Pasted contract", status="done"))
    at = page()
    assert any(c.value.startswith("1 run matches (") for c in at.caption)
    assert list(at.dataframe[0].value["text"]) == ["as given"]


def test_streamlits_login_can_run_as_installed():
    """`st.login` needs Authlib: without it a team that configures `[auth]` as the README says
    gets an error, not a sign-in page."""
    from streamlit.auth_util import is_authlib_installed

    assert is_authlib_installed()


def test_a_database_gone_away_is_a_sentence_not_an_error_box():
    """Every page runs through `run_page` (app.py's navigation): a shared database that stops
    answering mid-session showed Streamlit's error box (the run log's reads raise
    `StoreUnavailable` then: tests/test_team_log.py)."""

    def script() -> None:
        from lib.store.database import StoreUnavailable
        from lib.ui.page import run_page

        class GoneAway:
            def run(self) -> None:
                raise StoreUnavailable("terminating connection due to administrator command")

        run_page(GoneAway())

    at = AppTest.from_function(script).run()
    assert not at.exception, at.exception
    (said,) = [e.value for e in at.error]
    assert said.startswith("The run history cannot be reached right now")
