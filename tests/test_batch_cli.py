"""The terminal command: outputs written, failures listed, exit status only for cannot-run."""

from __future__ import annotations

import csv
import io
import json

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from lib.analysis.clauses.report import write_report
from lib.analysis.grounding.index import ContractIndex
from lib.analysis.labels import sample_labels
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY
from lib.analysis.scoring import keep_found, parse_report, presence, right_clause_rate
from lib.cli.batch import main, parse_arguments
from lib.runs.batch import CHANGED, GONE
from lib.runs.batch_sources import FOLDER_PREFIX
from lib.runs.portfolio import NOT_RESUMED, NOT_STARTED
from lib.store.batch_store import BatchStatus, BatchStore, ItemStatus
from lib.store.owners import Scope
from lib.store.run_log import RunLog

REPORT = [
    "## Overall risk: HIGH\n## Clause by clause\n",
    "### Governing law and disputes — YELLOW\n",
    '- Found: yes — clause 9 "governed by the laws of Utopia"\n',
    "### Audit rights — GREEN\n- Found: no — not found\n",
]


def test_run_writes_reports_tables_and_scorecard_then_resume(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    files = []
    for i in range(4):
        path = tmp_path / f"deal-{i}.txt"
        path.write_text(
            f"Deal {i}. 9. This agreement is governed by the laws of Utopia. 10. Audits."
        )
        files.append(str(path))
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "contract,category,clause\n"
        + "".join(f"deal-{i}.txt,Governing Law,governed by the laws of Utopia\n" for i in range(4))
        + "deal-0.txt,Audit Rights,10. Audits.\n"
    )
    out = tmp_path / "out"
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=REPORT, status=500)
        upstream.push(*[Script(tokens=REPORT) for _ in range(3)])
        code = main(["run", *files, "--model", f"openai:m1@{upstream.url}/v1", "--model", "clause-finder",
                     "--out", str(out), "--labels", f"csv:{labels}"])  # fmt: skip
        assert code == 1  # one run failed: a script can tell, and resume it
        printed = capsys.readouterr().out
        assert printed.count("failed: ") == 1 and "resume with: crs-batch resume " in printed
        assert " · OpenAI-compatible server · m1: " in printed  # as runs.csv names it
        batch_id = printed.split("resume with: crs-batch resume ")[1].split()[0]
        runs = list(csv.DictReader(io.StringIO((out / "runs.csv").read_text())))
        # Worded as the pages word a run's status.
        assert sorted(r["status"] for r in runs) == ["complete"] * 7 + ["failed"]
        # The figures the run log and the API have: how it was reviewed, who answered.
        served = {r["served_by"] for r in runs if r["model"].startswith("OpenAI")}
        assert served == {upstream.url.removeprefix("http://")}
        assert {r["review"] for r in runs} == {"one pass"} and "cache_read_tokens" in runs[0]
        grid = list(csv.DictReader(io.StringIO((out / "portfolio.csv").read_text())))
        assert {
            r["Governing law and disputes"] for r in grid if r["model"].startswith("OpenAI")
        } == {"YELLOW", "failed"}
        assert len(list((out / "reports").rglob("*.md"))) == 7
        assert (out / "portfolio.xlsx").stat().st_size > 0
        card = json.loads((out / "scorecard.json").read_text())
        failed = {m["model"]: len(m["failed"]) for m in card["models"]}
        assert failed == {"OpenAI-compatible server · m1": 1, "Clause finder (no model)": 0}
        store = BatchStore(RunLog(tmp_path / "log.sqlite3"))
        assert len(store.scorecards()) == 1 and store.scorecards()[0].batch_id == batch_id
        # Named and counted as the Portfolio page names and counts a batch.
        assert store.get(batch_id).name == "4 contracts × 2 models"
        assert f"batch {batch_id}: 8 runs" in printed

        upstream.default = Script(tokens=REPORT)
        before = len(upstream.streams())
        (out / "scorecard.json").unlink()
        assert (
            main(["resume", batch_id, *files, "--out", str(out), "--labels", f"csv:{labels}"]) == 0
        )
        assert len(upstream.streams()) - before == 1
        # The clause finder is one of the batch's models: its rows survive the resume too.
        runs = list(csv.DictReader(io.StringIO((out / "runs.csv").read_text())))
        assert sorted((r["model"], r["status"]) for r in runs) == sorted(
            [("Clause finder (no model)", "complete")] * 4
            + [("OpenAI-compatible server · m1", "complete")] * 4
        )
        card = json.loads((out / "scorecard.json").read_text())
        assert {m["model"] for m in card["models"]} == set(failed)
        assert "resume with" not in capsys.readouterr().out


