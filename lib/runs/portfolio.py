"""The portfolio grid: contracts × review categories, each cell the severity a report gave.

Built from finished reports alone, read by `lib.analysis.report_sections` (shared with every
reader of reports), so it works for any model and for runs reopened from the run log. Exports:
CSV (formulas defused) and XLSX (text cells, never formulas) with the cells coloured as on screen.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from lib.analysis.clauses.report import NOT_A_CONTRACT
from lib.analysis.labels import LabelledSet
from lib.analysis.prompts import NOT_FOUND, TEMPLATES
from lib.analysis.report_sections import MISSING, overall_risk, severities
from lib.analysis.scorecard import ModelRun
from lib.engine.provider_config import endpoint_label
from lib.engine.run_stats import RunStatus
from lib.store.batch_store import ItemStatus
from lib.store.csv_export import FORMULA_STARTS, csv_bytes, exportable
from lib.store.records import RunRecord, has_counts, review_mode

# A run's outcome in a cell, worded as its status everywhere (`RunStatus.label`).
FAILED = RunStatus.ERROR.label
STOPPED = RunStatus.CANCELLED.label
# How a risk read from a report its run never finished is marked (`risk_of`).
PARTIAL = "partial"
# How the risk of a report in which the clause finder recognised no clause is marked (`risk_of`):
# its rating rests on flags such as "no liability cap found" in what may be a shopping list.
MAYBE_NOT_A_CONTRACT = "may not be a contract"
# A category a run still streaming has not reached yet: no verdict, and no failure either.
RUNNING = "running…"
# A contract whose run has not started yet (queued behind the cap on runs at once or its lane):
# its row is there from the start so the grid shows the whole batch, and it has no verdict.
WAITING = "waiting"
# A contract of a stopped (or interrupted) batch whose run never started: still a row, so the grid
# and its exports account for every contract of the batch, and resuming the batch runs it.
NOT_STARTED = "not started"
# A run a resume could not run (its contract changed or is gone, its model cannot be chosen): a
# row too, with why, as resuming the batch again would leave it out again.
NOT_RESUMED = ItemStatus.NOT_RESUMED.value
LEVELS = (
    "RED", "YELLOW", "GREEN", NOT_FOUND, MISSING, FAILED, STOPPED, RUNNING, WAITING, NOT_STARTED,
    NOT_RESUMED,
)  # fmt: skip
# Cell colours on screen and in XLSX (fill, text).
COLOURS: dict[str, tuple[str, str]] = {
    "RED": ("F8D7DA", "842029"),
    "YELLOW": ("FFF3CD", "664D03"),
    "GREEN": ("D1E7DD", "0F5132"),
    NOT_FOUND: ("E2E6F3", "2F3A5A"),  # neutral: nothing found is not a clean bill of health
    MISSING: ("E9ECEF", "495057"),
    FAILED: ("FFFFFF", "6C757D"),
    STOPPED: ("FFFFFF", "6C757D"),
    RUNNING: ("F8F9FA", "6C757D"),
    WAITING: ("FFFFFF", "6C757D"),  # neutral: no verdict yet, and none of a failure
    NOT_STARTED: ("FFFFFF", "6C757D"),  # neutral too: nothing was asked of the model
    NOT_RESUMED: ("FFFFFF", "6C757D"),
}


# The grid's count columns: how many categories a report rated each level. Blank (None), not 0,
# in a row without a report to count (`has_counts`), as 0 / 0 / 0 read as a report with no flags.
COUNTS = ("RED", "YELLOW", "GREEN")
# The grid's own columns, before one per category.
LEAD = ("contract", "model", "status", "risk", *COUNTS)
# Where `grid_frame` keeps each category column's heading in the reports (a column renamed to
# keep clear of the grid's own reads its section under the heading the model wrote).
_HEADINGS = "headings"


@dataclass(frozen=True)
class GridRun:
    """One contract × model run as the grid needs it."""

    contract: str
    model: str
    record: RunRecord


# What a selected cell of a run not started says, by its row's level (`Waiting.note`).
_UNSTARTED_NOTES = {
    WAITING: "This run has not started yet: it waits for a free place in the batch.",
    NOT_STARTED: "This run did not start before the batch stopped: resuming the batch runs it.",
}


@dataclass(frozen=True)
class Waiting:
    """A contract × model of a batch whose run has not started: no record, no verdict, but a
    row, so an analyst sees every contract of the batch. `WAITING` while the batch runs,
    `NOT_STARTED` once it stopped (resuming it runs them), `NOT_RESUMED` with its `reason` when
    a resume could not run it (`NotResumed`): "resuming runs it" was untrue of those."""

    contract: str
    model: str
    level: str = WAITING
    reason: str = ""

    @property
    def status(self) -> str:
        """The row's status cell in the grids and their CSV/XLSX, which have no column for an
        error: "not resumed: the contract changed since the batch started"."""
        return f"{self.level}: {self.reason.rstrip('.')}" if self.reason else self.level

    def note(self) -> str:
        """What the page says for a selected cell of the row, the same for every level."""
        if self.level == NOT_RESUMED:
            return f"This run was not resumed: {self.reason.rstrip('.')}."
        return _UNSTARTED_NOTES[self.level]


def grid_frame(
    runs: Sequence[GridRun], template_key: str, waiting: Sequence[Waiting] = ()
) -> pd.DataFrame:
    """One row per contract × model; category columns hold a level from `LEVELS`. A run that
    failed, was stopped or is still running keeps what its partial report rated; the categories
    it has not reached say why (`unreached`), not "missing" (the model did not get that far).
    A contract whose run has not started reads its `Waiting.level` in every category, after the
    runs."""
    template = TEMPLATES.get(template_key)
    columns = list(template.categories) if template else []
    rows = []
    extra: list[str] = []
    for run in runs:
        ok = run.record.status == "done"
        found = severities(run.record.report, columns)
        extra.extend(c for c in found if c not in columns and c not in extra)
        counted = has_counts(run.record)
        rows.append(
            {
                "contract": run.contract,
                "model": run.model,
                "status": run.record.status.label,
                "risk": risk_of(run.record),
                **{c: sum(v == c for v in found.values()) if counted else None for c in COUNTS},
                **{"_found": found, "_short": None if ok else unreached(run.record.status)},
            }
        )
    for slot in waiting:
        rows.append(
            {
                "contract": slot.contract,
                "model": slot.model,
                "status": slot.status,
                "risk": "",
                **dict.fromkeys(COUNTS),
                **{"_found": {}, "_short": slot.level},
            }
        )
    categories = columns + extra
    named = _column_names(categories)
    for row in rows:
        found, short = row.pop("_found"), row.pop("_short")
        for category, name in zip(categories, named, strict=True):
            row[name] = found.get(category, short or MISSING)
    grid = pd.DataFrame(rows, columns=[*LEAD, *named]).astype(dict.fromkeys(COUNTS, "Int64"))
    grid.attrs[_HEADINGS] = dict(zip(named, categories, strict=True))
    return grid


def _column_names(categories: Sequence[str]) -> list[str]:
    """A column per category, named as the report heads it unless that is taken: a model may
    write any heading ("### contract", "### RED"), and one that replaced the grid's own column
    would overwrite every row's contract name, and two alike would break the coloured grid."""
    taken = {column.casefold() for column in LEAD}
    names = []
    for category in categories:
        name, n = category, 1
        while name.casefold() in taken:
            n += 1
            name = f"{category} (section {n})" if n > 2 else f"{category} (section)"
        taken.add(name.casefold())
        names.append(name)
    return names


