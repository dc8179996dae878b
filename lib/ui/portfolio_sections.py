"""The Portfolio page's sections: contracts, models (or a playbook and its checkers), run and stop,
unfinished batches, the findings grid with its passage and exports (or a playbook's verdicts
grid with its evidence and exports), and the scorecard. The page calls them in order.

The steps behind them live in `lib.runs.portfolio_session`; every file, batch, model or server
text drawn here goes through `lib.ui.safe`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from lib.analysis.documents import Document
from lib.analysis.labels import LabelError, LabelledSet, cuad_folder, label_csv, sample_labels
from lib.analysis.playbook.checker import NDA_PLAYBOOK
from lib.analysis.playbook.contractnli import ContractNliError, read_contractnli
from lib.analysis.playbook.format import Playbook, result_from_dict
from lib.analysis.plural import counted
from lib.analysis.report_sections import passage
from lib.analysis.scorecard import Scorecard, summary_rows
from lib.engine.settings import Settings
from lib.runs import portfolio_session as session
from lib.runs.batch import RUNNING, BatchRunner, BatchSettings, Checker, model_key, model_label
from lib.runs.batch_sources import (
    FOLDER_PREFIX,
    SAMPLE_SOURCE,
    UPLOAD_SOURCE,
    Loaded,
    ReadCache,
    allowed_folder,
    contractnli_upload,
    folder_contracts,
    read_sources,
    sample_contracts,
    uploaded,
)
from lib.runs.launch import save_upload
from lib.runs.portfolio import (
    LEVELS,
    GridRun,
    Waiting,
    category_columns,
    column_heading,
    filter_grid,
    grid_csv,
    grid_frame,
    grid_xlsx,
    sort_grid,
)
from lib.runs.portfolio_playbook import (
    CELL_COLOURS,
    nothing_to_score,
    save_scorecard,
    score_checkers,
    verdict_grid,
    verdict_rows,
)
from lib.store.batch_store import BatchInfo, BatchStore
from lib.store.playbook_store import PlaybookStore
from lib.store.run_log import RunLog
from lib.ui.download import offer
from lib.ui.estimate_view import batch_estimate, show_batch_estimate
from lib.ui.ocr_panel import batch_scans, scans_offer
from lib.ui.pickers import generation_settings, kept, provider_picker, template_picker
from lib.ui.playbook_view import checker_picker, evidence_panel, playbook_picker
from lib.ui.portfolio_view import (
    grid_column_config,
    level_legend,
    passage_view,
    playbook_scorecard_view,
    progress_fragment,
    scorecard_view,
    selected_cell,
    selected_position,
    styled_grid,
    styled_verdicts,
    verdict_column_config,
    verdict_legend,
)
from lib.ui.report_view import report_view
from lib.ui.safe import label
from lib.ui.tables import dataframe, viewer_zone

BATCH_KEY = "pf_batch"
SHOWN_KEY = "pf_shown"
FOLLOWED_KEY = "pf_followed"
DOCUMENTS_KEY = "pf_documents"  # name → text of the contracts chosen in this session
MODELS_KEY = "pf_runner_models"  # model key → label of the batch this session started
GRID_KEY, VERDICTS_KEY, REPORT_PICK_KEY = "pf_grid", "pf_verdicts", "pf_report"
GRID_BATCH_KEY = "pf_grid_batch"  # the batch whose grid holds the selection above
NOT_RESUMED_KEY = "pf_not_resumed"  # what the last Resume could not run, said once after it


def _cache(key: str) -> ReadCache:
    cache: ReadCache = st.session_state.setdefault(key, ReadCache())
    return cache


# Files left out shown one warning each; more go in one table, so a folder of a thousand
# spreadsheets does not bury the page (every one is still named, none dropped unsaid).
SHOWN_LEFT_OUT = 10


def _left_out(loaded: Loaded) -> None:
    for name, problem in loaded.problems[:SHOWN_LEFT_OUT]:
        # A reason is a sentence ("… the limit is 25 MB. Split …") or a phrase ("has no text").
        st.warning(f"{label(name)}: {label(problem.rstrip('.'))}. It is left out.")
    if rest := loaded.problems[SHOWN_LEFT_OUT:]:
        with st.expander(f"{counted(len(rest), 'more file')} left out", icon=":material/warning:"):
            dataframe(pd.DataFrame(rest, columns=["file", "why"]), hide_index=True)
    for document in loaded.documents:
        for warning in document.warnings:
            st.warning(f"{label(document.name)}: {label(warning)}")


def contracts(settings: Settings) -> tuple[list[Document], str]:
    """The contracts chosen for a batch and where they came from (to find them again)."""
    sources = {"sample": "Bundled CUAD sample", "upload": "Upload files"}
    if settings.batch_dirs:
        sources["folder"] = "Folder on the server"
    sources["contractnli"] = "ContractNLI-layout file"
    keep = kept("pf_source")  # kept while the analyst is on another page, as the pages' picks are
    if st.session_state.get("pf_source", "sample") not in sources:
        st.session_state.pop("pf_source", None)  # a server folder the operator since removed
    kind = st.radio(
        "Contracts from", list(sources), format_func=sources.get, horizontal=True,
        key="pf_source", on_change=keep,
    )  # fmt: skip
    documents: list[Document] = []
    source = UPLOAD_SOURCE
    if kind == "sample":
        samples = {d.name: d for d in sample_contracts()}
        names = st.multiselect(
            "Sample contracts", list(samples), default=list(samples)[:5], key="pf_samples"
        )
        documents, source = [samples[n] for n in names], SAMPLE_SOURCE
    elif kind == "upload":
        uploads = st.file_uploader(
            "Contract files", type=["pdf", "docx", "txt", "md"], accept_multiple_files=True,
            key="pf_files",
        )  # fmt: skip
        files = [uploaded(u.name, u.getvalue()) for u in uploads or []]
        keep = functools.partial(save_upload, settings)
        scans = batch_scans("pf_upload")
        loaded = read_sources(files, settings, _cache("pf_upload_cache"), keep, scans)
        documents = loaded.documents
        _left_out(loaded)
        scans_offer(loaded.scans, settings, key="pf_upload")
    elif kind == "contractnli":
        upload = st.file_uploader("Labelled NDAs (JSON)", type=["json"], key="pf_nli_docs")
        if upload is not None:
            loaded = contractnli_upload(upload.name, upload.getvalue(), settings)
            documents = loaded.documents
            st.caption(f"{counted(len(documents), 'contract')} in {label(upload.name)}")
            _left_out(loaded)
    else:
        root = st.selectbox("Allowed folder", [str(p) for p in settings.batch_dirs], key="pf_root")
        sub = st.text_input("Subfolder (optional)", key="pf_sub")
        try:
            folder = allowed_folder(Path(root) / sub, settings.batch_dirs)
            cache, scans = _cache("pf_folder_cache"), batch_scans("pf_folder")
            loaded = folder_contracts(folder, settings, settings.batch_dirs, cache, scans)
            documents, source = loaded.documents, FOLDER_PREFIX + str(folder)
            st.caption(
                f"{counted(len(documents), 'contract')} in {label(folder.name or str(folder))}"
            )
            _left_out(loaded)
            scans_offer(loaded.scans, settings, key="pf_folder")
        except OSError as exc:
            st.error(label(str(exc)))
    st.session_state[DOCUMENTS_KEY] = {d.name: d.text for d in documents}
    return documents, source


@dataclass(frozen=True)
class BatchChoice:
    # Models for reviews; for a playbook, its checkers (None: the built-in checker).
    configs: list[Checker]
    batch_settings: BatchSettings


REVIEW = "Review with models"
PLAYBOOK = "Check against a playbook"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def what_to_run() -> bool:
    """Whether this batch checks a playbook (True) or writes reviews."""
    keep = kept("pf_mode")
    kind = st.radio("Run", [REVIEW, PLAYBOOK], horizontal=True, key="pf_mode", on_change=keep)
    return kind == PLAYBOOK


def checkers(settings: Settings, source: str, run_log: RunLog | None) -> BatchChoice:
    """A playbook (bundled, saved, uploaded; editable as on the Playbook page) and who checks it:
    the built-in checker (the default) or models, side by side."""
    st.subheader("Playbook and checkers")
    nli = st.session_state.get("pf_source") == "contractnli"  # ContractNLI's files hold NDAs
    store = PlaybookStore(run_log) if run_log is not None else None
    playbook = playbook_picker("pf_pb", store, NDA_PLAYBOOK if nli else None)
    count = int(
        st.number_input(
            "How many checkers", 1, 4, key="pf_ccount", on_change=kept("pf_ccount", 1, range(1, 5))
        )
    )
    configs: list[Checker] = []
    for i, column in enumerate(st.columns(count)):
        with column:
            pick = checker_picker(settings, f"pf_c{i}")
            if pick.ready:
                configs.append(pick.config)
    with st.columns([1, 1])[0]:
        max_tokens, temperature = generation_settings("pf_checkers")
    if playbook is None:
        return BatchChoice([], BatchSettings(source=source))
    return BatchChoice(
        configs,
        BatchSettings.for_playbook(
            playbook, max_tokens=max_tokens, temperature=temperature, source=source
        ),
    )


def models(settings: Settings, source: str) -> BatchChoice:
    st.subheader("Models")
    count = int(
        st.number_input(
            "How many models", 1, 4, key="pf_count", on_change=kept("pf_count", 1, range(1, 5))
        )
    )
    configs = []
    for i, column in enumerate(st.columns(count)):
        with column:
            config = provider_picker(settings, f"pf_m{i}")
            if config is not None:
                configs.append(config)
    settings_col, template_col = st.columns([1, 1])
    with settings_col:
        max_tokens, temperature = generation_settings("pf_models")
    template_key = template_picker(template_col, "pf_template")
    st.caption(
        "Requests in flight per endpoint: one for the built-in model and for a local Ollama, "
        "several for Claude (the operator sets CRS_BATCH_CONCURRENCY to change this)."
    )
    return BatchChoice(
        configs,
        BatchSettings(
            template_key=template_key, max_tokens=max_tokens, temperature=temperature,
            source=source,
        ),
    )  # fmt: skip


def run_controls(
    documents: list[Document], choice: BatchChoice, settings: Settings, run_log: RunLog | None
) -> BatchRunner | None:
    """Run batch and Stop; the batch this session started, with its progress and failures."""
    state = st.session_state
    if documents and choice.configs:
        estimate = batch_estimate(
            documents, choice.configs, choice.batch_settings, settings.prices, run_log
        )
        if estimate is not None:
            show_batch_estimate(estimate)
    run_col, stop_col, _ = st.columns([1, 1, 6])
    run_clicked = run_col.button("Run batch", type="primary", key="pf_run", width="stretch")
    stop_clicked = stop_col.button("Stop", key="pf_stop", width="stretch")
    runner = RUNNING.get(state.get(BATCH_KEY)) or session.running_batch(run_log)
    if runner is not None:
        state[BATCH_KEY] = runner.batch_id
    if stop_clicked and runner is not None:
        runner.stop()
    if run_clicked:
        if not documents:
            st.info("Choose or upload contracts first.", icon=":material/folder_open:")
        elif not choice.configs:
            st.info("Choose a playbook and at least one available model.", icon=":material/tune:")
        elif runner is not None and not runner.finished:
            st.info("A batch is already running: stop it or wait for it to finish.")
        else:
            runner = session.start_batch(
                documents, choice.configs, choice.batch_settings, settings, run_log
            )
            state[BATCH_KEY] = runner.batch_id
            state[MODELS_KEY] = {model_key(c): model_label(c) for c in choice.configs}
    if runner is not None:
        progress_fragment(runner, "pf")
        failures = runner.failures()
        if failures and runner.finished:
            with st.expander(counted(len(failures), "failed run"), icon=":material/error:"):
                names = state.get(MODELS_KEY, {})
                for failure in failures:
                    model = names.get(failure.model_key, failure.model_key)
                    who = f"**{label(failure.contract)}** · {label(model)}"
                    st.markdown(f"- {who}: {label(failure.error or '')}")
    return runner


def unfinished(
    store: BatchStore,
    documents: list[Document],
    configs: list[Checker],
    settings: Settings,
    run_log: RunLog,
) -> None:
    for sentence in st.session_state.pop(NOT_RESUMED_KEY, []):
        st.warning(label(sentence), icon=":material/block:")
    waiting = session.unfinished_batches(store)
    if not waiting:
        return
    st.subheader("Unfinished batches")
    zone, zone_name = viewer_zone()
    for batch in waiting:
        info = batch.info
        line, button = st.columns([5, 1])
        line.markdown(
            f"**{label(info.name)}** · {info.created.astimezone(zone):%Y-%m-%d %H:%M} {zone_name}"
            f" · {batch.left} of {batch.total} runs not finished"
            + (f" · {label(batch.not_resumed)}" if batch.not_resumed else "")
        )
        if button.button("Resume", key=f"pf_resume_{info.batch_id}"):
            with st.spinner("Reading the batch's contracts again (scans with OCR)…"):
                runner = session.resume_batch(
                    info, documents=documents, configs=configs, settings=settings, run_log=run_log
                )
            st.session_state[BATCH_KEY] = runner.batch_id
            st.session_state[NOT_RESUMED_KEY] = [left.sentence() for left in runner.not_resumed]
            st.rerun()
    st.caption(
        "Resuming runs only what is not finished. Uploaded contracts must be uploaded again "
        "above; the sample and server folders are read again by themselves."
    )


def shown_batch(store: BatchStore | None) -> BatchInfo | None:
    """The stored batch to show: this session's latest, or the one picked."""
    batches = store.list() if store is not None else []
    if not batches:
        return None
    ids = [b.batch_id for b in batches]
    state = st.session_state
    current = state.get(BATCH_KEY)
    if current in ids and state.get(FOLLOWED_KEY) != current:
        # A batch this session starts or resumes is shown once it is stored, whatever was picked
        # before (a keyed selectbox keeps its value and ignores `index`); a pick after stays.
        state[SHOWN_KEY] = current
        state[FOLLOWED_KEY] = current
    elif state.get(SHOWN_KEY) not in ids:
        state[SHOWN_KEY] = ids[0]
    zone, zone_name = viewer_zone()
    names = {
        b.batch_id: f"{b.name} · {b.created.astimezone(zone):%Y-%m-%d %H:%M:%S} {zone_name}"
        for b in batches
    }
    chosen = st.selectbox("Batch", ids, key=SHOWN_KEY, format_func=names.get)
    return next(b for b in batches if b.batch_id == chosen)


