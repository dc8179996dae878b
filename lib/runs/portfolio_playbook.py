"""A playbook over many contracts: the verdicts table, the contracts × positions grid, and the
scorecard against ContractNLI-layout labels, kept in the run log beside review scorecards.

Built from run records alone (their stored verdicts, `PositionResult.to_dict`), so a batch read
back from the run log, a batch running now and `crs-batch` all show the same rows. CSV and XLSX
go through the grid's writers (`portfolio.grid_csv` / `grid_xlsx`: formulas defused, cells
coloured); a deviation is coloured by its position's severity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd

from lib.analysis.playbook.contractnli import NliDocument, NliSet
from lib.analysis.playbook.format import (
    Playbook,
    PositionResult,
    Severity,
    Verdict,
    result_from_dict,
    verdict_counts,
)
from lib.analysis.playbook.nda_model import bundled_model
from lib.analysis.playbook.scorer import (
    METRICS,
    PUBLISHED,
    Prediction,
    score,
    span_scores_from_passages,
)
from lib.analysis.scorecard import NO_LABELS, NOTHING_ENDED, still_running_note
from lib.engine.run_stats import RunStatus
from lib.runs.playbook_run import BUILTIN_PROVIDER
from lib.runs.playbook_tables import CHECK_LABEL, verdict_word
from lib.runs.portfolio import (
    FAILED,
    NOT_RESUMED,
    NOT_STARTED,
    RUNNING,
    STOPPED,
    WAITING,
    GridRun,
    Waiting,
    unreached,
)
from lib.store.batch_store import BatchStore

NEEDS_MODEL = "needs a model"
NO_ANSWER = "no answer"
NOT_RUN = "not run"
# A verdict whose every quote is not in the contract (`PositionResult.unsupported`).
UNSUPPORTED = "unsupported"
# A grid cell: a verdict, a deviation with its position's severity, or why there is none.
DEVIATES_AT = {s: f"deviates · {s.value}" for s in Severity}
CELL_COLOURS: dict[str, tuple[str, str]] = {
    DEVIATES_AT[Severity.HIGH]: ("F8D7DA", "842029"),
    DEVIATES_AT[Severity.MEDIUM]: ("FFE5D0", "8A3B00"),
    DEVIATES_AT[Severity.LOW]: ("FFF3CD", "664D03"),
    Verdict.MEETS.value: ("D1E7DD", "0F5132"),
    Verdict.NOT_ADDRESSED.value: ("E2E6F3", "2F3A5A"),
    NEEDS_MODEL: ("E9ECEF", "495057"),
    NO_ANSWER: ("E9ECEF", "495057"),
    UNSUPPORTED: ("F3E8FF", "5B2C83"),
    NOT_RUN: ("FFFFFF", "6C757D"),
    FAILED: ("FFFFFF", "6C757D"),
    STOPPED: ("FFFFFF", "6C757D"),
    RUNNING: ("F8F9FA", "6C757D"),
    WAITING: ("FFFFFF", "6C757D"),
    NOT_STARTED: ("FFFFFF", "6C757D"),
    NOT_RESUMED: ("FFFFFF", "6C757D"),
}
# Columns before the positions' own in the grid.
LEAD = (
    "contract",
    "checker",
    "status",
    "meets",
    "deviates",
    "not addressed",
    "unsupported",
    "high severity",
)
METRIC_LABELS = {
    "accuracy": "NLI accuracy",
    "f1_deviates": "F1 deviates",
    "f1_meets": "F1 meets",
    "evidence_map": "evidence mAP",
    "precision_at_80_recall": "P@R80",
}


def results_of(record_verdicts: Sequence[Mapping[str, object]]) -> dict[str, PositionResult]:
    """A record's stored verdicts by position id."""
    results = (result_from_dict(v) for v in record_verdicts)
    return {r.position_id: r for r in results}


def cell(result: PositionResult | None, playbook: Playbook) -> str:
    """What a grid cell shows for one position of one run."""
    if result is None:
        return NOT_RUN
    if result.verdict is None:
        return NO_ANSWER if result.problem else NEEDS_MODEL
    if result.unsupported:
        return UNSUPPORTED
    if result.verdict is Verdict.DEVIATES:
        position = playbook.position(result.position_id)
        return DEVIATES_AT[position.severity if position else Severity.MEDIUM]
    return result.verdict.value


