"""A run log shared by a team: owners, scoped views, pages of runs, both databases, and several
processes writing one database at once."""

from __future__ import annotations

import sys
import types
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from devtools.log_writers import write_concurrently
from lib.engine.settings import listens_beyond_loopback, load_settings
from lib.runs.launch import NOT_KEPT_NOTE, end_record
from lib.store.batch_store import BatchStore
from lib.store.database import StoreUnavailable
from lib.store.migrations import SCHEMA_VERSION
from lib.store.owners import EVERYONE, Scope, scope_for
from lib.store.run_log import RunLog, open_run_log

ALICE = Scope(owner="alice@firm.example", sees="alice@firm.example")
BOB = Scope(owner="bob@firm.example", sees="bob@firm.example")


def test_each_owner_sees_reads_and_deletes_only_their_own_runs(log_target, make_record):
    log = RunLog(log_target)
    alice, bob = log.scoped(ALICE), log.scoped(BOB)
    a = make_record(document_name="Alice lease.pdf")
    b = make_record(document_name="Bob NDA.pdf", provider="anthropic")
    alice.append(a)
    bob.append(b)
    assert a.owner == "alice@firm.example" and b.owner == "bob@firm.example"
    assert [r.run_id for r in alice.query()] == [a.run_id]
    assert alice.get(b.run_id) is None and bob.get(b.run_id) is not None
    assert alice.count() == 1 and log.count() == 2
    assert alice.distinct("provider") == ["ollama"]
    assert alice.delete([a.run_id, b.run_id]) == 1
    assert [r.run_id for r in log.query()] == [b.run_id]


def test_a_run_written_again_keeps_its_owner(log_target, make_record):
    log = RunLog(log_target)
    record = make_record()
    log.scoped(ALICE).append(record)
    stranger = make_record(run_id=record.run_id, owner="mallory", report="overwritten")
    log.append(stranger)
    kept = log.get(record.run_id)
    assert kept is not None and kept.owner == "alice@firm.example" and kept.report == ""


def test_pages_and_counts_follow_the_filters(log_target, make_record):
    log = RunLog(log_target)
    now = datetime.now(UTC)
    for n in range(25):
        log.append(
            make_record(
                document_name=f"Contract {n:02d}.PDF",
                provider="anthropic" if n % 5 == 0 else "ollama",
                started=now - timedelta(minutes=n),
                report=f"report {n}",
                ttft_s=0.123456789,
            )
        )
    first = log.query(limit=10, with_text=False)
    second = log.query(limit=10, offset=10, with_text=False)
    assert [r.document_name for r in first + second] == [f"Contract {n:02d}.PDF" for n in range(20)]
    assert first[0].report == "" and log.query(limit=1)[0].report == "report 0"
    assert first[0].ttft_s == pytest.approx(0.123456789, abs=1e-12)
    assert log.count() == 25 and log.count(provider="anthropic") == 5
    assert log.count(document="contract 1") == 10  # 10-19, whatever the case
    assert [r.document_name for r in log.query(document="contract 2", limit=2, offset=3)] == [
        "Contract 23.PDF",
        "Contract 24.PDF",
    ]


def test_batches_and_scorecards_belong_to_their_owner(log_target):
    log = RunLog(log_target)
    alice, bob = BatchStore(log.scoped(ALICE)), BatchStore(log.scoped(BOB))
    batch_id = alice.create("Q3 leases", {}, [], [("a.pdf", "00", "ollama:m")])
    card_id = alice.save_scorecard("card", "labels", {"rows": []}, batch_id)
    assert [b.batch_id for b in alice.list()] == [batch_id] and bob.list() == []
    assert bob.get(batch_id) is None and bob.unfinished() == []
    assert [c.scorecard_id for c in BatchStore(log).scorecards()] == [card_id]
    assert bob.scorecards() == []
    bob.delete(batch_id)
    bob.delete_scorecard(card_id)
    assert alice.get(batch_id) is not None and len(alice.scorecards()) == 1


def test_opening_again_migrates_nothing(log_target):
    assert RunLog(log_target).migrated_steps == SCHEMA_VERSION
    assert RunLog(log_target).migrated_steps == 0


def test_postgres_schema_version_and_settings(postgres_url, tmp_path):
    settings = load_settings(
        {"CRS_DATABASE_URL": postgres_url, "CRS_HISTORY_DB": str(tmp_path / "unused.sqlite3")}
    )
    log = open_run_log(settings)
    assert log is not None and log.path is None and "PostgreSQL" in log.describe()
    assert not (tmp_path / "unused.sqlite3").exists()
    with psycopg.connect(postgres_url) as db:
        versions = [row[0] for row in db.execute("SELECT version FROM schema_version ORDER BY 1")]
        kinds = dict(
            db.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_name = 'runs'"
            ).fetchall()
        )
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    assert kinds["ttft_s"] == "double precision" and kinds["owner"] == "text"


