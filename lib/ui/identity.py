"""Who is using this browser session, and so whose runs the pages show (`lib.store.owners`).

Two identity sources an operator may configure: Streamlit's built-in login (`st.login` with an
OIDC provider in the `[auth]` secrets section; the user's verified email, else their subject id:
`login_user`) or a header a trusted reverse proxy sets after its own sign-in (`CRS_USER_HEADER`).
The header is believed only with the proxy's secret or from a listed proxy address
(`Settings.proxy_user`); a visitor who reaches the port directly and sends it is not named.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib.engine.settings import Settings, UntrustedUserHeader
from lib.store.owners import Scope, login_user, scope_for


def _login_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _logged_in_user() -> str | None:
    user: Any = st.user
    if not user.get("is_logged_in"):
        return None
    return login_user(user.to_dict())


def current_user(settings: Settings) -> str | None:
    if _login_configured():
        return _logged_in_user()
    try:
        return settings.proxy_user(st.context.headers, st.context.ip_address)
    except UntrustedUserHeader as exc:
        st.warning(f"Not signed in: {exc}", icon=":material/no_accounts:")
        return None


def current_scope(settings: Settings) -> Scope:
    """With login configured, a visitor who has not signed in is asked to, and the page stops;
    so does every page when a user header is configured that nothing can vouch for."""
    if problem := settings.identity_problem:
        st.error(f"This app is not set up safely: {problem}", icon=":material/gpp_bad:")
        st.stop()
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
        beyond_loopback=settings.serves_a_team_for(st.context.headers),
    )


def session_only_note(scope: Scope, keep: str) -> str | None:
    """Said wherever a viewer saves something by name (a playbook), when it lasts for this browser
    session only (`Scope.session_only`), with how to keep it (`keep`: "download the TOML")."""
    if not scope.session_only:
        return None
    return (
        "Nobody is signed in, so this is kept for this browser session only: after a reload it is"
        f" no longer listed. To keep it, {keep}, or open the app through your team's sign-in."
    )


def scope_caption(scope: Scope) -> str:
    if scope.sees_all:
        return "all runs"
    if scope.owner.startswith("session:"):
        return "this browser session's runs"
    return f"runs of {scope.owner}"
