"""Who may use the API: a served API names every caller, the proxy's user header counts only from
the proxy, foreign Host and Origin are refused, and refused requests leave no trace in the log."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from devtools.api_server import ROOT, free_port
from devtools.fake_upstream import Script
from lib.api.app import create_app
from lib.api.config import ApiConfig, ConfigError, api_config
from lib.api.hub import parse_event_id
from lib.engine.settings import PROXY_SECRET_HEADER, UntrustedUserHeader, load_settings
from lib.store.run_log import RunLog
from tests.api.conftest import Stream, read_events

BODY = {"contract": "1. Parties. Acme Ltd and Beta GmbH.", "provider": "ollama", "model": "m"}
SECRET = "proxy-secret-for-tests-0123456789"
PROXY = {"CRS_USER_HEADER": "X-Forwarded-User", "CRS_PROXY_SECRET": SECRET}
# A proxy on another machine, believed by its address.
BY_ADDRESS = {"CRS_USER_HEADER": "X-Forwarded-User", "CRS_TRUSTED_PROXIES": "10.0.0.0/24"}


@pytest.fixture
def history(tmp_path, make_record) -> RunLog:
    log = RunLog(tmp_path / "history.sqlite3")
    for owner in ("alice@firm.example", "bob@firm.example"):
        log.append(make_record(document_name=f"{owner}.pdf", owner=owner, status="done"))
    return log


def client_for(history: RunLog, env: dict[str, str], config: ApiConfig | None = None, **kw):
    settings = load_settings({"CRS_HISTORY_DB": str(history.path), **env})
    return TestClient(
        create_app(settings, config or ApiConfig()), base_url="http://localhost", **kw
    )


TOKEN = "a-long-random-token-for-alice-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def documents(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(run["document_name"] for run in response.json())


# Item 1: the API is not open behind a proxy.


@pytest.mark.parametrize(
    ("env", "listen"),
    [
        ({}, "0.0.0.0"),
        ({"CRS_API_TOKEN": "one-shared-token"}, "0.0.0.0"),  # names nobody
        ({"CRS_DATABASE_URL": "postgresql://crs@db/crs"}, "127.0.0.1"),
        ({"CRS_LOCK_ENDPOINTS": "1"}, "127.0.0.1"),  # behind a proxy on this machine
        ({"CRS_USER_HEADER": "X-Forwarded-User"}, "127.0.0.1"),  # nothing vouches for it
        # The deploy example's placeholder (or any short secret) is no secret.
        ({**PROXY, "CRS_PROXY_SECRET": "CHANGE-ME-to-the-value-of-CRS_PROXY_SECRET"}, "127.0.0.1"),
        ({**PROXY, "CRS_PROXY_SECRET": "short"}, "127.0.0.1"),
        # Every local process comes from loopback: no address there vouches for anyone.
        ({"CRS_USER_HEADER": "X-Forwarded-User", "CRS_TRUSTED_PROXIES": "127.0.0.1"}, "127.0.0.1"),
        ({"CRS_USER_HEADER": "X-Forwarded-User", "CRS_TRUSTED_PROXIES": "::/0"}, "127.0.0.1"),
        # Answering to a public name: behind a proxy that may add no forwarding header at all.
        ({"CRS_ALLOWED_HOSTS": "review.example.com"}, "127.0.0.1"),
        # The web server would let any local process name a listed proxy's address.
        (BY_ADDRESS, "127.0.0.1"),
        ({**BY_ADDRESS, "FORWARDED_ALLOW_IPS": "127.0.0.1"}, "127.0.0.1"),
    ],
)
def test_a_team_api_will_not_start_without_naming_its_callers(env, listen):
    config = api_config({"API_HOST": listen, **env})
    with pytest.raises(
        ConfigError,
        match=r"CRS_API_TOKENS|CRS_PROXY_SECRET|CRS_TRUSTED_PROXIES|FORWARDED_ALLOW_IPS",
    ):
        config.check(load_settings(env, listen_address=listen))


@pytest.mark.parametrize(
    "env",
    [
        {},  # a laptop: nothing to configure
        {"CRS_API_TOKENS": "tok:alice", "CRS_LOCK_ENDPOINTS": "1"},
        {**PROXY, "CRS_LOCK_ENDPOINTS": "1"},
        {**BY_ADDRESS, "FORWARDED_ALLOW_IPS": ""},
    ],
)
def test_a_loopback_api_or_one_that_names_callers_starts(env):
    api_config(env).check(load_settings(env))


def test_the_server_process_refuses_to_start_behind_a_proxy_without_identities():
    environment = {
        "PYTHONPATH": str(ROOT),
        "API_PORT": str(free_port()),
        "CRS_LOCK_ENDPOINTS": "1",
        "CRS_API_TOKEN": "one-shared-token",
    }
    refused = subprocess.run(
        [sys.executable, "-m", "lib.api"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0 and "CRS_API_TOKENS" in refused.stderr


@pytest.mark.parametrize(
    "forwarded",
    [
        {"X-Forwarded-For": "203.0.113.7"},
        {"X-Forwarded-Proto": "https"},
        {"Via": "1.1 nginx"},
        {"X-Forwarded-Host": "review.example.com"},
        {"CF-Connecting-IP": "203.0.113.7"},
    ],
)
def test_a_request_through_a_proxy_that_names_nobody_is_refused(history, upstream, forwarded):
    with client_for(history, {"OLLAMA_HOST": upstream.url}) as client:
        # A laptop's loopback API with nothing configured stays as easy as before.
        assert len(documents(client.get("/api/runs"))) == 2
        listed = client.get("/api/runs", headers=forwarded)
        assert listed.status_code == 401 and "who you are" in listed.json()["error"]
        started = client.post("/api/report", json=BODY, headers=forwarded)
        assert started.status_code == 401
    assert upstream.streams() == []
    assert history.count() == 2  # the refused request wrote no row


# Item 6: the user header only from the proxy.


def test_the_user_header_counts_only_with_the_proxys_secret(history):
    config = ApiConfig(token="one-shared-token")
    with client_for(history, PROXY, config) as client:
        alice = {"X-Forwarded-User": "alice@firm.example"}
        for headers in (
            alice,
            {**alice, PROXY_SECRET_HEADER: "a-guess"},
            # The shared token does not let its holder name themselves either.
            {**alice, "Authorization": "Bearer one-shared-token"},
        ):
            refused = client.get("/api/runs", headers=headers)
            assert refused.status_code == 403, headers
            assert "only from the authenticating proxy" in refused.json()["error"]
        signed_in = client.get("/api/runs", headers={**alice, PROXY_SECRET_HEADER: SECRET})
        assert documents(signed_in) == ["alice@firm.example.pdf"]
        # Neither a header nor a token: nobody is named, and this API serves a team.
        assert client.get("/api/runs").status_code == 401


def test_the_user_header_counts_from_a_listed_proxy_address(history):
    env = {**BY_ADDRESS, "FORWARDED_ALLOW_IPS": ""}
    bob = {"X-Forwarded-User": "bob@firm.example"}
    with client_for(history, env, client=("10.0.0.5", 40000)) as proxy:
        assert documents(proxy.get("/api/runs", headers=bob)) == ["bob@firm.example.pdf"]
    with client_for(history, env, client=("10.0.1.5", 40000)) as stranger:
        assert stranger.get("/api/runs", headers=bob).status_code == 403


def test_the_proxy_rule_reads_headers_in_any_case():
    """The pages pass Streamlit's headers to the same rule."""
    settings = load_settings(PROXY)
    named = {"x-forwarded-user": "alice", "x-crs-proxy-secret": SECRET}
    assert settings.proxy_user(named, None) == "alice"
    assert settings.proxy_user({}, None) is None
    with pytest.raises(UntrustedUserHeader):
        settings.proxy_user({"X-Forwarded-User": "alice"}, "127.0.0.1")
    assert settings.serves_a_team and SECRET not in repr(settings)


