"""The portfolio grid from reports: levels per category, filters, sorting, passages and exports."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl

from lib.analysis.prompts import NOT_FOUND
from lib.analysis.report_sections import MISSING, passage
from lib.engine.run_stats import RunStatus
from lib.runs.portfolio import (
    COLOURS,
    FAILED,
    LEVELS,
    RUNNING,
    WAITING,
    GridRun,
    Waiting,
    category_columns,
    column_heading,
    filter_grid,
    grid_csv,
    grid_frame,
    grid_xlsx,
    results_frame,
    sort_grid,
)
from lib.store.records import RunRecord
from lib.ui.portfolio_view import styled_grid

SAMPLE = (Path(__file__).parent / "fixtures" / "reports" / "sample_review.md").read_text()
CONTRACT = (
    "12.1 The aggregate liability shall not exceed the fees paid in the preceding month. 13. Other."
)
REWORDED = """## Overall risk: LOW
### Liability cap – GREEN
- Found: yes "shall not exceed the fees paid"
### Governing law — YELLOW
- Found: yes
### Something new — RED
"""


def record(report: str, status: str = "done", document: str = "=cmd|' /C calc'!A0") -> RunRecord:
    return RunRecord(page="batch", provider="ollama", model="m", endpoint="", document_name=document,
                     document_chars=1, document_sha256="", template="general", report=report, status=status)  # fmt: skip


def frame():
    return grid_frame(
        [
            GridRun("acme.pdf", "Model A", record(SAMPLE)),
            GridRun("beta.pdf", "Model A", record(REWORDED)),
            GridRun("=HYPERLINK()", "Model B", record("", status="error")),
        ],
        "general",
    )


def test_levels_per_category_with_reworded_headings():
    grid = frame()
    columns = category_columns(grid)
    assert columns[0] == "Limitation of liability (cap, uncapped items)"
    assert columns[-1] == "Something new"  # a heading no template column covers keeps its own
    acme, beta, failed = (grid.iloc[i] for i in range(3))
    assert acme["Limitation of liability (cap, uncapped items)"] == "RED"
    assert acme["Term and termination (incl. for convenience, post-termination duties)"] == "RED"
    assert acme["Audit rights"] == MISSING and acme["risk"] == "HIGH"
    assert (acme["RED"], acme["YELLOW"], acme["GREEN"]) == (2, 1, 2)
    assert beta["Limitation of liability (cap, uncapped items)"] == "GREEN"
    assert beta["Governing law and disputes"] == "YELLOW" and beta["risk"] == "LOW"
    assert set(failed[columns]) == {FAILED}


def test_a_heading_named_like_the_grids_own_columns_overwrites_nothing():
    """A model may head a section "contract" or "RED": as a column of that name it replaced every
    row's contract name in the grid and its exports, and two columns alike broke the coloured
    grid (the Portfolio page stopped with an error)."""
    report = "## Overall risk: HIGH\n\n### contract — RED\nx\n\n### RED — GREEN\ny\n"
    grid = grid_frame([GridRun("acme.pdf", "Model A", record(report))], "general")
    assert grid.columns.is_unique
    row = grid.iloc[0]
    assert row["contract"] == "acme.pdf" and row["RED"] == 1 and row["GREEN"] == 1
    assert row["contract (section)"] == "RED" and row["RED (section)"] == "GREEN"
    assert sort_grid(grid, "RED (section)").shape == grid.shape
    assert styled_grid(grid).to_html()  # the page's coloured grid draws
    (header, values) = list(csv.reader(io.StringIO(grid_csv(grid).decode())))
    assert dict(zip(header, values, strict=True))["contract"] == "acme.pdf"
    # The renamed cell still opens its section, under the heading the model wrote.
    headings = [column_heading(grid, c) for c in category_columns(grid)]
    opened = passage(report, None, column_heading(grid, "RED (section)"), headings)
    assert opened.severity == "GREEN" and "y" in opened.section


def test_filter_and_sort():
    grid = frame()
    reds = filter_grid(grid, levels=["RED"])
    assert list(reds["contract"]) == ["acme.pdf", "beta.pdf"]
    only = filter_grid(grid, levels=["YELLOW"], categories=["Governing law and disputes"])
    assert list(only["contract"]) == ["beta.pdf"] and list(only.columns[7:]) == [
        "Governing law and disputes"
    ]
    assert list(filter_grid(grid, models=["Model B"])["contract"]) == ["=HYPERLINK()"]
    assert list(filter_grid(grid, contract="BETA")["contract"]) == ["beta.pdf"]
    assert next(iter(sort_grid(grid, "RED")["contract"])) == "acme.pdf"
    by_law = sort_grid(grid, "Governing law and disputes")
    assert list(by_law["contract"]) == ["beta.pdf", "acme.pdf", "=HYPERLINK()"]


def formulas(xlsx: bytes) -> list[str]:
    """The formula elements of a workbook's sheets, read from its XML."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        return [m for n in sheets for m in re.findall(r"<(?:\w+:)?f[ >]", archive.read(n).decode())]