def test_cannot_run_exits_two(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    assert main(["run", "--sample", "--model", "nosuch:model"]) == 2
    assert main(["run", str(tmp_path / "missing.pdf"), "--model", "ollama:m"]) == 2
    assert main(["run", "--sample"]) == 2
    assert main(["resume", "0" * 32]) == 2
    assert main(["eval", "--labels", "cuad:" + str(tmp_path)]) == 2
    assert "crs-batch:" in capsys.readouterr().err


def test_bad_arguments_are_refused_in_a_sentence_before_anything_runs(
    tmp_path, monkeypatch, capsys
):
    log = tmp_path / "log.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / "a.txt").write_text("1. Governing Law. The laws of Utopia govern this Agreement.")
    run = ["run", "--folder", str(folder), "--model", "clause-finder"]
    cases = [
        ([*run, "--out", str(a_file)], f"--out {a_file} is a file, not a folder."),
        ([*run, "--max-tokens", "-5"], "--max-tokens must be 256–32,000 (as on the pages"),
        ([*run, "--max-tokens", "100000"], "not 100000."),
        ([*run, "--concurrency", "ollama=0"], "with N at least 1, not 'ollama=0'"),
        ([*run, "--concurrency", "foo=2"], "Unknown provider in --concurrency 'foo=2'"),
        (["run", "--folder", str(tmp_path / "nowhere"), "--model", "clause-finder"],
         f"There is no folder {tmp_path / 'nowhere'}."),
        (["run", "--folder", str(a_file), "--model", "clause-finder"],
         f"{a_file} is a file, not a folder."),
        (["run", "--folder", str(folder), "--playbook", str(tmp_path / "no.toml")],
         f"There is no playbook file {tmp_path / 'no.toml'}."),
        ([*run, "--labels", "csv:" + str(tmp_path / "no.csv")],
         f"Cannot read the labels {tmp_path / 'no.csv'}: No such file or directory."),
        ([*run, "--labels", "weird"], "`contractnli:<file>`"),
    ]  # fmt: skip
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    # Refused before anything ran: no batch was stored.
    assert BatchStore(RunLog(log)).list() == []


def test_the_secrets_file_configures_a_batch_as_it_does_the_pages(tmp_path, monkeypatch, capsys):
    """The key, the endpoint and the run log come from `.streamlit/secrets.toml` in the folder
    it runs from; a setting that does not parse is named, not a traceback."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CRS_HISTORY_DB", "CRS_READ_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".streamlit").mkdir()
    contract = tmp_path / "deal.txt"
    contract.write_text("9. This agreement is governed by the laws of Utopia.")
    log = tmp_path / "team-log.sqlite3"
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=REPORT)
        (tmp_path / ".streamlit" / "secrets.toml").write_text(
            f'OPENAI_BASE_URL = "{upstream.url}/v1"\nOPENAI_API_KEY = "sk-from-secrets"\n'
            f'CRS_HISTORY_DB = "{log}"\n'
        )
        code = main(["run", str(contract), "--model", "openai:m1", "--out", str(tmp_path / "o")])
        assert code == 0, capsys.readouterr().err
        assert {r.headers.get("authorization") for r in upstream.streams()} == {
            "Bearer sk-from-secrets"
        }
    assert [r.status for r in RunLog(log).query()] == ["done"]
    monkeypatch.setenv("CRS_READ_TIMEOUT", "5 minutes")
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert (
        "CRS_READ_TIMEOUT must be a number above 0, not '5 minutes'." in err
        and "Traceback" not in err
    )


def test_labels_that_name_none_of_the_contracts_keep_no_scorecard(tmp_path, monkeypatch, capsys):
    log = tmp_path / "log.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    folder = tmp_path / "ndas"
    folder.mkdir()
    (folder / "nda_0.txt").write_text("1. Confidentiality. Each party keeps the other's secrets.")
    out = tmp_path / "out"
    argv = ["run", "--folder", str(folder), "--model", "clause-finder", "--labels", "sample"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "crs-batch: the contract is not in the labels" in capsys.readouterr().err
    assert not (out / "scorecard.md").exists() and (out / "runs.csv").exists()
    assert BatchStore(RunLog(log)).scorecards() == []
    (row,) = csv.DictReader(io.StringIO((out / "runs.csv").read_text()))
    assert row["total_s"] and len(row["total_s"].partition(".")[2]) <= 3  # to the millisecond
    assert row["ttft_s"] == ""  # the clause finder writes its report at once
    assert "." not in row["output_tokens"]  # a count, not "13.0"


# `make eval` on this commit (the 24 samples are out of the model's training): presence F1 0.85,
# right clause 0.75. A change that drops either below these floors is a regression to explain.
PRESENCE_FLOOR = 0.84
RIGHT_FLOOR = 0.72


def test_eval_scores_the_clause_finder_on_the_sample(capsys):
    assert main(["eval", "--per-category"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| Clause finder"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "24"
    # The printed figures are the scorer's on the finder's own reports, read like any model's.
    labels = sample_labels()
    predictions = {
        name: keep_found(
            parse_report("".join(write_report(name, text, DEFAULT_TEMPLATE_KEY))),
            ContractIndex.build(text),
        )
        for name, text in labels.texts.items()
    }
    expected = presence(predictions, labels.labels, labels.categories)
    hits, total = right_clause_rate(predictions, labels.labels, labels.categories)
    assert (cells[5], cells[6]) == (f"{expected.f1:.2f}", f"{hits / total:.2f}")
    assert expected.f1 >= PRESENCE_FLOOR and hits / total >= RIGHT_FLOOR
    assert "| Governing Law | 21 |" in out  # 21 of the 24 sample contracts label it


def test_each_contract_keeps_its_own_report_file_and_it_loads_nothing(
    tmp_path, monkeypatch, capsys
):
    """ "a b.txt" and "a_b.txt" make the same file name; and a report file, opened in a Markdown
    viewer, is drawn as the page draws it (no remote image)."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    names = ["a b.txt", "a  b.txt", "a_b.txt", "a-b.docx.txt", "契約 📄 deal.txt", "..hidden..txt"]
    for number, name in enumerate(names):  # texts apart in more than spacing: none a copy
        (tmp_path / name).write_text(f"{number}. {name}: 9. Governed by the laws of Utopia.")
    hostile = ["## Overall risk: LOW\n", "![x](http://127.0.0.2:9/leak.png?q=secret)\n"]
    out = tmp_path / "out"
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=hostile)
        files = [str(tmp_path / n) for n in names]
        assert (
            main(["run", *files, "--model", f"openai:m1@{upstream.url}/v1", "--out", str(out)]) == 0
        )
    reports = sorted(p.name for p in (out / "reports").rglob("*.md"))
    # Named as downloads are (no ".txt.md", letters of any script, no hidden file), and no
    # report overwrites another.
    assert reports == [
        "a b (2).md", "a b.md", "a-b.docx.md", "a_b.md", "hidden..md", "契約 deal.md"
    ]  # fmt: skip
    for path in (out / "reports").rglob("*.md"):
        text = path.read_text()
        assert "Overall risk" in text and "![" not in text and "*Reviewed" in text


