"""Playbook widgets: pick a playbook and a checker, watch the verdicts fill in, open a position's
evidence, compare two checkers, and download the Word file.

Every text shown here comes from a contract, a playbook file or a model, so it goes to the page
only as table cells and `st.text` (drawn as plain text) or through `lib.ui.safe`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd
import streamlit as st

from lib.analysis.documents import Document
from lib.analysis.playbook.format import (
    CANDIDATE_LABEL,
    Playbook,
    PlaybookResult,
    PositionResult,
    Severity,
    Verdict,
)
from lib.analysis.playbook.loader import (
    TABLE_COLUMNS,
    PlaybookError,
    dump_playbook,
    parse_playbook,
    playbook_from_rows,
    playbook_rows,
)
from lib.analysis.plural import counted
from lib.engine.provider_config import ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings
from lib.runs import playbook_library as library
from lib.runs.estimate import RunEstimate, builtin_check_estimate
from lib.runs.launch import contract_text_for
from lib.runs.playbook_run import (
    NOT_CHECKERS,
    PlaybookOutcome,
    PlaybookRequest,
    PlaybookRun,
    PositionUpdate,
    Tick,
    check_run_request,
    follow,
)
from lib.runs.playbook_tables import (
    CHECK_LABEL,
    comparison_table,
    disagreement_line,
    disagreements,
    in_context,
    verdict_table,
    where,
)
from lib.runs.playbook_word import WordFileError, playbook_docx, word_file_name
from lib.store.playbook_store import PlaybookStore
from lib.store.records import RunRecord, run_maker
from lib.store.run_log import RunLog
from lib.ui.download import offer
from lib.ui.estimate_view import run_estimate, show_estimate
from lib.ui.identity import session_only_note
from lib.ui.live_view import ACTIVE_RUNS_KEY, format_figures
from lib.ui.pickers import kept, provider_picker
from lib.ui.safe import label
from lib.ui.tables import MISSING, dataframe, rows_key

UPLOAD = "Upload a playbook (.toml)…"
BUILTIN = "Built-in playbook checker (no model)"
MODEL = "A model"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# How a playbook saved for this browser session only is kept (`session_only_note`).
KEEP_TOML = "download the TOML (“Download this playbook” below)"


def playbook_picker(
    key: str, store: PlaybookStore | None, suited: str | None = None
) -> Playbook | None:
    """The chosen playbook (bundled, saved, or uploaded), as edited in the table editor; None
    while an upload is missing or a file or an edit is refused (every problem is listed).

    `suited` is the playbook the contracts call for (NDAs: the NDA playbook), shown until the
    analyst picks one themselves."""
    offered = {c.key: c for c in library.choices(store)}
    # Just saved (the editor below reran the page): the picker lists it now and shows it.
    saved = st.session_state.pop(f"{key}_saved", None)
    if saved is not None and saved[0] in offered:
        st.session_state[f"{key}_choice"] = st.session_state[f"kept_{key}_choice"] = saved[0]
    elif f"kept_{key}_choice" not in st.session_state:
        # Until the analyst picks, the pick follows the contracts, and is given back with them.
        # (Set, never popped: a popped selectbox keeps showing its value and sends it back.)
        state, choice_key = st.session_state, f"{key}_choice"
        suggested = state.get(f"{key}_suggested")  # (the suggestion, the pick it replaced)
        if suited in offered and state.get(choice_key) != suited:
            state[f"{key}_suggested"] = (suited, state.get(choice_key))
            state[choice_key] = suited
        elif suited is None and suggested is not None:
            if state.get(choice_key) == suggested[0]:
                state[choice_key] = (
                    suggested[1] if suggested[1] is not None else next(iter(offered))
                )
            del state[f"{key}_suggested"]
    keep = kept(f"{key}_choice")  # the analyst's pick, kept while they are on another page
    if st.session_state.get(f"{key}_choice") not in (*offered, UPLOAD):
        st.session_state.pop(f"{key}_choice", None)  # a kept pick since deleted
    choice = st.selectbox(
        "Playbook", [*offered, UPLOAD], on_change=keep,
        format_func=lambda k: offered[k].label if k in offered else k, key=f"{key}_choice",
    )  # fmt: skip
    if saved is not None:
        note = session_only_note(store.scope, KEEP_TOML) if store is not None else None
        st.success(label(" ".join(x for x in (f"Saved “{saved[1]}” ({saved[2]}).", note) if x)),
                   icon=":material/save:")  # fmt: skip
    if choice in offered:
        book = offered[choice].playbook
        if book is None:
            _problems(f"{offered[choice].label} no longer passes the playbook rules:",
                      offered[choice].problems)  # fmt: skip
            return None
    else:
        upload = st.file_uploader("Playbook file", type=["toml"], key=f"{key}_file")
        if upload is None:
            return None
        try:
            book = parse_playbook(upload.getvalue(), upload.name)
        except PlaybookError as exc:
            _problems(exc.heading, exc.problems)
            return None
    if book.attribution:
        st.caption(label(book.attribution))
    edited = playbook_editor(book, f"{key}_{choice}", store, f"{key}_saved")
    if edited is not None:
        offer(
            st, "Download this playbook (TOML)", dump_playbook(edited), f"{edited.id}.toml",
            "application/toml", key=f"{key}_download",
        )  # fmt: skip
    return edited


def _problems(title: str, problems: Sequence[str]) -> None:
    st.error(label(title), icon=":material/rule:")
    dataframe(pd.DataFrame({"Problem": list(problems)}), hide_index=True)


EDITOR_COLUMNS = {
    "severity": st.column_config.SelectboxColumn(
        "severity", options=[s.value for s in Severity], required=True, default="medium"
    ),
    "when_absent": st.column_config.SelectboxColumn(
        "when_absent",
        options=[Verdict.NOT_ADDRESSED.value, Verdict.MEETS.value],
        default=Verdict.NOT_ADDRESSED.value,
    ),
    "replace": st.column_config.CheckboxColumn("replace", default=False),
    "deviates_if": st.column_config.TextColumn(
        "deviates_if", help="Red-flag rules, comma-separated"
    ),
}


def playbook_editor(
    book: Playbook, key: str, store: PlaybookStore | None, saved_key: str
) -> Playbook | None:
    """The playbook's positions in a table editor, validated as a file is; save for later (the
    page then reruns with `saved_key` naming what was saved, for the picker above to show it)."""
    book_is = hashlib.sha256(dump_playbook(book).encode()).hexdigest()
    if st.session_state.get(f"{key}_of") != book_is:
        # Another file uploaded in its place: edits made to the one before are not this one's.
        _forget_edits(key)
        st.session_state[f"{key}_of"] = book_is
    with st.expander("Edit positions", expanded=False):
        keep_id, keep_name = kept(f"{key}_id", book.id), kept(f"{key}_name", book.name)
        for box in (f"{key}_id", f"{key}_name"):
            # Set again on every run: a box hidden for one run (another playbook shown) keeps
            # its value here while the browser draws it anew, empty, and sends that back.
            st.session_state[box] = st.session_state[box]
        head_id = st.text_input("Playbook id", key=f"{key}_id", on_change=keep_id)
        head_name = st.text_input("Playbook name", key=f"{key}_name", on_change=keep_name)
        rows = st.data_editor(
            pd.DataFrame(_editor_rows(book, key), columns=list(TABLE_COLUMNS)),
            num_rows="dynamic", hide_index=True, width="stretch",
            column_config=EDITOR_COLUMNS, key=_editor_key(key), placeholder=MISSING,
        )  # fmt: skip
        st.session_state[f"kept_{key}_rows"] = rows.to_dict("records")
        head = replace(book, id=head_id.strip(), name=head_name.strip())
        try:
            edited = playbook_from_rows(head, rows.to_dict("records"))
        except PlaybookError as exc:
            _problems("The edited playbook is not usable yet:", exc.problems)
            edited = None
        if edited != book:
            st.button("Undo my edits", key=f"{key}_undo", on_click=_undo_edits, args=(key,))
        if edited is None:
            return None
        if store is None:
            st.caption("The run log is off here, so playbooks cannot be saved.")
            return edited
        if note := session_only_note(store.scope, KEEP_TOML):
            st.caption(label(note))
        if st.button("Save to my playbooks", key=f"{key}_save"):
            try:
                saved = library.save(store, edited)
            except PlaybookError as exc:
                _problems("Not saved:", exc.problems)
            else:
                _forget_edits(key)  # saved: what the analyst picks next is the saved playbook
                st.session_state[saved_key] = (saved, edited.name, edited.id)
                st.rerun()
    return edited


def _editor_rows(book: Playbook, key: str) -> list[dict[str, object]]:
    """The rows the table editor starts from. Streamlit forgets an editor's edits when the
    analyst goes to another page, so a fresh editor starts from the rows they left (kept after
    every run); while it lives, its edits apply to the rows it started from."""
    state = st.session_state
    if _editor_key(key) not in state or f"{key}_base" not in state:
        state[f"{key}_base"] = state.get(f"kept_{key}_rows") or playbook_rows(book)
    return state[f"{key}_base"]


def _editor_key(key: str) -> str:
    """The table editor's key, new after an undo: the browser keeps an editor's edits for as long
    as the same editor is on the page, and sent an undone edit back with the next click."""
    version = st.session_state.get(f"{key}_version", 0)
    return f"{key}_editor" + (f"_{version}" if version else "")


def _forget_edits(key: str) -> None:
    st.session_state.pop(_editor_key(key), None)
    for name in ("base", "id", "name"):
        st.session_state.pop(f"{key}_{name}", None)
    for name in ("rows", "id", "name"):
        st.session_state.pop(f"kept_{key}_{name}", None)


def _undo_edits(key: str) -> None:
    _forget_edits(key)
    st.session_state[f"{key}_version"] = st.session_state.get(f"{key}_version", 0) + 1


@dataclass(frozen=True)
class CheckerPick:
    """Who checks: `config` None with `ready` is the built-in checker; not `ready`: a model was
    asked for but none is usable (the picker said why)."""

    config: ProviderConfig | None
    ready: bool

    @property
    def name(self) -> str:
        if self.config is None:
            return BUILTIN
        return run_maker(self.config.provider.value, self.config.model)


def checker_picker(settings: Settings, key: str, title: str = "Checked by") -> CheckerPick:
    """The built-in checker (the default, no model) or any model the app can run."""
    kinds = [BUILTIN, MODEL]
    keep = kept(f"{key}_kind", allowed=kinds)
    kind = st.radio(title, kinds, horizontal=True, key=f"{key}_kind", on_change=keep)
    if kind == BUILTIN:
        return CheckerPick(None, True)
    config = provider_picker(settings, key, exclude=NOT_CHECKERS)
    return CheckerPick(config, config is not None)


def show_check_estimate(
    request: PlaybookRequest, settings: Settings, run_log: RunLog | None
) -> RunEstimate:
    """A check said before its button is clicked, as Compare says each side: a model's one
    pass, tokens and cost, or a warning that it does not fit its model and will send nothing
    (`launch.planned`, the check it gets when it starts); the built-in checker's says it calls
    no model (`builtin_check_estimate`, as the API answers it). Returned for the page's button
    (`estimate.will_not_start`)."""
    if isinstance(request.checker, ProviderConfig):
        run = check_run_request(request, request.checker)
        estimate = run_estimate(run, settings.prices, run_log)
    else:
        estimate = builtin_check_estimate(request.document.name)
    show_estimate(estimate)
    return estimate


def uploaded_docx(key: str, document: Document) -> bytes | None:
    """The uploaded Word file behind `document`, so comments land in the analyst's own file."""
    upload = st.session_state.get(f"{key}_file")
    if document.kind != "docx" or upload is None or upload.name != document.name:
        return None
    return upload.getvalue()


