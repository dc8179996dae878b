""" "Delete permanently" leaves the report in neither the database file nor its write-ahead log."""

from __future__ import annotations

import sqlite3

from lib.store.records import RunRecord
from lib.store.run_log import RunLog

SECRET = "CANARY-REPORT-7f3a9c-the-supplier-pays-EUR-4,200,000-in-liquidated-damages"


def record(report: str, name: str = "Acme MSA.pdf") -> RunRecord:
    return RunRecord(
        page="review",
        provider="ollama",
        model="llama3.2",
        endpoint="http://localhost:11434",
        document_name=name,
        document_chars=1200,
        document_sha256="ab" * 32,
        template="general",
        report=report,
        contract_text=report,
    )


def file_bytes(path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def test_deleted_report_is_gone_from_db_and_wal(tmp_path):
    path = tmp_path / "history.sqlite3"
    log = RunLog(path)
    keep = record("## Overall risk: LOW — nothing to see")
    doomed = record(f"## Overall risk: HIGH\n{SECRET}\n" * 40, name=f"{SECRET}.pdf")
    for r in (keep, doomed):
        log.append(r)
        log.append(r)  # written at start and again at the end of a run
    # Another session holding the database open keeps the -wal file from being cleaned up on close.
    other = sqlite3.connect(path)
    other.execute("SELECT COUNT(*) FROM runs").fetchone()
    try:
        assert SECRET.encode() in file_bytes(path) + file_bytes(path.with_name(path.name + "-wal"))
        assert log.delete([doomed.run_id]) == 1
        for name in (path.name, path.name + "-wal"):
            data = file_bytes(path.with_name(name))
            assert SECRET.encode() not in data, f"the deleted report is still in {name}"
        assert log.get(keep.run_id) is not None and log.count() == 1
    finally:
        other.close()
