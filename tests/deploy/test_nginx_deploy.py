"""`deploy/nginx.conf` as shipped, on Debian's nginx: `nginx -t` passes, and through it a review
streams in Chromium over the WebSocket and an SSE stream reaches the API, each named by the
sign-in stand-in's user (the header and the proxy secret nginx adds)."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import trustme
from playwright.sync_api import expect, sync_playwright

from devtools.api_server import ApiServer, free_port
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from devtools.fake_upstream import Script
from lib.store.run_log import RunLog
from tests.api.conftest import Stream, read_events
from tests.browser.conftest import paste_contract, wait_for_app

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx.conf"
USER = "alice@firm.example"
SECRET = "a-proxy-secret-only-this-test-knows-0123456789"
CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."
IDENTITY = {"CRS_USER_HEADER": "X-Forwarded-User", "CRS_PROXY_SECRET": SECRET}


class SignIn(BaseHTTPRequestHandler):
    """oauth2-proxy's part: a browser (no Authorization header) is signed in as USER; a script
    that brings its own bearer token has no sign-in cookie and is answered 401."""

    def do_GET(self) -> None:
        signed_in = "Authorization" not in self.headers
        self.send_response(202 if signed_in else 401)
        if signed_in:
            self.send_header("X-Auth-Request-Email", USER)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def sign_in() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SignIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@dataclass
class Nginx:
    url: str
    ca: trustme.CA
    # Straight to the app instance (not through the shipped site), adding the user header.
    forger_url: str


def nginx_conf(
    work: Path, *, port: int, app: int, api: int, auth: int, cert: Path, key: Path, forger: int
) -> Path:
    """The shipped file with this test's ports, certificate and secret, inside a minimal main
    configuration whose files all live in `work`."""
    site = SHIPPED.read_text()
    # One pass over the shipped ports: a port put in is never read again as one to replace (an
    # API on port 41805 became "127.0.0.1:346815" when 4180 was replaced after it).
    ports = {"8502": api, "4180": auth}
    site = re.sub(
        r"127\.0\.0\.1:(860\d|8502|4180)\b",
        lambda m: f"127.0.0.1:{ports.get(m.group(1), app)}",
        site,
    )
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = site.replace("/etc/ssl/certs/review.example.com.pem", str(cert))
    site = site.replace("/etc/ssl/private/review.example.com.key", str(key))
    site = site.replace("CHANGE-ME-to-the-value-of-CRS_PROXY_SECRET", SECRET)
    (work / "contract-review.conf").write_text(site)
    temp = "\n".join(
        f"    {name}_temp_path {work / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # A local process that speaks to the instance's port itself, naming a user of its choice.
    forging = (
        f"    server {{\n        listen 127.0.0.1:{forger};\n        location / {{\n"
        f"            proxy_pass http://127.0.0.1:{app};\n            proxy_http_version 1.1;\n"
        "            proxy_set_header Upgrade $http_upgrade;\n"
        "            proxy_set_header Connection $connection_upgrade;\n"
        '            proxy_set_header X-Forwarded-User "lead@firm.example";\n'
        "        }\n    }\n"
    )
    main = work / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} warn;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\n    access_log off;\n{temp}\n    include {work / 'contract-review.conf'};\n"
        + forging
        + "}\n"
    )
    return main


@pytest.fixture
def nginx(nginx_binary, tmp_path, sign_in, streamlit_app, upstream) -> Iterator[Nginx]:
    app = streamlit_app(OLLAMA_HOST=upstream.url, **IDENTITY)
    api = ApiServer(
        {
            "OLLAMA_HOST": upstream.url,
            "CRS_HISTORY_DB": str(tmp_path / "history.sqlite3"),
            **IDENTITY,
        },
        tmp_path / "api.log",
    ).__enter__()
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    work = tmp_path / "nginx"
    work.mkdir()
    cert, key = work / "cert.pem", work / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    port, forger = free_port(), free_port()
    conf = nginx_conf(
        work,
        port=port,
        app=int(app.rsplit(":", 1)[1]),
        api=api.port,
        auth=sign_in,
        cert=cert,
        key=key,
        forger=forger,
    )
    command = [nginx_binary, "-p", str(work), "-e", str(work / "error.log"), "-c", str(conf)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "[warn]" not in checked.stderr, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        context = ssl.create_default_context()
        ca.configure_trust(context)
        for _ in range(100):
            try:
                httpx.get(f"https://127.0.0.1:{port}/healthz", verify=context, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    pytest.fail(
                        f"nginx stopped: {process.stderr.read().decode() if process.stderr else ''}"
                    )
                threading.Event().wait(0.1)
        yield Nginx(f"https://127.0.0.1:{port}", ca, f"http://127.0.0.1:{forger}")
    finally:
        process.terminate()
        process.wait(10)
        api.__exit__()


def review_in_chromium(url: str, tokens: list[str], upstream, live: bool = False) -> None:
    """One review at `url`, in a Playwright of its own on a thread of its own: sync Playwright
    allows one per thread, and the browser tests' session-wide one may be running in this one.

    `live`: the paragraph being written must show (the live feed, through the proxy) before the
    model has sent its last token."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                context = browser.new_context(
                    ignore_https_errors=True, viewport={"width": 1400, "height": 1000}
                )
                page = context.new_page()
                wait_for_app(page, url)
                paste_contract(page, CONTRACT)
                upstream.push(Script(tokens=tokens, delay=0.05 if live else 0.01))
                page.locator(".st-key-review button").first.click()
                if live:
                    expect(page.locator("div.crs-live-tail")).to_contain_text(
                        tokens[5].strip(), timeout=20_000
                    )
                    assert upstream.streams()[-1].tokens_sent < len(tokens), "not live"
                expect(page.get_by_text(tokens[-1].strip())).to_be_visible(timeout=20_000)
                expect(page.get_by_text("complete", exact=False).first).to_be_visible(
                    timeout=10_000
                )
                browser.close()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run, name="chromium")
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the review in Chromium did not finish in 120 s"
    if failures:
        raise failures[0]