def position_columns(playbook: Playbook) -> list[str]:
    """The grid's column per position: its title, with its id where two titles are alike or a
    title is one of the grid's own columns ("status", "meets")."""
    titles = [p.title for p in playbook.positions]
    taken = {column.casefold() for column in LEAD}
    return [
        p.title
        if titles.count(p.title) == 1 and p.title.casefold() not in taken
        else f"{p.title} ({p.id})"
        for p in playbook.positions
    ]


def verdict_grid(
    runs: Sequence[GridRun], playbook: Playbook, waiting: Sequence[Waiting] = ()
) -> pd.DataFrame:
    """One row per contract × checker: its counts, then a cell per position (see `cell`); a
    contract whose check has not started reads its `Waiting.level` in every position, and its
    status says why a resume left it out (`Waiting.status`)."""
    columns = position_columns(playbook)
    rows = []
    for run in runs:
        results = results_of(run.record.verdicts)
        counts = verdict_counts(playbook, list(results.values()))
        row: dict[str, object] = {
            "contract": run.contract,
            "checker": run.model,
            "status": run.record.status.label,
            "meets": counts.meets,
            "deviates": counts.deviates,
            "not addressed": counts.not_addressed,
            "unsupported": counts.unsupported,
            "high severity": counts.high_severity_deviations,
        }
        ended = run.record.status is RunStatus.DONE
        for column, position in zip(columns, playbook.positions, strict=True):
            found = results.get(position.id)
            # A position a failed or stopped check left without a verdict says so in the same
            # word as a review's cell ("failed", "stopped"), not "no answer".
            unanswered = found is None or found.verdict is None
            row[column] = (
                cell(found, playbook)
                if results and (ended or not unanswered)
                else unreached(run.record.status)
            )
        rows.append(row)
    for slot in waiting:
        rows.append({"contract": slot.contract, "checker": slot.model, "status": slot.status,
                     **dict.fromkeys(LEAD[3:], 0),
                     **dict.fromkeys(columns, slot.level)})  # fmt: skip
    return pd.DataFrame(rows, columns=[*LEAD, *columns])


VERDICT_COLUMNS = [
    "contract",
    "checker",
    "position_id",
    "position",
    "severity",
    "verdict",
    "reason",
]


def verdict_rows(runs: Sequence[GridRun], playbook: Playbook) -> pd.DataFrame:
    """`verdicts.csv`: one row per contract × checker × position, its evidence passages in rank
    order (most decisive first), one column each."""
    rows = []
    for run in runs:
        results = results_of(run.record.verdicts)
        for position in playbook.positions:
            result = results.get(position.id)
            if result is None:
                continue
            row: dict[str, object] = {
                "contract": run.contract,
                "checker": run.model,
                "position_id": position.id,
                # What the row checks, for a reader without the playbook at hand.
                "position": position.title,
                "severity": position.severity.value,
                "verdict": verdict_word(result),
                "reason": result.reason,
            }
            for rank, evidence in enumerate(result.evidence, start=1):
                row[f"evidence_{rank}"] = evidence.text
                # A model's quote checked against the contract, as the page marks it: an
                # invented one is not evidence, and the file must not pass it off as such.
                row[f"evidence_{rank}_check"] = CHECK_LABEL.get(evidence.check or "", "")
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    return frame.fillna("")


# ----------------------------------------------------------------------------- scoring


def rank_score(rank: int) -> float:
    """A passage's evidence score from its rank alone (0 = most decisive), so a model's quotes
    and the built-in checker's passages are scored alike: the order is what they claim."""
    return 1.0 / (rank + 1)


def prediction(result: PositionResult, document: NliDocument) -> Prediction | None:
    """A position's result as the scorer reads it; None when there is no verdict (the scorer
    then counts it as wrong, with no evidence)."""
    if result.verdict is None:
        return None
    passages = [
        (e.start, e.end, rank_score(rank))
        for rank, e in enumerate(result.evidence)
        if 0 <= e.start < e.end
    ]
    return Prediction(result.verdict, span_scores_from_passages(document.spans, passages))


