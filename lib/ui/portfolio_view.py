"""Drawing batches: progress, the coloured contracts × categories grid, passages and scorecards.

Category headings, sections and quotes are the model's words; contract names are file names; a
scorecard's name holds a batch's name and a label file's: all of it reaches the page through
`lib.ui.safe`, as on Review, so none of it can load an image or run as HTML.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from lib.analysis.playbook.format import Playbook
from lib.analysis.plural import counted
from lib.analysis.report_sections import Passage
from lib.analysis.scorecard import (
    ANCHORS,
    Scorecard,
    category_rows,
    compare_previous,
    summary_rows,
    unscored_note,
)
from lib.runs.batch import BatchRunner
from lib.runs.portfolio import COLOURS, LEVELS, category_columns, grid_csv
from lib.runs.portfolio_playbook import (
    CELL_COLOURS,
    LEAD,
    METRIC_LABELS,
    is_playbook_scorecard,
    position_columns,
    running_note,
    scorecard_rows,
    scores_from_dict,
)
from lib.runs.portfolio_session import dated_name, previous_scorecard
from lib.store.batch_store import BatchStore, StoredScorecard
from lib.ui.download import offer
from lib.ui.safe import hosts_in, label, show_markdown
from lib.ui.tables import dataframe, viewer_zone

PROGRESS_REFRESH_S = 1.0
# While a batch runs, the grid is drawn again at most this often (a whole page each time).
GRID_REFRESH_S = 3.0
# Height of a scorecard chart's row: a model's bar, a category's cells.
BAR_ROW_PX = 32
HEATMAP_ROW_PX = 22


def _cell_style(value: Any, colours: dict[str, tuple[str, str]] = COLOURS) -> str:
    found = colours.get(str(value))
    return f"background-color: #{found[0]}; color: #{found[1]}" if found else ""


def styled_grid(frame: pd.DataFrame) -> Any:
    return frame.style.map(_cell_style, subset=category_columns(frame))


def styled_verdicts(frame: pd.DataFrame) -> Any:
    """A playbook grid: each position's cell coloured by its verdict, a deviation by severity."""
    return frame.style.map(
        _cell_style, colours=CELL_COLOURS, subset=list(frame.columns[len(LEAD) :])
    )


def verdict_column_config(frame: pd.DataFrame, playbook: Playbook) -> dict[str, Any]:
    """Position columns named by their titles (cells are drawn as text), the position itself as
    the header's help, which renders Markdown, so through `label`."""
    cc = st.column_config
    config: dict[str, Any] = {
        "contract": cc.TextColumn("Contract", pinned=True, width="medium"),
        "checker": cc.TextColumn("Checker", pinned=True),
        "status": cc.TextColumn("Run"),
    }
    for column, position in zip(position_columns(playbook), playbook.positions, strict=True):
        if column in frame.columns:
            config[column] = cc.TextColumn(
                column, help=label(f"{position.position} (severity {position.severity})")
            )
    return config


def verdict_legend() -> None:
    """The grid's colours (the app's own words only, so fixed HTML is safe here)."""
    chips = " ".join(
        f'<span style="background:#{fill};color:#{text};padding:2px 8px;'
        f'border-radius:4px;margin-right:4px">{name}</span>'
        for name, (fill, text) in CELL_COLOURS.items()
    )
    st.markdown(chips, unsafe_allow_html=True)


def selected_position(
    event: Any, frame: pd.DataFrame, playbook: Playbook
) -> tuple[int, str] | None:
    """(row position, position id) of the selected grid cell, if it is a position's cell."""
    cells: Sequence[Any] = getattr(getattr(event, "selection", None), "cells", None) or []
    if not cells:
        return None
    row, column = cells[0][0], cells[0][1]
    ids = dict(zip(position_columns(playbook), (p.id for p in playbook.positions), strict=True))
    if not isinstance(row, int) or row >= len(frame) or column not in ids:
        return None
    return row, ids[column]


