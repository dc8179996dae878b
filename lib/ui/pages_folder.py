"""Every page through `app.py`'s own navigation, from the first session of a process on.

With a `pages/` folder next to the entrypoint, Streamlit runs a process's script runs as an
old-style multipage app until the entrypoint first calls `st.navigation`: the page a URL names
runs on its own, without `app.py`, under a navigation made of the folder's file names ("app",
"compare", …). The first analyst to open a bookmark to /compare after a restart, and everyone
after them until someone opened the Review page, got that navigation. `ignore_pages_folder`
clears, before any session starts, the flag `st.navigation` clears at its first call.
"""

from __future__ import annotations

from streamlit.runtime.pages_manager import PagesManager


def ignore_pages_folder() -> None:
    """Call where `streamlit run` imports the entrypoint to serve it (`app.py`'s `st.App`)."""
    PagesManager.uses_pages_directory = False
