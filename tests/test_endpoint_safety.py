"""Where the operator's keys and the page's requests may go (issue: the key followed a typed URL).

Against two fake model servers over real HTTP: the operator's configured endpoint and a URL typed
in the sidebar.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.errors import ProviderError
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import load_settings
from lib.engine.stream_model import stream_model
from lib.runs import catalog
from lib.store.run_log import RunLog

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
OPERATOR_KEY = "sk-operator-KEY-for-the-configured-server-only-0451"
USER_KEY = "sk-user-typed-KEY-8812"
SECRET = "INTERNAL-ONLY-payroll-db-password-hunter2"


@pytest.fixture
def env(fake_upstream: FakeUpstream, tmp_path, monkeypatch):
    for name in (
        "ANTHROPIC_API_KEY",
        "CRS_ALLOWED_ENDPOINTS",
        "CRS_LOCK_ENDPOINTS",
        "CRS_UNLOCK_ENDPOINTS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_upstream.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", OPERATOR_KEY)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("CRS_READ_TIMEOUT", "2")
    monkeypatch.setenv("CRS_BUILTIN", "off")
    return fake_upstream


@pytest.fixture
def listening_on(monkeypatch):
    """Pretend the app listens on an address (Streamlit's server.address) for one test."""
    before = st_config.get_option("server.address")

    def listen(address: str | None) -> None:
        st_config.set_option("server.address", address)

    yield listen
    st_config.set_option("server.address", before)


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def pick(at: AppTest, provider: Provider) -> AppTest:
    at.sidebar.selectbox(key="review_provider").set_value(provider).run()
    assert not at.exception, at.exception
    return at


def keys_seen(upstream: FakeUpstream) -> str:
    return " ".join(r.headers.get("authorization", "") for r in upstream.requests)


def test_operator_key_is_not_sent_to_a_typed_url(env, listening_on):
    listening_on("127.0.0.1")
    with FakeUpstream() as elsewhere:
        at = pick(app(), Provider.OPENAI)
        assert OPERATOR_KEY in keys_seen(env)  # the configured server gets the operator's key
        at.sidebar.text_input(key="review_base_url_openai").input(f"{elsewhere.url}/v1").run()
        assert elsewhere.requests, "the typed URL was not probed"
        assert OPERATOR_KEY not in keys_seen(elsewhere)
        # A key the user types goes where the user points it.
        at.sidebar.text_input(key="review_api_key_openai").input(USER_KEY).run()
        assert USER_KEY in keys_seen(elsewhere) and OPERATOR_KEY not in keys_seen(elsewhere)


def test_listening_beyond_loopback_locks_endpoints_to_the_configured_ones(env, listening_on):
    listening_on("0.0.0.0")
    at = pick(app(), Provider.OLLAMA)
    assert "review_base_url_ollama" not in [w.key for w in at.sidebar.text_input]
    assert at.sidebar.selectbox(key="review_endpoint_ollama").options == [env.url]
    at = pick(at, Provider.OPENAI)
    assert at.sidebar.selectbox(key="review_endpoint_openai").options == [f"{env.url}/v1"]
    assert "review_base_url_openai" not in [w.key for w in at.sidebar.text_input]


def test_the_sidebar_shows_an_endpoint_without_the_credentials_in_its_url(
    env, listening_on, monkeypatch
):
    host = env.url.removeprefix("http://")
    monkeypatch.setenv("OLLAMA_HOST", f"http://bob:{SECRET}@{host}")
    listening_on("127.0.0.1")
    at = pick(app(), Provider.OLLAMA)
    assert at.sidebar.text_input(key="review_base_url_ollama").value == env.url
    assert at.sidebar.selectbox(key="review_model_ollama").options  # the operator's server answered
    listening_on("0.0.0.0")
    at = pick(app(), Provider.OLLAMA)
    assert at.sidebar.selectbox(key="review_endpoint_ollama").options == [env.url]
    assert at.sidebar.selectbox(key="review_model_ollama").options
    assert SECRET not in str(at.sidebar) and SECRET not in str(at.main)
    # What the page shows stands for the operator's endpoint, credentials and all.
    settings = load_settings({"OLLAMA_HOST": f"http://bob:{SECRET}@{host}"})
    assert (
        catalog.check_endpoint(Provider.OLLAMA, env.url, settings) == f"http://bob:{SECRET}@{host}"
    )


def test_operator_can_unlock_endpoints_explicitly(env, listening_on, monkeypatch):
    listening_on("0.0.0.0")
    monkeypatch.setenv("CRS_UNLOCK_ENDPOINTS", "1")
    at = pick(app(), Provider.OLLAMA)
    assert "review_base_url_ollama" in [w.key for w in at.sidebar.text_input]


def test_lock_works_per_provider(env, listening_on, monkeypatch):
    listening_on("127.0.0.1")
    monkeypatch.setenv("CRS_ALLOWED_ENDPOINTS", f"ollama:{env.url}, openai:http://10.9.9.9:8080/v1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-ant-api03-lock-test-key-31337")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", env.url)
    monkeypatch.setenv("CRS_BUILTIN", "on")
    at = pick(app(), Provider.OLLAMA)
    assert at.sidebar.selectbox(key="review_endpoint_ollama").options == [env.url]
    at = pick(at, Provider.OPENAI)
    assert at.sidebar.selectbox(key="review_endpoint_openai").options == [
        f"{env.url}/v1",
        "http://10.9.9.9:8080/v1",
    ]
    # Claude is offered its own endpoint, not the OpenAI-style list, and lists its models.
    at = pick(at, Provider.ANTHROPIC)
    assert "review_endpoint_anthropic" not in [w.key for w in at.sidebar.selectbox]
    assert not at.error
    assert "claude-sonnet-5-5" in at.sidebar.selectbox(key="review_model_anthropic").options
    # The built-in model has no endpoint at all and stays usable.
    at = pick(at, Provider.BUILTIN)
    assert not at.error
    assert at.sidebar.selectbox(key="review_model_builtin").options


def test_settings_lock_rules():
    exposed = load_settings({"OLLAMA_HOST": "http://gpu:11434"}, listen_address="0.0.0.0")
    assert exposed.endpoints_locked
    assert exposed.allowed_for(Provider.OLLAMA) == ("http://gpu:11434",)
    assert exposed.allowed_for(Provider.OPENAI) == ()  # nothing configured: nothing allowed
    for address in ("127.0.0.1", "::1", "localhost"):
        assert not load_settings({}, listen_address=address).endpoints_locked
    assert load_settings({}, listen_address=None).endpoints_locked  # Streamlit's "every interface"
    listed = load_settings({"CRS_ALLOWED_ENDPOINTS": "http://a:1, openai:http://b:2/v1/"})
    assert listed.endpoints_locked  # a list locks even on loopback
    assert listed.allowed_for(Provider.OLLAMA) == ("http://localhost:11434", "http://a:1")
    assert listed.allowed_for(Provider.OPENAI) == ("http://a:1", "http://b:2/v1")
    assert listed.allowed_for(Provider.ANTHROPIC) == ("https://api.anthropic.com",)
    behind_proxy = load_settings({"CRS_LOCK_ENDPOINTS": "1"}, listen_address="127.0.0.1")
    assert behind_proxy.endpoints_locked
    assert behind_proxy.allowed_for(Provider.OLLAMA) == ("http://localhost:11434",)
    unlocked = load_settings({"CRS_UNLOCK_ENDPOINTS": "1"}, listen_address="0.0.0.0")
    assert not unlocked.endpoints_locked


def test_app_binds_loopback_unless_told_otherwise():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    makefile = (ROOT / "Makefile").read_text()
    assert "ADDRESS ?= 127.0.0.1" in makefile and "--server.address $(ADDRESS)" in makefile


HOSTILE_BODIES = [
    f"<html><body><h1>Admin</h1><pre>{SECRET}</pre></body></html>",
    {"users": [{"name": "root", "password": SECRET}]},
    {"error": {"message": "refused " + "x" * 1000 + SECRET, "debug": SECRET}},
]


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC])
@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=["html", "json-dump", "long-message"])
def test_error_bodies_cannot_be_used_to_read_a_service(fake_upstream, provider, body):
    fake_upstream.push(Script(status=500, error_body=body))
    base = f"{fake_upstream.url}/v1" if provider is Provider.OPENAI else fake_upstream.url
    model = "claude-sonnet-5-5" if provider is Provider.ANTHROPIC else "llama3.2"
    config = ProviderConfig(provider, model, base, api_key="sk-test-0123456789", read_timeout=5)
    with pytest.raises(ProviderError) as info:
        list(stream_model(config, "sys", "contract"))
    message = info.value.message
    assert SECRET not in message and "password" not in message and "<pre>" not in message
    assert len(message) < 450
    if isinstance(body, dict) and "error" in body:
        assert "refused xxx" in message  # the server's own message field, shortened