def grid_column_config(frame: pd.DataFrame) -> dict[str, Any]:
    cc = st.column_config
    config: dict[str, Any] = {
        "contract": cc.TextColumn("Contract", pinned=True, width="medium"),
        "model": cc.TextColumn("Model", pinned=True),
        "status": cc.TextColumn("Run"),
        "risk": cc.TextColumn("Risk"),
        "RED": cc.NumberColumn("Red", format="%d"),
        "YELLOW": cc.NumberColumn("Yellow", format="%d"),
        "GREEN": cc.NumberColumn("Green", format="%d"),
    }
    for column in category_columns(frame):
        config[column] = cc.TextColumn(_short(column), help=label(column))
    return config


def _short(title: str) -> str:
    """Column headers stay narrow: "Term and termination (incl. …)" → "Term and termination"."""
    return title.split(" (")[0]


def level_legend() -> None:
    chips = " ".join(
        f'<span style="background:#{COLOURS[k][0]};color:#{COLOURS[k][1]};padding:2px 8px;'
        f'border-radius:4px;margin-right:4px">{k}</span>'
        for k in LEVELS
    )
    st.markdown(chips, unsafe_allow_html=True)


def progress_fragment(runner: BatchRunner, key: str) -> None:
    """A progress bar with ETA redrawn each second while the batch runs; the page is drawn again
    when runs have ended since it last was (at most every `GRID_REFRESH_S`), so the grid fills
    as the batch goes, and at the end so it shows the finished batch."""
    state = st.session_state
    drawn = f"{key}_drawn"
    state[drawn] = (runner.progress().finished, time.monotonic())

    @st.fragment(run_every=PROGRESS_REFRESH_S)
    def _draw() -> None:
        progress = runner.progress()
        st.progress(progress.fraction, text=progress.line())
        st.caption(f"Elapsed {progress.elapsed_s:.0f} s · batch {runner.batch_id[:8]}")
        if runner.finished:
            state[f"{key}_announced"] = runner.batch_id
            st.rerun(scope="app")
        ended, at = state.get(drawn, (0, 0.0))
        if progress.finished > ended and time.monotonic() - at >= GRID_REFRESH_S:
            st.rerun(scope="app")

    if st.session_state.get(f"{key}_announced") == runner.batch_id and runner.finished:
        progress = runner.progress()
        st.progress(progress.fraction, text=progress.line())
        return
    _draw()


def passage_view(opened: Passage, contract_text: str | None) -> None:
    """The report's section for a cell, and each quote in the contract text around it. Links in
    the section stay links only to hosts the contract names, as on Review."""
    st.markdown(f"**{label(opened.category)}** · {label(opened.severity)}")
    if not opened.section:
        st.info("The report has no section for this category.", icon=":material/search_off:")
        return
    body = opened.section.split("\n", 1)[1] if "\n" in opened.section else ""
    show_markdown(st, body, hosts_in(contract_text or ""))
    for quote in opened.quotes:
        if quote.match:
            how = "found in the contract" if quote.status == "verified" else "close match"
            st.caption(f"Quote {how}:")
            st.text(f"…{quote.before}【{quote.match}】{quote.after}…")
        elif quote.status == "unchecked":
            st.caption("The contract text is not kept, so the quote cannot be shown in context.")
        else:
            st.warning(f"Not found in the contract: “{label(quote.quote)}”", icon=":material/help:")


def heatmap(card: Scorecard) -> alt.LayerChart | alt.Chart:
    """Category × model presence F1, with the published anchor marked on the colour legend and as
    a line on the per-model bar chart beside it. A row per category (CUAD has 41), each a fixed
    height (`_rows`), so the names read across and every cell has room for its figure."""
    data = pd.DataFrame(category_rows(card))
    if data.empty:
        return alt.Chart(pd.DataFrame({"x": []})).mark_point()
    anchor = next(iter(ANCHORS.values()))
    cells = (
        alt.Chart(data)
        .mark_rect()
        .encode(
            x=alt.X("model:N", title=None, axis=alt.Axis(labelAngle=-30, labelLimit=240)),
            y=alt.Y("category:N", title=None, sort=list(card.categories)),
            color=alt.Color(
                "F1:Q",
                scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1], domainMid=anchor),
                legend=alt.Legend(title=f"F1 (mid: {anchor:.2f} anchor)"),
            ),
            tooltip=[
                "model",
                "category",
                alt.Tooltip("F1:Q", format=".2f"),
                alt.Tooltip("precision:Q", format=".2f"),
                alt.Tooltip("recall:Q", format=".2f"),
                "labelled",
                "lazy",
            ],
        )
    )
    text = cells.mark_text(fontSize=10).encode(
        text=alt.Text("F1:Q", format=".2f"), color=alt.value("black")
    )
    return _rows(cells + text, HEATMAP_ROW_PX)