def test_runs_and_batches_are_recorded_for_the_owner_given(tmp_path, monkeypatch, capsys):
    """On a team's log a batch run without an owner was seen by admins only; `--owner` records
    it as that user's, as the pages and the API would."""
    log = tmp_path / "log.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    contract = tmp_path / "deal.txt"
    contract.write_text("9. This agreement is governed by the laws of Utopia.")
    out = ["--out", str(tmp_path / "out")]
    assert main(["run", str(contract), "--model", "clause-finder", "--owner", "alice", *out]) == 0
    capsys.readouterr()
    everyone = RunLog(log)
    assert [r.owner for r in everyone.query()] == ["alice"]
    assert len(RunLog(log).scoped(Scope("bob", "bob")).query()) == 0
    assert main(["list", "--owner", "bob"]) == 0
    assert "done" not in capsys.readouterr().out
    assert main(["list", "--owner", "alice"]) == 0
    assert "1/1 done" in capsys.readouterr().out


def test_what_reading_a_contract_could_not_do_goes_with_its_run(tmp_path, monkeypatch, capsys):
    """A guessed encoding (or a page that is an image) was said on the Review page only: a batch
    or an API client got a report with nothing to say its text may be wrong."""
    log = tmp_path / "log.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    contract = tmp_path / "café.txt"
    contract.write_bytes("Caf\xe9 agreement. 1. Term. The term is two years.".encode("cp1252"))
    out = tmp_path / "out"
    assert main(["run", str(contract), "--model", "clause-finder", "--out", str(out)]) == 0
    assert "warning café.txt: " in capsys.readouterr().err
    (record,) = RunLog(log).query()
    assert any("read as" in note for note in record.notes)
    (report,) = (out / "reports").rglob("*.md")
    assert "read as" in report.read_text()


