"""The API as `make api` runs it, in its own process, against the fake model server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from devtools.api_server import ApiServer
from devtools.fake_upstream import FakeUpstream

StartApi = Callable[..., ApiServer]


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as fake:
        yield fake


@pytest.fixture
def start_api(tmp_path, upstream) -> Iterator[StartApi]:
    """Start the API with extra environment; the model server is the fake Ollama."""
    servers: list[ApiServer] = []

    def start(**env: str) -> ApiServer:
        environment = {
            "OLLAMA_HOST": upstream.url,
            "CRS_HISTORY_DB": str(tmp_path / "history.sqlite3"),
            **env,
        }
        server = ApiServer(environment, tmp_path / f"api-{len(servers)}.log").__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


@dataclass
class Event:
    id: str | None
    data: dict[str, Any]


@dataclass
class Stream:
    """What one SSE response carried: its events and its comment lines, in order."""

    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(e.data["text"] for e in self.events if e.data["type"] == "token")

    def types(self) -> list[str]:
        return [e.data["type"] for e in self.events]


def read_events(
    response: httpx.Response | Iterator[str],
    stream: Stream,
    stop: Callable[[Stream], bool] | None = None,
) -> Stream:
    """Parse SSE lines as the spec says (blank line ends an event) until the end or `stop`.

    Pass `response.iter_lines()` rather than the response to read on after a `stop`."""
    event_id: str | None = None
    data: list[str] = []
    lines = response.iter_lines() if isinstance(response, httpx.Response) else response
    for line in lines:
        if line.startswith(":"):
            stream.comments.append(line)
            stream.order.append("comment")
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:])
        elif line == "" and data:
            assert len(data) == 1, f"an event spread over {len(data)} data lines"
            stream.events.append(Event(event_id, json.loads(data[0])))
            stream.order.append(stream.events[-1].data["type"])
            event_id, data = None, []
            if stop is not None and stop(stream):
                break
    return stream