def match_document(name: str, labels: NliSet) -> NliDocument | None:
    """The labelled NDA a contract is: same file name, else the same name without its suffix."""
    by_name = {d.name: d for d in labels.documents}
    if name in by_name:
        return by_name[name]
    stem = PurePath(name).stem
    found = [d for d in labels.documents if PurePath(d.name).stem == stem]
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class CheckerScore:
    checker: str
    contracts: int
    figures: dict[str, float]
    # Of `contracts`, how many trained the built-in checker's weights: its figures on them are
    # not out of sample (ContractNLI's dev split is its training data).
    in_training: int = 0
    # Labelled NDAs whose check was still running or waiting when scored: left out.
    running: tuple[str, ...] = ()

    def caveat(self) -> str:
        """What a reader must know before comparing these figures; "" when nothing."""
        if not self.in_training:
            return ""
        return (
            f"{self.checker}: {self.in_training} of these {self.contracts} NDAs trained its "
            "weights, so its figures on them are not out of sample; its cross-validated figures "
            "are in docs/PLAYBOOK_MODEL.md."
        )


def score_checkers(
    runs: Sequence[GridRun], labels: NliSet, playbook: Playbook, waiting: Sequence[Waiting] = ()
) -> list[CheckerScore]:
    """Each checker's figures over the labelled NDAs it ran on (a failed run scores as it ended:
    its verdicts so far, every position without one wrong). A check still running or not run yet
    (waiting, or not started before the batch stopped) is left out, neither failed nor wrong, and
    listed in `running` (`running_note`)."""
    by_checker: dict[str, dict[str, dict[str, Prediction]]] = {}
    documents: dict[str, dict[str, NliDocument]] = {}
    trained: dict[str, set[str]] = {}
    running: dict[str, set[str]] = {}
    unstarted = [(slot.model, slot.contract) for slot in waiting]
    started = [(run.model, run.contract) for run in runs if run.record.status is RunStatus.RUNNING]
    for checker, contract in [*started, *unstarted]:
        document = match_document(contract, labels)
        if document is not None:
            running.setdefault(checker, set()).add(document.id)
    for run in runs:
        document = match_document(run.contract, labels)
        if document is None or run.record.status is RunStatus.RUNNING:
            continue
        predictions = {}
        for position_id, result in results_of(run.record.verdicts).items():
            found = prediction(result, document)
            if found is not None:
                predictions[position_id] = found
        by_checker.setdefault(run.model, {})[document.id] = predictions
        documents.setdefault(run.model, {})[document.id] = document
        if run.record.provider == BUILTIN_PROVIDER and bundled_model().trained_on(document.text):
            trained.setdefault(run.model, set()).add(document.id)
    positions = [p.id for p in playbook.positions]
    return [
        CheckerScore(
            checker,
            len(documents.get(checker, {})),
            score(list(documents[checker].values()), by_checker[checker], positions)
            if checker in by_checker
            else {},
            len(trained.get(checker, ())),
            tuple(sorted(running.get(checker, ()))),
        )
        for checker in [*by_checker, *(c for c in running if c not in by_checker)]
    ]


def nothing_to_score(scores: Sequence[CheckerScore]) -> str | None:
    """Why these scores make no scorecard (no labelled NDA in the batch, or none of their
    checks has ended), or None."""
    if not scores:
        return NO_LABELS
    return None if any(s.contracts for s in scores) else NOTHING_ENDED


def running_note(scores: Sequence[CheckerScore]) -> str:
    """ "N contracts still running or not run yet, not scored", for a playbook scorecard made
    mid-batch."""
    return still_running_note(len({d for s in scores for d in s.running}))


PUBLISHED_NDAS = 123  # ContractNLI's test split, where the published figures were measured
PUBLISHED_NOTE = "Published on ContractNLI's test split (reference):"


def _figure(value: object) -> str:
    return "—" if not isinstance(value, float) or math.isnan(value) else f"{value:.3f}"


