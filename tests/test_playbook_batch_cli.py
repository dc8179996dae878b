"""`crs-batch run --playbook`: a playbook over many contracts through the batch lanes, every
verdict in `verdicts.csv` (evidence most decisive first, formulas defused), a scorecard against
ContractNLI-layout labels with hand-computed figures, and a resume that checks what was left.

The fixture is a two-NDA file in ContractNLI's layout written here, not the real data."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from lib.analysis.playbook.nda_model import bundled_model, text_digest
from lib.cli.batch import main
from lib.runs.portfolio_playbook import is_playbook_scorecard
from lib.store.batch_store import BatchStore
from lib.store.run_log import RunLog

SENTENCES_A = (
    "The Recipient shall keep every disclosed secret strictly confidential at all times.",
    "The Recipient may share Confidential Information with its employees who need it.",
    "This Agreement is governed by the laws of the State of New York.",
)
SENTENCES_B = (
    "The Recipient may share Confidential Information with its advisers and its employees.",
    "Either party may end this Agreement by giving thirty days written notice.",
    "Nothing in this Agreement grants any licence under any patent or copyright.",
)


def nli_document(doc_id: str, name: str, sentences, annotations) -> dict:
    text, spans = "", []
    for sentence in sentences:
        spans.append([len(text), len(text) + len(sentence)])
        text += sentence + "\n"
    return {
        "id": doc_id,
        "file_name": name,
        "text": text,
        "spans": spans,
        "annotation_sets": [{"annotations": annotations}],
    }


LABELS = {
    "documents": [
        nli_document(
            "1",
            "nda-a.txt",
            SENTENCES_A,
            {
                "h1": {"choice": "Entailment", "spans": [0]},
                "h2": {"choice": "Contradiction", "spans": [1]},
            },
        ),
        nli_document(
            "2",
            "nda-b.txt",
            SENTENCES_B,
            {
                "h1": {"choice": "NotMentioned", "spans": []},
                "h2": {"choice": "Entailment", "spans": [0]},
            },
        ),
    ],
    "labels": {"h1": {"hypothesis": "Secrets are kept."}, "h2": {"hypothesis": "No sharing."}},
}
PLAYBOOK = """
[playbook]
id = "tiny-nda"
name = "Tiny NDA"

[[positions]]
id = "h1"
title = "Secrets kept"
position = "The recipient keeps secrets."
meets = "Secrets are kept."
deviates = "Secrets may be told."
severity = "medium"

