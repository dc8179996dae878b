"""The provider registry: every provider's facts in its own spec, and nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

from devtools.fake_upstream import FakeUpstream
from lib.engine.provider_config import Provider
from lib.engine.providers.registry import SPECS, spec_for
from lib.engine.settings import load_settings
from lib.runs import catalog

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_HOME = ROOT / "lib" / "engine" / "providers"
MEMBER = re.compile(r"\bProvider\.[A-Z][A-Z_]*\b")


def test_no_provider_member_is_named_outside_the_provider_modules_and_the_registry():
    sources = [
        ROOT / "app.py",
        ROOT / "crs_batch.py",
        *ROOT.glob("pages/*.py"),
        *ROOT.glob("lib/**/*.py"),
    ]
    named = {
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sources
        if PROVIDER_HOME not in path.parents
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if MEMBER.search(line)
    }
    assert named == set()


def test_every_provider_has_one_spec_in_the_sidebars_order():
    assert set(SPECS) == set(Provider)
    assert all(spec.provider is provider for provider, spec in SPECS.items())
    assert next(iter(SPECS)) is catalog.choose_default(
        load_settings({}, listen_address="127.0.0.1")
    )


def test_specs_agree_with_themselves():
    for spec in SPECS.values():
        if spec.on_this_machine:
            assert spec.fixed_model and not spec.typed_endpoint and not spec.takes_key
        if spec.needs_key:
            assert spec.takes_key
        if spec.typed_endpoint:
            assert spec.endpoint_variable
        assert spec.label and spec.fix


def test_settings_read_each_providers_own_variables():
    env = {"OLLAMA_HOST": "http://gpu:11434/", "OPENAI_BASE_URL": "http://vllm:8000/v1",
           "OPENAI_API_KEY": "o-key", "ANTHROPIC_API_KEY": "a-key", "CRS_BUILTIN": "off"}  # fmt: skip
    settings = load_settings(env)
    for provider, spec in SPECS.items():
        if spec.endpoint_variable in env:
            assert settings.configured_endpoint(provider) == env[spec.endpoint_variable].rstrip("/")
        if spec.key_variable:
            assert settings.configured_key(provider) == env[spec.key_variable]
    assert spec_for("builtin").provider in settings.disabled
    assert "o-key" not in repr(settings) and "a-key" not in repr(settings)


def test_model_lists_are_cached_per_endpoint_and_key():
    """Another key may see other models (or none): a probe with a new key asks again."""
    with FakeUpstream() as server:
        base = f"{server.url}/v1"
        first = catalog.probe(spec_for("openai").provider, base, "key-one-0000")
        again = catalog.probe(spec_for("openai").provider, base, "key-one-0000")
        other = catalog.probe(spec_for("openai").provider, base, "key-two-1111")
        assert first.available and again == first and other.available
        listed = [r for r in server.requests if r.path.endswith("/models")]
        assert [r.headers["authorization"][-4:] for r in listed] == ["0000", "1111"]