def test_an_admin_resuming_a_users_batch_leaves_its_runs_with_that_user(
    tmp_path, monkeypatch, capsys
):
    """Resumed by an admin, the runs were written as the admin's: the owner's History and
    Portfolio lost them, and the owner's own resume found nothing to show."""
    log = tmp_path / "log.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    monkeypatch.setenv("CRS_ADMINS", "root")
    contract = tmp_path / "deal.txt"
    contract.write_text("9. This agreement is governed by the laws of Utopia.")
    out = ["--out", str(tmp_path / "out")]
    with FakeUpstream() as upstream:
        model = ["--model", f"openai:m1@{upstream.url}/v1"]
        upstream.default = Script(status=500)
        assert main(["run", str(contract), *model, "--owner", "bob", *out]) == 1
        batch_id = capsys.readouterr().out.split("crs-batch resume ")[1].split()[0]
        assert main(["list", "--owner", "bob"]) == 0
        assert "0/1 done, 1 left to resume" in capsys.readouterr().out  # as the pages say
        upstream.default = Script(tokens=["## Overall risk: LOW\n"])
        assert main(["resume", batch_id, str(contract), "--owner", "root", *out]) == 0
    bobs = RunLog(log).scoped(Scope("bob", "bob")).query()
    assert sorted(str(r.status) for r in bobs) == ["done", "error"]
    assert {r.owner for r in RunLog(log).query()} == {"bob"}


def test_a_ctrl_c_while_the_files_are_written_waits_for_them(capsys):
    """A second Ctrl-C after a stop broke off writing the files: only reports/ was left."""
    import os
    import signal

    from lib.cli.batch import _interrupts_wait

    before = signal.getsignal(signal.SIGINT)
    with _interrupts_wait():
        os.kill(os.getpid(), signal.SIGINT)
        written = sum(range(100_000))  # the handler runs between bytecodes, here
    assert written and "writing the batch's files first" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before