def test_exports_colour_cells_and_defuse_formulas():
    grid = frame()
    assert b"'=HYPERLINK()" in grid_csv(grid)
    xlsx = grid_xlsx(grid)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    # Text shown as written (the CSV's apostrophe was a visible part of the name here), and no
    # formula anywhere in the sheet.
    assert sheet["A4"].value == "=HYPERLINK()" and sheet["A4"].data_type == "s"
    assert sheet["A4"].quotePrefix
    assert not formulas(xlsx)
    header = [c.value for c in sheet[1]]
    col = header.index("Limitation of liability (cap, uncapped items)") + 1
    assert sheet.cell(2, col).value == "RED"
    assert sheet.cell(2, col).fill.fgColor.rgb.endswith("F8D7DA")
    assert sheet.cell(3, col).fill.fgColor.rgb.endswith("D1E7DD")


def test_a_cell_opens_its_passage_with_the_contract_around_the_quote():
    columns = category_columns(frame())
    opened = passage(SAMPLE, CONTRACT, columns[0], columns)
    assert opened.severity == "RED" and opened.section.startswith("### Limitation of liability")
    [quote] = opened.quotes
    assert quote.status == "verified" and quote.before.endswith("12.1 The ")
    assert (
        quote.match == "aggregate liability shall not exceed the fees paid in the preceding month"
    )
    assert quote.after.startswith(". 13. Other.")
    assert passage(SAMPLE, None, columns[0], columns).quotes[0].status == "unchecked"
    assert passage(SAMPLE, CONTRACT, "Audit rights", columns).section == ""
    assert passage(None, None, "x", columns).quotes == []  # type: ignore[arg-type]


def test_csv_headers_a_model_wrote_are_defused_like_cells():
    """A category heading the model wrote becomes a column header: it must not run as a formula
    in the CSV any more than in the XLSX."""
    heading = '=HYPERLINK("http://127.0.0.1:9/?q="&A2,"open")'
    report = f"## Overall risk: LOW\n### {heading} — RED\n- Found: yes\n"
    grid = grid_frame([GridRun("acme.pdf", "Model A", record(report))], "general")
    assert heading in category_columns(grid)
    [header, row] = list(csv.reader(io.StringIO(grid_csv(grid).decode())))
    assert "'" + heading in header and heading not in header
    assert not [cell for cell in header + row if cell.startswith(("=", "+", "-", "@"))]
    xlsx = grid_xlsx(grid)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
    assert heading in [c.value for c in sheet[1]] and not formulas(xlsx)


def test_control_characters_a_model_wrote_do_not_stop_the_spreadsheet():
    """openpyxl refuses a whole workbook over one character XML cannot hold: a heading the model
    wrote (or a server's model name) must not cost the analyst the XLSX and the page after it."""
    report = "## Overall risk: LOW\n### Bad\x01Category — RED\n- Found: yes\n"
    grid = grid_frame([GridRun("acme.pdf", "Model\x0bA", record(report))], "general")
    sheet = openpyxl.load_workbook(io.BytesIO(grid_xlsx(grid))).active
    assert "BadCategory" in [c.value for c in sheet[1]]
    assert "ModelA" in [c.value for c in sheet[2]]


def test_a_topic_found_nowhere_is_not_found_in_a_neutral_colour_never_green():
    report = (
        "### Insurance — GREEN\n- Found: no — not found\n### Indemnity — NOT FOUND\n- Found: no\n"
    )
    grid = grid_frame([GridRun("c.pdf", "Model A", record(report))], "general")
    row = grid.iloc[0]
    assert (row["Insurance"], row["Indemnity"], row["GREEN"]) == (NOT_FOUND, NOT_FOUND, 0)
    fill, _ = COLOURS[NOT_FOUND]
    assert fill not in {COLOURS[level][0] for level in ("RED", "YELLOW", "GREEN")}
    sheet = openpyxl.load_workbook(io.BytesIO(grid_xlsx(grid))).active
    cell = next(c for r in sheet.iter_rows() for c in r if c.value == NOT_FOUND)
    assert cell.fill.fgColor.rgb.endswith(fill)


