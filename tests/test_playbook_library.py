"""Playbooks per owner: kept in the run log as the loader's TOML, edited as a table, each viewer
seeing only their own (as scorecards), and validated again when read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.analysis.playbook.loader import (
    PlaybookError,
    bundled_playbooks,
    playbook_from_rows,
    playbook_rows,
)
from lib.runs import playbook_library as library
from lib.store.owners import Scope
from lib.store.playbook_store import PlaybookStore
from lib.store.run_log import RunLog

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "playbook.py")
COMMERCIAL = bundled_playbooks()["commercial"]


def test_table_rows_read_back_to_the_same_playbook():
    for book in bundled_playbooks().values():
        assert playbook_from_rows(book, playbook_rows(book)) == book


def test_a_bad_edit_names_each_bad_row():
    rows = playbook_rows(COMMERCIAL)
    rows[1]["title"] = ""
    rows[2]["id"] = rows[0]["id"]
    rows[3]["category"] = "Liabilty cap"
    rows.append({"id": None, "title": None})  # an empty row added in the editor is ignored
    with pytest.raises(PlaybookError) as caught:
        playbook_from_rows(COMMERCIAL, rows)
    problems = "\n".join(caught.value.problems)
    assert "position 2 (id 'indemnity'): missing field 'title'" in problems
    assert "position 3 (id 'liability-cap'): duplicate id" in problems
    assert "position 4 (id 'assignment'): unknown category 'Liabilty cap'" in problems


def test_each_owner_keeps_and_sees_their_own_playbooks(log_target):
    log = RunLog(log_target)
    ann = PlaybookStore(log.scoped(Scope("ann", "ann")))
    bob = PlaybookStore(log.scoped(Scope("bob", "bob")))
    mine = playbook_from_rows(
        COMMERCIAL.__class__(**{**COMMERCIAL.__dict__, "id": "ann-commercial", "name": "Ann's"}),
        playbook_rows(COMMERCIAL)[:3],
    )
    key = library.save(ann, mine)
    assert [c.key for c in library.choices(ann)][-1] == key
    assert library.find("ann-commercial", ann) == mine
    with pytest.raises(PlaybookError):
        library.find("ann-commercial", bob)
    assert bob.list() == [] and bob.get(key.removeprefix(library.SAVED_PREFIX)) is None
    # Saving the same id again replaces it; bob cannot delete it.
    shorter = playbook_from_rows(mine, playbook_rows(mine)[:2])
    library.save(ann, shorter)
    assert len(ann.list()) == 1 and library.find("ann-commercial", ann) == shorter
    bob.delete(key.removeprefix(library.SAVED_PREFIX))
    assert len(ann.list()) == 1


def test_an_id_two_analysts_saved_is_not_taken_from_either_unseen(log_target):
    """`crs-batch` sees every owner's playbooks: an id both saved must be given by its key."""
    log = RunLog(log_target)
    books = {}
    for owner in ("ann", "bob"):
        book = playbook_from_rows(
            COMMERCIAL.__class__(**{**COMMERCIAL.__dict__, "id": "team", "name": owner}),
            playbook_rows(COMMERCIAL)[: 2 if owner == "ann" else 3],
        )
        books[owner] = (library.save(PlaybookStore(log.scoped(Scope(owner, owner))), book), book)
    everyone = PlaybookStore(log)
    with pytest.raises(PlaybookError) as caught:
        library.find("team", everyone)
    assert "2 analysts saved" in caught.value.problems[0]
    assert all(key in caught.value.problems[0] for key, _ in books.values())
    for key, book in books.values():
        assert library.find(key, everyone) == book
    bob_book = books["bob"][1]
    assert library.find("team", PlaybookStore(log.scoped(Scope("bob", "bob")))) == bob_book


def test_a_stored_playbook_is_validated_again_when_read(tmp_path):
    store = PlaybookStore(RunLog(tmp_path / "h.sqlite3"))
    store.save("broken", "Broken", '[playbook]\nid = "broken"\nname = "Broken"\n')
    choice = library.choices(store)[-1]
    assert choice.playbook is None and any("no positions" in p for p in choice.problems)
    with pytest.raises(PlaybookError):
        library.find("broken", store)


