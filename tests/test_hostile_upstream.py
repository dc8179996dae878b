"""A model server that attacks the client, over real loopback HTTP: every stream read and every
metadata reply is capped in size, and Stop and the run's caps end a request at any stage.

Each hostile server here sends a bounded amount (a few MB at most) and then holds the connection
open until the client leaves, so a failing test ends on the client's read timeout instead of
eating the machine's memory.
"""

from __future__ import annotations

import gzip
import select
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace

import pytest

import lib.engine.builtin_server as builtin_server
from devtools.raw_server import RawServer
from lib.engine.builtin_server import MODEL_ALIAS, BuiltinServer, is_ready
from lib.engine.errors import ErrorKind, ProviderError
from lib.engine.limits import RunLimits
from lib.engine.provider_config import BUILTIN_CONTEXT_LENGTH, Provider, ProviderConfig
from lib.engine.providers import builtin
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import list_models, stream_model

KEY = "sk-test-0123456789abcdef"
CONTRACT = "This Master Services Agreement is made between Acme Ltd and Beta GmbH. " * 5
HOLD_SECONDS = 30.0
# What a hostile server sends at most: past the cap on one event (3.2 MB), within a few MB.
FLOOD_BYTES = 6 * 2**20
# More than both ends' socket buffers can hold (Linux grows a receive buffer up to tcp_rmem's
# maximum, 32 MB by default): a sender of this much fails only if the client hung up early, where
# a few MB could sit whole in the buffers of a client that never read them.
PAST_SOCKET_BUFFERS = 96 * 2**20

Answer = Callable[[socket.socket, str], None]


class HostileServer(RawServer):
    """A raw HTTP/1.1 server: each request gets `answer(conn, path)`, then the connection is
    held until the client leaves; `left` is set when a client hung up on an answer."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(self._answer_one)
        self._answer = answer
        self.left = threading.Event()
        self.heads: list[bytes] = []  # each request's line and headers, lower case

    def __enter__(self) -> HostileServer:
        super().__enter__()
        return self

    def _answer_one(self, conn: socket.socket) -> None:
        with conn:
            try:
                head = _read_request(conn)
                self.heads.append(head.lower())
                self._answer(conn, head.split(b" ")[1].decode())
                client_left(conn, HOLD_SECONDS)
            except OSError:
                pass
            self.left.set()


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536) or b"\r\n\r\n"
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")[1:]
            if b"content-length" in line
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536) or b" " * length
    return head


def client_left(conn: socket.socket, seconds: float) -> bool:
    """Wait up to `seconds` for the client to hang up; True when it did."""
    ready, _, _ = select.select([conn], [], [], seconds)
    if not ready:
        return False
    try:
        return conn.recv(65536) == b""
    except OSError:
        return True


def head(content_type: str) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n".encode()


def flood(conn: socket.socket, start: bytes, total: int = FLOOD_BYTES) -> None:
    """`start`, then "A" without a line end, `total` bytes in all."""
    conn.sendall(start)
    sent, chunk = len(start), b"A" * 65536
    while sent < total:
        conn.sendall(chunk)
        sent += len(chunk)


def _event(provider: Provider, text: str, end: str = "") -> bytes:
    """The provider's text event carrying `text` ("" for `end` leaves it open)."""
    if provider is Provider.OLLAMA:
        return ('{"message":{"role":"assistant","content":"' + text + end).encode()
    if provider is Provider.OPENAI:
        return ('data: {"choices":[{"index":0,"delta":{"content":"' + text + end).encode()
    return (
        "event: content_block_delta\ndata: "
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"' + text + end
    ).encode()


def _closed_event(provider: Provider, text: str) -> bytes:
    return _event(provider, text, '"}}\n' if provider is Provider.OLLAMA else '"}}]}\n\n')


def _anthropic_closed(text: str) -> bytes:
    return _event(Provider.ANTHROPIC, text, '"}}\n\n')


def stream_answer(provider: Provider, body: Callable[[socket.socket], None]) -> Answer:
    """Answers `/api/show` (Ollama asks it first) with nothing, and the chat with `body`."""

    def answer(conn: socket.socket, path: str) -> None:
        if path.endswith("/api/show"):
            conn.sendall(head("application/json") + b"{}")
            conn.shutdown(socket.SHUT_WR)
            return
        ctype = "application/x-ndjson" if provider is Provider.OLLAMA else "text/event-stream"
        conn.sendall(head(ctype))
        body(conn)

    return answer


