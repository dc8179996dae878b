"""The shipped `deploy/` example on a real nginx (Debian's `nginx-light`), in front of the app and
the API, with a stand-in for the authenticating proxy.

Without nginx the tests are skipped locally; CI sets CRS_REQUIRE_NGINX=1 so a missing nginx fails.
The browser fixtures are the browser tests' own.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser.conftest import browser, page, streamlit_app, upstream

__all__ = ["browser", "nginx_binary", "page", "streamlit_app", "upstream"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/deploy" in str(item.fspath):
            item.add_marker(pytest.mark.deploy)


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.path.exists(path)), None
    )
    if found is None:
        if os.environ.get("CRS_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is missing: install Debian's nginx-light package")
        pytest.skip("nginx is not installed")
    return found
