"""What the API says when it reads a provider's model list (a request without `model`): a failure
by its own kind, and no model id that carries a configured key."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."
KEY = "sk-model-list-key-0123456789"


class _Models(BaseHTTPRequestHandler):
    """An OpenAI-compatible server whose `/v1/models` answers `status` with `ids`."""

    status: ClassVar[int] = 200
    ids: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        cls = type(self)
        if cls.status == 200:
            payload = {"object": "list", "data": [{"id": i, "object": "model"} for i in cls.ids]}
        else:
            payload = {"error": {"message": f"status {cls.status}"}}
        body = json.dumps(payload).encode()
        self.send_response(cls.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def models_server() -> Iterator[str]:
    """The server's base URL; set `_Models.status` and `_Models.ids` for what it answers."""
    _Models.status, _Models.ids = 200, ["llama3.2"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.mark.parametrize(
    ("status", "code", "kind"), [(401, 502, "auth_failed"), (500, 502, "bad_response")]
)
def test_a_provider_that_refuses_the_model_list_is_answered_by_its_failure(
    start_api, models_server, status, code, kind
):
    """A refused key (or a server error) was a 503 `cannot_connect`: a client retried an auth
    failure for ever."""
    _Models.status = status
    api = start_api(OPENAI_BASE_URL=models_server, OPENAI_API_KEY=KEY)
    body = {"contract": CONTRACT, "provider": "openai"}
    response = httpx.post(f"{api.url}/api/report", json=body, timeout=60)
    assert response.status_code == code, response.text
    assert response.json()["kind"] == kind
    estimate = httpx.post(f"{api.url}/api/estimate", json=body, timeout=60)
    assert (estimate.status_code, estimate.json()["kind"]) == (code, kind)


def test_a_model_id_holding_the_key_is_left_out_of_the_list(start_api, models_server):
    """A server echoing the key as a model id made it the default model: the key then appeared
    in the `start` event, `GET /api/runs` and the run log."""
    _Models.ids = [f"m-Bearer {KEY}", f"m-{KEY.upper()}", "llama3.2"]
    api = start_api(OPENAI_BASE_URL=models_server, OPENAI_API_KEY=KEY)
    rows = {row["provider"]: row for row in httpx.get(f"{api.url}/api/models", timeout=60).json()}
    assert rows["openai"]["models"] == ["llama3.2"]
    body = {"contract": CONTRACT, "provider": "openai"}
    estimate = httpx.post(f"{api.url}/api/estimate", json=body, timeout=60)
    assert estimate.status_code == 200, estimate.text
    assert estimate.json()["reviewer"].endswith("· llama3.2")
    assert KEY.lower() not in estimate.text.lower()
