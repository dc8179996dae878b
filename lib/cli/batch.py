"""Batches and scorecards from a terminal: `crs-batch` (or `python -m lib.cli.batch`).

    crs-batch run --sample --model ollama:llama3.2 --model anthropic:claude-sonnet-5-5 \
        --labels sample --out review-output
    crs-batch run --folder ./data-room --model ollama:qwen2.5:7b --out data-room-review
    crs-batch run --folder ./data-room --model anthropic:claude-sonnet-5-5 --estimate
    crs-batch resume <batch id> --folder ./data-room --out data-room-review
    crs-batch list
    crs-batch eval                      # the rule-based clause finder on the bundled sample
    crs-batch run --playbook nda --contractnli dev.json --labels contractnli:dev.json
    crs-batch run --playbook team.toml --folder ./data-room --model ollama:qwen2.5:7b

A model is `provider:model[@base URL]` (providers: ollama, openai, anthropic, builtin) or
`clause-finder`, the rule-based finder that needs no model. Keys and hosts come from the same
environment as the app (ANTHROPIC_API_KEY, OLLAMA_HOST …). Writes each report as Markdown, the
runs and the portfolio grid as CSV (and XLSX), and the scorecard when labels are given. Before
it starts it prints each run's plan and what it may cost (`--estimate`: that alone, nothing
run). The exit status is 0 when every run completed, 1 when some failed or were stopped (they
are listed, and `resume` runs them) or a resume could not run some (each named with why), 2 when
the batch could not run at all.

With `--playbook` (a bundled playbook's id or a TOML file) every contract is checked against the
playbook instead, by the built-in checker (`--model checker`, the default: no model) or by each
`--model`; it writes `verdicts.csv` (every position's verdict, reason and evidence, most decisive
first) and the contracts × positions grid, and with `--labels contractnli:<file>` a scorecard
beside the figures ContractNLI's authors published.

A scanned PDF (no text layer) is read with OCR, as the Review page reads it, under the operator's
OCR limits, its progress on stderr; one OCR cannot read is left out saying why, and the batch
runs without it. `--no-ocr` leaves scans out.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from lib.analysis.documents import Document
from lib.analysis.labels import LabelError, LabelledSet, cuad_folder, label_csv, sample_labels
from lib.analysis.playbook.contractnli import ContractNliError, NliSet, load_contractnli
from lib.analysis.playbook.format import Playbook
from lib.analysis.playbook.loader import PlaybookError, load_playbook
from lib.analysis.plural import counted
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY, TEMPLATES
from lib.analysis.scorecard import NO_LABELS, Scorecard, build_scorecard, text_table
from lib.engine.provider_config import (
    DEFAULT_MAX_TOKENS,
    MAX_MAX_TOKENS,
    MIN_MAX_TOKENS,
    Provider,
    ProviderConfig,
)
from lib.engine.providers.registry import SPECS, spec_for
from lib.engine.settings import Settings, concurrency_pairs, load_settings, read_secrets_file
from lib.runs import playbook_library
from lib.runs.batch import (
    BatchRecords,
    BatchRunner,
    BatchSettings,
    Checker,
    batch_records,
    estimate_reviews,
    items_left,
    model_key,
    model_label,
    playbook_plan,
    resume_condition,
)
from lib.runs.batch_sources import (
    CONTRACTNLI_PREFIX,
    FOLDER_PREFIX,
    SAMPLE_SOURCE,
    UPLOAD_SOURCE,
    Loaded,
    ScanTaker,
    contractnli_contracts,
    folder_contracts,
    read_files,
    reload_source,
    sample_contracts,
)
from lib.runs.estimate import BatchEstimate
from lib.runs.exports import contract_stem, file_name_part, report_markdown
from lib.runs.launch import report_grounding
from lib.runs.model_choice import ChoiceError, ModelChoice, resolve
from lib.runs.ocr_job import OcrJob
from lib.runs.playbook_run import refuse_non_checker
from lib.runs.portfolio import (
    GridRun,
    Waiting,
    grid_csv,
    grid_frame,
    grid_xlsx,
    model_runs,
    results_frame,
)
from lib.runs.portfolio_playbook import (
    CELL_COLOURS,
    CheckerScore,
    nothing_to_score,
    save_scorecard,
    score_checkers,
    scorecard_table,
    verdict_grid,
    verdict_rows,
)
from lib.runs.portfolio_session import batch_name, score_runs
from lib.runs.scans import Scan, left_out, no_ocr_here, take_scan
from lib.store.batch_store import BatchStore
from lib.store.database import StoreUnavailable
from lib.store.owners import scope_for
from lib.store.playbook_store import PlaybookStore
from lib.store.records import RunRecord
from lib.store.run_log import RunLog, open_run_log

CLAUSE_FINDER = "clause-finder"
# `--model checker`: the built-in playbook checker, which needs no model.
PLAYBOOK_CHECKER = "checker"
NLI_PREFIX = "contractnli:"
# A batch's rows, as its grid and files hold them: its runs, then those not started.
BatchRows = tuple[list[GridRun], list[Waiting]]


def shown(name: str) -> str:
    """A contract's (or a batch's, a model's) name as the terminal prints it: a control character
    written visibly ("\\n", "\\x1b"), so a file name holding a line break or an escape sequence
    neither breaks an output line in two nor drives the terminal. Every name the CLI prints goes
    through it."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in name)