def test_a_stopped_run_keeps_its_partial_findings_and_says_it_stopped():
    """The grid showed a stopped run as "failed" in every category, its partial report (which
    History keeps) unused."""
    partial = "## Overall risk: HIGH\n### Governing law and disputes — YELLOW\n- Found: yes\n"
    stopped = record(partial)
    stopped.status = RunStatus.CANCELLED
    failed = record("")
    failed.status = RunStatus.ERROR
    grid = grid_frame(
        [GridRun("a.pdf", "Model A", stopped), GridRun("b.pdf", "Model A", failed)], "general"
    )
    first, second = grid.iloc[0], grid.iloc[1]
    # A rating from a report cut short is marked so, not read as a finding of the contract.
    assert first["risk"] == "HIGH (partial)" and first["Governing law and disputes"] == "YELLOW"
    assert first["Audit rights"] == "stopped" and first["YELLOW"] == 1
    assert second["Audit rights"] == "failed" and second["risk"] == ""
    assert second["status"] == "failed" == RunStatus.ERROR.label  # as History words it
    assert results_frame([GridRun("a.pdf", "Model A", stopped)]).iloc[0]["risk"] == "HIGH (partial)"
    assert "HIGH (partial)" in grid_csv(grid).decode()


def test_a_run_still_streaming_is_running_in_the_grid_and_its_exports_never_failed():
    """Mid-batch, a contract still being reviewed showed "failed" in every category not yet
    reached, in the failed colour; a finished failed run still says failed."""
    partial = "## Overall risk: HIGH\n### Governing law and disputes — YELLOW\n- Found: yes\n"
    running = record(partial, document="live.pdf")
    running.status = RunStatus.RUNNING
    broken = record("", document="broken.pdf")
    broken.status = RunStatus.ERROR
    grid = grid_frame(
        [GridRun("live.pdf", "Ollama", running), GridRun("broken.pdf", "Ollama", broken)],
        "general",
    )
    columns = category_columns(grid)
    live, failed = grid.iloc[0], grid.iloc[1]
    assert live["status"] == "running" and live["Governing law and disputes"] == "YELLOW"
    assert FAILED not in set(live[columns]) and live["Audit rights"] == RUNNING
    assert set(failed[columns]) == {FAILED}
    assert RUNNING in LEVELS and COLOURS[RUNNING] != COLOURS["RED"]
    assert "background-color: #" + COLOURS[RUNNING][0] in styled_grid(grid).to_html()
    rows = list(csv.DictReader(io.StringIO(grid_csv(grid).decode("utf-8-sig"))))
    assert rows[0]["Audit rights"] == RUNNING and rows[1]["Audit rights"] == FAILED
    sheet = openpyxl.load_workbook(io.BytesIO(grid_xlsx(grid))).active
    header = [c.value for c in sheet[1]]
    audit = header.index("Audit rights") + 1
    assert sheet.cell(2, audit).value == RUNNING
    assert sheet.cell(2, audit).fill.fgColor.rgb.endswith(COLOURS[RUNNING][0])
    # Sorted by a category, a finished failure comes before a run still on its way.
    assert list(sort_grid(grid, "Audit rights")["contract"]) == ["broken.pdf", "live.pdf"]


def test_a_contract_text_is_shown_only_for_the_runs_that_read_it(make_record):
    """A contract chosen on the page may share a stored batch's name and not its words: quotes
    are looked up only in the very text a run of that name read."""
    from lib.analysis.documents import text_sha256
    from lib.engine.settings import Settings
    from lib.runs.portfolio_session import contract_texts

    read = "1. Term. This agreement lasts two years."
    records = {
        ("msa.txt", "m"): make_record(document_name="msa.txt", document_sha256=text_sha256(read))
    }
    other = {"msa.txt": "1. Term. This agreement lasts ninety-nine years."}
    assert contract_texts(None, Settings(), other, records) == {}
    assert contract_texts(None, Settings(), {"msa.txt": read}, records) == {"msa.txt": read}
    assert contract_texts(None, Settings(), {"nda.txt": read}, records) == {}