def test_a_local_process_cannot_give_itself_a_listed_proxys_address(start_api):
    """The web server took the caller's address from X-Forwarded-For when the caller connected
    from loopback: any local process passed for the proxy, and for any user, admins too."""
    api = start_api(
        **BY_ADDRESS, CRS_ADMINS="lead@firm.example", FORWARDED_ALLOW_IPS="", API_HOST="0.0.0.0"
    )
    posing = {"X-Forwarded-User": "lead@firm.example", "X-Forwarded-For": "10.0.0.5"}
    refused = httpx.get(f"{api.url}/api/runs", headers=posing)
    assert refused.status_code == 403
    assert "only from the authenticating proxy" in refused.json()["error"]


# Item 7: DNS rebinding and cross-site requests.


def test_foreign_host_and_origin_are_refused(start_api, upstream, tmp_path):
    # Answering to a public name, it serves a team: each caller names themselves with a token.
    api = start_api(CRS_ALLOWED_HOSTS="review.example.com", CRS_API_TOKENS=f"{TOKEN}:alice")
    assert httpx.get(f"{api.url}/api/runs").status_code == 401
    host = {"Host": "attacker.example", **AUTH}
    assert httpx.get(f"{api.url}/api/runs", headers=host).status_code == 400
    assert httpx.post(f"{api.url}/api/report", json=BODY, headers=host).status_code == 400
    foreign = {"Origin": "https://attacker.example", **AUTH}
    form = {"contract": BODY["contract"], "provider": "ollama", "model": "m"}
    # A page on another site posts a form (no preflight) and reads the run list.
    assert httpx.post(f"{api.url}/api/report", data=form, headers=foreign).status_code == 403
    assert httpx.get(f"{api.url}/api/runs", headers=foreign).status_code == 403
    assert httpx.get(f"{api.url}/api/runs", headers={"Origin": "null", **AUTH}).status_code == 403
    # A page served on another port of this machine (another local server) is another origin.
    port = int(api.url.rsplit(":", 1)[1])
    other_port = {"Origin": f"http://127.0.0.1:{port + 1}", **AUTH}
    assert httpx.get(f"{api.url}/api/runs", headers=other_port).status_code == 403
    assert httpx.post(f"{api.url}/api/report", data=form, headers=other_port).status_code == 403
    cross = {"Sec-Fetch-Site": "cross-site", **AUTH}
    assert httpx.get(f"{api.url}/api/runs", headers=cross).status_code == 403
    assert upstream.streams() == []
    assert RunLog(tmp_path / "history.sqlite3").count() == 0

    # The API's own page, a named host and scripts (no Origin) are served.
    own = {"Origin": api.url, **AUTH}
    assert httpx.get(f"{api.url}/api/runs", headers=own).status_code == 200
    named = {"Host": "review.example.com", "Origin": "https://review.example.com", **AUTH}
    assert httpx.get(f"{api.url}/api/runs", headers=named).status_code == 200
    upstream.push(Script(tokens=[" ok"]))
    with httpx.stream("POST", f"{api.url}/api/report", json=BODY, headers=own) as response:
        assert read_events(response, Stream()).types()[-1] == "done"