def config(server: HostileServer, provider: Provider, read_timeout: float = 3.0) -> ProviderConfig:
    base = f"{server.url}/v1" if provider is Provider.OPENAI else server.url
    model = "claude-sonnet-5-5" if provider is Provider.ANTHROPIC else "llama3.2"
    return ProviderConfig(provider, model, base, api_key=KEY, read_timeout=read_timeout)


def first_event(provider: Provider, text: str) -> bytes:
    if provider is Provider.ANTHROPIC:
        return _anthropic_closed(text)
    return _closed_event(provider, text)


PROVIDERS = [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_event_that_never_ends_fails_the_run_and_keeps_the_report(provider):
    """A line without its end grew the process by gigabytes: neither the output cap nor the
    read timeout sees bytes that never complete an event."""

    def body(conn: socket.socket) -> None:
        flood(conn, first_event(provider, "Partial") + _event(provider, ""))

    with HostileServer(stream_answer(provider, body)) as server:
        stream = stream_model(config(server, provider), "sys", CONTRACT)
        with pytest.raises(ProviderError) as info:
            list(stream)
        assert info.value.kind is ErrorKind.BAD_RESPONSE
        assert "without ending an event" in info.value.message
        assert stream.stats.text == "Partial" and stream.stats.status is RunStatus.ERROR
        assert server.left.wait(5)


@pytest.mark.parametrize("provider", [Provider.OPENAI, Provider.ANTHROPIC])
def test_an_sse_event_of_endless_lines_fails_the_run(provider):
    """Lines that end but never make an event (no blank line) are held too."""

    def body(conn: socket.socket) -> None:
        conn.sendall(first_event(provider, "Partial"))
        sent, chunk = 0, b"data: " + b"A" * 65530 + b"\r\n"
        while sent < FLOOD_BYTES:
            conn.sendall(chunk)
            sent += len(chunk)

    with HostileServer(stream_answer(provider, body)) as server:
        stream = stream_model(config(server, provider), "sys", CONTRACT)
        with pytest.raises(ProviderError) as info:
            list(stream)
        assert info.value.kind is ErrorKind.BAD_RESPONSE
        assert stream.stats.text == "Partial"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_whole_report_in_one_event_still_streams_to_the_output_cap(provider):
    """The largest legitimate event, the whole output cap's worth of characters each spelled as
    a 12-byte JSON surrogate pair, is read and cut at the output cap as before."""
    chars = RunLimits().max_output_chars + 1000

    def body(conn: socket.socket) -> None:
        conn.sendall(first_event(provider, "\\ud83c\\udf0d" * chars))

    with HostileServer(stream_answer(provider, body)) as server:
        stream = stream_model(config(server, provider), "sys", CONTRACT)
        with pytest.raises(ProviderError) as info:
            list(stream)
        assert info.value.kind is ErrorKind.OUTPUT_LIMIT
        assert stream.stats.text == "🌍" * RunLimits().max_output_chars


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_endless_model_list_is_refused(provider):
    """Model lists, `/api/show` and context lookups were read whole, however long."""

    def answer(conn: socket.socket, path: str) -> None:
        flood(conn, head("application/json") + b'{"data": [' + b" " * 100, 12 * 2**20)

    with HostileServer(answer) as server:
        with pytest.raises(ProviderError) as info:
            list_models(config(server, provider))
        assert info.value.kind is ErrorKind.BAD_RESPONSE
        assert "MB where a short reply was expected" in info.value.message


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI])
def test_a_model_list_that_stalls_midway_says_it_stopped_sending(provider):
    """A list read that timed out after megabytes of its body said the server "sent nothing"
    and that the model "may still be loading"."""

    def answer(conn: socket.socket, path: str) -> None:
        flood(conn, head("application/json") + b'{"data": [' + b" " * 100, 2**20)

    with HostileServer(answer) as server:
        with pytest.raises(ProviderError) as info:
            list_models(config(server, provider, read_timeout=1.0))
        assert info.value.kind is ErrorKind.TIMED_OUT
        message = info.value.message
        assert "stopped sending for 1 s in the middle of its answer" in message, message
        assert "sent nothing" not in message and "loading" not in message


