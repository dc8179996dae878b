"""stream_model over real loopback HTTP against the fake upstream, for every wire format."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time

import pytest
import trustme
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.fake_upstream import FakeUpstream, Script
from devtools.fake_upstream.recordings import RECORDED_STREAMS, RECORDINGS
from devtools.raw_server import RawServer
from lib.engine.errors import ErrorKind, ProviderError
from lib.engine.fold import LENGTH_NOTE
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import list_models, stream_model

KEY = "sk-test-SECRET-0123456789abcdefXYZ"
CONTRACT = "This Master Services Agreement is made between Acme Ltd and Société Générale. " * 20


def config(upstream: FakeUpstream, provider: Provider, **kw: object) -> ProviderConfig:
    base = {Provider.OPENAI: f"{upstream.url}/v1"}.get(provider, upstream.url)
    model = "claude-sonnet-5-5" if provider is Provider.ANTHROPIC else "llama3.2"
    return ProviderConfig(
        provider=provider, model=model, base_url=base, api_key=KEY, read_timeout=5.0, **kw
    )


def run(cfg: ProviderConfig) -> tuple[list[str], object]:
    stream = stream_model(cfg, "You review contracts.", CONTRACT, max_tokens=256)
    tokens = list(stream)
    return tokens, stream.stats


@pytest.mark.parametrize(("fixture", "provider"), RECORDED_STREAMS)
def test_recorded_stream_gives_expected_text_and_usage(fake_upstream, fixture, provider):
    expected = json.loads((RECORDINGS / fixture).with_suffix(".expected.json").read_text())
    fake_upstream.push(Script(fixture=fixture))
    tokens, stats = run(config(fake_upstream, provider))
    assert "".join(tokens) == expected["text"]
    assert stats.status is RunStatus.DONE
    assert stats.finish_reason == expected["finish_reason"]
    assert stats.thinking == expected.get("thinking", "")
    if expected["output_tokens"] is None:
        assert not stats.output_reported
        assert stats.output_token_count > 0  # estimated from the text
    else:
        assert (stats.input_tokens, stats.output_tokens) == (
            expected["input_tokens"],
            expected["output_tokens"],
        )
        assert stats.tokens_reported


@pytest.fixture(scope="module")
def shared_upstream():
    with FakeUpstream() as upstream:
        yield upstream


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    case=st.sampled_from(RECORDED_STREAMS),
    split=st.integers(min_value=1, max_value=40),
    seed=st.integers(0, 10_000),
)
def test_any_byte_split_gives_the_same_tokens(shared_upstream, case, split, seed):
    fixture, provider = case
    expected = json.loads((RECORDINGS / fixture).with_suffix(".expected.json").read_text())
    # Alternate fixed-size and random splits: both cut inside UTF-8 characters and CRLF pairs.
    shared_upstream.push(Script(fixture=fixture, split=split if seed % 2 else "random", seed=seed))
    tokens, stats = run(config(shared_upstream, provider))
    assert "".join(tokens) == expected["text"]
    assert stats.thinking == expected.get("thinking", "")
    assert stats.status is RunStatus.DONE


@pytest.mark.parametrize("dialect", ["llamacpp", "ollama_v1", "llama_cpp_python"])
def test_synthesised_openai_dialects(fake_upstream, dialect):
    words = [f" w{i}é" for i in range(60)]
    fake_upstream.push(Script(tokens=words, dialect=dialect, split=3))
    tokens, stats = run(config(fake_upstream, Provider.OPENAI))
    assert "".join(tokens) == "".join(words)
    body = fake_upstream.streams()[-1].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    if dialect == "llama_cpp_python":  # no usage in the stream: estimated and flagged
        assert not stats.output_reported and stats.output_tokens is None
    else:
        assert stats.output_tokens == 60 and stats.output_reported


@pytest.mark.parametrize(
    ("provider", "dialect", "reason"),
    [
        (Provider.OLLAMA, "llamacpp", "length"),
        (Provider.OPENAI, "llamacpp", "length"),
        (Provider.OPENAI, "ollama_v1", "length"),
        (Provider.OPENAI, "llama_cpp_python", "length"),
        (Provider.ANTHROPIC, "llamacpp", "max_tokens"),
    ],
)
def test_an_answer_cut_at_its_length_is_done_with_the_output_limit_note(
    fake_upstream, provider, dialect, reason
):
    """The server stops at the answer length asked for (`num_predict`, `max_tokens`), in its
    own words: the run is done, with what was written and a note that it may end abruptly."""
    pieces = [f" p{i}" for i in range(10)]
    fake_upstream.push(Script(tokens=pieces, dialect=dialect))
    stream = stream_model(config(fake_upstream, provider), "You review contracts.", CONTRACT,
                          max_tokens=3)  # fmt: skip
    assert "".join(stream) == "".join(pieces[:3])
    stats = stream.stats
    assert stats.status is RunStatus.DONE and stats.finish_reason == reason
    assert LENGTH_NOTE in stats.notes
    (record,) = fake_upstream.streams()
    assert record.requested_output == 3 and record.tokens_sent == 3
    if stats.output_reported:  # llama-cpp-python reports no usage
        assert stats.output_tokens == 3


def test_claude_output_count_is_cumulative_not_summed(fake_upstream):
    fake_upstream.push(Script(tokens=[f" t{i}" for i in range(120)]))
    _, stats = run(config(fake_upstream, Provider.ANTHROPIC))
    assert stats.output_tokens == 120
    assert stats.input_reported and stats.input_tokens > 0


def test_ollama_sets_num_ctx_from_estimate_capped_by_model(fake_upstream):
    fake_upstream.app.model_context_length = 4096
    long_contract = "word " * 40_000  # ~50k tokens estimated: capped at the model's 4096
    stream = stream_model(
        config(fake_upstream, Provider.OLLAMA), "sys", long_contract, max_tokens=512
    )
    list(stream)
    options = fake_upstream.streams()[-1].body["options"]
    assert options["num_ctx"] == 4096
    fake_upstream.app.model_context_length = 131072
    stream = stream_model(
        config(fake_upstream, Provider.OLLAMA), "sys", "short contract " * 400, max_tokens=1024
    )
    list(stream)
    num_ctx = fake_upstream.streams()[-1].body["options"]["num_ctx"]
    assert num_ctx >= stream.request.estimated_input_tokens + 1024
    assert num_ctx % 1024 == 0 and num_ctx < 131072


def test_ollama_silent_truncation_is_reported(fake_upstream):
    fake_upstream.push(Script(prompt_tokens=50))
    stream = stream_model(config(fake_upstream, Provider.OLLAMA), "sys", "clause " * 4000)
    list(stream)
    assert any("truncated" in note for note in stream.stats.notes)


STATUS_CASES = [
    (401, ErrorKind.AUTH_FAILED),
    (404, ErrorKind.MODEL_NOT_FOUND),
    (429, ErrorKind.RATE_LIMITED),
    (500, ErrorKind.BAD_RESPONSE),
]


HTTP_ERROR_CASES = [
    *(
        (provider, status, kind)
        for provider in Provider
        if provider not in (Provider.BUILTIN, Provider.CLAUSE_FINDER)
        for status, kind in STATUS_CASES
    ),
    (Provider.ANTHROPIC, 529, ErrorKind.RATE_LIMITED),  # Anthropic's "overloaded"
]


@pytest.mark.parametrize(("provider", "status", "kind"), HTTP_ERROR_CASES)
def test_http_errors_map_to_one_vocabulary(fake_upstream, provider, status, kind):
    fake_upstream.default = Script(status=status)
    stream = stream_model(config(fake_upstream, provider), "sys", CONTRACT)
    with pytest.raises(ProviderError) as info:
        list(stream)
    assert info.value.kind is kind
    assert stream.stats.status is RunStatus.ERROR and stream.stats.error_kind is kind
    assert KEY not in info.value.message and KEY not in repr(stream.stats)
    assert len(fake_upstream.streams()) == 1  # an HTTP error is an answer: never retried


@pytest.mark.parametrize(
    "echo",
    [
        KEY[:9] + "\n" + KEY[9:],  # a line break the page shows as a space
        KEY[:12] + "\u200b" + KEY[12:],  # an invisible character
        KEY[:15] + " " + KEY[15:].upper(),  # a space, and the rest in capitals
    ],
)
@pytest.mark.parametrize("provider", [Provider.ANTHROPIC, Provider.OPENAI])
def test_a_key_the_server_echoes_broken_up_is_redacted_whole(fake_upstream, provider, echo):
    """A plain search for the key stopped at the first break: the message kept the rest of it."""
    dialect = "anthropic" if provider is Provider.ANTHROPIC else "openai"
    body = {"error": {"type": "authentication_error", "message": f"invalid key: {echo} (401)"}}
    fake_upstream.default = Script(status=401, error_body=body, dialect=dialect)
    with pytest.raises(ProviderError) as info:
        list(stream_model(config(fake_upstream, provider), "sys", CONTRACT))
    message = "".join(info.value.message.upper().split())
    assert "INVALIDKEY:[REDACTED](401)" in message
    assert KEY[-8:].upper() not in message


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.ANTHROPIC, Provider.OPENAI])
def test_a_key_echoed_where_the_message_is_cut_leaves_no_piece(fake_upstream, provider):
    """The message was cut to its length first and redacted after: the piece of the key left
    before the cut was too short to be known as one, and the page showed it."""
    dialect = "anthropic" if provider is Provider.ANTHROPIC else "openai"
    body = {"error": {"type": "invalid_request_error", "message": "A" * 195 + KEY}}
    fake_upstream.default = Script(status=400, error_body=body, dialect=dialect)
    with pytest.raises(ProviderError) as info:
        list(stream_model(config(fake_upstream, provider), "sys", CONTRACT))
    assert "A" * 195 in info.value.message
    assert KEY[:3] not in info.value.message


@pytest.mark.parametrize(
    ("provider", "dialect"),
    [
        (Provider.OLLAMA, ""),
        (Provider.ANTHROPIC, ""),
        (Provider.OPENAI, "llamacpp"),
        (Provider.OPENAI, "llama_cpp_python"),
    ],
)
def test_context_too_long(fake_upstream, provider, dialect):
    fake_upstream.push(Script(fault="context", dialect=dialect or "llamacpp"))
    stream = stream_model(config(fake_upstream, provider), "sys", CONTRACT)
    with pytest.raises(ProviderError) as info:
        list(stream)
    assert info.value.kind is ErrorKind.CONTEXT_TOO_LONG
    assert "shorter" in info.value.message or "longer context" in info.value.message


MID_STREAM_FAULTS = [
    ("drop", None, ErrorKind.INTERRUPTED),
    ("error", None, ErrorKind.INTERRUPTED),
    ("no_terminator", None, ErrorKind.INTERRUPTED),
    ("malformed", None, ErrorKind.BAD_RESPONSE),
]


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC])
@pytest.mark.parametrize(("fault", "style", "kind"), MID_STREAM_FAULTS)
def test_mid_stream_faults_keep_partial_text(fake_upstream, provider, fault, style, kind):
    words = [f" word{i}" for i in range(10)]
    fake_upstream.push(Script(tokens=words, fault=fault, fault_after=4, error_style=style))
    stream = stream_model(config(fake_upstream, provider), "sys", CONTRACT)
    with pytest.raises(ProviderError) as info:
        list(stream)
    assert info.value.kind is kind, info.value.message
    assert stream.stats.status is RunStatus.ERROR
    assert stream.stats.text.startswith(" word0 word1 word2")
    assert info.value.message and KEY not in info.value.message
    assert len(fake_upstream.streams()) == 1  # never retried after the first byte


@pytest.mark.parametrize("style", ["llamacpp", "legacy_error_field"])
def test_llamacpp_error_then_done_is_not_success(fake_upstream, style):
    fake_upstream.push(
        Script(tokens=[" a", " b", " c", " d"], fault="error", fault_after=2, error_style=style)
    )
    stream = stream_model(config(fake_upstream, Provider.OPENAI), "sys", CONTRACT)
    with pytest.raises(ProviderError) as info:
        list(stream)
    assert info.value.kind is ErrorKind.INTERRUPTED
    assert stream.stats.text == " a b"


def test_done_without_finish_reason_is_interrupted(fake_upstream):
    """llama-cpp-python's interrupt_requests ends a stream with a bare [DONE]."""
    fake_upstream.push(Script(dialect="llama_cpp_python", fault="done_without_finish"))
    stream = stream_model(config(fake_upstream, Provider.OPENAI), "sys", CONTRACT)
    with pytest.raises(ProviderError) as info:
        list(stream)
    assert info.value.kind is ErrorKind.INTERRUPTED
    assert stream.stats.text  # the partial text is kept