@pytest.mark.timeout(300)
def test_three_processes_make_300_runs_at_once(log_target):
    """Three instances start together on a fresh database: one migrates, nothing is lost, and
    every owner sees exactly the runs they made."""
    owners = ["ana", "ben", "chloe"]
    results = write_concurrently(log_target, owners, runs_each=100)
    assert sorted(r.migrated_steps for r in results) == [0, 0, SCHEMA_VERSION]
    log = RunLog(log_target)
    everything = log.query(limit=1000, with_text=False)
    assert len(everything) == 300
    assert Counter(r.run_id for r in everything).most_common(1)[0][1] == 1
    assert {r.status.value for r in everything} == {"done"}
    for result in results:
        seen = log.scoped(Scope(owner=result.owner, sees=result.owner)).query(limit=1000)
        assert sorted(r.run_id for r in seen) == sorted(result.run_ids)
        assert all(r.report.endswith(f"for {result.owner}") for r in seen)


def test_writers_start_clean_after_a_page_script_ran_in_this_process(tmp_path, monkeypatch):
    """After an `AppTest`, `__main__` is a page script; a spawned writer must not run it again."""
    page = tmp_path / "page.py"
    page.write_text("raise SystemExit(3)\n")
    script = types.ModuleType("__main__")
    script.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", script)
    [result] = write_concurrently(str(tmp_path / "log.sqlite3"), ["ana"], runs_each=2)
    assert len(result.run_ids) == 2


def test_scope_rule():
    admins = frozenset({"root@firm.example"})

    def scope(user, *, shared=False, beyond=True):
        return scope_for(
            user, session_id="s1", admins=admins, shared_log=shared, beyond_loopback=beyond
        )

    assert scope("alice") == Scope("alice", "alice")
    assert scope("root@firm.example").sees_all
    # Names match exactly, as admins and as owners: a differently cased name is someone else.
    assert scope("Root@Firm.example") == Scope("Root@Firm.example", "Root@Firm.example")
    assert scope(None) == Scope("session:s1", "session:s1")
    assert scope("  ", shared=True) == Scope("session:s1", None)
    assert scope(None, beyond=False).sees_all and scope("alice", beyond=False).sees == "alice"
    assert EVERYONE.sees_all


@pytest.mark.parametrize(
    ("address", "beyond"),
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("[::1]", False),
     ("127.0.1.1", False), (None, True), ("", True), ("0.0.0.0", True), ("10.1.2.3", True)],
)  # fmt: skip
def test_listen_address(address, beyond):
    assert listens_beyond_loopback(address) is beyond


def test_team_settings():
    settings = load_settings(
        {
            "CRS_DATABASE_URL": "postgresql://crs@db/crs",
            "CRS_USER_HEADER": "X-Forwarded-User",
            "CRS_ADMINS": " Root@Firm.example , ops",
            "CRS_SHARED_LOG": "1",
        }
    )
    assert settings.admins == frozenset({"Root@Firm.example", "ops"})
    assert settings.user_header == "X-Forwarded-User" and settings.shared_log
    assert "crs@db" not in repr(settings)
    assert load_settings({}).database_url is None and not load_settings({}).shared_log


def test_many_runs_in_one_call(log_target, make_record):
    log = RunLog(log_target).scoped(ALICE)
    records = [make_record(document_name=f"c{n}.pdf") for n in range(3)]
    records[0].owner = "bob@firm.example"
    log.append_many(records)
    assert sorted(r.document_name for r in log.query()) == ["c1.pdf", "c2.pdf"]
    assert log.scoped(EVERYONE).get(records[0].run_id).owner == "bob@firm.example"


def test_a_database_gone_away_mid_session_is_one_error_and_a_note_then_comes_back(
    postgres_cluster, make_record
):
    """History showed Streamlit's error box and the API a plain "Internal Server Error" (the
    driver's own errors), and a run that ended then was dropped from History without a word."""
    url = postgres_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
    log = RunLog(url)
    try:
        log.append(make_record(status="done", report="kept"))
        ended = make_record(status="done", report="ended in the outage")
        with postgres_cluster.gone_away(url):
            with pytest.raises(StoreUnavailable):  # every read and write goes through one place
                log.query()
            end_record(ended, log)
            assert ended.notes == [NOT_KEPT_NOTE]
        for _ in range(20):  # the pool reconnects by itself
            try:
                assert log.count() == 1
                break
            except StoreUnavailable:
                continue
        else:
            pytest.fail("the run log did not come back")
        # The next run's first write puts in the end the outage kept out, without the note.
        end_record(make_record(status="done", report="after"), log)
        kept = log.get(ended.run_id)
        assert kept is not None and kept.report == "ended in the outage" and kept.notes == []
        assert ended.notes == [] and log.count() == 3
    finally:
        log.database.close()  # its pool's threads, not left to the garbage collector