def progress_line(book: Playbook, decided: int, tick: Tick | None = None) -> str:
    """ "3 of 17 positions decided · writing “Audit”… · 4.2 s elapsed · …" """
    parts = [f"{decided} of {counted(len(book.positions), 'position')} decided"]
    if tick is not None and tick.writing and (p := book.position(tick.writing)) is not None:
        parts.append(f"writing “{label(p.title)}”…")
    if tick is not None and tick.stats is not None:
        parts.append(format_figures(tick.stats))
    return " · ".join(parts)


def show_live_checks(
    state: MutableMapping[str, Any], group: str, runs: Sequence[PlaybookRun], names: Sequence[str]
) -> list[PlaybookOutcome]:
    """Each run's verdict table filling in position by position, side by side for two runs.

    Leaving the page (Stop, any click) ends the script at its next draw: the `finally` cancels
    the runs, which keep and record the verdicts they reached.
    """
    panes = st.columns(len(runs)) if len(runs) > 1 else [st.container()]
    slots = []
    for pane, name, run in zip(panes, names, runs, strict=True):
        with pane:
            # Cleared with the table when the run ends: the outcome below has its own headings.
            head, status, table = st.empty(), st.empty(), st.empty()
            if len(runs) > 1:
                head.markdown(f"**{label(name)}**")
            dataframe(
                verdict_table(run.playbook, {}), where=table, hide_index=True, width="stretch"
            )
            slots.append((head, status, table))
    decided: list[dict[str, PositionResult]] = [{} for _ in runs]
    outcomes: list[PlaybookOutcome | None] = [None] * len(runs)
    state.setdefault(ACTIVE_RUNS_KEY, {})[group] = list(runs)
    try:
        for i, update in follow(runs):
            head, status, table = slots[i]
            book = runs[i].playbook
            if isinstance(update, PositionUpdate):
                decided[i][update.result.position_id] = update.result
                dataframe(
                    verdict_table(book, decided[i]), where=table, hide_index=True, width="stretch"
                )
                status.caption(progress_line(book, len(decided[i])))
            elif isinstance(update, Tick):
                status.caption(progress_line(book, len(decided[i]), update))
                if update.writing:
                    dataframe(
                        verdict_table(book, decided[i], update.writing),
                        where=table,
                        hide_index=True,
                        width="stretch",
                    )
            else:
                outcomes[i] = update
                head.empty()
                status.empty()
                table.empty()
    finally:
        for run in runs:
            if not run.finished:
                run.cancel()
        state.get(ACTIVE_RUNS_KEY, {}).pop(group, None)
    return [o for o in outcomes if o is not None]