def scorecard_rows(scores: Sequence[CheckerScore]) -> list[dict[str, object]]:
    """One row per checker, then the published figures as reference rows (NaN where the paper
    gives none): the table the page shows and the command line prints."""
    rows: list[dict[str, object]] = [
        {"checker": s.checker, "NDAs": s.contracts, "reference": False,
         **{METRIC_LABELS[m]: s.figures.get(m, math.nan) for m in METRICS}}
        for s in scores
    ]  # fmt: skip
    rows += [
        {"checker": name, "NDAs": PUBLISHED_NDAS, "reference": True,
         **{METRIC_LABELS[m]: figures.get(m, math.nan) for m in METRICS}}
        for name, figures in PUBLISHED.items()
    ]  # fmt: skip
    return rows


def scorecard_table(scores: Sequence[CheckerScore], source: str) -> str:
    """A Markdown table of each checker's figures, the published ones below as reference lines."""
    columns = ["checker", "NDAs", *(METRIC_LABELS[m] for m in METRICS)]
    head = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    ours, published = [f"Scored on {source}", "", *head], ["", PUBLISHED_NOTE, "", *head]
    for row in scorecard_rows(scores):
        cells = [str(row["checker"]), str(row["NDAs"])]
        cells += [_figure(row[METRIC_LABELS[m]]) for m in METRICS]
        (published if row["reference"] else ours).append("| " + " | ".join(cells) + " |")
    caveats = [c for c in (s.caveat() for s in scores) if c]
    if note := running_note(scores):
        caveats.append(note)
    return "\n".join(ours + [f"\nNote: {c}" for c in caveats] + published)


PLAYBOOK_SCORECARD = "playbook"  # the `kind` a stored playbook scorecard's body carries


def scorecard_dict(
    scores: Sequence[CheckerScore], source: str, name: str = ""
) -> dict[str, object]:
    """A playbook scorecard as `scorecard.json` and the run log keep it: each checker's figures
    (None where a figure is undefined) and the published ones it was shown beside."""

    def clean(figures: Mapping[str, float]) -> dict[str, float | None]:
        return {m: None if math.isnan(v) else v for m, v in figures.items()}

    return {
        "kind": PLAYBOOK_SCORECARD,
        "name": name,
        "labels": source,
        "checkers": [
            {
                "checker": s.checker,
                "contracts": s.contracts,
                "in_training": s.in_training,
                "running": list(s.running),
                "figures": clean(s.figures),
            }
            for s in scores
        ],
        "published": PUBLISHED,
    }


def is_playbook_scorecard(body: Mapping[str, object]) -> bool:
    """Whether a stored scorecard's body is a playbook's (a review's carries no kind)."""
    return body.get("kind") == PLAYBOOK_SCORECARD


def scores_from_dict(body: Mapping[str, object]) -> list[CheckerScore]:
    """The checkers' figures of a stored playbook scorecard (None read back as NaN); an entry
    that is not a checker's is skipped, never a crash on History."""
    checkers = body.get("checkers")
    scores = []
    for entry in checkers if isinstance(checkers, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("figures"), dict):
            continue
        figures = {
            m: float(v) if isinstance(v, int | float) else math.nan
            for m, v in entry["figures"].items()
            if m in METRICS
        }
        contracts, trained = entry.get("contracts"), entry.get("in_training")
        running = entry.get("running")
        scores.append(
            CheckerScore(
                str(entry.get("checker", "")),
                contracts if isinstance(contracts, int) else 0,
                figures,
                trained if isinstance(trained, int) else 0,
                tuple(str(d) for d in running) if isinstance(running, list) else (),
            )
        )
    return scores


def save_scorecard(
    store: BatchStore | None,
    scores: Sequence[CheckerScore],
    playbook: Playbook,
    source: str,
    batch_name: str,
    batch_id: str | None = None,
) -> dict[str, object]:
    """A playbook batch's scorecard, kept in the run log beside review scorecards for its owner
    when there is a run log and a checker was scored: the one way Portfolio and `crs-batch` make
    and store one, so History reads them alike. Returns its body."""
    name = f"{batch_name} · {playbook.name} on {source}"
    body = scorecard_dict(scores, source, name)
    if store is not None and scores:
        store.save_scorecard(name, source, body, batch_id)
    return body