def risk_of(record: RunRecord) -> str:
    """The overall risk a report gives, for the grid, its CSV and XLSX and runs.csv, with what the
    report says against it in brackets: "HIGH (partial)" when its run failed, was stopped or still
    runs, as the rating of a report cut short is no finding of the whole contract; "MEDIUM (may not
    be a contract)" when the clause finder's report says it recognised no clause in the text (its
    own `NOT_A_CONTRACT` sentence), as a "complete, MEDIUM" row read like a contract reviewed;
    "" when the report gives none."""
    risk = overall_risk(record.report)
    if not risk:
        return risk
    marks = [
        mark
        for mark, applies in (
            (PARTIAL, record.status is not RunStatus.DONE),
            (MAYBE_NOT_A_CONTRACT, NOT_A_CONTRACT in record.report),
        )
        if applies
    ]
    return f"{risk} ({'; '.join(marks)})" if marks else risk


def unreached(status: RunStatus) -> str:
    """What a cell says for a part of the work a run has not given, by how the run stands: a run
    still streaming is on its way ("running…"), not failed, so the live grid does not show every
    contract in flight as a failure; a stopped run says so; any other run failed."""
    if status is RunStatus.RUNNING:
        return RUNNING
    return STOPPED if status is RunStatus.CANCELLED else FAILED