def check_ending(record: RunRecord) -> None:
    """How a check ended and its problems with the answer as a whole: drawn the same on the
    Playbook page as the check ends and on History from the record kept."""
    if record.not_started:  # its model read nothing: no verdict was reached, none is kept
        st.error(
            label(f"Not started: {record.error_message or 'unknown error'}"),
            icon=":material/block:",
        )
    elif record.status is RunStatus.CANCELLED:
        st.warning("Stopped: the verdicts reached before it are kept.", icon=":material/stop:")
    elif record.status is RunStatus.ERROR:
        st.error(
            label(f"The check failed: {record.error_message or 'unknown error'} The verdicts "
                  "reached before it are kept."),
            icon=":material/error:",
        )  # fmt: skip
    for problem in record.playbook_problems:
        st.warning(label(problem), icon=":material/rule:")


def evidence_panel(result: PositionResult, playbook: Playbook, text: str) -> None:
    """A position's evidence, each passage in the contract's text around it."""
    position = playbook.position(result.position_id)
    title = position.title if position else result.position_id
    st.markdown(f"**{label(title)}**")
    if position is not None:
        st.caption(label(position.position))
    if result.reason:
        st.markdown(label(result.reason))
    if not result.evidence:
        st.info("No evidence passage for this position.", icon=":material/search_off:")
    for evidence in result.evidence:
        shown = in_context(text, evidence)
        place = where(evidence)
        check = CHECK_LABEL.get(evidence.check, "")
        candidate = CANDIDATE_LABEL if result.candidates_only else ""
        heading = " · ".join(x for x in (candidate, place, f"quote {check}" if check else "") if x)
        if shown is None:
            if evidence.start < 0:
                st.warning(
                    label(f"Not found in the contract: “{evidence.text}”"), icon=":material/help:"
                )
            else:  # found when checked; the contract itself is not at hand to show it in
                st.caption(label(heading or "passage"))
                st.text(f"【{evidence.text}】")
            continue
        if heading:
            st.caption(label(heading))
        before, passage, after = shown
        st.text(f"…{before}【{passage}】{after}…")


