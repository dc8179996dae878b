"""One model on several servers, over real HTTP against several fake model servers.

The endpoints are checked and keyed one by one, a run goes to the least busy endpoint, one that
fails before its first token is skipped for a while and the run moves on, and nothing is retried
after the first token.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from devtools.fake_upstream import FakeUpstream, Script
from lib.analysis.documents import document_from_text
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY
from lib.engine.events import StreamContext
from lib.engine.provider_config import Provider, ProviderConfig, shown_url
from lib.engine.routing import Outcome
from lib.engine.settings import Settings, load_settings
from lib.runs import catalog
from lib.runs.batch import BatchRunner, BatchSettings
from lib.runs.endpoint_pool import POOL, EndpointPool
from lib.runs.launch import RunRequest, prepare_run
from lib.runs.model_choice import ChoiceError, ModelChoice, options, resolve
from lib.store.records import RunRecord, records_to_dataframe
from lib.store.run_log import RunLog

KEY_A = "sk-key-for-gpu-one-only-AAAA-0001"
KEY_B = "sk-key-for-gpu-two-only-BBBB-0002"
REPORT = ["## Overall", " risk: LOW\n", "### Governing law — GREEN\n", '- Found: yes "laws of"']
CONTRACT = document_from_text(
    "This agreement is governed by the laws of Utopia.", name="contract.txt"
)


@pytest.fixture
def servers() -> Iterator[list[FakeUpstream]]:
    with ExitStack() as stack:
        fakes = [stack.enter_context(FakeUpstream()) for _ in range(3)]
        for fake in fakes:
            fake.default = Script(tokens=REPORT)
        yield fakes


def dead_url() -> str:
    """A loopback port nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def openai_settings(tmp_path, urls: list[str], keys: list[str] | None = None) -> Settings:
    env = {
        "OPENAI_BASE_URL": ",".join(f"{u}/v1" for u in urls),
        "CRS_HISTORY_DB": str(tmp_path / "history.sqlite3"),
        "CRS_BUILTIN": "off",
        "CRS_READ_TIMEOUT": "5",
    }
    if keys is not None:
        env["OPENAI_API_KEY"] = ",".join(keys)
    return load_settings(env)


def pooled(settings: Settings) -> ProviderConfig:
    return resolve(ModelChoice(Provider.OPENAI, "m"), settings, probe=False)


def review(config: ProviderConfig, settings: Settings, run_log: RunLog | None = None) -> RunRecord:
    request = RunRequest(
        page="review",
        config=config,
        document=CONTRACT,
        template_key=DEFAULT_TEMPLATE_KEY,
        instructions="",
        perspective="",
        max_tokens=512,
        temperature=0.0,
    )
    run = prepare_run(request, history=None, run_log=run_log, settings=settings)
    try:
        for _ in run.stream:
            pass
    except Exception:
        pass  # the record holds the error
    run.finish()
    return run.record


def auths(fake: FakeUpstream) -> set[str | None]:
    return {r.headers.get("authorization") for r in fake.requests}


# ----------------------------------------------------------------------------- keys and checks


def test_each_endpoint_of_the_list_gets_only_its_own_key(tmp_path, servers):
    a, b, _ = servers
    settings = openai_settings(tmp_path, [a.url, b.url], [KEY_A, KEY_B])
    found = options(ModelChoice(Provider.OPENAI), settings)  # the sidebar's probe
    assert found.models
    config = pooled(settings)
    assert config.api_key is None and [m.base_url for m in config.members] == [
        f"{a.url}/v1",
        f"{b.url}/v1",
    ]
    for _ in range(4):  # sequential runs alternate between the two idle endpoints
        review(config, settings)
    assert len(a.streams()) == 2 and len(b.streams()) == 2
    assert auths(a) == {f"Bearer {KEY_A}"}
    assert auths(b) == {f"Bearer {KEY_B}"}


def test_a_key_list_that_does_not_pair_up_stops_the_app(tmp_path):
    with pytest.raises(ValueError, match="one key per endpoint"):
        openai_settings(tmp_path, ["http://gpu1:8000", "http://gpu2:8000"], [KEY_A])


def test_one_endpoint_with_a_key_list_stops_the_app_instead_of_sending_the_list(tmp_path):
    with pytest.raises(ValueError, match="lists 1 endpoint;"):
        openai_settings(tmp_path, ["http://gpu1:8000"], [KEY_A, KEY_B])
    # The same server twice is one endpoint.
    with pytest.raises(ValueError, match="lists 1 endpoint;"):
        openai_settings(tmp_path, ["http://gpu1:8000", "http://gpu1:8000"], [KEY_A, KEY_B])