# Item 11: a Last-Event-ID no run ever sent.


def test_an_absurd_last_event_id_is_a_bad_request(history):
    with client_for(history, {}, raise_server_exceptions=False) as client:
        last = "abc:" + "9" * 5000  # over Python's 4,300-digit limit for reading an int
        response = client.get("/api/runs/abc/events", headers={"Last-Event-ID": last})
    assert response.status_code == 400 and "Last-Event-ID" in response.json()["error"]


def test_an_event_id_is_only_what_this_server_sends():
    # A latin-1 header may carry "²", which str.isdigit accepts and int() does not.
    assert parse_event_id("abc:\N{SUPERSCRIPT TWO}") is None
    assert parse_event_id("abc:" + "9" * 19) is None
    assert parse_event_id("run:1:42") == ("run:1", 42)


# Item 9: a request refused for load leaves no run-log row.


def test_a_request_over_the_concurrent_limit_is_refused_without_a_log_row(
    start_api, upstream, tmp_path
):
    api = start_api(CRS_MAX_CONCURRENT_RUNS="1")
    upstream.push(Script(tokens=[f" t{i}" for i in range(200)], delay=0.05))
    with httpx.stream("POST", f"{api.url}/api/report", json=BODY, timeout=10) as first:
        events = first.iter_lines()
        read_events(events, Stream(), stop=lambda s: "token" in s.types())
        busy = httpx.post(f"{api.url}/api/report", json=BODY, timeout=10)
        assert busy.status_code == 429 and busy.headers["retry-after"]
        assert "CRS_MAX_CONCURRENT_RUNS" in busy.json()["error"]
        assert busy.json()["kind"] == "rate_limited"
        # The built-in playbook checker too: it was the one request that went past the cap.
        check = {"contract": BODY["contract"], "playbook": "nda"}
        assert httpx.post(f"{api.url}/api/report", json=check, timeout=10).status_code == 429
        assert RunLog(tmp_path / "history.sqlite3").count() == 1
    assert len(upstream.streams()) == 1
    # Its place back once a check ends: the next one runs.
    for _ in range(100):  # the first run's place comes back as its worker ends
        with httpx.stream("POST", f"{api.url}/api/report", json=check, timeout=20) as response:
            if response.status_code == 429:
                time.sleep(0.1)
                continue
            assert read_events(response, Stream()).types()[-1] == "done"
            break
    else:
        pytest.fail("no place came back")
    with httpx.stream("POST", f"{api.url}/api/report", json=check, timeout=20) as response:
        assert response.status_code == 200  # the check gave its own place back
        assert read_events(response, Stream()).types()[-1] == "done"


