"""Unicode line separators inside content, over real HTTP, on every wire format.

Only `\\n` ends an NDJSON line and only CR/LF end an SSE line; U+0085 (a mis-decoded Windows-1252
ellipsis) and U+2028/9 are ordinary characters of the text.
"""

from __future__ import annotations

import pytest

from devtools.fake_upstream import Script
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import stream_model

SEPARATORS = ["\u0085", "\u2028", "\u2029"]
CASES = [
    (Provider.OLLAMA, None),
    (Provider.OPENAI, "llamacpp"),
    (Provider.OPENAI, "ollama_v1"),
    (Provider.OPENAI, "llama_cpp_python"),
    (Provider.ANTHROPIC, None),
]


@pytest.mark.parametrize("char", SEPARATORS, ids=["U+0085", "U+2028", "U+2029"])
@pytest.mark.parametrize(("provider", "dialect"), CASES, ids=lambda v: str(v))
@pytest.mark.parametrize("split", ["event", 1, 7])
def test_separator_inside_content_is_text(fake_upstream, provider, dialect, char, split):
    tokens = ["Liability", f" cap{char}", " applies", f"{char}{char}", " here."]
    fake_upstream.push(
        Script(tokens=tokens, dialect=dialect or "llamacpp", split=split, raw_separators=True)
    )
    base = f"{fake_upstream.url}/v1" if provider is Provider.OPENAI else fake_upstream.url
    model = "claude-sonnet-5-5" if provider is Provider.ANTHROPIC else "llama3.2"
    config = ProviderConfig(provider, model, base, api_key="sk-test-0123456789", read_timeout=5)
    stream = stream_model(config, "sys", "contract", max_tokens=64)
    text = "".join(stream)
    assert stream.stats.status is RunStatus.DONE, stream.stats.error_message
    assert text == "".join(tokens)
