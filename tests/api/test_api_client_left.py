"""A client that leaves while its run is being prepared (a long contract read and planned) has
nothing sent to the model and nothing recorded, for a review and a playbook check alike.

Driven over ASGI directly: the client's connection is the messages the app receives, so it can
be gone (`http.disconnect`) the moment its body is in, whatever the app is doing."""

from __future__ import annotations

import asyncio
import json

import pytest

from lib.api.app import CLIENT_LEFT, create_app
from lib.api.config import ApiConfig
from lib.engine.settings import load_settings
from lib.store.run_log import RunLog
from tests.playbook_fixtures import CONTRACT, MINI_PLAYBOOK

MODEL = {"provider": "ollama", "model": "llama3.2"}


async def post_and_leave(app, body: dict) -> list[dict]:
    """POST `body` to /api/report, then go away at once; what the app sent back."""
    data = json.dumps(body).encode()
    incoming = [{"type": "http.request", "body": data, "more_body": False}]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/report", "raw_path": b"/api/report",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
        "headers": [
            (b"host", b"localhost"), (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode()),
        ],
    }  # fmt: skip
    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    "body",
    [
        {"contract": CONTRACT, **MODEL},
        {"contract": CONTRACT, "playbook_toml": MINI_PLAYBOOK, **MODEL},
    ],
    ids=["review", "playbook check"],
)
def test_a_client_gone_before_its_run_starts_has_nothing_sent_or_recorded(
    fake_upstream, tmp_path, body
):
    """Its contract went to the model, which was cancelled after its first token, and the run
    was recorded as cancelled: a 2M-character contract for a small context was planned for
    seconds after its client had left."""
    log_path = tmp_path / "log.sqlite3"
    settings = load_settings({"OLLAMA_HOST": fake_upstream.url, "CRS_HISTORY_DB": str(log_path)})
    app = create_app(settings, ApiConfig(host="127.0.0.1"))
    sent = asyncio.run(post_and_leave(app, body))
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 499
    answer = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert answer == {"error": CLIENT_LEFT, "kind": "client_left"}
    assert fake_upstream.streams() == []
    assert RunLog(str(log_path)).query() == []
