"""Portfolio page: review many contracts with one or more models, see every finding in one grid,
and score the models where expert labels exist."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from lib.analysis.documents import Document
from lib.analysis.labels import LabelError, cuad_folder, label_csv, sample_labels
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY, TEMPLATES
from lib.analysis.scorecard import ModelRun, Scorecard, build_scorecard, summary_rows
from lib.runs.batch import (
    RUNNING,
    BatchRunner,
    BatchSettings,
    batch_records,
    model_key,
    model_label,
)
from lib.runs.batch_sources import (
    FOLDER_PREFIX,
    SAMPLE_SOURCE,
    UPLOAD_SOURCE,
    allowed_folder,
    folder_contracts,
    read_files,
    reload_source,
    sample_contracts,
)
from lib.runs.batch_store import BatchInfo, BatchStore
from lib.runs.portfolio import (
    LEVELS,
    category_columns,
    filter_grid,
    grid_csv,
    grid_frame,
    grid_runs,
    grid_xlsx,
    passage,
    sort_grid,
)
from lib.runs.records import RunRecord
from lib.ui.page import current_settings, shared_run_log
from lib.ui.pickers import generation_settings, provider_picker
from lib.ui.portfolio_view import (
    grid_column_config,
    level_legend,
    passage_view,
    progress_fragment,
    scorecard_view,
    selected_cell,
    styled_grid,
)
from lib.ui.report_view import report_view

st.set_page_config(
    page_title="Portfolio · Contract Review Studio",
    page_icon=":material/grid_view:",
    layout="wide",
)
state = st.session_state
settings = current_settings()
run_log = shared_run_log(settings)
store = BatchStore(run_log) if run_log is not None else None
st.title("Portfolio")
st.caption(
    "Review a set of contracts with one or more models, see every finding in one grid, and score "
    "the models where expert labels exist."
)

# ------------------------------------------------------------------------------ contracts
SOURCES = {"sample": "Bundled CUAD sample", "upload": "Upload files"}
if settings.batch_dirs:
    SOURCES["folder"] = "Folder on the server"
source_kind = st.radio(
    "Contracts from", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="pf_source"
)
documents: list[Document] = []
source = UPLOAD_SOURCE
if source_kind == "sample":
    samples = {d.name: d for d in sample_contracts()}
    names = st.multiselect(
        "Sample contracts", list(samples), default=list(samples)[:5], key="pf_samples"
    )
    documents, source = [samples[n] for n in names], SAMPLE_SOURCE
elif source_kind == "upload":
    uploads = st.file_uploader(
        "Contract files", type=["pdf", "docx", "txt", "md"], accept_multiple_files=True,
        key="pf_files",
    )  # fmt: skip
    loaded = read_files((u.name, u.getvalue()) for u in uploads or [])
    documents = loaded.documents
    for name, problem in loaded.problems:
        st.warning(f"{name} {problem}; it is left out.")
else:
    root = st.selectbox("Allowed folder", [str(p) for p in settings.batch_dirs], key="pf_root")
    sub = st.text_input("Subfolder (optional)", key="pf_sub")
    try:
        folder = allowed_folder(Path(root) / sub, settings.batch_dirs)
        loaded = folder_contracts(folder, settings.batch_dirs)
        documents, source = loaded.documents, FOLDER_PREFIX + str(folder)
        st.caption(f"{len(documents)} contracts in {folder.name or folder}")
        for name, problem in loaded.problems:
            st.warning(f"{name} {problem}; it is left out.")
    except (OSError, PermissionError) as exc:
        st.error(str(exc))
state["pf_documents"] = {d.name: d.text for d in documents}

# --------------------------------------------------------------------------------- models
st.subheader("Models")
count = int(st.number_input("How many models", 1, 4, 1, key="pf_count"))
configs = []
for i, column in enumerate(st.columns(count)):
    with column:
        config = provider_picker(settings, f"pf_m{i}")
        if config is not None:
            configs.append(config)
settings_col, template_col = st.columns([1, 1])
with settings_col:
    max_tokens, temperature = generation_settings()
template_key = template_col.selectbox(
    "Review template", list(TEMPLATES), index=list(TEMPLATES).index(DEFAULT_TEMPLATE_KEY),
    format_func=lambda k: TEMPLATES[k].title, key="pf_template",
)  # fmt: skip
st.caption(
    "Requests in flight per endpoint: one for the built-in model and for a local Ollama, several "
    "for Claude (the operator sets CRS_BATCH_CONCURRENCY to change this)."
)

run_col, stop_col, _ = st.columns([1, 1, 6])
run_clicked = run_col.button("Run batch", type="primary", key="pf_run", width="stretch")
stop_clicked = stop_col.button("Stop", key="pf_stop", width="stretch")
runner = RUNNING.get(state.get("pf_batch"))
if stop_clicked and runner is not None:
    runner.stop()
if run_clicked:
    if not documents:
        st.info("Choose or upload contracts first.", icon=":material/folder_open:")
    elif not configs:
        st.info("Choose at least one available model.", icon=":material/tune:")
    elif runner is not None and not runner.finished:
        st.info("A batch is already running: stop it or wait for it to finish.")
    else:
        runner = RUNNING.add(
            BatchRunner.create(
                name=f"{len(documents)} contracts × {len(configs)} model(s)",
                contracts=documents,
                configs=configs,
                batch_settings=BatchSettings(
                    template_key=template_key,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    source=source,
                ),
                settings=settings,
                run_log=run_log,
            ).start()
        )
        state["pf_batch"] = runner.batch_id
        state["pf_runner_models"] = {model_key(c): model_label(c) for c in configs}
if runner is not None:
    progress_fragment(runner, "pf")
    failures = runner.failures()
    if failures and runner.finished:
        with st.expander(f"{len(failures)} failed run(s)", icon=":material/error:"):
            for failure in failures:
                st.markdown(f"- **{failure.contract}** · {failure.model_key}: {failure.error}")

# -------------------------------------------------------------------------------- resume
if store is not None:
    waiting = [
        b
        for b in store.unfinished()
        if (active := RUNNING.get(b.batch_id)) is None or active.finished
    ]
    if waiting:
        st.subheader("Unfinished batches")
        for info in waiting[:5]:
            items = store.items(info.batch_id)
            left = sum(i.status != "done" for i in items)
            line, button = st.columns([5, 1])
            line.markdown(
                f"**{info.name}** · {info.created:%Y-%m-%d %H:%M} · {left} of {len(items)} runs "
                "not finished"
            )
            if button.button("Resume", key=f"pf_resume_{info.batch_id}"):
                source_docs = reload_source(
                    str(info.settings.get("source", "")), settings.batch_dirs
                )
                contracts = source_docs.documents if source_docs else documents
                # Keys typed this session, for the very model (and endpoint) they were typed for.
                typed = {model_key(c): c.api_key for c in configs if c.api_key}
                runner = RUNNING.add(
                    BatchRunner.resume(
                        batch_id=info.batch_id,
                        contracts=contracts,
                        settings=settings,
                        run_log=run_log,
                        typed_keys=typed,
                    ).start()
                )
                state["pf_batch"] = runner.batch_id
                st.rerun()
        st.caption(
            "Resuming runs only what is not finished. Uploaded contracts must be uploaded again "
            "above; the sample and server folders are read again by themselves."
        )


# ---------------------------------------------------------------------------------- grid
def _records(info: BatchInfo | None) -> dict[tuple[str, str], RunRecord]:
    if info is not None and run_log is not None:
        return batch_records(run_log, info.batch_id)
    if runner is not None:
        return {k: r.record for k, r in runner.results.items() if r.record is not None}
    return {}


def _texts(info: BatchInfo | None) -> dict[str, str]:
    texts = dict(state.get("pf_documents", {}))
    if info is not None:
        again = reload_source(str(info.settings.get("source", "")), settings.batch_dirs)
        if again is not None:
            texts.update({d.name: d.text for d in again.documents})
    return texts


batches = store.list() if store is not None else []
info = None
if batches:
    ids = [b.batch_id for b in batches]
    current = state.get("pf_batch")
    chosen = st.selectbox(
        "Batch", ids, index=ids.index(current) if current in ids else 0, key="pf_shown",
        format_func=lambda i: next(f"{b.name} · {b.created:%Y-%m-%d %H:%M}"
                                   for b in batches if b.batch_id == i),
    )  # fmt: skip
    info = next(b for b in batches if b.batch_id == chosen)
records = _records(info)
if not records:
    st.info("Run a batch to see its grid here.", icon=":material/grid_view:")
    st.stop()

st.subheader("Findings grid")
labels = (
    {model_key(s): model_label(s) for s in info.models}
    if info is not None
    else state.get("pf_runner_models", {})
)
shown_template = (
    BatchSettings.from_dict(info.settings).template_key if info is not None else template_key
)
runs = grid_runs(records, labels)
frame = grid_frame(runs, shown_template)
columns = category_columns(frame)
filters = st.columns([1.2, 1, 1.4, 1, 1])
pick_models = filters[0].multiselect("Models", sorted(frame["model"].unique()), key="pf_f_model")
pick_levels = filters[1].multiselect("Showing", list(LEVELS), key="pf_f_level")
pick_cats = filters[2].multiselect("Categories", columns, key="pf_f_cat")
name_part = filters[3].text_input("Contract contains", key="pf_f_name")
sort_by = filters[4].selectbox("Sort by", ["RED", "YELLOW", "contract", *columns], key="pf_sort")
view = sort_grid(
    filter_grid(frame, models=pick_models, levels=pick_levels, categories=pick_cats,
                contract=name_part),
    sort_by,
).reset_index(drop=True)  # fmt: skip
level_legend()
event = st.dataframe(
    styled_grid(view),
    column_config=grid_column_config(view),
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-cell",
    key="pf_grid",
)
st.caption(f"{len(view)} of {len(frame)} rows · select a cell to open its passage")
exports = st.columns([1, 1, 4])
exports[0].download_button("Export CSV", grid_csv(view), "portfolio.csv", "text/csv")
exports[1].download_button(
    "Export XLSX", grid_xlsx(view), "portfolio.xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)  # fmt: skip

by_row = {(r.contract, r.model): r.record for r in runs}
cell = selected_cell(event, view)
if cell is not None:
    row, column = cell
    contract, model = view.iloc[row]["contract"], view.iloc[row]["model"]
    record = by_row[(contract, model)]
    text = _texts(info).get(contract) or record.contract_text
    with st.container(border=True):
        st.markdown(f"**{contract}** · {model}")
        passage_view(passage(record.report, text, column, columns))

with st.expander("Report per contract", icon=":material/description:"):
    pairs = sorted(by_row)
    pair = st.selectbox(
        "Contract and model", pairs, format_func=lambda p: f"{p[0]} · {p[1]}", key="pf_report"
    )
    if pair is not None:
        report_view(by_row[pair], key="pf_report_view")

# ----------------------------------------------------------------------------- scorecard
st.subheader("Scorecard")
LABELS = {"sample": "Bundled CUAD sample", "csv": "CSV: contract, category, clause text"}
if settings.batch_dirs:
    LABELS["cuad"] = "CUAD-layout folder on the server"
label_kind = st.radio(
    "Labels", list(LABELS), format_func=LABELS.get, horizontal=True, key="pf_labels"
)
labelled = None
try:
    if label_kind == "sample":
        labelled = sample_labels()
    elif label_kind == "csv":
        upload = st.file_uploader("Label file", type=["csv"], key="pf_label_file")
        if upload is not None:
            labelled = label_csv(upload.getvalue(), f"CSV labels {upload.name}")
    else:
        root = st.selectbox("Folder", [str(p) for p in settings.batch_dirs], key="pf_label_root")
        sub = st.text_input("Subfolder with master_clauses.csv", key="pf_label_sub")
        labelled = cuad_folder(allowed_folder(Path(root) / sub, settings.batch_dirs))
except (LabelError, OSError, PermissionError) as exc:
    st.error(str(exc))

if labelled is not None and st.button("Score this batch", key="pf_score"):
    texts = _texts(info)
    by_model: dict[str, dict[str, ModelRun]] = {}
    for run in runs:
        match = labelled.match(run.contract)
        if match is not None:
            r = run.record
            by_model.setdefault(run.model, {})[match] = ModelRun(
                r.report, str(r.status) == "done", r.cost_usd, r.ttft_s, r.tokens_per_s,
                r.output_tokens,
            )  # fmt: skip
    if not by_model:
        st.warning("No contract of this batch has labels in this set.")
    else:
        card = build_scorecard(
            f"{info.name if info else 'Batch'} on {labelled.source}",
            labelled,
            by_model,
            {labelled.match(n) or n: t for n, t in texts.items()},
        )
        state["pf_card"] = card.to_dict()
        if store is not None:
            store.save_scorecard(card.name, card.labels, card.to_dict(),
                                 info.batch_id if info else None)  # fmt: skip
if state.get("pf_card"):
    card = Scorecard.from_dict(state["pf_card"])
    previous = None
    if store is not None:
        earlier = [s for s in store.scorecards() if s.labels == card.labels]
        previous = Scorecard.from_dict(earlier[1].body) if len(earlier) > 1 else None
    scorecard_view(card, previous, key="pf_card_view")
    st.download_button(
        "Download scorecard (CSV)",
        grid_csv(pd.DataFrame(summary_rows(card))),
        "scorecard.csv",
        "text/csv",
        key="pf_card_csv",
    )
