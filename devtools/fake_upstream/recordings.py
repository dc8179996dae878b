"""The recorded provider streams the fake upstream replays, and the wire format each is in.

One list, so the parser tests and the over-the-wire tests replay the same recordings: a recording
added here is checked both ways.
"""

from pathlib import Path

from lib.engine.provider_config import Provider

RECORDINGS = Path(__file__).resolve().parent / "recordings"

RECORDED_STREAMS: list[tuple[str, Provider]] = [
    ("anthropic_basic.sse", Provider.ANTHROPIC),
    ("ollama_chat.ndjson", Provider.OLLAMA),
    ("ollama_v1_current.sse", Provider.OPENAI),
    ("ollama_v1_legacy.sse", Provider.OPENAI),
    ("llamacpp.sse", Provider.OPENAI),
    ("llama_cpp_python.sse", Provider.OPENAI),
    # Reasoning models, one recording per way thinking is sent.
    ("ollama_thinking.ndjson", Provider.OLLAMA),
    ("llamacpp_reasoning.sse", Provider.OPENAI),
    ("openrouter_reasoning.sse", Provider.OPENAI),
    ("ollama_v1_think_tags.sse", Provider.OPENAI),
    ("anthropic_thinking.sse", Provider.ANTHROPIC),
    # Not recordings: what a hostile or broken server may send in valid JSON. Lone surrogates
    # ("\ud800"), which nothing can write as UTF-8, and counts that are no counts (NaN, negative,
    # fractional, past any store's integers): the text keeps U+FFFD, the counts are unreported.
    ("hostile_ollama.ndjson", Provider.OLLAMA),
    ("hostile_openai.sse", Provider.OPENAI),
]