def _selected_row(event: Any) -> int | None:
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    return int(rows[0]) if rows else None


def word_download(
    result: PlaybookResult, text: str, name: str, original: bytes | None, key: str
) -> None:
    try:
        data = playbook_docx(result, text, original)
    except WordFileError as exc:
        st.warning(label(f"No Word file: {exc}"), icon=":material/description:")
        return
    offer(
        st, "Download Word file with comments and tracked changes", data,
        word_file_name(result, name), DOCX, key=key,
    )  # fmt: skip


def show_outcome(
    outcome: PlaybookOutcome,
    document: Document,
    original: bytes | None,
    key: str,
    ending: bool = True,
) -> None:
    """A finished check: summary line, how it ended (`ending`: not where a comparison above
    already says it), the verdict table (select a row to open its evidence) and the Word file."""
    result = outcome.result
    st.subheader("Verdicts")
    st.markdown(label(outcome.summary))
    if ending:
        check_ending(outcome.record)
    event = dataframe(
        verdict_table(result.playbook, result.results), hide_index=True, width="stretch",
        on_select="rerun", selection_mode="single-row",
        key=rows_key(f"{key}_table", [outcome.record.run_id]),
    )  # fmt: skip
    row = _selected_row(event)
    if row is not None and row < len(result.results):
        with st.container(border=True):
            evidence_panel(result.results[row], result.playbook, document.text)
    else:
        st.caption("Select a row to open its evidence in the contract.")
    word_download(result, document.text, document.name, original, f"{key}_word")


