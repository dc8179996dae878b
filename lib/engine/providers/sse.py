"""Server-sent events read from an httpx response: the wire of the OpenAI-compatible servers and
of Claude.

Why our own reader: a model server sends each token as its own event, usually in its own HTTP
chunk, and the worker reading a fast stream is the slowest part of getting an unthrottled
answer on screen (docs/PROFILES.md, 2026-12-06). httpx-sse decoded every chunk through four
layers of generators (bytes, text, lines, fields), about 2.5 µs a token. Here an event that
arrives whole in one chunk — nearly all of them — is split out of the bytes at once; anything
else (events split across chunks or sharing one, CR or CRLF line ends, comments, several `data`
lines) goes through the general path, which follows the HTML standard's event-stream rules:
lines end at CRLF, LF or CR; a line starting with ":" is a comment; the value after "field:"
loses one leading space; a blank line dispatches the event; an event without data is not
dispatched, nor is one the stream ends before its blank line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

import httpx

_LINE_END = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class ServerSentEvent(NamedTuple):
    """One dispatched event: its type ("" when the server named none) and its data."""

    event: str
    data: str


class NotEventStream(Exception):
    """The response is not an event stream (its Content-Type says otherwise)."""

    def __init__(self, content_type: str) -> None:
        super().__init__(content_type)
        self.content_type = content_type


def iter_sse(response: httpx.Response) -> Iterator[ServerSentEvent]:
    """The events of `response`'s body, as they arrive; `NotEventStream` before reading a byte
    of a response whose Content-Type is not `text/event-stream`."""
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" not in content_type.partition(";")[0]:
        raise NotEventStream(content_type or "none")
    return decode_sse(response.iter_bytes())


def decode_sse(chunks: Iterable[bytes]) -> Iterator[ServerSentEvent]:
    """The events in a body arriving as `chunks`, cut anywhere."""
    fields = _Fields()
    pending = b""  # the start of a line not yet ended, or a CR a LF may still follow
    head: bytes | None = b""  # the stream's first bytes, until a byte-order mark is ruled out
    for chunk in chunks:
        if head is not None:
            head += chunk
            if len(head) < len(_BOM) and _BOM.startswith(head):
                continue
            chunk, head = head.removeprefix(_BOM), None
        # The common case, a whole `data:` event alone in its chunk, without splitting lines.
        if (
            not pending
            and fields.empty
            and chunk.startswith(b"data:")
            and chunk.endswith(b"\n\n")
            and chunk.count(b"\n") == 2
            and b"\r" not in chunk
        ):
            value = chunk[6:-2] if chunk[5:6] == b" " else chunk[5:-2]
            yield ServerSentEvent("", value.decode("utf-8", "replace"))
            continue
        buffer = pending + chunk
        # A CR at the end may be the first half of a CRLF: the line ends with the next chunk.
        held = b"\r" if buffer.endswith(b"\r") else b""
        lines = _LINE_END.split(buffer[: len(buffer) - len(held)])
        pending = lines.pop() + held
        for line in lines:
            if (sse := fields.line(line)) is not None:
                yield sse
    if pending.endswith(b"\r") and (sse := fields.line(pending[:-1])) is not None:
        yield sse


class _Fields:
    """The event being read, line by line."""

    def __init__(self) -> None:
        self.event = ""
        self.data: list[str] = []

    @property
    def empty(self) -> bool:
        return not self.event and not self.data

    def line(self, raw: bytes) -> ServerSentEvent | None:
        """Read one line (without its end); the event, when the line is blank and it has data."""
        if not raw:
            sse = ServerSentEvent(self.event, "\n".join(self.data)) if self.data else None
            self.event, self.data = "", []
            return sse
        line = raw.decode("utf-8", "replace")
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event = value
        return None