def test_sse_comments_and_blank_data_lines_are_ignored(fake_upstream):
    words = [f" w{i}" for i in range(80)]  # llama_cpp_python dialect pings every 25 tokens
    fake_upstream.push(Script(tokens=words, dialect="llama_cpp_python", split="random", seed=7))
    tokens, _ = run(config(fake_upstream, Provider.OPENAI))
    assert "".join(tokens) == "".join(words)


def test_read_timeout_mid_answer_is_timed_out(fake_upstream):
    fake_upstream.push(Script(tokens=[" a", " b", " c", " d"], fault="stall", fault_after=2))
    cfg = ProviderConfig(Provider.OPENAI, "llama3.2", f"{fake_upstream.url}/v1", read_timeout=0.5)
    stream = stream_model(cfg, "sys", CONTRACT)
    with pytest.raises(ProviderError) as info:
        list(stream)
    assert info.value.kind is ErrorKind.TIMED_OUT
    assert stream.stats.text == " a b"
    assert "in the middle of the answer" in info.value.message


def test_a_server_silent_before_its_first_token_is_not_said_to_stop_mid_answer(fake_upstream):
    fake_upstream.push(Script(tokens=[" a", " b"], fault="stall", fault_after=0))
    cfg = ProviderConfig(Provider.OPENAI, "llama3.2", f"{fake_upstream.url}/v1", read_timeout=0.5)
    stream = stream_model(cfg, "sys", CONTRACT)
    with pytest.raises(ProviderError) as info:
        list(stream)
    assert info.value.kind is ErrorKind.TIMED_OUT and stream.stats.text == ""
    assert "before its answer began" in info.value.message


