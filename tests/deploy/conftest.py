"""The shipped `deploy/` example on a real nginx (Debian's `nginx-light`), in front of the app and
the API, with a stand-in for the authenticating proxy.

Without nginx (or Debian's Chromium) the tests are skipped locally; CI sets CRS_REQUIRE_NGINX=1
and CRS_REQUIRE_BROWSER=1 so a missing one fails. The app and model fixtures are the browser
tests' own; Chromium is started by the test itself (see `review_in_chromium`).
"""

from __future__ import annotations

import os
import shutil

import pytest

from devtools.chromium import CHROMIUM
from tests.browser.conftest import streamlit_app, upstream

__all__ = ["nginx_binary", "streamlit_app", "upstream"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/deploy" in str(item.fspath):
            item.add_marker(pytest.mark.deploy)


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    """nginx's path; these tests need Chromium as well, so without either they skip (or fail)."""
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.path.exists(path)), None
    )
    if found is None:
        if os.environ.get("CRS_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is missing: install Debian's nginx-light package")
        pytest.skip("nginx is not installed")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CRS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed")
    return found