def category_columns(frame: pd.DataFrame) -> list[str]:
    return list(frame.columns[len(LEAD) :])


def column_heading(frame: pd.DataFrame, column: str) -> str:
    """The report heading behind a category column of the grid `grid_frame` built."""
    return str(frame.attrs.get(_HEADINGS, {}).get(column, column))


def filter_grid(
    frame: pd.DataFrame,
    *,
    models: Sequence[str] = (),
    levels: Sequence[str] = (),
    categories: Sequence[str] = (),
    contract: str = "",
) -> pd.DataFrame:
    """Rows of the chosen models and contract name, having one of `levels` in `categories`."""
    out = frame
    if models:
        out = out[out["model"].isin(list(models))]
    if contract.strip():
        out = out[out["contract"].str.contains(contract.strip(), case=False, regex=False)]
    shown = [c for c in (categories or category_columns(frame)) if c in out.columns]
    if levels and shown:
        out = out[out[shown].isin(list(levels)).any(axis=1)]
    return out[[*frame.columns[: len(LEAD)], *shown]] if categories else out


def sort_grid(frame: pd.DataFrame, by: str = "RED") -> pd.DataFrame:
    """Most serious first: by red, then yellow count, or by a category's level."""
    if by in COUNTS:
        order = [by, *(c for c in ("RED", "YELLOW") if c != by)]
        return frame.sort_values(order, ascending=False, kind="stable")
    if by in category_columns(frame):
        rank = {level: i for i, level in enumerate(LEVELS)}
        return frame.sort_values(by, key=lambda s: s.map(rank), kind="stable")
    return frame.sort_values(by, kind="stable") if by in frame.columns else frame


def grid_csv(frame: pd.DataFrame) -> bytes:
    return csv_bytes(frame, index=False)