def test_the_refusal_names_what_makes_the_api_a_teams():
    env = {"CRS_ALLOWED_HOSTS": "review.example.com"}
    with pytest.raises(ConfigError) as refused:
        api_config({"API_HOST": "127.0.0.1", **env}).check(
            load_settings(env, listen_address="127.0.0.1")
        )
    assert "CRS_ALLOWED_HOSTS: review.example.com" in refused.value.args[0]
    assert "listening on" not in refused.value.args[0]  # loopback is not the reason


def test_a_raised_upload_limit_raises_the_apis_body_limit(tmp_path):
    """The body limit was fixed at the default's: a 30 MB upload under CRS_MAX_UPLOAD_MB=60 was
    refused with 413 though the docs say the limit follows the setting."""
    from lib.api.app import body_limit

    env = {"CRS_HISTORY_DB": str(tmp_path / "h.sqlite3"), "CRS_MAX_UPLOAD_MB": "60"}
    settings = load_settings(env)
    over_the_default = body_limit(load_settings({})) + 1024
    assert body_limit(settings) > 60 * 1_048_576 > over_the_default
    client = TestClient(create_app(settings, ApiConfig()), base_url="http://localhost")
    # Read whole (past the default's limit), then refused for what it is, not for its size.
    body = b'{"contract": "' + b"x" * over_the_default
    response = client.post("/api/report", content=body,
                           headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 400 and "not valid JSON" in response.text


def test_a_report_the_cap_refuses_plans_nothing_and_estimates_have_a_cap_of_their_own(
    history, upstream
):
    """A report was planned (seconds of CPU on a long contract) before the cap refused it, and
    estimates had no cap at all: eight at once made a trivial one wait 32 s."""
    from lib.runs.live import claim_slot, release_slot

    app = create_app(
        load_settings({"CRS_HISTORY_DB": str(history.path), "OLLAMA_HOST": upstream.url,
                       "CRS_MAX_CONCURRENT_RUNS": "1"}),
        ApiConfig(),
    )  # fmt: skip
    client, planner = TestClient(app, base_url="http://localhost"), app.state.hub.planner
    assert claim_slot(1)  # another run streaming
    try:
        busy = client.post("/api/report", json=BODY)
    finally:
        release_slot()
    assert busy.status_code == 429 and busy.json()["kind"] == "rate_limited"
    assert planner.made == 0
    for _ in range(planner.estimates_at_once):  # estimates being made
        assert planner.estimates.admit(planner.estimates_at_once)
    try:
        refused = client.post("/api/estimate", json=BODY)
    finally:
        for _ in range(planner.estimates_at_once):
            planner.estimates.release()
    # An estimate's place frees in a second or so; a run's in minutes.
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
    assert busy.headers["retry-after"] == "60"
    assert refused.json()["kind"] == "estimates_busy" and planner.made == 0
    answered = client.post("/api/estimate", json=BODY)
    assert answered.status_code == 200 and answered.json()["plan"] == "one_pass"
    assert planner.made == 1