def test_a_key_from_the_secrets_file_does_not_follow_an_endpoint_the_environment_overrides():
    secrets = {"OPENAI_BASE_URL": "https://prod.example/v1", "OPENAI_API_KEY": KEY_A}
    test_server = {"OPENAI_BASE_URL": "http://test-box:8000/v1"}
    with pytest.raises(ValueError, match=r"OPENAI_API_KEY comes from \.streamlit/secrets\.toml"):
        load_settings(test_server, secrets)
    claude = {"ANTHROPIC_API_KEY": KEY_A}
    with pytest.raises(ValueError, match="ANTHROPIC_API_KEY comes from"):
        load_settings({"ANTHROPIC_BASE_URL": "http://elsewhere:9000"}, claude)
    # Configured together, from either place, or the same URL given again: the key goes there.
    for env, filed in [
        ({**test_server, "OPENAI_API_KEY": KEY_B}, secrets),
        ({"OPENAI_API_KEY": KEY_B}, {"OPENAI_BASE_URL": "https://prod.example/v1"}),
        ({"OPENAI_BASE_URL": "https://prod.example/v1/"}, secrets),
        ({}, secrets),
    ]:
        settings = load_settings(env, filed)
        url = settings.configured_endpoint(Provider.OPENAI)
        assert settings.key_for_endpoint(Provider.OPENAI, url) in (KEY_A, KEY_B)


