"""What every page starts with: settings, this session's runs, the shared run log."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from lib.engine.settings import Settings, load_settings
from lib.runs.records import SessionHistory
from lib.runs.run_log import RunLog
from lib.ui.live_view import cancel_active_runs


def current_settings() -> Settings:
    """Settings for the running app: environment plus Streamlit secrets, when a file exists."""
    secrets: Mapping[str, Any] = {}
    try:
        secrets = st.secrets.to_dict()
    except Exception:
        secrets = {}
    return load_settings(os.environ, secrets, listen_address=st.get_option("server.address"))


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    history: SessionHistory
    run_log: RunLog | None


def page_context(state: MutableMapping[str, Any], group: str) -> PageContext:
    """What every page that runs models starts with; ends any run this session left streaming."""
    settings = current_settings()
    cancel_active_runs(state, group)
    return PageContext(settings, SessionHistory.from_state(state), shared_run_log(settings))


@st.cache_resource(show_spinner=False)
def _run_log_at(path: str) -> RunLog:
    return RunLog(Path(path))


def shared_run_log(settings: Settings) -> RunLog | None:
    """One RunLog per file for the whole app process (it is safe across threads)."""
    if not settings.history_enabled:
        return None
    try:
        return _run_log_at(str(settings.history_db_path))
    except (OSError, sqlite3.Error) as exc:
        st.warning(
            f"The run history file cannot be opened ({exc}); runs are kept for this session only."
        )
        return None