def overall_chart(card: Scorecard) -> alt.LayerChart:
    """CUAD span F1 per model with the published anchor as a reference line.

    ContractEval's figure is an F1 under CUAD's span rule, so it is drawn on the span-F1 chart:
    beside presence F1 it would compare two different measures.
    """
    data = pd.DataFrame([{"model": m.model, "span F1": m.spans.f1} for m in card.models])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("span F1:Q", scale=alt.Scale(domain=[0, 1]), title="CUAD span F1"),
            y=alt.Y("model:N", title=None),
        )
    )
    anchors = pd.DataFrame([{"anchor": k, "span F1": v} for k, v in ANCHORS.items()])
    rule = alt.Chart(anchors).mark_rule(color="firebrick", strokeDash=[4, 3]).encode(x="span F1:Q")
    label = (
        alt.Chart(anchors)
        .mark_text(align="left", baseline="bottom", dx=4, dy=-2, color="firebrick")
        .encode(x="span F1:Q", text="anchor:N", y=alt.value(0))
    )
    return _rows(bars + rule + label, BAR_ROW_PX)


def _rows(chart: alt.LayerChart, row_px: int) -> alt.LayerChart:
    """A chart as wide as the page with each row (a band of its y axis) `row_px` high, its axes
    and legend added around them. A fixed total height, under the "fit" sizing a stretched chart
    gets by default, was the whole chart's: the axes took it all and the rows were drawn 0 px
    high, bars invisible and labels on top of each other."""
    return chart.properties(
        height=alt.Step(row_px), autosize=alt.AutoSizeParams(type="fit-x", contains="padding")
    )


def scorecard_view(card: Scorecard, previous: StoredScorecard | None = None, *, key: str) -> None:
    st.caption(
        f"{label(card.name)} · labels: {label(card.labels)} · "
        f"{counted(len(card.contracts), 'contract')}"
    )
    if note := unscored_note(card):
        st.info(note, icon=":material/hourglass_top:")
    summary = pd.DataFrame(summary_rows(card)).set_index("model")
    cc = st.column_config
    two = {c: cc.NumberColumn(c, format="%.2f") for c in summary.columns if c not in
           ("contracts", "failed runs", "cost (USD)", "cache read tokens",
            "cache write tokens")}  # fmt: skip
    two["cost (USD)"] = cc.NumberColumn("cost (USD)", format="$%.4f")
    two["cache read tokens"] = cc.NumberColumn(
        "cache read tokens", format="%d", help="Prompt tokens Claude's cache served, at 0.1×"
    )
    two["cache write tokens"] = cc.NumberColumn(
        "cache write tokens", format="%d", help="Prompt tokens Claude's cache stored, at 1.25×"
    )
    dataframe(summary, column_config=two, width="stretch", key=f"{key}_summary")
    st.caption(
        "Presence: the report says a clause is there exactly when the labels do. Right clause: a "
        "quote of at most 150 words covers 80% of a labelled passage. Span F1: CUAD's rule "
        "(word overlap ≥ 0.5). Laziness: labelled clauses the report called “not found”. Quotes "
        "not found: quotes that are not in the contract. A failed run counts as finding nothing."
    )
    st.altair_chart(overall_chart(card), width="stretch")
    st.altair_chart(heatmap(card), width="stretch")
    for model in card.models:
        if model.failed:
            st.caption(f"{label(model.model)}: failed runs on {label(', '.join(model.failed))}")
    if previous is not None:
        named = dated_name(previous, *viewer_zone())
        st.markdown(f"**Against the previous scorecard** ({label(named)})")
        dataframe(
            pd.DataFrame(compare_previous(card, Scorecard.from_dict(previous.body))).set_index(
                "model"
            ),
            width="stretch",
            key=f"{key}_previous",
        )


