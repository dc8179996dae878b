"""GET /api/runs and friends show each caller their own runs: one token per user, admins all."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from lib.api.app import create_app
from lib.api.config import ApiConfig, ConfigError, api_config
from lib.engine.settings import load_settings
from lib.store.run_log import RunLog

TOKENS = {
    "tok-alice": "alice@firm.example",
    "tok-bob": "bob",
    "tok-root": "root",
    "tok-ROOT": "ROOT",
    "tok-Bob": "Bob",
}


@pytest.fixture
def served(log_target, make_record):
    settings = load_settings(
        {"CRS_DATABASE_URL": log_target, "CRS_ADMINS": "root"}
        if log_target.startswith("postgresql")
        else {"CRS_HISTORY_DB": log_target, "CRS_ADMINS": "root"},
        listen_address="0.0.0.0",
    )
    log = RunLog(log_target)
    runs = {
        owner: make_record(document_name=f"{owner}.pdf", owner=owner, status="done")
        for owner in ("alice@firm.example", "bob", "session:api")
    }
    for record in runs.values():
        log.append(record)
    app = create_app(settings, ApiConfig(host="0.0.0.0", tokens=TOKENS, token="shared-token"))
    with TestClient(app, base_url="http://localhost") as client:
        yield client, runs


def listed(client, token):
    response = client.get("/api/runs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return sorted(run["document_name"] for run in response.json())


def test_each_token_lists_its_own_runs_and_admins_list_all(served):
    client, _ = served
    assert listed(client, "tok-alice") == ["alice@firm.example.pdf"]
    assert listed(client, "tok-bob") == ["bob.pdf"]
    assert len(listed(client, "tok-root")) == 3
    # The one shared token names nobody: an API served beyond loopback refuses it.
    shared = client.get("/api/runs", headers={"Authorization": "Bearer shared-token"})
    assert shared.status_code == 401 and "who you are" in shared.json()["error"]
    assert client.get("/api/runs", headers={"Authorization": "Bearer guess"}).status_code == 401


def test_names_match_exactly_as_admins_and_as_owners(served):
    """`ROOT` is not the admin `root`, as `Bob` is not the owner `bob`: one exact rule for both,
    where admins once matched in any case and owners exactly."""
    client, runs = served
    assert listed(client, "tok-ROOT") == []
    assert listed(client, "tok-Bob") == []
    for token in ("tok-ROOT", "tok-Bob"):
        caller = {"Authorization": f"Bearer {token}"}
        assert client.get(f"/api/runs/{runs['bob'].run_id}", headers=caller).status_code == 404


def test_another_owners_run_is_not_found(served):
    client, runs = served
    bob_run = runs["bob"].run_id
    alice = {"Authorization": "Bearer tok-alice"}
    assert client.get(f"/api/runs/{bob_run}", headers=alice).status_code == 404
    mine = client.get(f"/api/runs/{runs['alice@firm.example'].run_id}", headers=alice)
    assert mine.status_code == 200 and mine.json()["owner"] == "alice@firm.example"


def test_token_list_parsing():
    config = api_config({"CRS_API_TOKENS": " a1:alice , b2:bob@firm.example"})
    assert config.tokens == {"a1": "alice", "b2": "bob@firm.example"}
    assert "a1" not in repr(config)
    with pytest.raises(ConfigError):
        api_config({"CRS_API_TOKENS": "no-user-here"})
    ApiConfig(host="0.0.0.0", tokens={"a1": "alice"}).check(
        load_settings({}, listen_address="0.0.0.0")
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [
        # Accepted, then every stream answered 500: sse-starlette refuses a negative ping.
        ({"CRS_API_KEEPALIVE": "-1"}, "CRS_API_KEEPALIVE must be a number 0 or more"),
        ({"CRS_API_RESUME_GRACE": "nan"}, "CRS_API_RESUME_GRACE must be a number 0 or more"),
        # A traceback from the socket's bind, not a sentence naming the setting.
        ({"API_PORT": "99999"}, "API_PORT must be a port number (1 to 65535)"),
    ],
)
def test_the_apis_own_settings_are_refused_by_name(env, said):
    with pytest.raises(ConfigError) as refused:
        api_config(env)
    assert str(refused.value).startswith(said)


def test_a_database_gone_away_answers_503_in_json(postgres_cluster, make_record):
    """It answered a plain-text "Internal Server Error" (the driver's error, uncaught)."""
    url = postgres_cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")
    settings = load_settings({"CRS_DATABASE_URL": url})
    app = create_app(settings, ApiConfig(host="127.0.0.1", tokens=TOKENS))
    alice = {"Authorization": "Bearer tok-alice"}
    with TestClient(app, base_url="http://localhost") as client:
        assert client.get("/api/runs", headers=alice).status_code == 200
        with postgres_cluster.gone_away(url):
            down = client.get("/api/runs", headers=alice)
        assert down.status_code == 503 and down.headers["retry-after"] == "60"
        assert down.json()["error"].startswith("The run history cannot be reached right now")


def test_a_nul_in_a_run_id_or_filter_is_a_422_on_every_database(served):
    """PostgreSQL refuses a NUL in a text: sent as a run's id or a filter it broke the run log's
    query (500); refused before any query, as a request body's text is."""
    client, runs = served
    admin = {"Authorization": "Bearer tok-root"}
    for url in (
        "/api/runs/%00",
        f"/api/runs/{runs['bob'].run_id}%00",
        "/api/runs?model=llama%00",
        "/api/runs?provider=%1b",
    ):
        response = client.get(url, headers=admin)
        assert response.status_code == 422, (url, response.text)
        assert "control character" in response.text
    assert client.delete("/api/runs/%00", headers=admin).status_code == 422
    assert client.get(f"/api/runs/{runs['bob'].run_id}", headers=admin).status_code == 200
