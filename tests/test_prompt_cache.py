"""Prompt caching over real loopback HTTP against the fake upstream: Claude's contract block marked
for the cache only when long enough, the cache counts read from the stream at any byte split, the
cost priced at the cache rates, the counts kept in the run log; Ollama keeps its model loaded."""

from __future__ import annotations

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from devtools.long_contract import long_contract
from lib.analysis.documents import document_from_text
from lib.analysis.prompts import TEMPLATES, build_prompt
from lib.engine.errors import ProviderError
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers import anthropic, ollama
from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings
from lib.engine.stream_model import stream_model
from lib.runs.launch import RunRequest, prepare_run
from lib.runs.pricing import estimate_cost
from lib.store.run_log import RunLog, export_csv

KEY = "sk-test-0123456789abcdef"
SONNET = "claude-sonnet-4-5"  # caches a prefix of 1,024 tokens or more
HAIKU = "claude-haiku-4-5"  # 4,096 or more


def claude(upstream: FakeUpstream, model: str = SONNET) -> ProviderConfig:
    return ProviderConfig(Provider.ANTHROPIC, model, upstream.url, api_key=KEY, read_timeout=5)


def sent_content(upstream: FakeUpstream, config: ProviderConfig, contract: str) -> object:
    """The user turn's content as Claude received it, for a review of `contract`."""
    prompt = build_prompt(TEMPLATES["general"], contract, "MSA.pdf")
    upstream.push(Script(tokens=["ok"]))
    stream = stream_model(
        config, prompt.system, prompt.user, max_tokens=32, stable_prefix=prompt.prefix_chars
    )
    list(stream)
    assert stream.stats.status is RunStatus.DONE
    return upstream.streams()[-1].body["messages"][0]["content"]


def test_the_contract_block_is_marked_for_the_cache_only_when_long_enough(fake_upstream):
    short = "1. Term. This agreement runs for one year."
    assert isinstance(sent_content(fake_upstream, claude(fake_upstream), short), str)

    contract = long_contract(12_000).text  # ~3,000 tokens: enough for Sonnet 4.5, not for Haiku 4.5
    prompt = build_prompt(TEMPLATES["general"], contract, "MSA.pdf")
    content = sent_content(fake_upstream, claude(fake_upstream), contract)
    assert isinstance(content, list) and len(content) == 2
    marked, task = content
    assert marked == {
        "type": "text",
        "text": prompt.user[: prompt.prefix_chars],
        "cache_control": {"type": "ephemeral"},
    }
    assert contract in marked["text"] and "cache_control" not in task
    assert marked["text"] + task["text"] == prompt.user
    assert isinstance(sent_content(fake_upstream, claude(fake_upstream, HAIKU), contract), str)
    assert anthropic.min_cacheable_tokens("claude-some-future-model") == 4096


def test_a_run_without_a_stable_prefix_is_never_marked(fake_upstream):
    fake_upstream.push(Script(tokens=["ok"]))
    list(stream_model(claude(fake_upstream), "You review.", long_contract(20_000).text))
    assert isinstance(fake_upstream.streams()[-1].body["messages"][0]["content"], str)


@pytest.mark.parametrize("split", [1, 7, "random"])
def test_cache_counts_are_read_from_the_stream_at_any_byte_split(fake_upstream, split):
    fake_upstream.push(
        Script(
            tokens=["Clause ", "one."],
            prompt_tokens=40,
            cache_write_tokens=3_000,
            cache_read_tokens=5_000,
            split=split,
        )
    )
    stream = stream_model(claude(fake_upstream), "You review.", "1. Term.", max_tokens=32)
    assert "".join(stream) == "Clause one."
    stats = stream.stats
    assert stats.status is RunStatus.DONE
    assert (stats.input_tokens, stats.cache_written, stats.cache_read) == (8_040, 3_000, 5_000)
    assert stats.output_tokens == 2 and stats.tokens_reported


def test_cache_rates_price_the_cached_shares_of_the_input():
    # Sonnet: $3 in, $15 out per million; a cache write is 1.25× the input price, a read 0.1×.
    cost = estimate_cost(
        Provider.ANTHROPIC,
        SONNET,
        1_000_000,
        100_000,
        cache_write_tokens=600_000,
        cache_read_tokens=300_000,
    )
    assert cost == pytest.approx((100_000 * 3 + 600_000 * 3.75 + 300_000 * 0.3) / 1e6 + 1.5)
    plain = estimate_cost(Provider.ANTHROPIC, SONNET, 1_000_000, 100_000)
    assert plain == pytest.approx(4.5)
    # An override's input price carries over to the cached shares.
    override = {"claude-sonnet": (10.0, 20.0)}
    read_all = estimate_cost(
        Provider.ANTHROPIC, SONNET, 1_000_000, 0, override, cache_read_tokens=1_000_000
    )
    assert read_all == pytest.approx(1.0)
    # A local model costs nothing, cached or not.
    assert estimate_cost(Provider.OLLAMA, "llama3.2", 10, 10, cache_read_tokens=5) == 0.0
    # OpenAI's own API, through the OpenAI-compatible provider, costs what the operator says.
    assert estimate_cost(Provider.OPENAI, "gpt-4o", 1_000_000, 100_000) == 0.0
    gpt = {"gpt-4o": (2.5, 10.0)}
    assert estimate_cost(Provider.OPENAI, "gpt-4o-2024", 1_000_000, 100_000, gpt) == 3.5


