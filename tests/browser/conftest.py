"""Browser tests: `streamlit run` on a free port against the fake upstream, driven by Playwright
in Debian's Chromium (never a downloaded browser).

Without /usr/bin/chromium the tests are skipped locally; CI sets CRS_REQUIRE_BROWSER=1 so a missing
browser fails instead.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.fake_upstream import FakeUpstream, Script
from devtools.streamlit_page import wait_idle

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CRS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


StartApp = Callable[..., str]


@pytest.fixture
def streamlit_app(tmp_path) -> Iterator[StartApp]:
    """Start `streamlit run <script>` with extra environment; returns the page URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(script: str = "app.py", **env: str) -> str:
        port = _free_port()
        environment = {
            **os.environ,
            "CRS_HISTORY_DB": str(tmp_path / "history.sqlite3"),
            "CRS_BUILTIN": "off",
            "PYTHONPATH": str(ROOT),
            **env,
        }
        for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL"):
            if name not in env:
                environment.pop(name, None)
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / script),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]
        log = (tmp_path / f"streamlit-{port}.log").open("wb")
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        processes.append(process)
        # Served below a base path (`STREAMLIT_SERVER_BASE_URL_PATH`), as behind a proxy.
        base = env.get("STREAMLIT_SERVER_BASE_URL_PATH", "").strip("/")
        url = f"http://127.0.0.1:{port}" + (f"/{base}" if base else "")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(
            f"streamlit did not start: {(tmp_path / f'streamlit-{port}.log').read_text()[-2000:]}"
        )

    yield start
    for process in processes:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


def wait_for_app(page: Page, url: str) -> None:
    """Open the page and wait until Streamlit has run the script and drawn every element."""
    page.goto(url)
    expect(page.get_by_test_id("stApp")).to_be_visible(timeout=30_000)
    wait_idle(page)


def paste_contract(page: Page, text: str) -> None:
    """Type a contract and apply it (Ctrl+Enter), as an analyst would before pressing Review.

    Done when the page names the pasted contract ("Preview: Pasted contract" on Review,
    "Contract: Pasted contract" on Compare) and that run has ended: once per test, as a second
    paste would be named the same.
    """
    wait_idle(page)
    box = page.get_by_label("Contract text")
    box.fill(text)
    box.press("Control+Enter")
    expander = page.get_by_test_id("stExpander").filter(has_text="Pasted contract")
    expect(expander).to_be_visible(timeout=60_000)
    wait_idle(page)


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[int, list[str]]]:
    """A port that writes down every request it gets: where a leaked image would go."""
    seen: list[str] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def fetched_besides_a_sentinel(page: Page, port: int, seen: list[str]) -> list[str]:
    """What the page asked the recorder for, once everything it asked before has arrived.

    The page asks for one more thing itself (a sentinel) and we wait until the recorder has it,
    so every request the page sent before has had the same time to arrive. The caller asserts
    the list is just the sentinel.
    """
    page.evaluate(
        "(url) => fetch(url, {mode: 'no-cors'}).catch(() => null)",
        f"http://127.0.0.1:{port}/sentinel",
    )
    deadline = time.monotonic() + 30
    while "/sentinel" not in seen and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(seen)


def review_streams(
    page: Page, url: str, contract: str, upstream: FakeUpstream, script: Script
) -> None:
    """Open the Review page, paste `contract` and start a review the fake model answers with
    `script`."""
    wait_for_app(page, url)
    paste_contract(page, contract)
    upstream.push(script)
    page.locator(".st-key-review button").first.click()


_GRID_COLUMN = """([scope, column, rows]) => Array.from({length: rows}, (_, row) =>
  document.querySelector(`${scope} [data-testid="glide-cell-${column}-${row}"]`)?.innerText ?? null)
"""


def grid_column(page: Page, column: int, rows: int, scope: str = "") -> list[str | None]:
    """Cells 0 to `rows` − 1 of a data grid's column (in `scope`, a CSS selector), read at one
    instant: a grid redrawn as runs finish, read cell by cell across a redraw, can show a row
    twice."""
    cells: list[str | None] = page.evaluate(_GRID_COLUMN, [scope, column, rows])
    return cells


def wait_for_grid_rows(
    page: Page, column: int, expected: list[str], scope: str = "", timeout_s: float = 30.0
) -> list[str]:
    """The column, in the grid's order, once it holds exactly `expected` (in any order): the
    grid fills and is sorted again as runs finish."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = grid_column(page, column, len(expected), scope)
        if sorted(str(cell) for cell in found) == sorted(expected):
            return [str(cell) for cell in found]
        if time.monotonic() > deadline:
            raise AssertionError(f"the grid's column {column} holds {found}, not {expected}")
        page.wait_for_timeout(200)
