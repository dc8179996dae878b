"""Start the streaming API (`python -m lib.api`) as its own process on a free loopback port.

Its own process, as `make api` runs it, so tests speak real HTTP to it and benchmarks can read its
CPU time and memory from /proc without counting the client's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ApiServer:
    """`with ApiServer(env) as api:` → `api.url`, `api.pid`; stopped (SIGTERM) on exit."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "CRS_BUILTIN": "off",
            "PYTHONPATH": str(ROOT),
            **env,
            "API_HOST": env.get("API_HOST", "127.0.0.1"),
            "API_PORT": str(self.port),
        }
        for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "CRS_API_TOKEN", "CRS_USER_HEADER"):
            if name not in env:
                self.env.pop(name, None)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> ApiServer:
        # The child writes to its own copy of the file's descriptor: ours is closed at once.
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lib.api"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"the API did not start: {self.log_path.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
