"""Contract Review Studio: the entrypoint names the pages, and draws the Review page.

`st.navigation` names the pages, so the first is listed as "Review" instead of after this file's
name; Review is served at /, and /review, the nav's name for it, leads there too. The other
pages' files are named exactly like their URL paths (`pages/compare.py` for /compare), so that
the file and the URL never disagree; Streamlit's old-style reading of a `pages/` folder is turned
off before the first session (`lib.ui.pages_folder`).

`streamlit run app.py` finds `app` (an `st.App`) and serves it: the pages as usual, plus the
route that streams each run's live line to the page (`lib.ui.live_feed`).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from lib.analysis.prompts import TEMPLATES, default_instructions
from lib.analysis.tokens import estimate_tokens
from lib.runs.estimate import will_not_start
from lib.runs.launch import RunRequest, launch
from lib.store.records import records_to_csv, records_to_dataframe
from lib.ui import live_feed
from lib.ui.download import offer
from lib.ui.estimate_view import run_estimate, show_estimate
from lib.ui.live_view import run_area, show_live
from lib.ui.long_review_panel import long_review_panel
from lib.ui.page import page_context, run_page, set_page
from lib.ui.pages_folder import ignore_pages_folder
from lib.ui.pickers import (
    document_input,
    generation_settings,
    kept,
    no_contract,
    provider_picker,
    template_picker,
    thinking_switch,
)
from lib.ui.report_view import report_view
from lib.ui.safe import hosts_in, label
from lib.ui.tables import dataframe, history_column_config, rows_key, viewer_zone


def review_page() -> None:
    """Paste or upload a contract and watch the review report write itself."""
    set_page()
    state = st.session_state
    page = page_context(state, "review")
    settings, history, run_log = page.settings, page.history, page.run_log

    with st.sidebar:
        st.header("Model")
        config = provider_picker(settings, "review")
        max_tokens, temperature = generation_settings("review")
        thinking, thinking_budget = thinking_switch(config, max_tokens, "review")

    st.title("Contract Review Studio")
    st.caption(
        "Paste or upload a contract, pick a review template and watch the report being written."
    )

    document = document_input(settings, "review")

    template_col, side_col = st.columns([2, 1])
    template_key = template_picker(template_col, "review_template")
    template = TEMPLATES[template_key]
    perspective = side_col.text_input(
        "Reviewing for",
        placeholder="e.g. the customer (default: neutral)",
        key="review_perspective",
        on_change=kept("review_perspective", ""),
    )
    with st.expander("Instructions to the model"):
        instructions_key = f"instructions_{template_key}"
        instructions = st.text_area(
            "Instructions",
            height=220,
            key=instructions_key,
            label_visibility="collapsed",
            on_change=kept(instructions_key, default_instructions(template)),
        )

    request = None
    if document is not None and config is not None:
        # The run's prompt is built once, here: previewed, counted and planned as it is sent.
        request = RunRequest(
            page="review",
            config=config,
            document=document,
            template_key=template_key,
            instructions=instructions,
            perspective=perspective,
            max_tokens=max_tokens,
            temperature=temperature,
            thinking=thinking,
            thinking_budget=thinking_budget,
        )
    estimate = None
    if document is not None:
        # Without a model there is no prompt yet: the contract's own estimate.
        tokens = request.prompt.estimated_tokens if request else estimate_tokens(document.text)
        with st.expander(f"Preview: {label(document.name)}", expanded=False):
            cols = st.columns(3)
            cols[0].metric("Pages", document.pages if document.pages is not None else "—")
            cols[1].metric("Characters", f"{document.char_count:,}")
            cols[2].metric("Tokens (estimate, with instructions)", f"{tokens:,}")
            st.text(document.text[:5000] + ("\n…" if document.char_count > 5000 else ""))
        if request is not None:
            estimate = run_estimate(
                replace(request, plan=long_review_panel(request)), settings.prices, run_log
            )
            show_estimate(estimate)
            # The plan the estimate is of (the one chosen above, else the automatic one) runs.
            request = replace(request, plan=estimate.plan)

    review_col, stop_col, _ = st.columns([1, 1, 6])
    # A run its estimate says will not fit (said above) is not offered.
    review_clicked = review_col.button(
        "Review",
        type="primary",
        key="review",
        width="stretch",
        disabled=will_not_start([estimate]),
    )
    stop_col.button("Stop", key="stop", width="stretch", help="Stop the running review")

    with run_area(state, "review", review_clicked):
        if review_clicked:
            if document is None:
                st.info(
                    no_contract(
                        "review", "Paste a contract or upload a file first, then click Review."
                    ),
                    icon=":material/edit_note:",
                )
            elif config is None:
                st.info("Choose an available model in the sidebar first.", icon=":material/tune:")
            elif request is not None:
                record, live = launch(
                    request,
                    history=history,
                    run_log=run_log,
                    settings=settings,
                )
                state["shown_run_id"] = record.run_id
                [shown] = show_live(state, "review", [live], allowed_hosts=hosts_in(document.text))
                # One key per run, the same while it streams and after: a key that changed with
                # the next rerun made the first quote an analyst picked a new widget's, lost.
                report_view(record, key=f"run_{record.run_id}", contract=document, shown=shown)
        else:
            shown = history.get(state.get("shown_run_id", ""))
            if shown is not None:
                report_view(shown, key=f"run_{shown.run_id}", contract=document)

    st.divider()
    st.subheader("This session's runs")
    if len(history):
        records = history.records
        zone, zone_name = viewer_zone()
        frame = records_to_dataframe(records, zone)
        state["history_ids"] = list(frame.index)
        table_key = rows_key("history_table", state["history_ids"])

        def _select() -> None:
            rows = state[table_key]["selection"]["rows"]
            if rows:
                state["shown_run_id"] = state["history_ids"][rows[0]]

        dataframe(
            frame,
            column_config=history_column_config(zone_name),
            hide_index=True,
            width="stretch",
            on_select=_select,
            selection_mode="single-row",
            key=table_key,
        )
        offer(
            st, "Download runs as CSV", records_to_csv(records), "contract-review-runs.csv",
            "text/csv",
        )  # fmt: skip
    else:
        st.caption("Runs you start in this browser session appear here.")


REVIEW = st.Page(review_page, title="Review", url_path="", default=True)


def review_alias() -> None:
    """/review, the nav's name for the Review page, opens it: a shared link to it found no page,
    as Streamlit serves the default page at / only. It switches to the page itself, with the
    link's query, so the navigation marks Review and the page keeps one set of widgets."""
    st.switch_page(REVIEW, query_params=st.query_params.to_dict())


if __name__ == "__main__":  # Streamlit runs this file as the script of every page view
    run_page(
        st.navigation(
            [
                REVIEW,
                st.Page(review_alias, title="Review", url_path="review", visibility="hidden"),
                st.Page("pages/compare.py", title="Compare", url_path="compare"),
                st.Page("pages/history.py", title="History", url_path="history"),
                st.Page(
                    "pages/portfolio.py",
                    title="Portfolio",
                    url_path="portfolio",
                ),
                st.Page("pages/playbook.py", title="Playbook", url_path="playbook"),
            ]
        )
    )
else:  # `streamlit run app.py` found the app below and serves it, with the live feed's route
    ignore_pages_folder()
    app = st.App(__file__, routes=live_feed.routes())