class CannotRun(Exception):
    """The batch cannot start: the message says why; the exit status is 2."""


def parse_model(spec: str, settings: Settings) -> ProviderConfig:
    """`provider:model[@url]`, or a provider that has one model alone (`clause-finder`)."""
    provider_name, _, rest = spec.partition(":")
    try:
        provider = Provider(provider_name.strip().lower().replace("-", "_"))
    except ValueError:
        names = ", ".join(p.value.replace("_", "-") for p in SPECS)
        raise CannotRun(f"Unknown provider in {spec!r}: use one of {names}.") from None
    model, _, base_url = rest.partition("@")
    if not model and spec_for(provider).fixed_model is None:
        raise CannotRun(f"Name the model in {spec!r}, e.g. ollama:llama3.2.")
    choice = ModelChoice(provider, model or spec_for(provider).fixed_model, base_url or None)
    try:
        return resolve(choice, settings, probe=False)
    except ChoiceError as exc:
        raise CannotRun(exc.message) from None


def parse_checker(spec: str, settings: Settings) -> Checker:
    """A playbook's checker: `checker` (the built-in one, None) or a model as for reviews."""
    if spec.strip().lower() in (PLAYBOOK_CHECKER, "built-in", "builtin-checker"):
        return None
    config = parse_model(spec, settings)
    try:
        refuse_non_checker(config)
    except ChoiceError as exc:
        raise CannotRun(f"{exc.message.rstrip('.')} (--model checker, the default).") from None
    return config


def load_playbook_arg(spec: str, run_log: RunLog | None) -> Playbook:
    """A playbook file, else a bundled playbook's id or one saved on the Playbook page."""
    try:
        if Path(spec).is_file():
            return load_playbook(spec)
        if spec.lower().endswith(".toml"):
            raise CannotRun(f"There is no playbook file {spec}.")
        return playbook_library.find(spec, PlaybookStore(run_log) if run_log else None)
    except PlaybookError as exc:
        raise CannotRun(str(exc)) from None


def load_nli_labels(spec: str | None) -> NliSet | None:
    """`contractnli:<file>`: labels in ContractNLI's layout, to score a playbook's verdicts."""
    if not spec:
        return None
    if not spec.startswith(NLI_PREFIX):
        raise CannotRun("A playbook's verdicts are scored with --labels contractnli:<file>.")
    try:
        return load_contractnli(Path(spec.removeprefix(NLI_PREFIX)))
    except ContractNliError as exc:
        raise CannotRun(f"Cannot read the labels: {exc}") from None
    except OSError as exc:
        raise CannotRun(f"Cannot read the labels {exc.filename}: {exc.strerror}.") from None


def load_labels(spec: str | None) -> LabelledSet | None:
    if not spec:
        return None
    if spec.startswith(NLI_PREFIX):
        raise CannotRun("ContractNLI labels score a playbook's verdicts: add --playbook nda.")
    try:
        if spec == "sample":
            return sample_labels()
        if spec.startswith("cuad:"):
            return cuad_folder(Path(spec.removeprefix("cuad:")))
        if spec.startswith("csv:"):
            path = Path(spec.removeprefix("csv:"))
            return label_csv(path.read_bytes(), f"CSV labels {path.name}")
    except LabelError as exc:
        raise CannotRun(f"Cannot read the labels: {exc}") from None
    except OSError as exc:
        raise CannotRun(f"Cannot read the labels {exc.filename}: {exc.strerror}.") from None
    raise CannotRun(
        "Labels are `sample`, `cuad:<folder>` or `csv:<file>`; a playbook's, `contractnli:<file>`."
    )