@dataclass(frozen=True)
class Shown:
    """The batch on screen: its runs for the grid, its contracts' texts, its template, and its
    playbook for a playbook batch."""

    info: BatchInfo | None
    runs: list[GridRun]
    texts: dict[str, str]
    template_key: str
    playbook: Playbook | None = None
    # Its contracts whose runs have not started (waiting, or not started in a stopped batch),
    # each a row of the grid.
    waiting: list[Waiting] = field(default_factory=list)
    # "N runs of this batch were deleted on History", or "".
    deleted: str = ""
    # "N runs of this batch did not start before it stopped: Resume it …", or "".
    not_started: str = ""


def shown(
    store: BatchStore | None,
    runner: BatchRunner | None,
    run_log: RunLog | None,
    settings: Settings,
    template_key: str,
) -> Shown | None:
    """The stored batch picked (or this session's), or None with a hint when there is none."""
    state = st.session_state
    info = shown_batch(store)
    _forget_selection(info.batch_id if info is not None else state.get(BATCH_KEY))
    found = session.shown_records(info, run_log, runner)
    if not found.records and not found.waiting and not found.not_started:
        hint = found.deleted_note() or "Run a batch to see its grid here."
        st.info(hint, icon=":material/grid_view:")
        return None
    runs, waiting = found.grid(session.model_labels(info, state.get(MODELS_KEY, {})))
    return Shown(
        info,
        runs,
        session.contract_texts(info, settings, state.get(DOCUMENTS_KEY, {}), found.records),
        session.shown_template(info, template_key),
        session.shown_playbook(info, runner),
        waiting,
        found.deleted_note(),
        found.not_started_note(resumable=info is not None, here=_runs_here(info, runner)),
    )