def test_a_batch_whose_folder_the_pages_may_not_read_shows_without_its_texts(tmp_path, make_record):
    """`crs-batch --folder` reads any folder; the pages only the operator's. Its stored batch is
    shown (its contracts chosen again, like uploads), not a traceback on every load."""
    from lib.analysis.documents import text_sha256
    from lib.engine.settings import Settings
    from lib.runs.batch_sources import FOLDER_PREFIX, reload_source
    from lib.runs.portfolio_session import contract_texts
    from lib.store.batch_store import BatchInfo, BatchStatus

    outside = tmp_path / "cli-folder"
    outside.mkdir()
    (outside / "a.txt").write_text("1. Term. Two years.")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    settings = Settings(batch_dirs=(allowed,))
    source = FOLDER_PREFIX + str(outside)
    assert reload_source(source, settings, settings.batch_dirs) is None
    assert reload_source(FOLDER_PREFIX + str(tmp_path / "gone"), settings, None) is None
    info = BatchInfo("b1", datetime.now(), "cli", BatchStatus.FINISHED, {"source": source}, [])
    text = "1. Term. Two years."
    records = {
        ("a.txt", "m"): make_record(document_name="a.txt", document_sha256=text_sha256(text))
    }
    assert contract_texts(info, settings, {"a.txt": text}, records) == {"a.txt": text}


def test_a_scorecard_is_compared_with_the_one_before_it_on_the_same_labels_and_contracts():
    """An 8-contract batch was compared with the earlier 5-contract one ("F1 +0.09"), and an
    older batch's card with whatever was second newest."""
    from lib.analysis.scorecard import ModelScore, Scorecard
    from lib.runs.portfolio_session import previous_scorecard
    from lib.store.batch_store import StoredScorecard

    def stored(card_id: str, labels: str, contracts: list[str]) -> StoredScorecard:
        body = Scorecard(card_id, labels, (), contracts).to_dict()
        return StoredScorecard(card_id, datetime.now(), card_id, labels, None, body)

    newest_first = [
        stored("c3", "cuad", ["a", "b", "c"]),
        stored("c2", "cuad", ["a", "b"]),
        stored("c1", "cuad", ["c", "b", "a"]),
        stored("c0", "other labels", ["a", "b", "c"]),
    ]
    found = previous_scorecard(newest_first, "c3")
    assert found is not None and found.scorecard_id == "c1"
    assert previous_scorecard(newest_first, "c2") is None  # c1 scored other contracts
    assert previous_scorecard(newest_first, "c1") is None  # c0 is on other labels
    assert previous_scorecard(newest_first, None) is None
    # A card made mid-batch scored a different part per model: never the one compared with.
    model = ModelScore("m", 3, [], [], 0, 0, None, None, None, running=["d"])
    mid_run = Scorecard("c2", "cuad", (), ["a", "b", "c"], [model])
    newest_first[1] = StoredScorecard("c2", datetime.now(), "c2", "cuad", None, mid_run.to_dict())
    found = previous_scorecard(newest_first, "c3")
    assert found is not None and found.scorecard_id == "c1"


def test_contracts_waiting_for_their_run_are_rows_of_the_grid_in_a_neutral_colour():
    """The grid showed only the runs begun, so a batch's queued contracts were not there."""
    running = record("## Overall risk: HIGH\n", document="live.pdf")
    running.status = RunStatus.RUNNING
    grid = grid_frame(
        [GridRun("live.pdf", "Ollama", running)], "general", [Waiting("next.pdf", "Ollama")]
    )
    assert list(grid["contract"]) == ["live.pdf", "next.pdf"]
    queued = grid.iloc[1]
    assert queued["status"] == WAITING and set(queued[category_columns(grid)]) == {WAITING}
    assert WAITING in LEVELS and COLOURS[WAITING] not in {
        COLOURS[k] for k in ("RED", "YELLOW", "GREEN")
    }
    # Sorted by a category, what waits comes after what is on its way.
    assert list(sort_grid(grid, "Audit rights")["contract"]) == ["live.pdf", "next.pdf"]


