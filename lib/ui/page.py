"""What every page starts with: settings, this session's runs, the shared run log."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from lib.engine.settings import (
    Settings,
    load_settings,
    operator_environment,
    read_secrets_file,
)
from lib.runs.launch import save_unsaved, warm_up
from lib.store.database import StoreUnavailable
from lib.store.records import SessionHistory
from lib.store.run_log import RunLog, log_target, opened
from lib.ui.identity import current_scope
from lib.ui.live_view import cancel_active_runs
from lib.ui.safe import label

# The app's icon is an image it serves itself, and its pages' navigation has none: a
# Material page icon is fetched by every browser from Google's servers (a third party told
# who reviews contracts when; no icon offline or under the CSP docs/SECURITY.md suggests), and an
# emoji shows as an empty box where no emoji font is installed.
PAGE_ICON = str(Path(__file__).with_name("page_icon.png"))


def set_page(title: str | None = None) -> None:
    """Every page's title ("History · Contract Review Studio"), icon and layout."""
    name = f"{title} · Contract Review Studio" if title else "Contract Review Studio"
    st.set_page_config(page_title=name, page_icon=PAGE_ICON, layout="wide")


def current_settings() -> Settings:
    """Settings for the running app: the operator's environment, then `.streamlit/secrets.toml`,
    read as `crs-batch` and the API read them (a file that cannot be read stops the page, as it
    stops them, rather than leaving every setting in it at its default)."""
    promoted: Mapping[str, Any] = {}
    try:
        promoted = st.secrets.to_dict()  # what Streamlit copied into the environment
    except Exception:  # no secrets file, or one it cannot read: named below
        promoted = {}
    try:
        settings = load_settings(
            operator_environment(promoted),
            read_secrets_file(),
            listen_address=st.get_option("server.address"),
        )
    except ValueError as exc:  # a setting that does not parse, or a key that could go astray
        st.error(f"The app is not configured as it needs to be: {label(str(exc))}")
        st.stop()
    return settings.for_request(st.context.headers)


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    history: SessionHistory
    run_log: RunLog | None


def page_context(state: MutableMapping[str, Any], group: str) -> PageContext:
    """What every page that runs models starts with; ends any run this session left streaming."""
    warm_up()
    settings = current_settings()
    cancel_active_runs(state, group)
    return PageContext(settings, SessionHistory.from_state(state), shared_run_log(settings))


@st.cache_resource(show_spinner=False)
def _run_log_at(target: str, max_run_seconds: float) -> RunLog:
    return opened(
        RunLog(target if target.startswith("postgres") else Path(target)), max_run_seconds
    )


UNREACHABLE = (
    "The run history cannot be reached right now ({reason}). Runs still stream and show here; "
    "try this page again in a minute."
)


def run_page(page: Any) -> None:
    """Run the page the analyst opened: a shared database that stops answering mid-session
    (`StoreUnavailable`) is said in a sentence, as when it cannot be opened, not as Streamlit's
    error box; the page works again once it answers."""
    try:
        page.run()
    except StoreUnavailable as exc:
        st.error(label(UNREACHABLE.format(reason=exc)), icon=":material/cloud_off:")


def shared_run_log(settings: Settings) -> RunLog | None:
    """One RunLog per database for the whole app process (it is safe across threads), seen as
    this session's viewer may see it (`lib.ui.identity`)."""
    if not settings.history_enabled:
        return None
    try:
        shared = _run_log_at(str(log_target(settings)), settings.run_limits.max_run_seconds)
    except StoreUnavailable as exc:
        st.warning(
            f"The run history cannot be opened ({exc}); runs are kept for this session only."
        )
        return None
    save_unsaved(shared)  # runs that ended while it did not answer
    return shared.scoped(current_scope(settings))