def test_a_batch_stopped_by_the_system_writes_its_files_and_says_how_to_resume(tmp_path):
    """SIGTERM (a service or container stopped) killed the batch: no files, no resume line, and
    the batch listed as running for ever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    files = []
    for i in range(6):
        path = tmp_path / f"deal-{i}.txt"
        path.write_text(f"Deal {i}. 9. This agreement is governed by the laws of Utopia.")
        files.append(str(path))
    out = tmp_path / "out"
    with FakeUpstream() as upstream:
        upstream.default = Script(tokens=["## Overall risk: LOW\n"] * 40, delay=0.1)
        env = {**os.environ, "CRS_HISTORY_DB": str(tmp_path / "log.sqlite3")}
        command = [sys.executable, "-m", "lib.cli.batch", "run", *files,
                   "--model", f"openai:m1@{upstream.url}/v1", "--model", "clause-finder",
                   "--concurrency", "openai=1", "--out", str(out)]  # fmt: skip
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline = time.monotonic() + 30
        while not upstream.streams() and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "resume with: crs-batch resume " in stdout
    assert (out / "runs.csv").exists() and "Traceback" not in stderr
    # Every run of the batch is a row of its files, as of the page's export: those it never
    # started too, said so (they were left out, the files a row short for each).
    never = int(stdout.rsplit(" never started", 1)[0].rsplit("· ", 1)[1])
    for name in ("runs.csv", "portfolio.csv"):
        rows = list(csv.DictReader(io.StringIO((out / name).read_text())))
        assert len(rows) == 12, name
        assert sum(r["status"] == "not started" for r in rows) == never >= 4, name


def test_a_resume_takes_its_files_after_options_and_its_reports_are_the_new_runs(
    tmp_path, monkeypatch, capsys
):
    """`resume <id> --out X files…` was refused as unrecognized arguments; and a resumed run that
    wrote nothing left the old run's partial report in reports/, beside tables naming the new."""
    log = tmp_path / "log.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    contract = tmp_path / "deal.txt"
    contract.write_text("9. This agreement is governed by the laws of Utopia.")
    out = tmp_path / "out"
    with FakeUpstream() as upstream:
        model = ["--model", f"openai:m1@{upstream.url}/v1"]
        upstream.default = Script(tokens=REPORT, fault="drop", fault_after=2)
        assert main(["run", str(contract), *model, "--out", str(out)]) == 1
        batch_id = capsys.readouterr().out.split("crs-batch resume ")[1].split()[0]
        (partial,) = (out / "reports").rglob("*.md")
        assert "Governing law" in partial.read_text()
        upstream.default = Script(status=500)
        assert main(["resume", batch_id, "--out", str(out), str(contract)]) == 1
    (row,) = csv.DictReader(io.StringIO((out / "runs.csv").read_text()))
    (resumed,) = [r for r in RunLog(log).query() if not r.report]
    assert row["status"] == "failed" and row["run_id"] == resumed.run_id
    assert not list((out / "reports").rglob("*.md"))  # the new run wrote nothing

    store = BatchStore(RunLog(log))
    info = store.get(batch_id)
    assert info is not None
    with RunLog(log).connect() as db:  # as the Portfolio page stores a batch of uploads
        db.execute(
            "UPDATE batches SET settings = ? WHERE batch_id = ?",
            (json.dumps({**info.settings, "source": "upload"}), batch_id),
        )
    assert main(["resume", batch_id, "--out", str(out)]) == 2
    said = capsys.readouterr().err
    assert f"`crs-batch resume {batch_id} <file> <file> … --out {out}`" in said


def test_a_batch_still_running_elsewhere_is_not_resumed(tmp_path, monkeypatch, capsys):
    """Resumed by id while its own process still ran it, every contract not yet ended ran (and
    was billed) twice."""
    log = tmp_path / "log.sqlite3"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    contract = tmp_path / "deal.txt"
    contract.write_text("9. This agreement is governed by the laws of Utopia.")
    with FakeUpstream() as upstream:
        spec = {"provider": "openai", "model": "m1", "base_url": f"{upstream.url}/v1"}
        batch_id = BatchStore(RunLog(log)).create(  # as a live runner leaves it: beating
            "live", {"source": "upload"}, [spec], [("deal.txt", "x", "openai:m1")]
        )
        assert main(["resume", batch_id, "--out", str(tmp_path / "out"), str(contract)]) == 2
        assert upstream.requests == []
    assert "still running in another process" in capsys.readouterr().err
    assert main(["list"]) == 0  # its runs are left, not to resume while it runs
    assert f"{batch_id}" in (listed := capsys.readouterr().out) and "1 left  live" in listed


def test_a_run_history_gone_away_leaves_the_files_of_this_processs_runs(make_record, capsys):
    """The batch's runs were read back from the log for the files; with the log gone away that
    was a traceback and no file at all, though every run was at hand."""
    from types import SimpleNamespace

    from lib.cli.batch import _batch_rows
    from lib.runs.batch import BatchRecords
    from lib.runs.portfolio import GridRun
    from lib.store.database import StoreUnavailable

    class GoneAway:
        def __getattr__(self, name: str):
            def refuse(*args, **kwargs):
                raise StoreUnavailable("the shared database did not answer")

            return refuse

    done = make_record(document_name="a.txt", status="done", report="## Overall risk: LOW")
    runner = SimpleNamespace(
        batch_id="b1", records=lambda: BatchRecords({("a.txt", "ollama:m"): done})
    )
    assert _batch_rows(runner, GoneAway(), {"ollama:m": "Ollama · m"}) == (
        [GridRun("a.txt", "Ollama · m", done)],
        [],
    )
    assert "the run history cannot be reached" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["resume"], ["resume", "--out", "x"]])
def test_a_resume_without_its_batch_says_to_name_it(argv, capsys):
    """argparse's own message asked for "batch_id, files", though the files are optional."""
    with pytest.raises(SystemExit) as stopped:
        parse_arguments(argv)
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "name the batch to resume" in said and "files" not in said.splitlines()[-1]