class Trickle:
    """Headers one byte every 0.1 s (100 at most, then held): per-read timeouts never trip, and
    no response exists for Stop to reach until the headers are complete. `lookup`: trickle the
    lookup of the model's window (Ollama's `/api/show`, asked before the chat too, or an
    OpenAI-compatible server's `/models`) instead of the answer. `hung_up` is set when the client
    left while the headers were still coming."""

    def __init__(self, provider: Provider, lookup: bool = False) -> None:
        self.provider = provider
        self.lookup = lookup
        self.answering = threading.Event()
        self.hung_up = threading.Event()

    def __call__(self, conn: socket.socket, path: str) -> None:
        if path.endswith(("/api/show", "/models")) is not self.lookup:
            stream_answer(self.provider, lambda conn: None)(conn, path)
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self.answering.set()
        for _ in range(100):
            conn.sendall(b"a")
            if client_left(conn, 0.1):
                self.hung_up.set()
                return


# Each provider's answer trickled, and Ollama's `/api/show`, which it asks before the chat.
STAGES = [pytest.param(p, False, id=p.value) for p in PROVIDERS] + [
    pytest.param(Provider.OLLAMA, True, id="ollama-api-show")
]


@pytest.mark.parametrize(("provider", "lookup"), STAGES)
def test_stop_ends_a_request_whose_headers_trickle(provider, lookup):
    """Stop reached only a response already made, and never the lookup before the chat: the run
    held its place for ever."""
    trickle = Trickle(provider, lookup)
    with HostileServer(trickle) as server:
        stream = stream_model(config(server, provider), "sys", CONTRACT)
        reader = threading.Thread(target=lambda: list(stream), daemon=True)
        reader.start()
        assert trickle.answering.wait(10)
        stream.close()
        assert trickle.hung_up.wait(2)
        reader.join(5)
        assert not reader.is_alive() and stream.stats.status is RunStatus.CANCELLED


@pytest.mark.parametrize(("provider", "lookup"), STAGES)
def test_the_wall_time_cap_ends_a_request_whose_headers_trickle(provider, lookup):
    trickle = Trickle(provider, lookup)
    with HostileServer(trickle) as server:
        limits = RunLimits(max_run_seconds=1.0)
        stream = stream_model(config(server, provider), "sys", CONTRACT, limits=limits)
        with pytest.raises(ProviderError) as info:
            list(stream)
        assert info.value.kind is ErrorKind.TIMED_OUT
        assert "CRS_MAX_RUN_SECONDS" in info.value.message
        assert trickle.hung_up.wait(2)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_endless_error_body_is_read_only_to_its_cap(provider):
    """The Claude SDK read a refusal's whole body before raising its error: a 400 announcing
    20 MB grew the process by all of it. Only the first 64 KB are read now; the client hangs up
    on the rest (`cut`: the server could not send it all)."""
    cut = threading.Event()

    def answer(conn: socket.socket, path: str) -> None:
        conn.sendall(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (20 * 2**20)
        )
        try:
            flood(conn, b'{"type": "error", "error": {"message": "', PAST_SOCKET_BUFFERS)
        except OSError:
            cut.set()
            raise

    with HostileServer(answer) as server:
        stream = stream_model(config(server, provider), "sys", CONTRACT)
        with pytest.raises(ProviderError) as info:
            list(stream)
        assert info.value.status_code == 400 and "HTTP 400" in info.value.message
        assert stream.stats.status is RunStatus.ERROR
        assert cut.wait(5)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_compressed_answer_is_refused_unread(provider):
    """The caps count bytes after decompression, and a 4 KB gzip read grew to 4 MB before any
    cap saw it: every request asks for an uncompressed answer, and a compressed one is refused."""
    bomb = gzip.compress(b"A" * 4 * 2**20)

    def answer(conn: socket.socket, path: str) -> None:
        if path.endswith("/api/show"):
            stream_answer(provider, lambda conn: None)(conn, path)
            return
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(bomb) + bomb
        )

    with HostileServer(answer) as server:
        stream = stream_model(config(server, provider), "sys", CONTRACT)
        with pytest.raises(ProviderError) as info:
            list(stream)
        assert info.value.kind is ErrorKind.BAD_RESPONSE
        assert "sent a compressed answer (gzip) though asked for none" in info.value.message
        assert server.heads and all(b"\r\naccept-encoding: identity" in h for h in server.heads)