def test_a_text_the_clause_finder_found_no_clause_in_reads_may_not_be_a_contract(tmp_path):
    """A shopping list read "complete, MEDIUM" in the grid and its exports, though its report
    says it may not be a contract: the caveat is the report's own sentence."""
    from lib.analysis.clauses.report import NOT_A_CONTRACT, write_report

    shopping = "".join(write_report("list.txt", "Shopping list\n\nmilk, eggs, bread\nbutter\n"))
    contract = "".join(write_report("deal.txt", CONTRACT))
    assert NOT_A_CONTRACT in shopping and NOT_A_CONTRACT not in contract
    runs = [GridRun("list.txt", "clause finder", record(shopping)),
            GridRun("deal.txt", "clause finder", record(contract))]  # fmt: skip
    grid = grid_frame(runs, "general")
    flagged, reviewed = grid.iloc[0]["risk"], grid.iloc[1]["risk"]
    assert flagged.endswith(" (may not be a contract)") and flagged.split()[0] in (
        "LOW",
        "MEDIUM",
        "HIGH",
    )
    assert "(" not in reviewed
    assert list(results_frame(runs)["risk"]) == [flagged, reviewed]
    assert flagged in grid_csv(grid).decode()
    sheet = openpyxl.load_workbook(io.BytesIO(grid_xlsx(grid))).active
    assert [c.value for c in sheet["D"]][1:] == [flagged, reviewed]
    # A report cut short that says so too carries both marks.
    stopped = record(shopping)
    stopped.status = RunStatus.CANCELLED
    (risk,) = results_frame([GridRun("list.txt", "clause finder", stopped)])["risk"]
    assert risk.endswith(" (partial; may not be a contract)")


def test_rows_without_a_finished_report_leave_their_counts_blank_in_the_grid_and_exports():
    """A contract waiting, running, not started or not resumed read Red/Yellow/Green 0 / 0 / 0,
    as a finished report that flagged nothing does."""
    from lib.runs.portfolio import NOT_RESUMED, NOT_STARTED

    clean = record("## Overall risk: LOW\n### Audit rights — NOT FOUND\n", document="clean.pdf")
    running = record("## Overall risk: HIGH\n### Audit rights — RED\n", document="live.pdf")
    running.status = RunStatus.RUNNING
    waiting = [Waiting("next.pdf", "M"), Waiting("later.pdf", "M", NOT_STARTED),
               Waiting("gone.pdf", "M", NOT_RESUMED, "the contract changed")]  # fmt: skip
    grid = grid_frame(
        [GridRun("clean.pdf", "M", clean), GridRun("live.pdf", "M", running)], "general", waiting
    )
    counts = grid[["RED", "YELLOW", "GREEN"]]
    assert list(counts.iloc[0]) == [0, 0, 0]
    assert counts.iloc[1:].isna().all(axis=None)
    rows = list(csv.DictReader(io.StringIO(grid_csv(grid).decode("utf-8-sig"))))
    assert [(r["RED"], r["YELLOW"], r["GREEN"]) for r in rows] == [("0", "0", "0")] + [
        ("",) * 3
    ] * 4
    sheet = openpyxl.load_workbook(io.BytesIO(grid_xlsx(grid))).active
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2, min_col=5, max_col=7)] == [
        [0, 0, 0],
        *[[None] * 3] * 4,
    ]
    # Sorted by a count, the rows without one come last.
    assert sort_grid(grid, "RED")["contract"].iloc[0] == "clean.pdf"


def test_a_run_ended_without_a_report_leaves_its_counts_blank_whatever_its_status():
    """A run that failed, was stopped or was refused before its first word read 0 / 0 / 0 in the
    grid and its exports, as a finished report that flagged nothing; a failed run's partial
    report keeps its counts beside its "(partial)" risk."""
    partial = record("## Overall risk: HIGH\n### Liability — RED\n### Term — GREEN\n", "error")
    runs = [
        GridRun("refused.pdf", "M", record("", status="error")),
        GridRun("stopped.pdf", "M", record("", status="cancelled")),
        GridRun("blank.pdf", "M", record(" \n", status="done")),
        GridRun("partial.pdf", "M", partial),
    ]
    grid = grid_frame(runs, "general")
    assert grid[["RED", "YELLOW", "GREEN"]].iloc[:3].isna().all(axis=None)
    assert list(grid[["RED", "YELLOW", "GREEN"]].iloc[3]) == [1, 0, 1]
    assert grid["risk"].iloc[3] == "HIGH (partial)"
    rows = list(csv.DictReader(io.StringIO(grid_csv(grid).decode("utf-8-sig"))))
    assert [(r["RED"], r["YELLOW"], r["GREEN"]) for r in rows] == [("",) * 3] * 3 + [
        ("1", "0", "1")
    ]
    sheet = openpyxl.load_workbook(io.BytesIO(grid_xlsx(grid))).active
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=2, min_col=5, max_col=7)]
    assert cells == [[None] * 3] * 3 + [[1, 0, 1]]