[[positions]]
id = "h2"
title = "No sharing"
position = "The recipient shares with nobody."
meets = "No sharing is allowed."
deviates = "Sharing with staff is allowed."
severity = "high"
"""


def section(pid: str, verdict: str, reason: str, quotes) -> str:
    evidence = "".join(f'> "{q.rstrip(".")}"\n' for q in quotes) if quotes else " none\n"
    return f"### [{pid}] x\nVerdict: {verdict}\nReason: {reason}\nEvidence:{evidence}\n"


# The model's answers: on A, h1 meets (span 0) and h2 deviates (span 1, then span 2); on B, h1
# meets (span 0: wrong, B does not address it) and h2 meets (span 1 first, then span 0).
ANSWER_A = section("h1", "MEETS", "Kept.", [SENTENCES_A[0]])
ANSWER_A += section("h2", "DEVIATES", '=HYPERLINK("http://x")', [SENTENCES_A[1], SENTENCES_A[2]])
ANSWER_B = section("h1", "MEETS", "Kept.", [SENTENCES_B[0]])
ANSWER_B += section("h2", "MEETS", "Shared.", [SENTENCES_B[1], SENTENCES_B[0]])

# By hand, per position over both NDAs, then averaged over positions (ContractNLI's way):
# h1: accuracy 1/2; no gold Contradiction (left out of F1 deviates); F1 meets: tp 1, fp 1 → 2/3;
#     evidence on A only: span 0 ranked first → AP 1, P@R80 1.
# h2: accuracy 1; F1 deviates 1; F1 meets 1; evidence pooled over A and B: scores A (0, 1, .5),
#     gold A (0, 1, 0); B (.5, 1, 0), gold B (1, 0, 0): at 1.0 recall 1/2 precision 1/2, at .5
#     recall 1 precision 1/2 → AP 0.5, P@R80 0.5.
EXPECTED = {
    "accuracy": 0.75,
    "f1_deviates": 1.0,
    "f1_meets": (2 / 3 + 1) / 2,
    "evidence_map": 0.75,
    "precision_at_80_recall": 0.75,
}


def lines(text: str) -> list[str]:
    return [line + "\n" for line in text.split("\n")]


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    labels = tmp_path / "tiny-nli.json"
    labels.write_text(json.dumps(LABELS))
    playbook = tmp_path / "tiny.toml"
    playbook.write_text(PLAYBOOK)
    return labels, playbook


def read_csv(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_a_model_checks_every_nda_and_the_scorecard_matches_hand_computed_figures(
    tmp_path, files, capsys
):
    labels, playbook = files
    out = tmp_path / "out"
    with FakeUpstream() as upstream:
        upstream.push(Script(tokens=lines(ANSWER_A)), Script(tokens=lines(ANSWER_B)))
        code = main(["run", "--playbook", str(playbook), "--contractnli", str(labels),
                     "--model", f"openai:m@{upstream.url}/v1", "--concurrency", "openai=1",
                     "--labels", f"contractnli:{labels}", "--out", str(out)])  # fmt: skip
    assert code == 0
    rows = read_csv(out / "verdicts.csv")
    got = {(r["contract"], r["position_id"]): r for r in rows}
    assert {k: r["verdict"] for k, r in got.items()} == {
        ("nda-a.txt", "h1"): "meets",
        ("nda-a.txt", "h2"): "deviates",
        ("nda-b.txt", "h1"): "meets",
        ("nda-b.txt", "h2"): "meets",
    }
    # Evidence in the model's rank order, most decisive first, one column each.
    b_h2 = got[("nda-b.txt", "h2")]
    assert b_h2["evidence_1"].startswith(SENTENCES_B[1][:40])
    assert b_h2["evidence_2"].startswith(SENTENCES_B[0][:40])
    # Each quote as the page marks it: found in the contract, or not (then it is no evidence).
    assert b_h2["evidence_1_check"] == b_h2["evidence_2_check"] == "verified"
    # A reason the model wrote as a formula is text in a spreadsheet.
    assert got[("nda-a.txt", "h2")]["reason"].startswith("'=")

    grid = read_csv(out / "playbook.csv")
    assert {r["contract"]: r["No sharing"] for r in grid} == {
        "nda-a.txt": "deviates · high",
        "nda-b.txt": "meets",
    }
    assert (out / "playbook.xlsx").stat().st_size > 0

    card = json.loads((out / "scorecard.json").read_text())
    (checker,) = card["checkers"]
    assert checker["contracts"] == 2
    assert checker["figures"] == pytest.approx(EXPECTED, abs=1e-4)
    assert "Span NLI BERT-base" in card["published"]
    # The same scorecard is kept in the run log for History, with its batch.
    [stored] = BatchStore(RunLog(tmp_path / "log.sqlite3")).scorecards()
    assert is_playbook_scorecard(stored.body) and stored.labels == "tiny-nli.json"
    assert stored.body["checkers"] == card["checkers"] and stored.batch_id is not None
    printed = capsys.readouterr().out
    assert "Published on ContractNLI's test split" in printed and "| 0.750 |" in printed


def test_the_built_in_checker_is_the_default_and_a_failed_run_resumes(tmp_path, files, capsys):
    labels, _ = files
    out = tmp_path / "out"
    assert main(["run", "--playbook", "nda", "--contractnli", str(labels), "--out", str(out),
                 "--labels", f"contractnli:{labels}"]) == 0  # fmt: skip
    rows = read_csv(out / "verdicts.csv")
    assert len(rows) == 2 * 17
    assert {r["checker"] for r in rows} == {"Built-in playbook checker (no model)"}
    assert all(r["verdict"] in {"meets", "deviates", "not addressed"} for r in rows)
    card = json.loads((out / "scorecard.json").read_text())
    assert card["checkers"][0]["contracts"] == 2

    # A model that fails on the second NDA: the batch says how to resume; the resume checks only
    # that NDA again, against the playbook the batch stored.
    capsys.readouterr()
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=["x"], status=500)
        upstream.push(Script(tokens=lines(ANSWER_A)))
        code = main(["run", "--playbook", str(files[1]), "--contractnli", str(labels),
                     "--model", f"openai:m@{upstream.url}/v1", "--concurrency", "openai=1",
                     "--out", str(out)])  # fmt: skip
        assert code == 1  # a run failed
        printed = capsys.readouterr().out
        assert printed.count("failed: ") == 1
        batch_id = printed.split("resume with: crs-batch resume ")[1].split()[0]
        failed = {r["contract"]: r["verdict"] for r in read_csv(out / "verdicts.csv")}
        assert failed["nda-b.txt"] == "no answer"  # no verdict is guessed for a run that failed
        upstream.push(Script(tokens=lines(ANSWER_B)))
        before = len(upstream.streams())
        assert main(["resume", batch_id, "--out", str(out)]) == 0
        assert len(upstream.streams()) - before == 1
    rows = read_csv(out / "verdicts.csv")
    assert {(r["contract"], r["position_id"]): r["verdict"] for r in rows} == {
        ("nda-a.txt", "h1"): "meets",
        ("nda-a.txt", "h2"): "deviates",
        ("nda-b.txt", "h1"): "meets",
        ("nda-b.txt", "h2"): "meets",
    }


def test_an_estimate_of_a_playbook_batch_says_the_built_in_checker_calls_no_model(
    tmp_path, files, capsys
):
    """It said "one call per contract and checker" of the built-in checker, which calls none."""
    labels, _ = files
    out = tmp_path / "out"
    argv = ["run", "--playbook", "nda", "--contractnli", str(labels), "--out", str(out),
            "--estimate"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert (
        "A playbook check: Built-in playbook checker (no model) reads 2 contracts itself: no model"
        " call, no cost." in printed
    )
    assert not out.exists() or not any(out.iterdir())


def test_an_estimate_of_a_playbook_batch_with_a_model_says_each_checks_tokens_cost_and_fit(
    tmp_path, files, fake_upstream, capsys
):
    """It said only "each model checks a contract in one call": no tokens, cost or time, and
    nothing of a contract too long for the model's context, which the run then failed on."""
    _, playbook = files
    folder = tmp_path / "deals"
    folder.mkdir()
    (folder / "short.txt").write_text(SENTENCES_A[0])
    (folder / "long.txt").write_text(" ".join(SENTENCES_B * 400))
    fake_upstream.app.context_limit = 2_048
    argv = ["run", "--playbook", str(playbook), "--folder", str(folder), "--model", "checker",
            "--model", f"ollama:m@{fake_upstream.url}", "--estimate", "--max-tokens", "512",
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    # The Playbook page's estimate of each check, the built-in checker's line beside them.
    assert "Built-in playbook checker (no model) reads 2 contracts itself" in printed
    assert "estimate short.txt · Ollama · m: one pass, 1 call, ~" in printed
    assert "up to 512 output tokens, local, no cost" in printed
    assert "estimate long.txt · Ollama · m: does not fit the model's context, so it will not" in (
        printed
    )
    assert "estimate in all: 2 runs (1 too long for its model), 1 model call, ~" in printed
    assert not fake_upstream.streams(), "an estimate asks for no answer"


def test_a_batch_of_an_uploaded_contractnli_file_resumes_from_the_terminal(tmp_path, files, capsys):
    """A Portfolio batch over an uploaded ContractNLI file: `resume --contractnli` was refused as
    "uploaded: name the files again" though the option is the way to name them."""
    labels, playbook = files
    out = tmp_path / "out"
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=["x"], status=500)
        assert main(["run", "--playbook", str(playbook), "--contractnli", str(labels),
                     "--model", f"openai:m@{upstream.url}/v1", "--out", str(out)]) == 1  # fmt: skip
        batch_id = capsys.readouterr().out.split("resume with: crs-batch resume ")[1].split()[0]
        log = RunLog(tmp_path / "log.sqlite3")
        info = BatchStore(log).get(batch_id)
        assert info is not None
        with log.connect() as db:  # as the Portfolio page stores an uploaded file's batch
            db.execute(
                "UPDATE batches SET settings = ? WHERE batch_id = ?",
                (json.dumps({**info.settings, "source": "upload"}), batch_id),
            )
        upstream.default = Script(tokens=lines(ANSWER_A))
        before = len(upstream.streams())
        assert main(["resume", batch_id, "--contractnli", str(labels), "--out", str(out)]) == 0
        assert len(upstream.streams()) - before == 2