class HangUpListener(RawServer):
    """A TLS endpoint that hangs up on every connection before the handshake, counting them: to
    the client each attempt is a failure to connect, and the count shows how often it tried."""

    def __init__(self) -> None:
        super().__init__(self._hang_up, scheme="https")
        self.attempts = 0

    def __enter__(self) -> HangUpListener:
        super().__enter__()
        return self

    def _hang_up(self, conn: socket.socket) -> None:
        self.attempts += 1  # before the hang-up, so before the client can see its failure
        conn.close()


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC])
def test_cannot_connect_is_clear_and_retried_once(provider):
    with FakeUpstream() as upstream:
        cfg = config(upstream, provider)
    # The server is gone: the port refuses connections.
    with pytest.raises(ProviderError) as info:
        list(stream_model(cfg, "sys", CONTRACT))
    assert info.value.kind is ErrorKind.CANNOT_CONNECT
    assert "reach" in info.value.message  # "is not reachable at …" / "Cannot reach Claude at …"
    assert KEY not in info.value.message
    with HangUpListener() as listener:
        base = f"{listener.url}/v1" if provider is Provider.OPENAI else listener.url
        cfg = ProviderConfig(provider, "llama3.2", base, api_key=KEY)
        with pytest.raises(ProviderError) as info:
            list(stream_model(cfg, "sys", CONTRACT))
        assert info.value.kind is ErrorKind.CANNOT_CONNECT
        assert listener.attempts == 2  # the first try and one retry, no more


