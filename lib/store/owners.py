"""Whose runs a viewer sees, and whose name goes on the runs they make.

One rule for the pages and the API. A viewer the operator's identity provider names (Streamlit's
login, a trusted proxy's header, an API token) owns the runs they make and sees only those, unless
they are on the admin list. A viewer nobody names owns their runs as a browser session
(`session:<id>`); they see every run when the app serves only this machine (one analyst) or the
operator chose a shared log, and otherwise only the runs of their own session — so a stranger who
reaches a served app reads nobody's contracts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SESSION_PREFIX = "session:"


@dataclass(frozen=True)
class Scope:
    # Written on every run this viewer makes.
    owner: str
    # The owner whose runs this viewer sees; None: everyone's.
    sees: str | None

    @property
    def sees_all(self) -> bool:
        return self.sees is None

    @property
    def unnamed_sees_all(self) -> bool:
        """A viewer nobody names who sees every run: one analyst's app, or a log the operator
        shares among people it does not tell apart. Its browser sessions are not told apart."""
        return self.sees_all and self.owner.startswith(SESSION_PREFIX)

    @property
    def session_only(self) -> bool:
        """What this viewer saves is seen by this browser session alone: nobody names them on an
        app that serves a team without a shared log, so a reload, a new session, no longer sees
        it (the row stays, owned by the session that is gone)."""
        return self.owner.startswith(SESSION_PREFIX) and self.sees == self.owner

    def acts_for(self, owner: str) -> bool:
        """Whether this viewer may act on (stop, take over) what `owner` started: their own, or
        anything for a viewer nobody names who sees every run (`unnamed_sees_all`). An admin
        sees a user's work but does not act for them."""
        return owner == self.owner or self.unnamed_sees_all

    def keeps_as_own(self, owner: str) -> bool:
        """Whether what `owner` saved by name (a playbook under its id) is this viewer's own, to
        replace by saving the same name again: theirs, or any browser session's for a viewer
        nobody names who sees every run, as each reload is a new session of the same analyst
        (where sessions are told apart, another session is another person)."""
        return owner == self.owner or (self.unnamed_sees_all and owner.startswith(SESSION_PREFIX))


EVERYONE = Scope(owner="", sees=None)


def scope_for(
    user: str | None,
    *,
    session_id: str,
    admins: frozenset[str],
    shared_log: bool,
    beyond_loopback: bool,
) -> Scope:
    """The one rule every front end (pages, API, crs-batch) asks. A name matches exactly, as the
    admin list and as an owner alike: `Alice` neither sees `alice`'s runs nor is the admin `alice`,
    since an identity provider or a token list may name two people so, and a rule that matched
    admins loosely but owners exactly would make `CAROL` an admin who is not `carol`."""
    user = (user or "").strip()
    if user:
        return Scope(owner=user, sees=None if user in admins else user)
    owner = f"{SESSION_PREFIX}{session_id}"
    if shared_log or not beyond_loopback:
        return Scope(owner=owner, sees=None)
    return Scope(owner=owner, sees=owner)


def login_user(claims: Mapping[str, Any]) -> str | None:
    """The name a signed-in user's runs go under, from their OpenID Connect claims.

    The email only when the identity provider says it verified it: some providers let a user
    type any address, and an unverified `lead@firm.example` would own (and, on the admin list, see)
    what the real one does. Otherwise the subject (`sub`), which the provider keeps stable and
    unique for the account.
    """
    email = str(claims.get("email") or "").strip()
    if email and claims.get("email_verified") in (True, "true", "True"):
        return email
    return str(claims.get("sub") or "").strip() or None