def test_ndas_that_trained_the_built_in_checker_are_named_in_its_scorecard(
    tmp_path, files, monkeypatch
):
    # Scored on ContractNLI's dev split, the built-in checker reads 0.93 accuracy: those NDAs
    # are its training data. The weights keep their digests, and the scorecard says so.
    import lib.runs.portfolio_playbook as portfolio_playbook

    labels, _ = files
    shipped = bundled_model()
    assert len(json.loads(shipped.about)["documents"]) == 61  # ContractNLI's dev split
    text_a = LABELS["documents"][0]["text"]
    assert not shipped.trained_on(text_a)
    about = json.dumps({**json.loads(shipped.about), "documents": [text_digest(text_a)]})
    trained = dataclasses.replace(shipped, about=about)
    monkeypatch.setattr(portfolio_playbook, "bundled_model", lambda: trained)
    out = tmp_path / "out"
    assert main(["run", "--playbook", "nda", "--contractnli", str(labels), "--out", str(out),
                 "--labels", f"contractnli:{labels}"]) == 0  # fmt: skip
    card = json.loads((out / "scorecard.json").read_text())
    assert [c["in_training"] for c in card["checkers"]] == [1]
    table = (out / "scorecard.md").read_text()
    assert "1 of these 2 NDAs trained its weights" in table


