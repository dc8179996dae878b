"""A run's quotes are checked once: the tracker fed while it streams holds the run's verdicts,
its end checks only the last paragraph, and the page shows those verdicts without re-checking."""

from __future__ import annotations

from lib.analysis.documents import document_from_text
from lib.analysis.grounding import tracker as tracker_module
from lib.analysis.samples import load_sample, sample_names
from lib.engine.providers.registry import FALLBACK
from lib.engine.settings import Settings
from lib.runs import catalog
from lib.runs.launch import RunRequest, grounding_of, prepare_run


def test_each_quote_is_checked_once_and_the_runs_verdicts_are_kept(monkeypatch, tmp_path):
    calls: list[str] = []
    real = tracker_module.check

    def counting(index, quote, **kw):
        calls.append(quote.text)
        return real(index, quote, **kw)

    monkeypatch.setattr(tracker_module, "check", counting)
    sample = load_sample(sample_names()[0])
    document = document_from_text(sample.text, "sample.txt")
    settings = Settings(history_db_path=tmp_path / "h.sqlite3")
    config = catalog.make_config(FALLBACK, settings, model="")
    run = prepare_run(
        RunRequest("review", config, document, "general", "", "", 4096, 0.2),
        history=None, run_log=None, settings=settings,
    )  # fmt: skip
    report = ""
    for text in run.stream:
        report += text
        run.tracker.feed(report)  # as the live view does while drawing
    run.finish()
    grounding = grounding_of(run.record.run_id)
    assert grounding is not None and grounding.counts["total"] > 5
    assert len(calls) == grounding.counts["total"], "every quote checked exactly once"
    assert run.record.quotes_total == grounding.counts["total"]
    assert grounding.checked == run.tracker.checked