@pytest.mark.parametrize(
    ("value", "endpoint"),
    [
        ("127.0.0.1:18101", "http://127.0.0.1:18101"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        ("gpu1, gpu2:9000", "http://gpu1:11434,http://gpu2:9000"),
        ("https://ollama.example", "https://ollama.example"),
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(value, endpoint):
    settings = load_settings({"OLLAMA_HOST": value})
    assert settings.configured_endpoint(Provider.OLLAMA) == endpoint


def test_an_endpoint_without_a_key_of_its_own_gets_none(tmp_path, servers):
    a, b, _ = servers
    settings = openai_settings(tmp_path, [a.url, b.url], [KEY_A, ""])
    config = pooled(settings)
    review(config, settings)
    review(config, settings)
    assert auths(a) == {f"Bearer {KEY_A}"}
    assert auths(b) == {None}


def test_a_key_never_follows_a_list_a_user_typed(tmp_path, servers):
    """The operator's key is for its configured endpoint only, not for a typed list naming it
    beside another server."""
    a, b, _ = servers
    settings = openai_settings(tmp_path, [a.url], [KEY_A])
    config = resolve(
        ModelChoice(Provider.OPENAI, "m", f"{b.url}/v1,{a.url}/v1"), settings, probe=False
    )
    review(config, settings)
    review(config, settings)
    assert len(b.streams()) == 1 and auths(b) == {None}
    assert auths(a) == {f"Bearer {KEY_A}"}


def test_every_endpoint_of_a_list_is_checked(tmp_path):
    settings = load_settings(
        {"OLLAMA_HOST": "http://gpu1:11434,http://gpu2:11434/", "CRS_LOCK_ENDPOINTS": "1"}
    )
    assert settings.configured_endpoint(Provider.OLLAMA) == "http://gpu1:11434,http://gpu2:11434"
    assert (
        catalog.check_endpoint(Provider.OLLAMA, "http://gpu2:11434, http://gpu1:11434", settings)
        == "http://gpu2:11434,http://gpu1:11434"
    )
    for wanted in (
        "http://gpu1:11434,http://internal:8080",
        "http://gpu1:11434,http://gpu2:11434#x",
        "http://gpu1:11434,file:///etc",
    ):
        with pytest.raises(ChoiceError):
            resolve(ModelChoice(Provider.OLLAMA, "m", wanted), settings, probe=False)


# ----------------------------------------------------------------------------- spreading runs


def test_runs_at_once_go_to_the_least_busy_endpoint(tmp_path, servers):
    a, b, _ = servers
    for fake in (a, b):
        fake.default = Script(tokens=REPORT * 5, delay=0.05)  # 1 s each: they overlap
    settings = openai_settings(tmp_path, [a.url, b.url])
    config = pooled(settings)
    records: list[RunRecord] = []
    threads = [
        threading.Thread(target=lambda: records.append(review(config, settings))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(a.streams()) == 2 and len(b.streams()) == 2
    assert a.app.peak_in_flight == 2 and b.app.peak_in_flight == 2
    served = sorted(r.served_by for r in records)
    assert served == sorted([f"{a.url}/v1"] * 2 + [f"{b.url}/v1"] * 2)
    assert all(r.status.value == "done" for r in records)


def test_a_500_before_the_first_token_moves_the_run_and_cools_the_endpoint(tmp_path, servers):
    a, b, _ = servers
    a.push(Script(status=500))
    settings = openai_settings(tmp_path, [a.url, b.url], [KEY_A, KEY_B])
    config = pooled(settings)
    first = review(config, settings)
    assert first.status.value == "done" and first.served_by == f"{b.url}/v1"
    assert any("failed before answering" in note for note in first.notes)
    assert len(a.streams()) == 1 and len(b.streams()) == 1
    assert auths(b) == {f"Bearer {KEY_B}"}, "the retry carries the other endpoint's own key"
    state = POOL.snapshot(config)[f"{a.url}/v1"]
    assert state.failed == 1 and state.in_flight == 0
    # Cooling down: the next run skips it, though it is the one picked least recently.
    second = review(config, settings)
    assert second.served_by == f"{b.url}/v1" and not second.notes
    assert len(a.streams()) == 1 and len(b.streams()) == 2


def test_a_connection_closed_before_the_first_token_is_not_called_mid_answer(tmp_path, servers):
    a, b, _ = servers
    a.push(Script(tokens=REPORT, fault="drop", fault_after=0))
    settings = openai_settings(tmp_path, [a.url, b.url])
    record = review(pooled(settings), settings)
    assert record.status.value == "done" and record.served_by == f"{b.url}/v1"
    [note] = [n for n in record.notes if "failed before answering" in n]
    assert "(interrupted)" in note and "mid-answer" not in note


def test_a_refused_endpoint_is_skipped_and_the_run_served_elsewhere(tmp_path, servers):
    a, *_ = servers
    dead = dead_url()
    settings = openai_settings(tmp_path, [dead, a.url])
    config = pooled(settings)
    record = review(config, settings)
    assert record.status.value == "done" and record.served_by == f"{a.url}/v1"
    assert POOL.snapshot(config)[f"{dead}/v1"].failed == 1


def test_a_drop_after_the_first_token_is_not_retried(tmp_path, servers):
    a, b, _ = servers
    a.push(Script(tokens=REPORT * 3, fault="drop", fault_after=2))
    settings = openai_settings(tmp_path, [a.url, b.url])
    config = pooled(settings)
    record = review(config, settings)
    assert record.status.value == "error" and record.error_kind == "interrupted"
    assert record.report, "the partial report is kept"
    assert b.streams() == [], "a run that began answering is never sent again"
    state = POOL.snapshot(config)[f"{a.url}/v1"]
    assert state.failed == 0 and state.cool_until == 0.0


def test_a_contract_too_long_is_not_tried_elsewhere(tmp_path, servers):
    a, b, _ = servers
    a.push(Script(fault="context"))
    settings = openai_settings(tmp_path, [a.url, b.url])
    config = pooled(settings)
    record = review(config, settings)
    assert record.error_kind == "context_too_long"
    assert b.streams() == [] and POOL.snapshot(config)[f"{a.url}/v1"].failed == 0


def test_when_every_endpoint_fails_the_run_ends_with_the_last_error(tmp_path):
    dead_one, dead_two = dead_url(), dead_url()
    settings = openai_settings(tmp_path, [dead_one, dead_two])
    config = pooled(settings)
    record = review(config, settings)
    assert record.status.value == "error" and record.error_kind == "cannot_connect"
    assert all(s.failed == 1 for s in POOL.snapshot(config).values())
    # The last failure is not said to be offered to a next endpoint: there was none.
    first, last = record.notes
    assert first.endswith("the run was offered to the next endpoint.")
    assert last.endswith("and no endpoint was left to offer the run to.")


# ----------------------------------------------------------------------------- the pool alone


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def members(*urls: str) -> tuple[ProviderConfig, ...]:
    return tuple(ProviderConfig(Provider.OLLAMA, "m", url) for url in urls)


def test_cooldown_ends_and_doubles_for_failures_in_a_row():
    clock = Clock()
    pool = EndpointPool(base_cooldown_s=1.0, max_cooldown_s=3.0, clock=clock)
    a, b = members("http://a", "http://b")
    assert pool.pick((a, b), ()) == a
    pool.done(a, Outcome.FAILED)
    assert pool.pick((a, b), ()) == b  # a cools for 1 s
    pool.done(b, Outcome.SERVED)
    clock.now += 1.0
    assert pool.pick((a, b), ()) == a  # cooled down: the least recently picked again
    pool.done(a, Outcome.FAILED)
    clock.now += 1.5
    assert pool.pick((a, b), ()) == b  # a second failure in a row: 2 s
    pool.done(b, Outcome.SERVED)
    clock.now += 0.5
    assert pool.pick((a, b), ()) == a
    pool.done(a, Outcome.SERVED)  # served: healed
    healed = pool.snapshot(ProviderConfig(Provider.OLLAMA, "m", "x", pool=(a, b)))["http://a"]
    assert healed.failures_in_a_row == 0 and healed.cool_until == 0.0


def test_every_endpoint_cooling_tries_the_one_ready_soonest():
    clock = Clock()
    pool = EndpointPool(base_cooldown_s=1.0, clock=clock)
    a, b = members("http://a", "http://b")
    pool.pick((a, b), ())
    pool.done(a, Outcome.FAILED)
    clock.now += 0.5
    pool.pick((a, b), ())
    pool.done(b, Outcome.FAILED)
    assert pool.pick((a, b), ()) == a


def test_a_full_pool_waits_for_room_and_a_cancelled_run_stops_waiting():
    pool = EndpointPool()
    a, b = members("http://a", "http://b")
    assert {pool.pick((a, b), (), capacity=1), pool.pick((a, b), (), capacity=1)} == {a, b}
    picked: list[ProviderConfig | None] = []
    waiter = threading.Thread(target=lambda: picked.append(pool.pick((a, b), (), capacity=1)))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive(), "no room: the run waits"
    pool.done(b, Outcome.SERVED)
    waiter.join(5)
    assert picked == [b]
    ctx = StreamContext()
    ctx.cancel()
    assert pool.pick((a, b), (), ctx, capacity=1) is None


# ----------------------------------------------------------------------------- front ends


def test_a_batch_spreads_over_the_endpoints_within_each_ones_concurrency(tmp_path, servers):
    a, b, _ = servers
    for fake in (a, b):
        fake.default = Script(tokens=REPORT * 3, delay=0.03)
    settings = openai_settings(tmp_path, [a.url, b.url], [KEY_A, KEY_B])
    run_log = RunLog(tmp_path / "history.sqlite3")
    documents = [
        document_from_text(f"Contract {i}, governed by the laws of Utopia.", name=f"c{i}.txt")
        for i in range(6)
    ]
    runner = BatchRunner.create(
        name="spread",
        contracts=documents,
        configs=[pooled(settings)],
        batch_settings=BatchSettings(),
        settings=settings,
        run_log=run_log,
        concurrency={"openai": 1},
    ).start()
    assert runner.wait(60) and runner.progress().done == 6
    assert a.app.peak_in_flight == 1 and b.app.peak_in_flight == 1
    assert len(a.streams()) >= 1 and len(b.streams()) >= 1
    assert len(a.streams()) + len(b.streams()) == 6
    assert auths(a) == {f"Bearer {KEY_A}"} and auths(b) == {f"Bearer {KEY_B}"}
    logged = [run_log.get(r.record.run_id) for r in runner.results.values() if r.record]
    assert {r.served_by for r in logged if r} == {f"{a.url}/v1", f"{b.url}/v1"}


def test_history_names_the_server_without_its_credentials(make_record):
    record = make_record(served_by="http://user:pw@gpu1:11434")
    frame = records_to_dataframe([record])
    assert frame["served_by"].tolist() == ["gpu1:11434"]


def test_a_server_that_is_down_is_named_with_its_fix_once(tmp_path):
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]  # closed again: nothing listens there
    settings = load_settings(
        {"OLLAMA_HOST": f"http://127.0.0.1:{port}", "CRS_HISTORY_DB": str(tmp_path / "h.db")}
    )
    with pytest.raises(ChoiceError) as refused:
        options(ModelChoice(Provider.OLLAMA, None, None, None), settings)
    assert refused.value.message.count("ollama serve") == 1, refused.value.message


def test_infinite_or_not_a_number_limits_are_named():
    for name in ("CRS_MAX_UPLOAD_MB", "CRS_MAX_RUN_SECONDS", "CRS_MAX_CONCURRENT_RUNS"):
        for value in ("inf", "nan", "1e400"):
            with pytest.raises(ValueError, match=f"{name} must be a number"):
                load_settings({name: value})


@pytest.mark.parametrize("name", ["::1", "[::1]:8502", "localhost:8502", "127.0.0.1"])
def test_a_loopback_name_in_allowed_hosts_does_not_make_a_laptop_a_team(name):
    assert not load_settings({"CRS_ALLOWED_HOSTS": name}).serves_a_team


def test_an_endpoint_without_a_scheme_is_shown_without_its_credentials():
    assert shown_url("bob:PASSWORD123456@gpu1:11434") == "gpu1:11434"
    assert shown_url("http://bob:PASSWORD123456@gpu1:11434/v1?key=x,gpu2:1") == (
        "http://gpu1:11434/v1,gpu2:1"
    )