def selected_cell(event: Any, frame: pd.DataFrame) -> tuple[int, str] | None:
    """(row position, column name) of the selected grid cell, if it is a category cell."""
    cells: Sequence[Any] = getattr(getattr(event, "selection", None), "cells", None) or []
    if not cells:
        return None
    row, column = cells[0][0], cells[0][1]
    if not isinstance(row, int) or row >= len(frame) or column not in category_columns(frame):
        return None
    return row, str(column)


def playbook_scorecard_view(body: dict[str, Any], *, key: str) -> None:
    """A playbook scorecard (`portfolio_playbook.scorecard_dict`): each checker's ContractNLI
    figures, the published ones below as reference rows, and its CSV; on Portfolio and History."""
    checkers = scores_from_dict(body)
    st.caption(
        f"{label(str(body.get('name') or 'Playbook scorecard'))} · labels: "
        f"{label(str(body.get('labels', '')))} · {counted(len(checkers), 'checker')}"
    )
    if note := running_note(checkers):
        st.info(note, icon=":material/hourglass_top:")
    if not checkers:
        st.warning("No contract of this batch has labels in this file.")
    for caveat in (c for c in (s.caveat() for s in checkers) if c):
        st.warning(label(caveat), icon=":material/warning:")
    frame = pd.DataFrame(scorecard_rows(checkers))
    cc = st.column_config
    figures = {name: cc.NumberColumn(name, format="%.3f") for name in METRIC_LABELS.values()}
    dataframe(
        frame, hide_index=True, width="stretch", key=f"{key}_table",
        column_config={**figures, "reference": cc.CheckboxColumn("published (test split)")},
    )  # fmt: skip
    st.caption(
        "Scored as ContractNLI's evaluation scores: per position, then averaged. The reference "
        "rows are the figures ContractNLI's authors published on its test split of 123 NDAs."
    )
    offer(st, "Download scorecard (CSV)", grid_csv(frame), "playbook-scorecard.csv",
          "text/csv", key=f"{key}_csv")  # fmt: skip


def _scored(body: dict[str, Any]) -> str:
    """Who a stored scorecard scores: a review's models or a playbook's checkers."""
    if is_playbook_scorecard(body):
        return ", ".join(s.checker for s in scores_from_dict(body))
    return ", ".join(m["model"] for m in body.get("models", []))


def stored_scorecards(store: BatchStore) -> None:
    """History's list of scorecards, reviews' and playbooks' alike: open one; a review's side by
    side with the one before it on the same labels, so a model upgrade is compared with the last
    run; a playbook's beside the published ContractNLI figures."""
    stored = store.scorecards()
    if not stored:
        return
    zone, zone_name = viewer_zone()
    st.divider()
    st.subheader("Scorecards")
    rows = pd.DataFrame(
        [
            {
                "id": s.scorecard_id,
                "time": s.created.astimezone(zone).replace(tzinfo=None),
                "kind": "playbook" if is_playbook_scorecard(s.body) else "review",
                "name": s.name,
                "labels": s.labels,
                "models": _scored(s.body),
            }
            for s in stored
        ]
    ).set_index("id")
    event = dataframe(
        rows, width="stretch", hide_index=True, on_select="rerun",
        selection_mode="single-row", key="scorecard_table",
        column_config={"time": st.column_config.DatetimeColumn(f"time ({zone_name})")},
    )  # fmt: skip
    picked = event.selection.rows if event is not None else []
    if not picked:
        st.caption(
            "Select a scorecard to open it: a review's beside the previous one on the same labels,"
            " a playbook's beside the published ContractNLI figures."
        )
        return
    chosen = stored[picked[0]]
    if is_playbook_scorecard(chosen.body):
        playbook_scorecard_view(chosen.body, key="history_nli_card")
        return
    previous = previous_scorecard(stored, chosen.scorecard_id)
    scorecard_view(Scorecard.from_dict(chosen.body), previous, key="history_card")