def show_comparison(
    outcomes: Sequence[PlaybookOutcome], names: tuple[str, str], document: Document, key: str
) -> None:
    """Two checkers side by side, the positions where they disagree highlighted."""
    a, b = outcomes[0].result, outcomes[1].result
    book = a.playbook
    differ = disagreements(book, a.results, b.results)
    st.subheader("Two checkers compared")
    for name, outcome in zip(names, outcomes, strict=True):
        st.markdown(f"**{label(name)}**: {label(outcome.summary)}")
        check_ending(outcome.record)
    st.markdown(disagreement_line(book, a.results, b.results))
    frame = comparison_table(book, a.results, b.results, names)
    highlighted = set(differ)
    order = [p.id for p in book.positions]

    def colour(row: pd.Series) -> list[str]:
        shade = "background-color: #fde2c8" if order[row.name] in highlighted else ""
        return [shade] * len(row)

    event = dataframe(
        frame.style.apply(colour, axis=1), hide_index=True, width="stretch",
        on_select="rerun", selection_mode="single-row",
        key=rows_key(f"{key}_compare", [o.record.run_id for o in outcomes]),
    )  # fmt: skip
    row = _selected_row(event)
    if row is None or row >= min(len(a.results), len(b.results)):
        st.caption("Select a row to open both checkers' evidence.")
        return
    for pane, name, result in zip(st.columns(2), names, (a, b), strict=True):
        with pane, st.container(border=True):
            st.caption(label(name))
            evidence_panel(result.results[row], book, document.text)


RESULT_KEY = "playbook_outcomes"
# How long the page waits for a stopped check to record what it reached before drawing it.
ENDING_WAIT_S = 5.0