def test_the_page_edits_validates_and_saves_a_playbook(tmp_path, monkeypatch):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "h.sqlite3"))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.selectbox(key="playbook_book_choice").select("commercial").run()
    editor = "playbook_book_commercial_editor"
    at.session_state[editor] = {
        "edited_rows": {0: {"title": ""}}, "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.run()
    assert not at.exception, at.exception
    assert any("not usable yet" in e.value for e in at.error)
    assert at.button(key="playbook_check").disabled
    at.session_state[editor] = {
        "edited_rows": {0: {"title": "Cap on liability"}}, "added_rows": [], "deleted_rows": [2],
    }  # fmt: skip
    at.text_input(key="playbook_book_commercial_id").input("team-commercial")
    at.run()
    at.button(key="playbook_book_commercial_save").click().run()
    assert not at.exception, at.exception
    assert any("Saved" in s.value for s in at.success)
    stored = PlaybookStore(RunLog(tmp_path / "h.sqlite3")).list()
    assert [s.playbook_id for s in stored] == ["team-commercial"]
    book = library.find("team-commercial", PlaybookStore(RunLog(tmp_path / "h.sqlite3")))
    assert book.positions[0].title == "Cap on liability"
    assert len(book.positions) == len(COMMERCIAL.positions) - 1
    # Listed and picked at once, with no other click: the analyst goes on with what was saved.
    picker = at.selectbox(key="playbook_book_choice")
    assert picker.value == f"{library.SAVED_PREFIX}{stored[0].playbook_key}"
    assert picker.format_func(picker.value).startswith("Commercial agreement (saved")
    # Saved, the edit is the saved playbook's: the bundled one opens as bundled again.
    at.selectbox(key="playbook_book_choice").select("commercial").run()
    assert not at.exception, at.exception
    assert not [b for b in at.button if b.key == "playbook_book_commercial_undo"]
    kept_rows = at.session_state["kept_playbook_book_commercial_rows"]
    assert [r["title"] for r in kept_rows] == [p.title for p in COMMERCIAL.positions]


def test_an_edit_saved_under_a_bundled_id_is_refused(tmp_path):
    """Saved as "nda", an edit was shadowed by the bundled NDA playbook wherever the id was
    given (`--playbook nda`, the API): the bundled positions ran, not the edit."""
    import dataclasses

    store = PlaybookStore(RunLog(tmp_path / "h.sqlite3"))
    edited = dataclasses.replace(bundled_playbooks()["nda"], name="Our NDA")
    with pytest.raises(PlaybookError, match="bundled playbook's id"):
        library.save(store, edited)
    ours = library.save(store, dataclasses.replace(edited, id="our-nda"))
    assert library.find("our-nda", store).name == "Our NDA" and ours.startswith("saved:")


def test_one_analyst_saving_an_id_again_in_a_new_session_replaces_it(log_target):
    """On loopback each reload is a new browser session of the one analyst: a second save of
    `team-comm` was listed beside the first, both "Team commercial (saved <same day>)"."""
    log = RunLog(log_target)
    first, second = (PlaybookStore(log.scoped(Scope(f"session:{s}", None))) for s in "ab")
    book = playbook_from_rows(
        COMMERCIAL.__class__(**{**COMMERCIAL.__dict__, "id": "team-comm", "name": "Team"}),
        playbook_rows(COMMERCIAL),
    )
    library.save(first, book)
    rows = playbook_rows(book)
    rows[0] = {**rows[0], "id": "law2"}
    edited = playbook_from_rows(book, rows)
    library.save(second, edited)
    for store in (first, second):
        saved = [c for c in library.choices(store) if c.key.startswith(library.SAVED_PREFIX)]
        assert [c.playbook for c in saved] == [edited]
        assert library.find("team-comm", store) == edited
    assert len(second.list()) == 1 and second.list()[0].owner == "session:b"
    # Where sessions are told apart (a served app), another session's save is not replaced.
    apart = PlaybookStore(log.scoped(Scope("session:c", "session:c")))
    library.save(apart, book)
    assert len(PlaybookStore(log).list()) == 2


def test_saves_of_one_id_by_two_analysts_are_told_apart_in_the_picker(log_target):
    log = RunLog(log_target)
    for owner in ("ann", "bob"):
        library.save(PlaybookStore(log.scoped(Scope(owner, owner))),
                     playbook_from_rows(COMMERCIAL.__class__(**{**COMMERCIAL.__dict__,
                                        "id": "team", "name": "Team"}),
                                        playbook_rows(COMMERCIAL)))  # fmt: skip
    admin = PlaybookStore(log.scoped(Scope("ann", None)))
    labels = [c.label for c in library.choices(admin) if c.key.startswith(library.SAVED_PREFIX)]
    assert len(labels) == 2 and labels[0] != labels[1]
    assert [label.endswith(" UTC by bob)") for label in labels] == [True, False]
    assert labels[1].startswith("Team (saved ") and labels[1].endswith(" UTC)")


def test_a_save_that_lasts_for_this_browser_session_only_says_so(tmp_path, monkeypatch):
    """Reached through a proxy that names nobody, a saved playbook belongs to the browser
    session: the page said "Saved" and the picker listed it, and after a reload it was gone."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "h.sqlite3"))

    def saved_on_page() -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=60)
        at.run()
        at.selectbox(key="playbook_book_choice").select("commercial").run()
        at.text_input(key="playbook_book_commercial_id").input("team-commercial").run()
        at.button(key="playbook_book_commercial_save").click().run()
        assert not at.exception, at.exception
        return at

    session_only = "kept for this browser session only"
    at = saved_on_page()  # one analyst's app: kept, and nothing more to say
    assert [s.value for s in at.success] == ["Saved “Commercial agreement” (team-commercial)."]
    assert not any(session_only in c.value for c in at.caption)
    monkeypatch.setenv("CRS_LOCK_ENDPOINTS", "1")  # served to a team, nobody signed in
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.selectbox(key="playbook_book_choice").select("commercial").run()
    assert any(session_only in c.value and "download the TOML" in c.value for c in at.caption)
    at = saved_on_page()
    (said,) = at.success
    assert session_only in said.value and "download the TOML" in said.value
    assert Scope("session:x", "session:x").session_only
    assert not Scope("session:x", None).session_only and not Scope("ann", "ann").session_only