def _close_while_streaming(
    upstream: FakeUpstream, provider: Provider, script: Script, how: str
) -> None:
    upstream.push(script)
    stream = stream_model(config(upstream, provider), "sys", CONTRACT)
    assert [next(stream), next(stream)] == [" w0", " w1"]
    record = upstream.streams()[-1]
    if how == "close":
        closed_at = time.monotonic()
        stream.close()
    elif how == "thread":
        # The reader is blocked waiting for a token that never comes; close from another thread.
        reader = threading.Thread(target=lambda: list(stream), daemon=True)
        reader.start()
        time.sleep(0.2)
        closed_at = time.monotonic()
        stream.close()
        reader.join(2)
        assert not reader.is_alive()
    else:
        stats = stream.stats
        closed_at = time.monotonic()
        del stream  # no reference cycle: freed (and closed) right here, without a gc pass
    assert upstream.wait_for_disconnect(1.0, record)
    assert record.disconnected_at - closed_at < 0.2
    assert all(t <= record.disconnected_at for t in record.token_times)
    if how != "gc":
        stats = stream.stats
    assert stats.status is RunStatus.CANCELLED


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC])
@pytest.mark.parametrize("how", ["close", "thread", "gc"])
def test_cancel_reaches_upstream_within_200ms(fake_upstream, provider, how):
    words = [f" w{i}" for i in range(400)]
    script = (
        Script(tokens=words, delay=0.02)
        if how != "thread"
        else Script(tokens=words, fault="stall", fault_after=2)
    )
    _close_while_streaming(fake_upstream, provider, script, how)
    record = fake_upstream.streams()[-1]
    assert record.tokens_sent < len(words)


