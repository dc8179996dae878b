"""Acting on a Streamlit page in Chromium as an analyst does: wait for what they would wait for.

Shared by the browser tests and the benchmarks, so both wait on the page's own state, never on time.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect


def wait_idle(page: Page, timeout_ms: int = 60_000) -> None:
    """Wait until the script run has ended and every widget is drawn, as a user waits to act.

    Streamlit marks the app root with the run's state (`data-test-script-state`: "initial", then
    "running", then "notRunning"), and draws a grey placeholder (`stSkeleton`) where a widget's
    code is still loading: a click on it does nothing, and the real widget replaces it a moment
    later. (The status widget's running icon has no text, only an aria-label, and appears 0.5 s
    into a run: it is no signal.)

    Right after a click the root still says "notRunning" from the run before: call this once
    something the new run draws is visible (see `paste_contract`, `choose`).
    """
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout_ms)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout_ms)


def choose(page: Page, key: str, option: str) -> None:
    """Pick `option` in the select box whose widget key is `key`, once the app is idle.

    The caller then waits for what the choice draws (e.g. the chosen provider's model box).
    """
    wait_idle(page)
    page.locator(f".st-key-{key}").get_by_role("combobox").click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.locator(f".st-key-{key}").get_by_role("combobox")).to_have_value(option)
