"""The Portfolio page through AppTest: a stored batch's grid, its exports, and scoring it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lib.analysis.samples import all_samples
from lib.runs.batch import BatchSettings
from lib.runs.batch_store import BatchStore, ItemStatus
from lib.runs.records import RunRecord
from lib.runs.run_log import RunLog

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "portfolio.py")
SPEC = {
    "provider": "ollama",
    "model": "llama3.2",
    "base_url": "http://127.0.0.1:9",
    "context_length": None,
}
KEY = "ollama:llama3.2@http://127.0.0.1:9"


def stored_batch(path: Path) -> str:
    log = RunLog(path)
    store = BatchStore(log)
    samples = all_samples()[:3]
    batch_id = store.create("three", {**BatchSettings(source="sample").__dict__}, [SPEC],
                            [(s.file_name, "x", KEY) for s in samples])  # fmt: skip
    for sample in samples:
        law = sample.spans["Governing Law"]
        # The span itself as the quote, on one line with its own quote marks made single.
        quote = '"' + " ".join(law[0].replace('"', "'").split()) + '"' if law else "not found"
        report = (
            "## Overall risk: MEDIUM\n## Clause by clause\n"
            f"### Governing law and disputes — YELLOW\n- Found: yes — {quote}\n"
        )
        record = RunRecord(page="batch", provider="ollama", model="llama3.2", endpoint="http://127.0.0.1:9",
                           document_name=sample.file_name, document_chars=1, document_sha256="x",
                           template="general", report=report, status="done", batch_id=batch_id)  # fmt: skip
        log.append(record)
        store.start_item(batch_id, sample.file_name, KEY, record.run_id)
        store.end_item(batch_id, sample.file_name, KEY, ItemStatus.DONE)
    return batch_id


def test_grid_exports_and_scorecard_of_a_stored_batch(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(path))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    batch_id = stored_batch(path)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "Findings grid" in [h.value for h in at.subheader]
    grid = at.dataframe[0].value
    assert len(grid) == 3 and set(grid["Governing law and disputes"]) == {"YELLOW"}
    assert set(grid["Audit rights"]) == {"missing"}
    assert any("3 of 3 rows" in c.value for c in at.caption)

    at.button(key="pf_score").click().run()
    assert not at.exception
    [stored] = BatchStore(RunLog(path)).scorecards()
    assert stored.batch_id == batch_id and stored.labels.startswith("CUAD sample")
    [model] = stored.body["models"]
    law = next(c for c in model["categories"] if c["category"] == "Governing Law")
    labelled = sum(bool(s.spans["Governing Law"]) for s in all_samples()[:3])
    assert (
        law["labelled"] == labelled
        and law["presence"][0] == labelled
        and law["right_hits"] == labelled
    )
    assert model["quotes_not_found"] == 0 and model["quotes"] == labelled
