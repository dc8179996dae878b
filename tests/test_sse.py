"""The server-sent-events reader: the event-stream rules, and the same events however the body
is cut into chunks (a model server's chunks can split a line, or a CRLF, anywhere)."""

from __future__ import annotations

import itertools

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.engine.providers.sse import NotEventStream, ServerSentEvent, decode_sse, iter_sse

BODY = (
    b"\xef\xbb\xbfdata: first\n\n"
    b": a comment, then a keep-alive\n\n"
    b'event: content_block_delta\ndata: {"a": 1}\n\n'
    b"data: two\ndata:lines\n\n"
    b"data: crlf\r\n\r\n"
    b"data: cr\r\r"
    b"id: 7\nretry: 10\ndata:  kept space\n\n"
    b"event: no data\n\n"
    b"data: caf\xc3\xa9 \xff\n\n"
    b"data: never ended\n"
)
EVENTS = [
    ServerSentEvent("", "first"),
    ServerSentEvent("content_block_delta", '{"a": 1}'),
    ServerSentEvent("", "two\nlines"),
    ServerSentEvent("", "crlf"),
    ServerSentEvent("", "cr"),
    ServerSentEvent("", " kept space"),
    ServerSentEvent("", "café \ufffd"),
]


def test_the_event_stream_rules():
    assert list(decode_sse([BODY])) == EVENTS


def test_one_event_per_chunk_takes_the_same_path_as_any_other():
    chunks = [b'data: {"x": 1}\n\n', b"data:2\n\n", b"data: 3\n\n"]
    assert [e.data for e in decode_sse(chunks)] == ['{"x": 1}', "2", "3"]


def test_a_blank_line_ended_by_the_last_cr_dispatches():
    assert list(decode_sse([b"data: end\n\r"])) == [ServerSentEvent("", "end")]


@given(st.lists(st.integers(min_value=1, max_value=len(BODY) - 1), max_size=12))
def test_the_events_do_not_depend_on_where_the_chunks_are_cut(cuts):
    bounds = [0, *sorted(set(cuts)), len(BODY)]
    chunks = [BODY[a:b] for a, b in itertools.pairwise(bounds)]
    assert list(decode_sse(chunks)) == EVENTS


@pytest.mark.parametrize("content_type", ["application/json", ""])
def test_a_response_that_is_not_an_event_stream_is_refused_before_reading(content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = httpx.Response(200, headers=headers, content=b"data: x\n\n")
    with pytest.raises(NotEventStream) as caught:
        iter_sse(response)
    assert caught.value.content_type == (content_type or "none")


def test_an_event_stream_with_parameters_is_read():
    response = httpx.Response(
        200, headers={"content-type": "text/event-stream; charset=utf-8"}, content=b"data: x\n\n"
    )
    assert list(iter_sse(response)) == [ServerSentEvent("", "x")]