def test_a_playbook_batch_refuses_what_it_cannot_do(tmp_path, files, capsys):
    labels, playbook = files
    assert main(["run", "--playbook", "no-such", "--contractnli", str(labels)]) == 2
    assert main(["run", "--playbook", str(playbook), "--contractnli", str(labels),
                 "--model", "clause-finder"]) == 2  # fmt: skip
    assert main(["run", "--playbook", "nda", "--contractnli", str(labels),
                 "--labels", "sample"]) == 2  # fmt: skip
    assert main(["run", "--contractnli", str(labels), "--model", "clause-finder",
                 "--labels", f"contractnli:{labels}"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "writes no verdicts" in err and "--playbook nda" in err


def test_a_playbook_it_cannot_use_is_refused_saying_why(tmp_path, files, capsys):
    """An unknown id names the ids there are; a file with errors, each bad entry, under the
    same heading the Playbook page shows: "<id> is not a usable playbook" alone left the analyst
    guessing."""
    labels, _ = files
    assert main(["run", "--playbook", "no-such", "--contractnli", str(labels)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "crs-batch: no-such is not a usable playbook:\n"
        "- no bundled or saved playbook has this id; the known ids are commercial, nda\n"
    )
    bad = tmp_path / "team.toml"
    bad.write_text("stray = 1\n" + PLAYBOOK.replace('severity = "medium"', 'severity = "x"'))
    assert main(["run", "--playbook", str(bad), "--contractnli", str(labels)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("crs-batch: team.toml is not a usable playbook:\n- "), err
    assert "unknown top-level entry 'stray'" in err and "severity" in err


def test_an_odd_contractnli_file_is_read_without_crashing():
    """The file is untrusted (an upload on Portfolio): odd entries are left out and named, an
    NDA over the document size limit is refused like any contract, bad JSON is a problem."""
    from lib.engine.settings import Settings
    from lib.runs.batch_sources import contractnli_upload

    settings = Settings()
    big = nli_document("3", "huge.txt", ["x" * (settings.document_limits.max_bytes + 1)], {})
    odd = {"documents": ["not a document", LABELS["documents"][0], big], "labels": ["x"]}
    loaded = contractnli_upload("odd.json", json.dumps(odd).encode(), settings)
    assert [d.name for d in loaded.documents] == ["nda-a.txt"]
    assert [name for name, _ in loaded.problems] == ["document 1", "huge.txt"]
    assert loaded.documents[0].text == LABELS["documents"][0]["text"]  # offsets kept exact
    broken = contractnli_upload("broken.json", b"{not json", settings)
    assert broken.documents == [] and "cannot be read" in broken.problems[0][1]


def test_model_checks_in_a_batch_share_the_process_cap_without_being_refused(tmp_path):
    """Under CRS_MAX_CONCURRENT_RUNS=1 with two requests allowed in flight, a batch's workers wait
    for the one place and each check takes over the place its worker waited for: no check is
    refused as busy, and every place is given back."""
    from dataclasses import replace

    from lib.analysis.playbook.loader import parse_playbook
    from lib.engine.limits import RunLimits
    from lib.engine.provider_config import Provider, ProviderConfig
    from lib.engine.settings import Settings
    from lib.runs.batch import BatchRunner, BatchSettings
    from lib.runs.batch_sources import contractnli_contracts
    from lib.runs.live import STREAMS_IN_FLIGHT
    from lib.store.batch_store import ItemStatus

    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(LABELS))
    documents = contractnli_contracts(path, Settings()).documents
    documents += [replace(d, name=f"copy-{d.name}") for d in documents]
    settings = Settings(run_limits=RunLimits(max_concurrent_runs=1))
    before = STREAMS_IN_FLIGHT.count
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=lines(ANSWER_A), delay=0.01)
        config = ProviderConfig(Provider.OPENAI, "m", f"{upstream.url}/v1", read_timeout=10)
        runner = BatchRunner.create(
            name="cap", contracts=documents, configs=[config],
            batch_settings=BatchSettings.for_playbook(parse_playbook(PLAYBOOK)),
            settings=settings, run_log=None, concurrency={"openai": 2},
        )  # fmt: skip
        assert runner.start().wait(60)
    statuses = {k: r.status for k, r in runner.results.items()}
    assert set(statuses.values()) == {ItemStatus.DONE}, [r.error for r in runner.results.values()]
    assert len(statuses) == 4 and len(upstream.streams()) == 4
    assert STREAMS_IN_FLIGHT.count == before


def test_stop_cancels_a_running_check_and_keeps_its_verdicts(tmp_path):
    import time

    from lib.analysis.playbook.loader import parse_playbook
    from lib.engine.provider_config import Provider, ProviderConfig
    from lib.engine.settings import Settings
    from lib.runs.batch import BatchRunner, BatchSettings
    from lib.runs.batch_sources import contractnli_contracts
    from lib.store.batch_store import ItemStatus
    from lib.store.run_log import RunLog

    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(LABELS))
    log = RunLog(tmp_path / "log.sqlite3")
    with FakeUpstream() as upstream:
        # The model decides h1, starts h2, and goes silent.
        stall_after = len(lines(section("h1", "MEETS", "Kept.", [SENTENCES_A[0]]))) + 2
        upstream.default = Script(tokens=lines(ANSWER_A), fault="stall", fault_after=stall_after)
        config = ProviderConfig(Provider.OPENAI, "m", f"{upstream.url}/v1", read_timeout=30)
        runner = BatchRunner.create(
            name="stop", contracts=contractnli_contracts(path, Settings()).documents, configs=[config],
            batch_settings=BatchSettings.for_playbook(parse_playbook(PLAYBOOK)),
            settings=Settings(), run_log=log, concurrency={"openai": 1},
        )  # fmt: skip
        runner.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
            upstream.streams() and upstream.streams()[0].tokens_sent >= stall_after
        ):
            time.sleep(0.02)
        # The check's verdict on h1 is decided on its worker once the model has started h2 (the
        # running item's stop is its check's `cancel`).
        while time.monotonic() < deadline and not any(
            "h1" in stop.__self__._results for stop in list(runner._active.values())
        ):
            time.sleep(0.02)
        runner.stop()
        assert runner.wait(15)
    assert len(upstream.streams()) == 1, "Stop must not start the next contract"
    (result,) = runner.results.values()
    assert result.status is ItemStatus.CANCELLED
    record = log.get(result.record.run_id)
    assert [v["verdict"] for v in record.verdicts] == ["meets", None]


def test_a_contractnli_files_documents_are_held_to_the_text_cap(tmp_path):
    """A 20 MB ContractNLI file held ten times the characters a contract may have."""
    from lib.engine.settings import load_settings
    from lib.runs.batch_sources import contractnli_contracts

    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(LABELS))
    short = min(len(d["text"]) for d in LABELS["documents"])
    capped = load_settings({"CRS_MAX_PASTE_CHARS": str(short)})
    loaded = contractnli_contracts(path, capped)
    (kept,) = loaded.documents  # the shorter NDA, at the cap exactly
    assert len(kept.text) == short
    ((_, why),) = loaded.problems
    assert "characters of text" in why and "CRS_MAX_PASTE_CHARS" in why