def scan_reader(
    args: argparse.Namespace, settings: Settings, unread: list[Scan] | None = None
) -> ScanTaker:
    """How this run takes a scan: read with OCR under the operator's limits, its progress on
    stderr (a failure is that contract's reason for being left out), or with `--no-ocr` left
    out saying how to have it read. An estimate (`unread` given) runs nothing, OCR included: a
    scan OCR would read goes to `unread`, to be counted."""
    if args.no_ocr:
        return lambda scan: left_out(scan.reason, "Run without --no-ocr to read it with OCR.")
    if unread is not None:

        def count(scan: Scan) -> str:
            if (cannot := no_ocr_here(scan)) is not None:
                return cannot
            unread.append(scan)
            return UNREAD

        return count

    def read(scan: Scan) -> Document | str:
        last = [""]

        def progress(job: OcrJob) -> None:
            line = job.line()
            if line != last[0]:
                last[0] = line
                print(f"ocr {shown(scan.name)}: {line}", file=sys.stderr)

        taken = take_scan(scan, settings.ocr_limits, on_progress=progress)
        if isinstance(taken, Document):
            print(f"ocr {shown(scan.name)}: the {taken.text_source}", file=sys.stderr)
        return taken

    return read


# Why an estimate's scan is not among its contracts (`scan_reader`): not a problem to print.
UNREAD = "not read for an estimate"


def load_contracts(
    args: argparse.Namespace, settings: Settings, unread: list[Scan] | None = None
) -> tuple[list[Document], str]:
    """The contracts the arguments name, what was left out printed on stderr; with `unread`
    (an estimate), scans are not read but put there (`scan_reader`)."""
    scans = scan_reader(args, settings, unread)
    if args.sample:
        return sample_contracts(), SAMPLE_SOURCE
    if args.contractnli:
        path = Path(args.contractnli)
        loaded = contractnli_contracts(path, settings)
        source = CONTRACTNLI_PREFIX + str(path.resolve())
    elif args.folder:
        try:
            loaded = folder_contracts(Path(args.folder), settings, scans=scans)
        except (OSError, PermissionError) as exc:
            raise CannotRun(str(exc)) from None
        source = FOLDER_PREFIX + str(Path(args.folder).resolve())
    else:
        loaded = Loaded()
        try:
            files = ((Path(f).name, Path(f).read_bytes()) for f in args.files)
            loaded = read_files(files, settings, scans=scans)
        except OSError as exc:
            raise CannotRun(f"Cannot read {exc.filename}: {exc.strerror}") from None
        source = UPLOAD_SOURCE
    for name, problem in loaded.problems:
        if problem != UNREAD:
            print(f"skipped {shown(name)}: {problem}", file=sys.stderr)
    for document in loaded.documents:
        for warning in document.warnings:
            print(f"warning {shown(document.name)}: {warning}", file=sys.stderr)
    return loaded.documents, source


def _unused(folder: Path, stem: str, written: set[Path]) -> Path:
    """`<stem>.md`, or `<stem> (2).md` … where two contracts' names make the same file name
    ("a b.txt" and "a_b.txt"): one report must not overwrite the other."""
    path, n = folder / f"{stem}.md", 1
    while path in written:
        n += 1
        path = folder / f"{stem} ({n}).md"
    written.add(path)
    return path