def test_credentials_in_an_endpoint_url_reach_the_server_and_nothing_else(
    tmp_path, monkeypatch, capsys
):
    """A server may take credentials in its URL (`http://user:password@host`, `?api-key=`): no
    message, run record, batch, output file or printed line holds them, and a batch resumed from
    the store (which keeps the URL without them) reaches the operator's endpoint again. A key
    echoed in an error clipped mid-key is not left half there either."""
    from lib.cli.batch import main

    password, key = "PASSWORDinURL123456", "sk-SECRETKEY-abcdef0123456789"
    log, out = tmp_path / "log.sqlite3", tmp_path / "out"
    monkeypatch.setenv("CRS_HISTORY_DB", str(log))
    for i in range(2):
        (tmp_path / f"deal-{i}.txt").write_text(f"Deal {i}. 9. Governed by the laws of Utopia.")
    files = [str(tmp_path / f"deal-{i}.txt") for i in range(2)]
    with FakeUpstream() as upstream:
        host = upstream.url.removeprefix("http://")
        monkeypatch.setenv(
            "OPENAI_BASE_URL", f"http://bob:{password}@{host}/v1?api-key=QUERYKEY123"
        )
        monkeypatch.setenv("OPENAI_API_KEY", key)
        assert main(["run", *files, "--model", "openai:m1", "--out", str(out)]) == 2
        refused = capsys.readouterr().err
        assert "has a query (?)" in refused and "QUERYKEY123" not in refused
        assert password not in refused
        monkeypatch.setenv("OPENAI_BASE_URL", f"http://bob:{password}@{host}/v1")
        echo = {"error": {"message": "Bad key: " + "x" * 170 + " " + key}}
        upstream.push(Script(tokens=["## Overall risk: LOW\n"]))
        upstream.push(Script(status=401, error_body=echo))
        assert (
            main(
                [
                    "run",
                    *files,
                    "--model",
                    "openai:m1",
                    "--out",
                    str(out),
                    "--concurrency",
                    "openai=1",
                ]
            )
            == 1  # a run failed (a script can tell; resume runs it again)
        )
        printed = capsys.readouterr()
        assert "failed" in printed.out, printed
        batch_id = printed.out.split("resume with: crs-batch resume ")[1].split()[0]
        upstream.push(Script(tokens=["## Overall risk: LOW\n"]))
        assert main(["resume", batch_id, *files, "--out", str(out)]) == 0
        printed_again = capsys.readouterr()
        assert len(upstream.streams()) == 3
    records = RunLog(log).query()
    assert sorted(r.status for r in records) == ["done", "done", "error"]
    failed = next(r for r in records if r.status == "error")
    assert (
        f"http://{host}/v1" in failed.error_message
        and "refused the credentials" in failed.error_message
    )
    everything = [
        log.read_bytes().decode("latin-1"),
        printed.out, printed.err, printed_again.out, printed_again.err,
        *(p.read_text() for p in out.rglob("*") if p.is_file() and p.suffix != ".xlsx"),
        *(r.endpoint + (r.served_by or "") + (r.error_message or "") for r in records),
    ]  # fmt: skip
    for text in everything:
        assert password not in text and "QUERYKEY123" not in text
        assert key[:12] not in text


@pytest.mark.parametrize("provider", ["ollama", "openai"])
def test_a_broken_connection_names_the_server_mid_sentence_in_lower_case(provider):
    """ "The connection to The OpenAI-compatible server broke": a service name written to open a
    sentence was put in the middle of one."""
    import httpx

    from lib.engine.providers import ollama, openai_compat
    from lib.engine.providers.http import connect_error

    hints = {"ollama": ollama.HINTS, "openai": openai_compat.HINTS}[provider]
    config = ProviderConfig(Provider(provider), "m", "http://127.0.0.1:9")
    message = connect_error(httpx.RemoteProtocolError("cut"), config, hints).message
    assert message.startswith("The connection to ")
    assert " The " not in message and message.split(" ")[3] in ("the", "Ollama")