@dataclass(frozen=True)
class Shown:
    """The last check of this session, redrawn on every rerun (opening evidence, a download)."""

    document_sha256: str
    runs: tuple[PlaybookRun, ...]
    names: tuple[str, ...]


def remember(
    state: MutableMapping[str, Any],
    document: Document,
    runs: Sequence[PlaybookRun],
    names: Sequence[str],
) -> None:
    """The check just started is the one to show from now on, however it ends: a check that a
    click (Stop, any widget) or leaving the page ended shows the verdicts it reached, not the
    check before it."""
    state[RESULT_KEY] = Shown(document.sha256, tuple(runs), tuple(names))


def show_last(state: MutableMapping[str, Any], document: Document, key: str) -> None:
    """This session's last check of this contract, if any (a stopped one once it has ended)."""
    shown: Shown | None = state.get(RESULT_KEY)
    if shown is None or shown.document_sha256 != document.sha256:
        return
    deadline = time.monotonic() + ENDING_WAIT_S
    while not all(run.finished for run in shown.runs) and time.monotonic() < deadline:
        time.sleep(0.05)  # a stopped run records what it reached; its end is moments away
    outcomes = [run.outcome for run in shown.runs if run.outcome is not None]
    if len(outcomes) != len(shown.runs) or not outcomes:
        return
    original = uploaded_docx(key, document)
    if len(outcomes) == 1:
        show_outcome(outcomes[0], document, original, f"{key}_result")
    elif len(outcomes) == 2:
        names = (shown.names[0], shown.names[1])
        # Each side's ending is said once, in the comparison.
        show_comparison(outcomes, names, document, f"{key}_result")
        with st.expander(f"Verdicts and Word file: {label(names[0])}"):
            show_outcome(outcomes[0], document, original, f"{key}_result_a", ending=False)
        with st.expander(f"Verdicts and Word file: {label(names[1])}"):
            show_outcome(outcomes[1], document, original, f"{key}_result_b", ending=False)


COUNT_TILES = (
    ("meets", "Meet"),
    ("deviates", "Deviate"),
    ("not_addressed", "Not addressed"),
    ("high_severity_deviations", "High-severity deviations"),
    ("unanswered", "No answer"),
    ("need_model", "Need a model"),
    ("unsupported", "Unsupported"),
)


def verdict_scorecard(counts: dict[str, int]) -> None:
    """Positions per verdict, one tile each (the last two only when there are any)."""
    shown = [(k, t) for k, t in COUNT_TILES[:4] if k in counts]
    shown += [(k, t) for k, t in COUNT_TILES[4:] if counts.get(k)]
    for column, (field, title) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(title, counts[field])


def playbook_record_view(
    record: RunRecord, store: PlaybookStore | None, contract: Document | None, key: str
) -> None:
    """A playbook check from the run log: its scorecard, verdicts, evidence and Word file (the
    Word file only where the contract is at hand: this session's, or kept with the run)."""
    result = library.recorded_result(record, store)
    who = " · ".join(
        label(x) for x in (record.document_name, run_maker(record.provider, record.model))
    )
    st.caption(f"{who} · playbook {label(record.playbook_id or '')} · {record.status.label}")
    if record.playbook_summary:
        st.markdown(label(record.playbook_summary))
    verdict_scorecard(record.verdict_counts)
    check_ending(record)
    event = dataframe(
        verdict_table(result.playbook, result.results), hide_index=True, width="stretch",
        on_select="rerun", selection_mode="single-row",
        key=rows_key(f"{key}_verdicts", [record.run_id]),
    )  # fmt: skip
    text = contract_text_for(record, contract)
    row = _selected_row(event)
    if row is not None and row < len(result.results):
        with st.container(border=True):
            evidence_panel(result.results[row], result.playbook, text)
    if not text:
        st.caption(
            "The contract was not kept with this run (the operator's CRS_STORE_CONTRACTS), so "
            "its passages and the Word file need the contract open in this session."
        )
        return
    word_download(result, text, record.document_name, None, f"{key}_word")