def test_the_shipped_config_passes_nginx_t_and_carries_a_review_and_an_sse_stream(
    nginx, upstream, tmp_path
):
    # One review in Chromium: Streamlit's WebSocket through nginx, the user named by the proxy.
    # Its paragraph grows live: the feed's event stream passes nginx unbuffered.
    review_in_chromium(nginx.url, [f" tok{i}" for i in range(60)], upstream, live=True)

    # One SSE stream through nginx to the API, the same user named the same way.
    trust = ssl.create_default_context()
    nginx.ca.configure_trust(trust)
    body = {"contract": CONTRACT, "provider": "ollama", "model": "llama3.2"}
    upstream.push(Script(tokens=[f" sse{i}" for i in range(30)], delay=0.01))
    with httpx.stream(
        "POST", f"{nginx.url}/api/report", json=body, verify=trust, timeout=20
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = read_events(response, Stream())
    assert stream.types()[-1] == "done" and stream.text().endswith(" sse29")

    # A script without the sign-in gets no name from nginx: the API wants a token of its own.
    script = httpx.get(
        f"{nginx.url}/api/runs", headers={"Authorization": "Bearer guess"}, verify=trust
    )
    assert script.status_code == 401

    runs = RunLog(tmp_path / "history.sqlite3").query()
    assert sorted((run.page, run.owner) for run in runs) == [("api", USER), ("review", USER)]


def test_a_user_header_sent_straight_to_the_app_names_nobody(nginx, upstream, tmp_path):
    """Someone who reaches an instance's port directly (any local process) sends the header
    nginx would: without the proxy's secret the page does not believe it."""
    review_in_chromium(nginx.forger_url, [" direct"], upstream)
    (run,) = RunLog(tmp_path / "history.sqlite3").query()
    assert run.owner.startswith("session:"), run.owner
