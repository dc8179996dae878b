"""A loopback TCP listener that hands each connection to a test's own code.

For the servers the fake upstream cannot play because they break HTTP itself (a hang-up before
the TLS handshake, headers sent a byte a second, an answer without end): the test writes what
goes on the wire, this owns the socket, the accept loop and the shutdown.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class RawServer:
    """Calls `handle(conn)` on a thread of its own for every connection to `url`, until the
    `with` block ends; `handle` owns the connection and closes it."""

    def __init__(self, handle: Callable[[socket.socket], None], scheme: str = "http") -> None:
        self._handle = handle
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"{scheme}://127.0.0.1:{self._sock.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close does not
        self._sock.close()
        self._thread.join(5)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
