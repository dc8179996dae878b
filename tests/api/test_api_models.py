"""The API chooses models as every front end does (`lib.runs.model_choice`): endpoints locked
where it listens, keys only to their own endpoint, no reply body echoed, long contracts planned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from devtools.fake_upstream import FakeUpstream
from devtools.long_contract import long_contract
from tests.api.conftest import Stream, read_events
from tests.test_long_review import CONTEXT, answer

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."
TOKEN = "api-token-for-the-model-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "INTERNAL-ONLY-3f1c"


class _Internal(BaseHTTPRequestHandler):
    """An internal service: answers every request with a plain-text secret, and counts them."""

    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        type(self).seen.append(self.path)
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = f"{SECRET} payroll export\n".encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def internal() -> Iterator[tuple[str, list[str]]]:
    _Internal.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Internal.seen
    server.shutdown()


def test_an_api_beyond_loopback_locks_endpoints(start_api, upstream, internal):
    url, seen = internal
    api = start_api(API_HOST="0.0.0.0", CRS_API_TOKENS=f"{TOKEN}:tester")
    body = {"contract": CONTRACT, "provider": "ollama", "model": "m", "base_url": url}
    refused = httpx.post(f"{api.url}/api/report", json=body, headers=AUTH, timeout=60)
    assert refused.status_code == 400 and "only allows" in refused.json()["error"]
    assert seen == []


def test_a_fragment_cannot_aim_a_run_at_an_internal_path(start_api, upstream, internal):
    url, seen = internal
    api = start_api()
    body = {"contract": CONTRACT, "provider": "ollama", "model": "m", "base_url": f"{url}/admin#"}
    refused = httpx.post(f"{api.url}/api/report", json=body, timeout=60)
    assert refused.status_code == 400 and "fragment" in refused.json()["error"]
    assert seen == []


@pytest.mark.parametrize("provider", ["ollama", "openai"])
def test_what_an_internal_service_answers_is_never_echoed(start_api, upstream, internal, provider):
    url, seen = internal
    api = start_api()
    body = {"contract": CONTRACT, "provider": provider, "model": "m", "base_url": url}
    with httpx.stream("POST", f"{api.url}/api/report", json=body, timeout=60) as response:
        stream = read_events(response, Stream())
    assert seen, "the run reached the (unlocked) endpoint"
    error = stream.events[-1].data
    assert error["type"] == "error"
    assert SECRET not in str(stream.events) and "payroll" not in str(stream.events)


def test_the_model_list_sends_each_key_only_to_its_own_endpoint(start_api, upstream):
    with FakeUpstream() as openai:
        api = start_api(
            CRS_ALLOWED_ENDPOINTS=upstream.url,
            ANTHROPIC_API_KEY="anthropic-operator-key-0000",
            OPENAI_BASE_URL=f"{openai.url}/v1",
            OPENAI_API_KEY="openai-operator-key-1111",
        )
        rows = {
            row["provider"]: row for row in httpx.get(f"{api.url}/api/models", timeout=60).json()
        }
        assert rows["ollama"]["available"] and rows["openai"]["available"]
        for record in upstream.requests:
            sent = " ".join(record.headers.values())
            assert "operator-key" not in sent, (record.path, record.headers)
        to_openai = [r for r in openai.requests if r.path.endswith("/models")]
        assert to_openai and to_openai[0].headers["authorization"].endswith(
            "openai-operator-key-1111"
        )


def test_the_model_list_answers_when_endpoints_are_locked_with_no_list(start_api, upstream):
    api = start_api(CRS_LOCK_ENDPOINTS="1", CRS_API_TOKENS=f"{TOKEN}:tester")
    response = httpx.get(f"{api.url}/api/models", headers=AUTH, timeout=60)
    assert response.status_code == 200
    assert {row["provider"] for row in response.json()} >= {"ollama", "clause_finder"}


def test_a_long_contract_is_planned_for_the_models_context(start_api, upstream):
    upstream.app.context_limit, upstream.app.context_mode = CONTEXT, "reject"
    upstream.app.responder = answer
    api = start_api()
    body = {"contract": long_contract(300_000).text, "provider": "ollama", "model": "llama3.2"}
    with httpx.stream("POST", f"{api.url}/api/report", json=body, timeout=120) as response:
        stream = read_events(response, Stream())
    done = stream.events[-1].data
    assert done["type"] == "done" and done["status"] == "done", done
    streams = upstream.streams()
    assert len(streams) > 2 and not [r for r in streams if r.over_limit]


def test_an_estimate_says_the_plan_and_cost_and_the_run_follows_it(start_api, upstream):
    upstream.app.context_limit, upstream.app.context_mode = CONTEXT, "reject"
    upstream.app.responder = answer
    api = start_api()
    body = {"contract": long_contract(300_000).text, "provider": "ollama", "model": "llama3.2"}
    response = httpx.post(f"{api.url}/api/estimate", json=body, timeout=120)
    assert response.status_code == 200, response.text
    estimate = response.json()
    assert estimate["plan"] == "sections" and estimate["strategy"] == "focus"
    assert estimate["model_calls"] > 2 and estimate["cost_usd_at_most"] == 0.0
    # At most: in the worst case its findings are too long to merge at once, so it merges them
    # in rounds first.
    assert estimate["merge_round_calls"] > 0
    assert estimate["sentence"].startswith(
        f"Ollama · llama3.2: focused review, up to {estimate['model_calls']} calls, "
    )
    assert estimate["sentence"].endswith(
        "local, no cost, time: no earlier runs of this model to go by"
    )
    assert estimate["seconds_estimate"] is None and estimate["seconds_from_runs"] == 0
    assert not upstream.streams(), "an estimate runs nothing"
    # The run's `start` event carries the same estimate, and the run makes those calls.
    with httpx.stream("POST", f"{api.url}/api/report", json=body, timeout=120) as streamed:
        stream = read_events(streamed, Stream())
    start, done = stream.events[0].data, stream.events[-1].data
    assert start["estimate"] == estimate
    # One figure for what it sends: the estimate's, its merge included (the start event said the
    # steps' alone beside it).
    assert start["estimated_input_tokens"] == estimate["input_tokens"]
    planned = estimate["model_calls"] - estimate["merge_round_calls"]
    assert done["status"] == "done" and done["parts"] == planned - 1
    # Its answers are short: the findings merge at once, in fewer calls than the worst case.
    assert len(upstream.streams()) == planned


def test_an_estimate_of_a_playbook_check_says_its_pass_and_whether_it_fits(start_api, upstream):
    """A body with a playbook was refused ("an estimate is of a review"), though the check is a
    model call with tokens, a cost and a context it may not fit, as the Playbook page says."""
    upstream.app.context_limit = 8_192
    api = start_api()
    short = {"contract": "1. Parties.", "playbook": "nda", "provider": "ollama",
             "model": "llama3.2", "max_tokens": 256}  # fmt: skip
    estimate = httpx.post(f"{api.url}/api/estimate", json=short, timeout=60).json()
    assert estimate["plan"] == "one_pass" and estimate["model_calls"] == 1
    assert estimate["output_tokens_at_most"] == 256 and estimate["cost_usd_at_most"] == 0.0
    assert estimate["sentence"].startswith("Ollama · llama3.2: one pass, 1 call, ~")
    long = {**short, "contract": long_contract(60_000).text}
    estimate = httpx.post(f"{api.url}/api/estimate", json=long, timeout=60).json()
    assert (
        estimate["plan"] == "too_long"
        and "does not fit the model's context" in (estimate["sentence"])
    )
    # The check it estimates is the one the report would refuse, in the same words.
    response = httpx.post(f"{api.url}/api/report", json=long, timeout=60)
    assert response.status_code == 400
    assert response.json() == {"error": estimate["sentence"], "kind": "context_too_long"}
    # The built-in checker's estimate (a 400 before): no call, no cost, instant, as the Playbook
    # page says it.
    builtin = httpx.post(f"{api.url}/api/estimate", json={"contract": "1.", "playbook": "nda"})
    assert builtin.status_code == 200
    said = builtin.json()
    assert (said["plan"], said["model_calls"], said["cost_usd_at_most"]) == ("one_pass", 0, 0.0)
    assert (said["input_tokens"], said["seconds_estimate"], said["billed"]) == (0, 0.0, False)
    assert said["sentence"] == (
        "Built-in playbook checker (no model): reads the contract itself, no model call, no cost,"
        " instant"
    )
    assert not upstream.streams()


def test_a_contract_its_model_cannot_hold_is_a_400_saying_so_and_records_nothing(
    start_api, upstream, tmp_path
):
    """Its estimate knew the run would not fit, yet a run was recorded and streamed `start`, then
    `done` with status "error" and no `error` event."""
    from lib.store.run_log import RunLog

    upstream.app.context_limit = 1024
    api = start_api()
    body = {"contract": long_contract(300_000).text, "provider": "ollama", "model": "llama3.2"}
    estimate = httpx.post(f"{api.url}/api/estimate", json=body, timeout=120).json()
    assert estimate["plan"] == "too_long"
    response = httpx.post(f"{api.url}/api/report", json=body, timeout=120)
    assert response.status_code == 400
    assert response.json() == {"error": estimate["sentence"], "kind": "context_too_long"}
    assert RunLog(tmp_path / "history.sqlite3").count() == 0
    assert not upstream.streams()