def run_with_progress(runner: BatchRunner) -> bool:
    """Run to the end with a progress bar; Ctrl-C stops every request. True when not stopped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("starting…", total=runner.progress().total)
        runner.start()
        try:
            while not runner.finished:
                progress = runner.progress()
                bar.update(task, completed=progress.finished, description=progress.line())
                time.sleep(0.2)
        except KeyboardInterrupt:
            runner.stop()
            # Answers already in are still checked and recorded: left unrecorded, a resume
            # would run (and bill) them again. A second Ctrl-C leaves them.
            try:
                while not runner.wait(0.2):
                    progress = runner.progress()
                    bar.update(task, description=f"stopping: {progress.line()}")
            except KeyboardInterrupt:
                pass
        progress = runner.progress()
        bar.update(task, completed=progress.finished, description=progress.line())
    return not runner.stopped


def _nothing_scored(contracts: int, source: str, why: str = NO_LABELS) -> None:
    """Labels that name none of the contracts score nothing, nor do labelled contracts none of
    whose runs has ended (`why`, as the Portfolio page says it): said, and no scorecard kept (a
    table of zeros would read as a result)."""
    if why != NO_LABELS:
        print(f"crs-batch: {why} No scorecard written.", file=sys.stderr)
        return
    which = "the contract is not" if contracts == 1 else f"none of the {contracts:,} contracts is"
    print(
        f"crs-batch: {which} in the labels ({source}): no scorecard written. Labels match a "
        "contract by its file name.",
        file=sys.stderr,
    )


def write_outputs(
    out: Path,
    rows: BatchRows,
    template_key: str,
    documents: Sequence[Document],
    labels: LabelledSet | None,
    run_log: RunLog | None,
    batch_id: str | None,
) -> Scorecard | None:
    """Each report, runs.csv and the grid (CSV, XLSX) with the rows of the Portfolio page's
    export, the runs not started included; the scorecard when labels are given."""
    out.mkdir(parents=True, exist_ok=True)
    grid, waiting = rows
    written: set[Path] = set()
    by_text = {d.sha256: d for d in documents}
    for run in grid:
        # Every run has its file name, whether it wrote a report or not, so a name never moves
        # to another contract. A run with no report has no file: one left by an earlier run of
        # the contract (before a resume) is removed, so the folder says what runs.csv says.
        folder = out / "reports" / (file_name_part(run.model, 120) or "model")
        path = _unused(folder, contract_stem(run.contract), written)
        if run.record.report:
            folder.mkdir(parents=True, exist_ok=True)
            # With its quote checks, as the page's download has them: a quote the contract does
            # not hold was plain text here, beside a run log counting it "not found".
            contract = by_text.get(run.record.document_sha256)
            grounding = report_grounding(run.record, contract)
            path.write_bytes(report_markdown(run.record, grounding.checked if grounding else None))
        else:
            path.unlink(missing_ok=True)
    (out / "runs.csv").write_bytes(grid_csv(results_frame(grid, waiting)))
    frame = grid_frame(grid, template_key, waiting)
    (out / "portfolio.csv").write_bytes(grid_csv(frame))
    (out / "portfolio.xlsx").write_bytes(grid_xlsx(frame))
    if labels is None:
        return None
    scored = sum(labels.match(d.name) is not None for d in documents)
    if not scored:
        _nothing_scored(len(documents), labels.source)
        return None
    models = {run.model for run in grid} | {slot.model for slot in waiting}
    title = f"{counted(len(models), 'model')} on {counted(scored, 'contract')} of {labels.source}"
    card = score_runs(title, grid, labels, {d.name: d.text for d in documents}, waiting)
    if isinstance(card, str):
        _nothing_scored(len(documents), labels.source, card)
        return None
    (out / "scorecard.md").write_text(text_table(card) + "\n", encoding="utf-8")
    (out / "scorecard.json").write_text(json.dumps(card.to_dict(), indent=1), encoding="utf-8")
    if run_log is not None:
        BatchStore(run_log).save_scorecard(card.name, card.labels, card.to_dict(), batch_id)
    return card


def write_playbook_outputs(
    out: Path,
    rows: BatchRows,
    playbook: Playbook,
    labels: NliSet | None,
    labels_source: str,
    run_log: RunLog | None = None,
    batch_id: str | None = None,
) -> list[CheckerScore] | None:
    """verdicts.csv, the contracts × positions grid (CSV, XLSX), the runs, and the scorecard
    when ContractNLI labels are given (kept in the run log too, for History)."""
    out.mkdir(parents=True, exist_ok=True)
    grid, waiting = rows
    (out / "verdicts.csv").write_bytes(grid_csv(verdict_rows(grid, playbook)))
    (out / "runs.csv").write_bytes(grid_csv(results_frame(grid, waiting)))
    frame = verdict_grid(grid, playbook, waiting)
    (out / "playbook.csv").write_bytes(grid_csv(frame))
    (out / "playbook.xlsx").write_bytes(grid_xlsx(frame, CELL_COLOURS, "Playbook"))
    if labels is None:
        return None
    # Scored as the Portfolio page scores it: the checks not run yet left out and counted.
    scores = score_checkers(grid, labels, playbook, waiting)
    if (nothing := nothing_to_score(scores)) is not None:
        _nothing_scored(len({run.contract for run in grid}), labels_source, nothing)
        return None
    (out / "scorecard.md").write_text(scorecard_table(scores, labels_source) + "\n", "utf-8")
    store = BatchStore(run_log) if run_log is not None else None
    info = store.get(batch_id) if store is not None and batch_id else None
    name = info.name if info else counted(len(_by_model(grid)), "checker")
    card = save_scorecard(store, scores, playbook, labels_source, name, batch_id)
    (out / "scorecard.json").write_text(json.dumps(card, indent=1), encoding="utf-8")
    return scores


def _outputs(
    out: Path,
    rows: BatchRows,
    batch_settings: BatchSettings,
    documents: Sequence[Document],
    labels_spec: str | None,
    run_log: RunLog | None,
    batch_id: str,
) -> str | None:
    """Write a review or playbook batch's files; the scorecard's table, if any, to print. A
    Ctrl-C meanwhile waits for them (one after a stop left only half the files)."""
    with _interrupts_wait():
        playbook = batch_settings.playbook_of()
        if playbook is not None:
            labels = load_nli_labels(labels_spec)
            source = Path(labels_spec.removeprefix(NLI_PREFIX)).name if labels_spec else ""
            scores = write_playbook_outputs(out, rows, playbook, labels, source, run_log,
                                            batch_id)  # fmt: skip
            return scorecard_table(scores, source) if scores is not None else None
        card = write_outputs(out, rows, batch_settings.template_key, documents,
                             load_labels(labels_spec), run_log, batch_id)  # fmt: skip
        return text_table(card) if card is not None else None


@contextlib.contextmanager
def _interrupts_wait() -> Iterator[None]:
    """Ctrl-C says it is waiting instead of interrupting (on the main thread, where signals
    are handled; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def wait(_signal: int, _frame: object) -> None:
        print("crs-batch: writing the batch's files first…", file=sys.stderr)

    previous = {sig: signal.signal(sig, wait) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """A stop from the system (SIGTERM: a service or container shut down) ends a batch as Ctrl-C
    does: the answers already in recorded, the files written, the resume command printed. It
    killed the process, writing nothing, and left the batch "running" in `crs-batch list`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _batch_rows(
    runner: BatchRunner | None, run_log: RunLog | None, labels_of: Mapping[str, str]
) -> BatchRows:
    """The batch's rows as the Portfolio page shows and exports them (`BatchRecords.grid`): its
    runs, then those it never started."""
    if runner is None:
        return [], []
    # This process's runs, and a resumed batch's earlier ones from the log; with the log gone
    # away meanwhile, this process's runs still make the files.
    found = runner.records()
    if run_log is not None:
        try:
            stored = batch_records(run_log, runner.batch_id)
            records = {**stored.records, **found.records}
            unstarted = [key for key in stored.not_started if key not in records]
            found = BatchRecords(records, deleted=stored.deleted, not_started=unstarted,
                                 not_resumed=stored.not_resumed)  # fmt: skip
            if stored.deleted:
                print(f"crs-batch: {stored.deleted_note()} The files hold the runs still there.",
                      file=sys.stderr)  # fmt: skip
        except StoreUnavailable as exc:
            print(f"crs-batch: the run history cannot be reached ({exc}); the files hold the"
                  " runs of this process only.", file=sys.stderr)  # fmt: skip
    return found.grid(labels_of)


def _by_model(runs: Sequence[GridRun]) -> dict[str, dict[str, RunRecord]]:
    """Each model's runs by contract, as a scorecard takes them."""
    out: dict[str, dict[str, RunRecord]] = {}
    for run in runs:
        out.setdefault(run.model, {})[run.contract] = run.record
    return out


def _report(runner: BatchRunner | None, card: str | None, out: Path) -> int:
    """What the batch left undone, its scorecard and where the files are; the exit status: 0
    when every run completed, 1 when some failed or were stopped (a resume runs them again) or
    a resume could not run some (`NotResumed.sentence` each), so a script can tell (2 is a
    batch that could not run at all)."""
    left = False
    if runner is not None:
        for failure in runner.failures():
            key = failure.model_key  # named as in runs.csv, not by its key
            name = model_label(runner.configs[key]) if key in runner.configs else key
            print(f"failed: {shown(failure.contract)} · {shown(name)}: {failure.error}")
        for not_resumed in runner.not_resumed:
            print(shown(not_resumed.sentence()))
        left = runner.stopped or bool(runner.failures()) or bool(runner.not_resumed)
        if runner.stopped or runner.failures():
            print(f"resume with: crs-batch resume {runner.batch_id}")
        elif runner.not_resumed:
            when = resume_condition(runner.not_resumed)
            print(f"resume with: crs-batch resume {runner.batch_id} {when}")
    if card is not None:
        print(card)
    print(f"written to {out}")
    return 1 if left else 0


def command_run(args: argparse.Namespace, settings: Settings) -> int:
    if not MIN_MAX_TOKENS <= args.max_tokens <= MAX_MAX_TOKENS:
        raise CannotRun(
            f"--max-tokens must be {MIN_MAX_TOKENS:,}–{MAX_MAX_TOKENS:,} (as on the pages and"
            f" the API), not {args.max_tokens}."
        )
    out = _output_folder(args.out)
    unread: list[Scan] = []
    documents, source = load_contracts(args, settings, unread if args.estimate else None)
    if not documents and not unread:
        raise CannotRun("No contracts to review.")
    run_log = owned_run_log(settings, args.owner)
    playbook = load_playbook_arg(args.playbook, run_log) if args.playbook else None
    wanted = args.model or []
    configs: list[Checker]
    if playbook is not None:
        load_nli_labels(args.labels)  # refused before anything runs
        configs = [parse_checker(m, settings) for m in wanted] or [None]
        batch_settings = BatchSettings.for_playbook(
            playbook, max_tokens=args.max_tokens, source=source
        )
    else:
        load_labels(args.labels)
        if not wanted:
            raise CannotRun("Name at least one --model.")
        configs = [parse_model(m, settings) for m in wanted]
        batch_settings = BatchSettings(template_key=args.template, max_tokens=args.max_tokens,
                                       source=source)  # fmt: skip
    if playbook is not None and (builtin := playbook_plan(len(documents), configs)) is not None:
        print(builtin)
    estimate = estimate_reviews(documents, configs, batch_settings, settings.prices, run_log)
    if estimate is not None:
        print_estimate(estimate)
    if args.estimate:
        if unread:
            names = ", ".join(shown(scan.name) for scan in unread)
            print(
                f"{counted(len(unread), 'scan')} would be read with OCR first, which an estimate"
                f" does not do, so {'it is' if len(unread) == 1 else 'they are'} not in it:"
                f" {names}"
            )
        return 0
    runner = BatchRunner.create(
        name=args.name or batch_name(documents, configs, playbook),
        contracts=documents, configs=configs, batch_settings=batch_settings,
        settings=settings, run_log=run_log, concurrency=_concurrency(args, settings),
    )  # fmt: skip
    print(f"batch {runner.batch_id}: {counted(len(runner.items), 'run')}")
    run_with_progress(runner)
    rows = _batch_rows(runner, run_log, {model_key(c): model_label(c) for c in configs})
    card = _outputs(out, rows, batch_settings, documents, args.labels, run_log,
                    runner.batch_id)  # fmt: skip
    return _report(runner, card, out)


def print_estimate(estimate: BatchEstimate) -> None:
    """Each run's plan and cost (a playbook check's one pass, or that it will not fit its model),
    then the batch's, before anything is sent (`estimate_reviews`)."""
    for run in estimate.runs:
        print(f"estimate {shown(run.contract)} · {shown(run.sentence)}")
    print(f"estimate in all: {estimate.sentence}")


def owned_run_log(settings: Settings, owner: str | None) -> RunLog | None:
    """The run log as `owner` uses it on the pages (`owners.scope_for`): their runs, batches,
    scorecards and saved playbooks, theirs alone unless they are an admin. Without one, every
    owner's are seen and the runs belong to no one, which on a team's log only admins see."""
    run_log = open_run_log(settings)
    if run_log is None:
        return None
    if owner:
        scope = scope_for(
            owner, session_id="", admins=settings.admins, shared_log=False, beyond_loopback=True
        )
        return run_log.scoped(scope)
    if settings.serves_a_team:
        print(
            "crs-batch: runs are recorded without an owner, so on this team's log only admins see"
            " them; give --owner <user> to record them as a user's.",
            file=sys.stderr,
        )
    return run_log


def command_resume(args: argparse.Namespace, settings: Settings) -> int:
    out = _output_folder(args.out)
    run_log = owned_run_log(settings, args.owner)
    if run_log is None:
        raise CannotRun("The run log is switched off (CRS_HISTORY=off): nothing to resume.")
    store = BatchStore(run_log)
    info = store.get(args.batch_id)
    if info is None:
        raise CannotRun(f"There is no batch {args.batch_id}.")
    if info.live():
        raise CannotRun(
            f"Batch {args.batch_id} is still running in another process (its heartbeat is"
            " fresh): resumed now, its contracts would run, and be billed, twice. Stop it there,"
            " or resume it once it has stopped."
        )
    batch_settings = BatchSettings.from_dict(info.settings)
    source = batch_settings.source
    unread: dict[str, str] = {}
    if args.sample or args.folder or args.files or args.contractnli:
        documents, _ = load_contracts(args, settings)
    elif source == UPLOAD_SOURCE:
        raise CannotRun(
            "This batch was uploaded: name the files again to resume it, as in"
            f" `crs-batch resume {args.batch_id} <file> <file> … --out {args.out}`."
        )
    else:
        loaded = reload_source(source, settings, None, scans=scan_reader(args, settings))
        if loaded is None:
            raise CannotRun(
                f"The batch's contracts cannot be read again from {source.partition(':')[2]}:"
                f" name them to resume it, as in `crs-batch resume {args.batch_id} --folder"
                f" <folder> --out {args.out}`."
            )
        documents, unread = loaded.documents, dict(loaded.problems)
    runner = BatchRunner.resume(
        batch_id=args.batch_id, contracts=documents, settings=settings, run_log=run_log,
        unread=unread, concurrency=_concurrency(args, settings),
    )  # fmt: skip
    print(f"batch {runner.batch_id}: {counted(len(runner.items), 'run')} left")
    run_with_progress(runner)
    rows = _batch_rows(runner, run_log, {model_key(s): model_label(s) for s in info.models})
    card = _outputs(out, rows, batch_settings, documents, args.labels, run_log,
                    runner.batch_id)  # fmt: skip
    return _report(runner, card, out)


def command_list(args: argparse.Namespace, settings: Settings) -> int:
    run_log = owned_run_log(settings, args.owner)
    if run_log is None:
        raise CannotRun("The run log is switched off (CRS_HISTORY=off).")
    store = BatchStore(run_log)
    for info in store.list():
        # Failed or stopped runs are what a resume runs again: the pages list such a batch as
        # unfinished, so this says how many are left rather than only "finished", and apart
        # those a resume could not run, with why (`items_left`).
        left = items_left(store.items(info.batch_id), info.live())
        print(f"{info.batch_id}  {info.created:%Y-%m-%d %H:%M}  {info.state():<11}  "
              f"{left}  {shown(info.name)}")  # fmt: skip
    return 0


def command_eval(args: argparse.Namespace, settings: Settings) -> int:
    """The rule-based clause finder on labelled contracts (default: the bundled sample)."""
    labels = load_labels(args.labels or "sample")
    if labels is None or not labels.texts:
        raise CannotRun("These labels carry no contract texts; use `crs-batch run` with files.")
    documents = [Document(name, text, "txt", len(text)) for name, text in labels.texts.items()]
    config = parse_model(CLAUSE_FINDER, settings)
    runner = BatchRunner.create(
        name="eval", contracts=documents, configs=[config],
        batch_settings=BatchSettings(template_key=args.template), settings=settings, run_log=None,
    )  # fmt: skip
    runner.start().wait()
    records = {contract: r.record for (contract, _), r in runner.results.items() if r.record}
    card = build_scorecard(
        f"Clause finder on {labels.source}",
        labels,
        {model_label(config): model_runs(records, labels)},
    )
    print(f"Scored on {labels.source}: {counted(len(card.contracts), 'contract')}\n")
    print(text_table(card))
    if args.per_category:
        print("\n| category | labelled | precision | recall | F1 | right clause | lazy |")
        print("|---|---|---|---|---|---|---|")
        for c in card.models[0].categories:
            rate = "—" if c.right_clause_rate is None else f"{c.right_clause_rate:.2f}"
            prf = c.presence
            print(f"| {c.category} | {c.labelled} | {prf.precision:.2f} | {prf.recall:.2f} | "
                  f"{prf.f1:.2f} | {rate} | {c.lazy} |")  # fmt: skip
    return 0


def _concurrency(args: argparse.Namespace, settings: Settings) -> dict[str, int]:
    try:
        return {
            **settings.batch_concurrency,
            **concurrency_pairs(args.concurrency or [], "--concurrency"),
        }
    except ValueError as exc:
        raise CannotRun(str(exc)) from None


def _output_folder(path: str) -> Path:
    """The folder outputs go to, made (and checked writable) before any run starts: a batch of
    paid runs must not end in a traceback because its folder cannot be written."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".crs-batch-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        raise CannotRun(f"--out {path} is a file, not a folder.") from None
    except OSError as exc:
        raise CannotRun(f"Cannot write to --out {path}: {exc.strerror}.") from None
    return out


def _contract_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--sample", action="store_true", help="the bundled CUAD sample")
    source.add_argument("--folder", help="every PDF, Word, text and Markdown file in a folder")
    source.add_argument("--contractnli", help="the documents of a ContractNLI-layout JSON file")
    parser.add_argument("files", nargs="*", help="contract files")
    parser.add_argument("--out", default="batch-output", help="folder for reports and tables")
    parser.add_argument(
        "--labels",
        help="score against: sample, cuad:<folder> or csv:<file>; a playbook: contractnli:<file>",
    )
    parser.add_argument("--concurrency", action="append", help="provider=N (repeatable)")
    parser.add_argument(
        "--no-ocr",
        action="store_true",
        help="leave scanned PDFs out instead of reading them with OCR (Tesseract)",
    )


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line, and each command's own parser by its name (see `parse_arguments`)."""
    parser = argparse.ArgumentParser(
        prog="crs-batch",
        description="Review many contracts with one or more models, and score them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="review contracts with one or more models")
    _contract_arguments(run)
    run.add_argument(
        "--model",
        action="append",
        help="provider:model[@url] or clause-finder; with --playbook, checker (the default)",
    )
    run.add_argument(
        "--playbook", help="check against a playbook: a TOML file, or a bundled or saved one's id"
    )
    run.add_argument("--template", default=DEFAULT_TEMPLATE_KEY, choices=sorted(TEMPLATES))
    run.add_argument(
        "--max-tokens",
        type=int,
        default=DEFAULT_MAX_TOKENS,
        help=f"output tokens per run, {MIN_MAX_TOKENS:,}–{MAX_MAX_TOKENS:,}",
    )
    run.add_argument("--name", help="a name for the batch")
    run.add_argument(
        "--estimate",
        action="store_true",
        help="print each run's plan (one pass or a focused review of N calls), tokens and cost,"
        " then exit without running anything (OCR neither: scans are counted, not read)",
    )
    resume = commands.add_parser(
        "resume",
        help="finish an interrupted batch",
        usage="crs-batch resume batch_id [files ...] [--folder DIR | --sample | --contractnli FILE]"
        " [--out OUT] [options]",
    )
    # Optional to argparse, required by `parse_arguments`: argparse's own message for a missing
    # id named the optional files as required too.
    resume.add_argument("batch_id", nargs="?")
    _contract_arguments(resume)
    listing = commands.add_parser("list", help="list stored batches")
    for command in (run, resume, listing):
        command.add_argument(
            "--owner",
            help="the user the runs are recorded for (on a team's log, as the pages and the API"
            " name them), whose batches and saved playbooks are used",
        )
    evaluate = commands.add_parser("eval", help="score the rule-based clause finder")
    evaluate.add_argument("--labels", help="sample (default), cuad:<folder> or csv:<file>")
    evaluate.add_argument("--template", default=DEFAULT_TEMPLATE_KEY, choices=sorted(TEMPLATES))
    evaluate.add_argument("--per-category", action="store_true")
    return parser, {"run": run, "resume": resume, "list": listing, "eval": evaluate}


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command and its arguments, files and options in any order.

    argparse alone takes a command's positionals in one go: `resume <id> --out X a.pdf` gave
    the id, no files, then refused `a.pdf` as unrecognized. The command is found first (and
    `-h` or an unknown command answered there); its own words are then read intermixed.
    """
    parser, commands = build_parser()
    found, _ = parser.parse_known_args(argv)
    words = list(sys.argv[1:] if argv is None else argv)
    args = commands[found.command].parse_intermixed_args(words[words.index(found.command) + 1 :])
    args.command = found.command
    if args.command == "resume" and not args.batch_id:
        commands["resume"].error("name the batch to resume (`crs-batch list` shows their ids)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        settings = load_settings(os.environ, read_secrets_file())
    except ValueError as exc:  # a setting that does not parse, or a key that could go astray
        print(f"crs-batch: {exc}", file=sys.stderr)
        return 2
    try:
        with _terminate_as_interrupt():
            return _command(args, settings)
    except CannotRun as exc:
        print(f"crs-batch: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"crs-batch: the run history cannot be reached ({exc}); try again.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before any batch ran (a batch's own stop is handled in it)
        print("crs-batch: stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `crs-batch list | head`: the reader has all it wanted
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return command_run(args, settings)
    if args.command == "resume":
        return command_resume(args, settings)
    if args.command == "list":
        return command_list(args, settings)
    return command_eval(args, settings)


if __name__ == "__main__":
    sys.exit(main())