def test_a_request_the_provider_refused_costs_nothing(fake_upstream, tmp_path):
    """An HTTP error before any answer is not billed: History showed $0.0026 for a Claude 500."""
    settings = Settings(history_db_path=tmp_path / "h.sqlite3")
    fake_upstream.push(Script(status=500))
    document = document_from_text("The Supplier shall deliver. " * 200, "Supply.txt")
    request = RunRequest("review", claude(fake_upstream), document, "general", "", "", 64, 0.2)
    run = prepare_run(request, history=None, run_log=None, settings=settings)
    with pytest.raises(ProviderError):
        list(run.stream)
    run.finish()
    assert run.record.status == "error" and run.record.cost_usd == 0.0


def review(upstream: FakeUpstream, settings: Settings, log: RunLog, template: str, text: str):
    document = document_from_text(text, "Franchise.txt")
    request = RunRequest("review", claude(upstream), document, template, "", "", 64, 0.2)
    run = prepare_run(request, history=None, run_log=log, settings=settings)
    list(run.stream)
    run.finish()
    return run.record


def test_a_second_template_on_the_same_contract_reads_it_from_the_cache(fake_upstream, tmp_path):
    """Two reviews of one contract through the path every front end takes: the first writes the
    cache, the second reads it, and the run log, its CSV and the costs say so."""
    settings = Settings(history_db_path=tmp_path / "h.sqlite3")
    log = RunLog(settings.history_db_path)
    fake_upstream.default = Script(tokens=["## Overall risk: LOW"], prefix_cache=True)
    text = long_contract(40_000).text
    first = review(fake_upstream, settings, log, "general", text)
    second = review(fake_upstream, settings, log, "nda", text)

    assert first.cache_write_tokens and first.cache_write_tokens > 9_000
    assert first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_tokens
    assert second.cache_write_tokens == 0
    for record in (first, second):
        expected = estimate_cost(
            Provider.ANTHROPIC,
            SONNET,
            record.input_tokens or 0,
            record.output_tokens or 0,
            cache_write_tokens=record.cache_write_tokens,
            cache_read_tokens=record.cache_read_tokens,
        )
        assert record.cost_usd == pytest.approx(expected)
    assert second.cost_usd is not None and first.cost_usd is not None
    assert second.cost_usd < 0.5 * first.cost_usd

    stored = log.get(second.run_id)
    assert stored is not None and stored.cache_read_tokens == second.cache_read_tokens
    header, *rows = export_csv(log.query()).decode().splitlines()
    assert "cache_write_tokens" in header and "cache_read_tokens" in header
    assert any(str(second.cache_read_tokens) in row for row in rows)


def test_ollama_keeps_the_model_loaded_between_runs(fake_upstream):
    fake_upstream.push(Script(tokens=["ok"]))
    cfg = ProviderConfig(Provider.OLLAMA, "llama3.2", fake_upstream.url, read_timeout=5)
    list(stream_model(cfg, "You review.", "1. Term.", max_tokens=16))
    assert fake_upstream.streams()[-1].body["keep_alive"] == ollama.KEEP_ALIVE == "30m"
    # Only on Ollama's own wire: an OpenAI-compatible server has no such field.
    fake_upstream.push(Script(tokens=["ok"]))
    other = ProviderConfig(Provider.OPENAI, "llama3.2", f"{fake_upstream.url}/v1", read_timeout=5)
    list(stream_model(other, "You review.", "1. Term.", max_tokens=16))
    assert "keep_alive" not in fake_upstream.streams()[-1].body


def test_a_claude_model_not_listed_gets_the_largest_cache_minimum():
    assert anthropic.min_cacheable_tokens("claude-opus-4-20250514") == 1024
    assert anthropic.min_cacheable_tokens("claude-3-5-haiku-latest") == 2048
    # A newer model than the table is not taken for an older one its id starts like.
    assert anthropic.min_cacheable_tokens("claude-opus-4-7") == anthropic.DEFAULT_MIN_CACHEABLE


def test_a_batch_run_does_not_pay_for_a_cache_it_will_not_read(fake_upstream, tmp_path):
    """A batch sends each contract to each model once: marking the contract wrote the cache at
    1.25× the input price on every run and read it on none."""
    settings = Settings(history_db_path=tmp_path / "h.sqlite3")
    document = document_from_text(long_contract(12_000).text, "MSA.txt")
    sent = []
    for batch_id in (None, "b1"):
        fake_upstream.push(Script(tokens=["ok"]))
        request = RunRequest(
            "batch", claude(fake_upstream), document, "general", "", "", 32, 0.2, batch_id=batch_id
        )
        run = prepare_run(request, history=None, run_log=None, settings=settings)
        list(run.stream)
        run.finish()
        sent.append(fake_upstream.streams()[-1].body["messages"][0]["content"])
    assert isinstance(sent[0], list) and "cache_control" in sent[0][0]  # a page's run: marked
    assert isinstance(sent[1], str)