def test_the_built_in_servers_readiness_reply_is_read_only_to_its_cap():
    """Whatever answers on the built-in server's port was read whole while the app waited for
    it to start."""
    cut = threading.Event()

    def answer(conn: socket.socket, path: str) -> None:
        try:
            flood(
                conn,
                head("application/json") + b'{"data": [{"id": "x"}], "x": "',
                PAST_SOCKET_BUFFERS,
            )
        except OSError:
            cut.set()
            raise

    with HostileServer(answer) as server:
        assert not is_ready(f"{server.url}/v1", KEY)
        assert cut.wait(5)


def test_stop_ends_a_run_waiting_for_the_built_in_server_to_start(monkeypatch):
    """The built-in server takes seconds to start, and a run stopped meanwhile waited for the
    whole start. It ends at once now, while the server, which the process's next runs share,
    goes on starting. Here the child is a stand-in that never loads a model, and its port is
    answered by a server that is not ready."""
    probed = threading.Event()

    def not_ready(conn: socket.socket, path: str) -> None:
        probed.set()
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")

    with HostileServer(not_ready) as upstream:
        port = int(upstream.url.rsplit(":", 1)[1])
        monkeypatch.setattr(builtin_server, "_free_port", lambda: port)
        server = BuiltinServer(BUILTIN_CONTEXT_LENGTH)
        # Ends when its stdin, held by the app, closes, as the real child's watchdog does.
        child = [sys.executable, "-c", "import sys; sys.stdin.buffer.read()"]
        monkeypatch.setattr(
            server,
            "_spawn",
            lambda _port: subprocess.Popen(child, stdin=subprocess.PIPE, stderr=subprocess.PIPE),
        )
        monkeypatch.setattr(builtin, "shared_server", lambda _context: server)
        try:
            stream = stream_model(ProviderConfig(Provider.BUILTIN, MODEL_ALIAS), "sys", CONTRACT)
            reader = threading.Thread(target=lambda: list(stream), daemon=True)
            reader.start()
            assert probed.wait(10)
            stream.close()
            reader.join(HOLD_SECONDS)
            assert not reader.is_alive() and stream.stats.status is RunStatus.CANCELLED
            assert server.info().running  # still starting, for the next run
        finally:
            server.stop()


def trickle_forever(at_headers: bool) -> Answer:
    """An answer sent a byte every 0.3 s, each read well within its timeout, for a minute: in the
    headers (`at_headers`) or, the headers whole, in a JSON body that never closes."""

    def answer(conn: socket.socket, path: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: " if at_headers else head("application/json"))
        for _ in range(200):
            conn.sendall(b"a" if at_headers else b" ")
            if client_left(conn, 0.3):
                return

    return answer


@pytest.mark.parametrize("at_headers", [True, False], ids=["headers", "body"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_model_list_trickled_for_ever_ends_within_its_deadline(provider, at_headers):
    """A reply read whole (the model picker's list, a run's context lookup) trickled a byte at a
    time kept every read within its timeout and held the page drawing the picker for as long as
    the server went on. It must come whole within the server's timeouts (here 1 s + 1 s)."""
    with HostileServer(trickle_forever(at_headers)) as server:
        cfg = replace(config(server, provider, read_timeout=1.0), connect_timeout=1.0)
        outcome: list[BaseException] = []

        def listing() -> None:
            try:
                list_models(cfg)
            except BaseException as exc:
                outcome.append(exc)

        reader = threading.Thread(target=listing, daemon=True)
        reader.start()
        reader.join(HOLD_SECONDS)  # the trickle goes on for a minute; the deadline is 2 s
        assert not reader.is_alive()
        assert server.left.wait(5)
    [error] = outcome
    assert isinstance(error, ProviderError) and error.kind is ErrorKind.TIMED_OUT
    assert "did not send its whole answer within 2 s" in error.message


def test_the_built_in_servers_readiness_check_trickled_for_ever_ends():
    with HostileServer(trickle_forever(at_headers=False)) as server:
        done = threading.Event()
        threading.Thread(
            target=lambda: (is_ready(f"{server.url}/v1", KEY), done.set()), daemon=True
        ).start()
        assert done.wait(HOLD_SECONDS)