def test_a_playbook_scorecard_counts_the_checks_never_started_as_the_page_does(tmp_path, files):
    """crs-batch's scorecard left out the NDAs whose check never started without a word, where
    the Portfolio page's says they are "still running or not run yet"."""
    from lib.analysis.scorecard import still_running_note
    from lib.cli.batch import load_nli_labels, write_playbook_outputs
    from lib.runs.batch import BatchSettings, batch_records
    from lib.runs.portfolio import NOT_STARTED, Waiting

    labels, _ = files
    assert main(["run", "--playbook", "nda", "--contractnli", str(labels),
                 "--out", str(tmp_path / "out")]) == 0  # fmt: skip
    log = RunLog(tmp_path / "log.sqlite3")
    (info,) = BatchStore(log).list()
    runs, _ = batch_records(log, info.batch_id).grid({})
    ran = [run for run in runs if run.contract == "nda-a.txt"]
    waiting = [Waiting("nda-b.txt", ran[0].model, NOT_STARTED)]
    out = tmp_path / "again"
    playbook = BatchSettings.from_dict(info.settings).playbook_of()
    scores = write_playbook_outputs(
        out, (ran, waiting), playbook, load_nli_labels(f"contractnli:{labels}"), "tiny-nli.json"
    )
    assert scores is not None and [s.running for s in scores] == [("2",)]
    assert still_running_note(1) in (out / "scorecard.md").read_text()