def _runs_here(info: BatchInfo | None, runner: BatchRunner | None) -> bool:
    """Whether this process runs the batch shown (this session's, or another tab's here), so
    its grid fills as it goes; else a running batch runs in another process."""
    if info is None:
        return runner is not None
    here = RUNNING.get(info.batch_id)
    return here is not None and not here.finished


def _forget_selection(batch_id: str | None) -> None:
    """A cell selected in one batch's grid means nothing in another's: Streamlit keeps a keyed
    grid's selection, which opened the same row and column of the next batch picked."""
    state = st.session_state
    if state.get(GRID_BATCH_KEY) != batch_id:
        for key in (GRID_KEY, VERDICTS_KEY, REPORT_PICK_KEY):
            state.pop(key, None)
        state[GRID_BATCH_KEY] = batch_id


def _notes(deleted: str, not_started: str) -> None:
    """What the grid leaves out or holds without a run, said above it."""
    if deleted:
        st.info(deleted, icon=":material/delete:")
    if not_started:
        st.caption(not_started)


def _unstarted(waiting: list[Waiting], contract: str, model: str) -> str:
    """What a selected cell of a row without a run says (`Waiting.note`)."""
    return next(w for w in waiting if (w.contract, w.model) == (contract, model)).note()


def findings(
    runs: list[GridRun],
    template_key: str,
    texts: dict[str, str],
    waiting: list[Waiting],
    deleted: str,
    not_started: str,
) -> None:
    """The grid with its filters and exports, the opened cell's passage, and each report."""
    st.subheader("Findings grid")
    _notes(deleted, not_started)
    frame = grid_frame(runs, template_key, waiting)
    columns = category_columns(frame)
    filters = st.columns([1.2, 1, 1.4, 1, 1])
    pick_models = filters[0].multiselect(
        "Models", sorted(frame["model"].unique()), key="pf_f_model"
    )
    pick_levels = filters[1].multiselect("Showing", list(LEVELS), key="pf_f_level")
    pick_cats = filters[2].multiselect("Categories", columns, key="pf_f_cat")
    name_part = filters[3].text_input("Contract contains", key="pf_f_name")
    sort_by = filters[4].selectbox(
        "Sort by", ["RED", "YELLOW", "contract", *columns], key="pf_sort"
    )
    view = sort_grid(
        filter_grid(frame, models=pick_models, levels=pick_levels, categories=pick_cats,
                    contract=name_part),
        sort_by,
    ).reset_index(drop=True)  # fmt: skip
    level_legend()
    event = dataframe(
        styled_grid(view),
        column_config=grid_column_config(view),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-cell",
        key=GRID_KEY,
    )
    st.caption(f"{len(view)} of {counted(len(frame), 'row')} · select a cell to open its passage")
    exports = st.columns([1, 1, 4])
    offer(exports[0], "Export CSV", grid_csv(view), "portfolio.csv", "text/csv")
    offer(
        exports[1], "Export XLSX", grid_xlsx(view), "portfolio.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )  # fmt: skip

    by_row = {(r.contract, r.model): r.record for r in runs}
    cell = selected_cell(event, view)
    if cell is not None:
        row, column = cell
        contract, model = view.iloc[row]["contract"], view.iloc[row]["model"]
        record = by_row.get((contract, model))
        with st.container(border=True):
            st.markdown(f"**{label(contract)}** · {label(model)}")
            if record is None:
                st.info(_unstarted(waiting, contract, model), icon=":material/hourglass_empty:")
            else:
                text = texts.get(contract) or record.contract_text
                headings = [column_heading(frame, c) for c in columns]
                shown = passage(record.report, text, column_heading(frame, column), headings)
                passage_view(shown, text)

    with st.expander("Report per contract", icon=":material/description:"):
        pair = st.selectbox(
            "Contract and model", sorted(by_row), format_func=lambda p: f"{p[0]} · {p[1]}",
            key=REPORT_PICK_KEY,
        )  # fmt: skip
        if pair is not None:
            # The contract's text where the batch has it: its quotes then open their passages.
            text = texts.get(pair[0])
            contract = Document(pair[0], text, "txt", len(text)) if text else None
            report_view(by_row[pair], key="pf_report_view", contract=contract)


def verdicts(
    runs: list[GridRun],
    playbook: Playbook,
    texts: dict[str, str],
    waiting: list[Waiting],
    deleted: str,
    not_started: str,
) -> None:
    """A playbook batch: contracts × positions, coloured by verdict and severity, with its
    exports; a selected cell opens that position's evidence in the contract."""
    st.subheader("Verdicts grid")
    _notes(deleted, not_started)
    st.caption(label(playbook.name))
    frame = verdict_grid(runs, playbook, waiting)
    filters = st.columns([1.2, 1])
    pick = filters[0].multiselect("Checkers", sorted(frame["checker"].unique()), key="pf_v_who")
    name_part = filters[1].text_input("Contract contains", key="pf_v_name")
    view = frame
    if pick:
        view = view[view["checker"].isin(pick)]
    if name_part.strip():
        view = view[view["contract"].str.contains(name_part.strip(), case=False, regex=False)]
    view = view.sort_values(["high severity", "deviates"], ascending=False, kind="stable")
    view = view.reset_index(drop=True)
    verdict_legend()
    event = dataframe(
        styled_verdicts(view),
        column_config=verdict_column_config(view, playbook),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-cell",
        key=VERDICTS_KEY,
    )
    st.caption(f"{len(view)} of {counted(len(frame), 'row')} · select a cell to open its evidence")
    shown_runs = [r for r in runs if ((view["contract"] == r.contract) &
                                      (view["checker"] == r.model)).any()]  # fmt: skip
    exports = st.columns([1, 1, 1, 3])
    offer(exports[0], "Export CSV", grid_csv(view), "playbook.csv", "text/csv")
    offer(
        exports[1], "Export XLSX", grid_xlsx(view, CELL_COLOURS, "Playbook"), "playbook.xlsx", XLSX
    )
    offer(
        exports[2],
        "Verdicts CSV",
        grid_csv(verdict_rows(shown_runs, playbook)),
        "verdicts.csv",
        "text/csv",
    )
    chosen = selected_position(event, view, playbook)
    if chosen is None:
        return
    row, position_id = chosen
    contract, checker = view.iloc[row]["contract"], view.iloc[row]["checker"]
    record = next((r.record for r in runs if (r.contract, r.model) == (contract, checker)), None)
    found = [result_from_dict(v) for v in record.verdicts] if record is not None else []
    result = next((r for r in found if r.position_id == position_id), None)
    with st.container(border=True):
        st.markdown(f"**{label(contract)}** · {label(checker)}")
        if record is None:
            st.info(_unstarted(waiting, contract, checker), icon=":material/hourglass_empty:")
        elif result is None:
            st.info("This run has no result for the position.", icon=":material/search_off:")
        else:
            evidence_panel(result, playbook, texts.get(contract) or record.contract_text or "")


def scored_batch(runs: list[GridRun]) -> tuple[str, ...]:
    """Which batch a scorecard kept in the session was made for: a card is shown under its own
    batch only (a new batch showed the one scored before, models it did not run included)."""
    return tuple(sorted(r.record.run_id for r in runs))


def playbook_scorecard(
    info: BatchInfo | None,
    runs: list[GridRun],
    playbook: Playbook,
    store: BatchStore | None,
    waiting: list[Waiting],
) -> None:
    """Score a playbook batch against labels in ContractNLI's layout, each checker beside the
    figures ContractNLI's authors published; kept in the run log for History."""
    st.subheader("Scorecard")
    state = st.session_state
    upload = st.file_uploader("Labels in ContractNLI's layout (JSON)", type=["json"],
                              key="pf_nli_labels")  # fmt: skip
    st.caption(
        "Scored as ContractNLI's evaluation scores: per position, then averaged. Evidence counts "
        "only where the contract's text is the labelled one (contracts from the same file); a "
        "run keeps at most three passages per position, ranked."
    )
    if upload is not None and st.button("Score this batch", key="pf_nli_score"):
        try:
            labelled = read_contractnli(upload.getvalue(), upload.name)
        except ContractNliError as exc:
            st.error(label(str(exc)))
            return
        scores = score_checkers(runs, labelled, playbook, waiting)
        if (nothing := nothing_to_score(scores)) is not None:
            st.warning(nothing)
            return
        state["pf_nli_card"] = scored_batch(runs), save_scorecard(
            store, scores, playbook, upload.name, info.name if info else "Batch",
            info.batch_id if info else None,
        )  # fmt: skip
    if (kept := state.get("pf_nli_card")) and kept[0] == scored_batch(runs):
        playbook_scorecard_view(kept[1], key="pf_nli")


def labels(settings: Settings) -> LabelledSet | None:
    """The expert labels chosen to score against, or None (with the reason shown)."""
    kinds = {"sample": "Bundled CUAD sample", "csv": "CSV: contract, category, clause text"}
    if settings.batch_dirs:
        kinds["cuad"] = "CUAD-layout folder on the server"
    kind = st.radio("Labels", list(kinds), format_func=kinds.get, horizontal=True, key="pf_labels")
    try:
        if kind == "sample":
            return sample_labels()
        if kind == "csv":
            upload = st.file_uploader("Label file", type=["csv"], key="pf_label_file")
            if upload is None:
                return None
            return label_csv(upload.getvalue(), f"CSV labels {upload.name}")
        root = st.selectbox("Folder", [str(p) for p in settings.batch_dirs], key="pf_label_root")
        sub = st.text_input("Subfolder with master_clauses.csv", key="pf_label_sub")
        return cuad_folder(allowed_folder(Path(root) / sub, settings.batch_dirs))
    except (LabelError, OSError) as exc:
        st.error(label(str(exc)))
        return None


def scorecard(
    info: BatchInfo | None,
    runs: list[GridRun],
    texts: dict[str, str],
    settings: Settings,
    store: BatchStore | None,
    waiting: list[Waiting],
) -> None:
    """Score the batch shown against expert labels; the scorecard beside the previous one."""
    st.subheader("Scorecard")
    state = st.session_state
    labelled = labels(settings)
    if labelled is not None and st.button("Score this batch", key="pf_score"):
        name = info.name if info else "Batch"
        card = session.score_runs(f"{name} on {labelled.source}", runs, labelled, texts, waiting)
        if isinstance(card, str):
            st.warning(card)
        else:
            saved = None
            if store is not None:
                saved = store.save_scorecard(card.name, card.labels, card.to_dict(),
                                             info.batch_id if info else None)  # fmt: skip
            state["pf_card"] = scored_batch(runs), card.to_dict(), saved
    if (kept := state.get("pf_card")) and kept[0] == scored_batch(runs):
        card = Scorecard.from_dict(kept[1])
        stored = store.scorecards() if store is not None else []
        previous = session.previous_scorecard(stored, kept[2])
        scorecard_view(card, previous, key="pf_card_view")
        offer(
            st,
            "Download scorecard (CSV)",
            grid_csv(pd.DataFrame(summary_rows(card))),
            "scorecard.csv",
            "text/csv",
            key="pf_card_csv",
        )