def grid_xlsx(
    frame: pd.DataFrame, colours: Mapping[str, tuple[str, str]] = COLOURS, title: str = "Portfolio"
) -> bytes:
    """The grid as a spreadsheet: coloured level cells (from the 8th column: the categories, or
    a playbook's positions), frozen header, no formulas."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append([_cell(str(c)) for c in frame.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in frame.itertuples(index=False):
        sheet.append([_cell(None if v is pd.NA else v.item() if hasattr(v, "item") else v)
                      for v in values])  # fmt: skip
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                # Text, not a formula, and shown as written: the CSV's apostrophe was a visible
                # part of the name here ("'=cmd.txt").
                cell.data_type, cell.quotePrefix = "s", True
    fills = {k: (PatternFill("solid", fgColor=f), Font(color=t)) for k, (f, t) in colours.items()}
    for row in sheet.iter_rows(min_row=2, min_col=8):
        for cell in row:
            style = fills.get(str(cell.value))
            if style:
                cell.fill, cell.font = style
    sheet.freeze_panes = "C2"
    for i, column in enumerate(frame.columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(40, max(10, len(str(column))))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: object) -> object:
    """A spreadsheet cell without the control characters XML cannot hold (a model's heading or a
    server's model name may carry one; openpyxl refuses the whole file)."""
    return exportable(value) if isinstance(value, str) else value


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# The columns of `results_frame`, the runs' table (runs.csv).
RESULT_COLUMNS = (
    "contract", "model", "status", "error", "risk", "review", "input_tokens", "cache_read_tokens",
    "cache_write_tokens", "output_tokens", "thinking_tokens", "ttft_thinking_s", "thinking_s",
    "ttft_s", "total_s", "tokens_per_s", "cost_usd", "served_by", "run_id",
)  # fmt: skip


def results_frame(runs: Sequence[GridRun], waiting: Sequence[Waiting] = ()) -> pd.DataFrame:
    """One row per run with its figures, for the CLI's CSV: times to the millisecond, counts as
    whole numbers even beside a run without them (object columns); the thinking, the prompt
    cache's share and the server that answered, as the run log has. A run not started is a row
    too, after the runs as in the grid: its `Waiting.level` its status, why a resume left it out
    its error, and no figures."""
    rows: list[dict[str, object]] = [
        {
            "contract": r.contract,
            "model": r.model,
            "status": r.record.status.label,
            "error": r.record.error_message or "",
            "risk": risk_of(r.record),
            "review": review_mode(r.record),
            "input_tokens": r.record.input_tokens,
            "cache_read_tokens": r.record.cache_read_tokens,
            "cache_write_tokens": r.record.cache_write_tokens,
            "output_tokens": r.record.output_tokens,
            "thinking_tokens": r.record.thinking_tokens,
            "ttft_thinking_s": _rounded(r.record.ttft_thinking_s, 3),
            "thinking_s": _rounded(r.record.thinking_s, 3),
            "ttft_s": _rounded(r.record.ttft_s, 3),
            "total_s": _rounded(r.record.total_s, 3),
            "tokens_per_s": _rounded(r.record.tokens_per_s, 1),
            "cost_usd": _rounded(r.record.cost_usd, 6),
            "served_by": endpoint_label(r.record.served_by),
            "run_id": r.record.run_id,
        }
        for r in runs
    ]
    rows += [
        {**dict.fromkeys(RESULT_COLUMNS), "contract": slot.contract, "model": slot.model,
         "status": slot.level, "error": slot.reason, "risk": "", "review": "", "served_by": "",
         "run_id": ""}
        for slot in waiting
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS), dtype=object)


def grid_runs(
    records: Mapping[tuple[str, str], RunRecord], labels: Mapping[str, str]
) -> list[GridRun]:
    """(contract, model key) → record, as grid runs named by the models' display labels."""
    return [
        GridRun(contract, labels.get(key, key), record)
        for (contract, key), record in sorted(records.items())
    ]


def waiting_rows(
    items: Sequence[tuple[str, str]], labels: Mapping[str, str], level: str = WAITING
) -> list[Waiting]:
    """(contract, model key) of runs not started, named by the models' display labels."""
    return [Waiting(contract, labels.get(key, key), level) for contract, key in sorted(items)]


def model_runs(
    records: Mapping[str, RunRecord], labels: LabelledSet, waiting: Sequence[str] = ()
) -> dict[str, ModelRun]:
    """Runs keyed by the labelled contract each document matches; a run still streaming, and a
    contract in `waiting` (its run not started), are marked running: not scored, not failed."""
    out = {}
    for name, record in records.items():
        labelled = labels.match(name)
        if labelled is None:
            continue
        out[labelled] = ModelRun(
            report=record.report,
            ok=record.status is RunStatus.DONE,
            running=record.status is RunStatus.RUNNING,
            cost_usd=record.cost_usd,
            ttft_s=record.ttft_s,
            tokens_per_s=record.tokens_per_s,
            output_tokens=record.output_tokens,
            cache_read_tokens=record.cache_read_tokens,
            cache_write_tokens=record.cache_write_tokens,
        )
    for name in waiting:
        labelled = labels.match(name)
        if labelled is not None and labelled not in out:
            out[labelled] = ModelRun(report="", ok=False, running=True)
    return out