def test_cancel_while_waiting_for_first_token(fake_upstream):
    fake_upstream.push(Script(first_delay=30))
    stream = stream_model(config(fake_upstream, Provider.OLLAMA), "sys", CONTRACT)
    reader = threading.Thread(target=lambda: list(stream), daemon=True)
    reader.start()
    deadline = time.monotonic() + 3
    while not fake_upstream.streams() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    closed_at = time.monotonic()
    stream.close()
    assert fake_upstream.wait_for_disconnect(1.0)
    assert fake_upstream.streams()[-1].disconnected_at - closed_at < 0.2
    reader.join(2)
    assert stream.stats.status is RunStatus.CANCELLED and stream.stats.text == ""


def test_timing_figures(fake_upstream):
    fake_upstream.push(Script(tokens=[f" w{i}" for i in range(20)], delay=0.02, first_delay=0.3))
    tokens, stats = run(config(fake_upstream, Provider.OPENAI))
    assert len(tokens) == 20
    assert stats.time_to_first_token >= 0.3
    assert stats.total_time >= stats.time_to_first_token
    assert stats.tokens_per_second and stats.tokens_per_second > 0
    assert stats.timeline[-1][1] == len("".join(tokens))


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (Provider.OLLAMA, ["llama3.2:latest", "qwen2.5:7b"]),
        (Provider.OPENAI, ["gemma-3-1b", "llama3.2"]),
        (Provider.ANTHROPIC, ["claude-sonnet-5-5", "claude-haiku-5-5"]),
    ],
)
def test_list_models(fake_upstream, provider, expected):
    assert list_models(config(fake_upstream, provider)) == expected


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC])
def test_list_models_when_server_is_down(provider):
    with FakeUpstream() as upstream:
        cfg = config(upstream, provider)
    with pytest.raises(ProviderError) as info:
        list_models(cfg)
    assert info.value.kind is ErrorKind.CANNOT_CONNECT
    assert "not reachable" in info.value.message or "Cannot reach" in info.value.message


def test_an_ollama_refusal_names_where_its_credentials_go(fake_upstream):
    """Ollama has no key field: its 401 comes from a proxy, whose credentials go in the URL."""
    fake_upstream.push(Script(status=401))
    with pytest.raises(ProviderError) as info:
        list(stream_model(config(fake_upstream, Provider.OLLAMA), "sys", CONTRACT))
    assert info.value.kind is ErrorKind.AUTH_FAILED
    assert "OLLAMA_HOST" in info.value.message and "API key" not in info.value.message


def test_claude_without_key_asks_for_one(fake_upstream):
    cfg = ProviderConfig(Provider.ANTHROPIC, "claude-sonnet-5-5", fake_upstream.url)
    with pytest.raises(ProviderError) as info:
        list(stream_model(cfg, "sys", CONTRACT))
    assert info.value.kind is ErrorKind.AUTH_FAILED and "ANTHROPIC_API_KEY" in info.value.message
    assert not fake_upstream.streams()


def test_every_provider_verifies_tls_with_one_shared_context(tmp_path, monkeypatch):
    """Six real handshakes with a server trusted only through `SSL_CERT_FILE`, and one TLS context
    built for all of them: a client that built its own (as the Claude SDK does unless handed one)
    is counted. Why a context is built only once: docs/PROFILES.md."""
    from lib.engine.providers.http import tls_context

    ca = trustme.CA()
    server_pem, ca_pem = tmp_path / "server.pem", tmp_path / "ca.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca.cert_pem.write_to_path(str(ca_pem))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
    built = []
    create_default_context = ssl.create_default_context

    def counting(*args, **kw):
        built.append(args or kw)
        return create_default_context(*args, **kw)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    tls_context.cache_clear()
    try:
        with FakeUpstream(certfile=str(server_pem)) as upstream:
            assert upstream.url.startswith("https://")
            for provider in (Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC) * 2:
                upstream.push(Script(tokens=[" secure", " words"]))
                tokens, stats = run(config(upstream, provider))
                assert "".join(tokens) == " secure words", provider
                assert stats.status is RunStatus.DONE
    finally:
        tls_context.cache_clear()  # later tests get a context built without this CA
    assert len(built) == 1