def test_a_batchs_report_files_carry_their_quote_checks(tmp_path, monkeypatch):
    """The files in reports/ had no check marks: an invented quote read as the contract's own
    words, beside a run log counting it "not found"."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    contract = tmp_path / "deal.txt"
    contract.write_text("Deal. 9. This agreement is governed by the laws of Utopia for ever.")
    answer = [
        "## Overall risk: LOW\n",
        '- "This agreement is governed by the laws of Utopia"\n',
        '- "the moon shall be made entirely of green cheese"\n',
    ]
    out = tmp_path / "out"
    with FakeUpstream() as upstream:
        upstream.push(Script(tokens=answer))
        code = main(["run", str(contract), "--model", f"openai:m1@{upstream.url}/v1",
                     "--out", str(out)])  # fmt: skip
    assert code == 0
    (report,) = (out / "reports").rglob("*.md")
    text = report.read_text()
    assert "✓ verified" in text and "✗ not found in the contract" in text


def finished_folder_batch(tmp_path, capsys, *names: str) -> tuple:
    """A clause-finder batch over a folder of `names` run to its end (the run log at
    CRS_HISTORY_DB in `tmp_path`), for a test to leave as a stop would: (folder, batch id, its
    store, its one model's key)."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(f"{name}. 9. This agreement is governed by the laws of Utopia.")
    argv = ["run", "--folder", str(folder), "--model", "clause-finder", "--out", str(tmp_path)]
    assert main(argv) == 0
    batch_id = capsys.readouterr().out.split("batch ")[1].split(":")[0]
    store = BatchStore(RunLog(tmp_path / "log.sqlite3"))
    return folder, batch_id, store, store.items(batch_id)[0].model_key


def test_a_resume_names_each_run_it_cannot_run_and_list_says_why(tmp_path, monkeypatch, capsys):
    """A resume over a folder whose files changed or went away printed "0 runs left" and "1 of 1
    run done", exited 0, and `list` then read "finished  1/3 done, 2 left to resume"."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    folder, batch_id, store, key = finished_folder_batch(
        tmp_path, capsys, "a.txt", "b.txt", "c.txt"
    )
    # As a stop leaves it: a.txt done, b.txt stopped, c.txt never started.
    store.end_item(batch_id, "b.txt", key, ItemStatus.CANCELLED)
    store.end_item(batch_id, "c.txt", key, ItemStatus.PENDING)
    store.set_status(batch_id, BatchStatus.STOPPED)
    with (folder / "b.txt").open("a") as changed:
        changed.write("\n10. A clause added since.\n")
    (folder / "c.txt").unlink()

    assert main(["resume", batch_id, "--out", str(tmp_path / "out5")]) == 1
    said = capsys.readouterr().out
    model = "Clause finder (no model)"
    assert f"b.txt · {model} was not resumed: {CHANGED}." in said
    assert f"c.txt · {model} was not resumed: {GONE[FOLDER_PREFIX]}." in said
    assert "1 of 3 runs done · 2 not resumed" in said
    # Said from the reasons present: no model was refused, so none is to be chosen.
    hint = said.split("resume with: ")[1].splitlines()[0]
    assert hint == f"crs-batch resume {batch_id} once the contracts are back as they were"
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert f"finished     1/3 done, 2 runs could not resume: {CHANGED}; {GONE[FOLDER_PREFIX]}" in (
        listed
    )
    assert "to resume" not in listed


def test_a_run_a_resume_could_not_run_is_a_row_saying_why_in_the_files(
    tmp_path, monkeypatch, capsys
):
    """A run a stopped batch never started, left out by its resume (its file gone), read "not
    started" in runs.csv and the grid files, which says a resume runs it: it never would."""
    import sqlite3

    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    folder, batch_id, store, key = finished_folder_batch(tmp_path, capsys, "a.txt", "c.txt")
    # As a stop leaves it: a.txt done, c.txt never started.
    store.end_item(batch_id, "c.txt", key, ItemStatus.PENDING)
    with sqlite3.connect(tmp_path / "log.sqlite3") as db:
        db.execute("UPDATE batch_items SET run_id = NULL WHERE contract = 'c.txt'")
    store.set_status(batch_id, BatchStatus.STOPPED)
    (folder / "c.txt").unlink()

    out = tmp_path / "out6"
    assert main(["resume", batch_id, "--out", str(out)]) == 1
    said = f"{NOT_RESUMED}: {GONE[FOLDER_PREFIX]}"
    runs = {r["contract"]: r for r in csv.DictReader(io.StringIO((out / "runs.csv").read_text()))}
    assert (runs["c.txt"]["status"], runs["c.txt"]["error"]) == (NOT_RESUMED, GONE[FOLDER_PREFIX])
    grid = {
        r["contract"]: r for r in csv.DictReader(io.StringIO((out / "portfolio.csv").read_text()))
    }
    assert grid["c.txt"]["status"] == said and NOT_STARTED not in grid["c.txt"].values()


def test_a_scorecard_counts_the_runs_never_started_as_the_page_does(tmp_path, make_record):
    """crs-batch's scorecard left out the labelled contracts whose run never started without a
    word, where the Portfolio page's says they are "still running or not run yet"."""
    from lib.analysis.documents import Document
    from lib.analysis.samples import all_samples
    from lib.analysis.scorecard import still_running_note
    from lib.cli.batch import write_outputs
    from lib.runs.portfolio import GridRun, Waiting

    first, second = all_samples()[:2]
    report = "".join(write_report(first.file_name, first.text, DEFAULT_TEMPLATE_KEY))
    record = make_record(document_name=first.file_name, status="done", report=report)
    documents = [Document(s.file_name, s.text, "txt", len(s.text)) for s in (first, second)]
    rows = ([GridRun(first.file_name, "m", record)], [Waiting(second.file_name, "m", NOT_STARTED)])
    card = write_outputs(tmp_path, rows, DEFAULT_TEMPLATE_KEY, documents, sample_labels(), None,
                         None)  # fmt: skip
    assert card is not None and [m.running for m in card.models] == [[second.file_name]]
    assert still_running_note(1) in (tmp_path / "scorecard.md").read_text()


def test_a_contract_name_with_a_line_break_prints_on_one_line(tmp_path, monkeypatch, capsys):
    """A file name holding a newline (or an escape sequence) was printed raw: the estimate's and
    the failure's lines broke in two, the second half reading as a line of its own. A contract's
    name loses its control characters when it is read (`printable_name`); a file left unread is
    named as it is, its control characters written out."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    folder = tmp_path / "deals"
    folder.mkdir()
    (folder / "deal\nsecond\x1b[2J.txt").write_text("9. Governed by the laws of Utopia.")
    (folder / "notes\nthird\x1b[2J.csv").write_text("a,b")
    out = ["--out", str(tmp_path / "out")]
    with FakeUpstream() as upstream:
        upstream.default = Script(status=500)
        model = ["--model", f"openai:m1@{upstream.url}/v1", "--model", "clause-finder"]
        assert main(["run", "--folder", str(folder), *model, *out]) == 1
    said = capsys.readouterr()
    printed = said.out + said.err
    lines = printed.splitlines()
    assert any(line.startswith("estimate deal second [2J.txt · ") for line in lines)
    assert any(line.startswith("failed: deal second [2J.txt · OpenAI") for line in lines)
    assert any(line.startswith("skipped notes\\nthird\\x1b[2J.csv: ") for line in lines)
    assert not [line for line in lines if line.startswith(("second", "third"))]
    assert "\x1b" not in printed


def test_a_server_that_cannot_say_its_context_window_is_warned_of_once(
    tmp_path, monkeypatch, capsys, caplog
):
    """Against a server without a model list, the same "could not learn the model's context
    window" warning came once a contract, among the estimates, and once a contract again as the
    batch ran."""
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "log.sqlite3"))
    folder = tmp_path / "contracts"
    folder.mkdir()
    for i in range(4):
        (folder / f"deal-{i}.txt").write_text(f"Deal {i}. 9. Governed by the laws of Utopia.")
    with FakeUpstream() as upstream:
        # No `/v1` in the URL: the server has no `/models` there, nor anything else.
        argv = ["run", "--folder", str(folder), "--model", f"openai:window-probe@{upstream.url}"]
        assert main([*argv, "--estimate"]) == 0
        assert capsys.readouterr().out.count("estimate deal-") == 4
        main([*argv, "--out", str(tmp_path / "out")])
    warned = [r.getMessage() for r in caplog.records if "context window" in r.getMessage()]
    assert len(warned) == 1 and "no route /models" in warned[0]
