"""Who is using this browser session, and so whose runs the pages show (`lib.runs.owners`).

Two identity sources an operator may configure: Streamlit's built-in login (`st.login` with an
OIDC provider in the `[auth]` secrets section; the user's email, else their subject id) or a
header a trusted reverse proxy sets after its own sign-in (`CRS_USER_HEADER`). The header is only
as trustworthy as the proxy: the app must not be reachable except through it.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib.engine.settings import Settings
from lib.runs.owners import Scope, scope_for


def _login_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _logged_in_user() -> str | None:
    user: Any = st.user
    if not user.get("is_logged_in"):
        return None
    return str(user.get("email") or user.get("sub") or "") or None


def current_user(settings: Settings) -> str | None:
    if _login_configured():
        return _logged_in_user()
    if settings.user_header:
        value = st.context.headers.get(settings.user_header)
        return value.strip() if value and value.strip() else None
    return None


def current_scope(settings: Settings) -> Scope:
    """With login configured, a visitor who has not signed in is asked to, and the page stops."""
    if _login_configured() and _logged_in_user() is None:
        st.info("Sign in to see and keep your reviews.", icon=":material/login:")
        st.button("Sign in", on_click=st.login, type="primary", key="identity_login")
        st.stop()
    ctx = get_script_run_ctx()
    return scope_for(
        current_user(settings),
        session_id=ctx.session_id if ctx is not None else "none",
        admins=settings.admins,
        shared_log=settings.shared_log,
        beyond_loopback=settings.serves_a_team,
    )


def scope_caption(scope: Scope) -> str:
    if scope.sees_all:
        return "all runs"
    if scope.owner.startswith("session:"):
        return "this browser session's runs"
    return f"runs of {scope.owner}"