@pytest.mark.parametrize("provider", [Provider.ANTHROPIC, Provider.OLLAMA, Provider.OPENAI])
def test_a_redirect_takes_no_contract_elsewhere(fake_upstream, provider):
    """A model server that answers with a redirect gets an error, not the contract sent on to
    wherever it points (the Anthropic SDK's client follows redirects unless told not to)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        def _moved(self) -> None:
            self.send_response(307)
            self.send_header("Location", f"{fake_upstream.url}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _moved

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        here = f"http://127.0.0.1:{server.server_address[1]}"
        base = f"{here}/v1" if provider is Provider.OPENAI else here
        cfg = ProviderConfig(provider=provider, model="m", base_url=base, api_key=KEY)
        with pytest.raises(ProviderError) as info:
            list(stream_model(cfg, "sys", CONTRACT))
        assert "307" in info.value.message
    finally:
        server.shutdown()
        server.server_close()
    assert fake_upstream.requests == []


@pytest.mark.parametrize("provider", [Provider.OLLAMA, Provider.OPENAI, Provider.ANTHROPIC])
@pytest.mark.parametrize(("after", "where"), [(0, "before its answer began"), (3, "mid-answer")])
def test_a_dropped_connection_says_whether_the_answer_had_begun(
    fake_upstream, provider, after, where
):
    """Claude's said "broke mid-answer (RemoteProtocolError)" for a connection closed before any
    answer text, where the other providers said it had not begun."""
    fake_upstream.push(Script(tokens=[f" w{i}" for i in range(8)], fault="drop", fault_after=after))
    with pytest.raises(ProviderError) as info:
        list(stream_model(config(fake_upstream, provider), "sys", CONTRACT))
    assert info.value.kind is ErrorKind.INTERRUPTED
    assert where in info.value.message and "Error)" not in info.value.message


def test_an_error_body_with_nothing_to_show_is_not_said_twice(fake_upstream):
    """ "answered HTTP 500: HTTP 500" when the body could not be read (cut, or an HTML page)."""
    fake_upstream.push(Script(status=500, error_body="<html><body>" + "x" * 300_000))
    with pytest.raises(ProviderError) as info:
        list(stream_model(config(fake_upstream, Provider.OLLAMA), "sys", CONTRACT))
    assert "HTTP 500: HTTP 500" not in info.value.message
    assert "answered HTTP 500" in info.value.message


@pytest.mark.parametrize(
    ("provider", "advice"),
    [
        (Provider.OLLAMA, "— try again; if it keeps failing, the server's log says why."),
        (Provider.OPENAI, "— try again; if it keeps failing, the server's log says why."),
        # A hosted service shows nobody its log.
        (Provider.ANTHROPIC, "— try again in a minute; if it keeps failing, Anthropic's status"),
    ],
)
def test_a_server_error_says_what_to_do_next(fake_upstream, provider, advice):
    """Every other status named an action; HTTP 500 ended at the server's words."""
    fake_upstream.push(Script(status=500))
    with pytest.raises(ProviderError) as info:
        list(stream_model(config(fake_upstream, provider), "sys", CONTRACT))
    assert info.value.kind is ErrorKind.BAD_RESPONSE
    assert advice in info.value.message


@pytest.mark.parametrize(
    ("provider", "variable"),
    [(Provider.ANTHROPIC, "ANTHROPIC_API_KEY"), (Provider.OPENAI, "OPENAI_API_KEY")],
)
@pytest.mark.parametrize("typed", [True, False])
def test_a_refused_key_is_named_where_it_came_from(fake_upstream, provider, variable, typed):
    """A key typed for the session was refused with the hint to fix the operator's variable."""
    from lib.engine.settings import load_settings
    from lib.runs.model_choice import ModelChoice, resolve

    base = config(fake_upstream, provider).base_url
    env = {("ANTHROPIC" if provider is Provider.ANTHROPIC else "OPENAI") + "_BASE_URL": base}
    chosen = load_settings(env if typed else {**env, variable: KEY})
    model = config(fake_upstream, provider).model
    cfg = resolve(ModelChoice(provider, model, base, KEY if typed else None), chosen, probe=False)
    fake_upstream.push(Script(status=401))
    with pytest.raises(ProviderError) as info:
        list(stream_model(cfg, "sys", CONTRACT))
    assert info.value.kind is ErrorKind.AUTH_FAILED and KEY not in info.value.message
    assert ("typed for this session" in info.value.message) is typed
    if provider is Provider.ANTHROPIC:
        assert (variable in info.value.message) is not typed
