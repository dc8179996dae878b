"""The Compare page through AppTest, and the multiplexer over real HTTP against the fake upstream."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.run_stats import RunStatus
from lib.engine.stream_model import stream_model
from lib.runs.compare import (
    better_side,
    comparison_table,
    display_table,
    findings_diff,
    side_labels,
    timeline_frame,
    unfinished_note,
)
from lib.runs.live import LiveRun, stop_all, watch
from lib.store.records import STATE_KEY

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "compare.py")
CONTRACT = "1. Parties. Acme Ltd and Beta GmbH. 12.1 Liability is unlimited."
REPORT_A = "## Overall risk: HIGH\n### Indemnity — RED\n### Confidentiality — GREEN\n### Payment terms — YELLOW\n"
REPORT_B = "## Overall risk: LOW\n### Indemnity — GREEN\n### Confidentiality — YELLOW\n"


def live(upstream: FakeUpstream, provider: Provider = Provider.OPENAI) -> LiveRun:
    base = f"{upstream.url}/v1" if provider is Provider.OPENAI else upstream.url
    cfg = ProviderConfig(provider, "llama3.2", base, api_key="sk-test-key-123456", read_timeout=5)
    return LiveRun(stream_model(cfg, "sys", CONTRACT))


def model_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "model-stream"]


def test_watch_interleaves_both_sides(fake_upstream):
    fake_upstream.push(
        Script(tokens=[f" a{i}" for i in range(30)], delay=0.02),
        Script(tokens=[f" b{i}" for i in range(30)], delay=0.02),
    )
    lives = [live(fake_upstream), live(fake_upstream)]
    both_growing = 0
    texts = ["", ""]
    orders = []
    for step in watch(lives):
        texts = [t + s for t, s in zip(texts, step.texts, strict=True)]
        orders.append(step.order)
        if all(step.texts):
            both_growing += 1
    assert texts[0] == "".join(f" a{i}" for i in range(30)) or texts[0] == "".join(
        f" b{i}" for i in range(30)
    )
    assert {texts[0][:3], texts[1][:3]} == {" a0", " b0"}
    assert both_growing >= 3, "the two sides did not stream during the same time window"
    assert set(orders) == {(0, 1), (1, 0)}
    assert all(a != b for a, b in itertools.pairwise(orders)), "the side drawn first alternates"
    assert all(run.stats.status is RunStatus.DONE for run in lives)


def test_one_side_failing_does_not_stop_the_other(fake_upstream):
    fake_upstream.push(
        Script(tokens=[f" a{i}" for i in range(20)], fault="drop", fault_after=3),
        Script(tokens=[f" b{i}" for i in range(20)], delay=0.01),
    )
    lives = [live(fake_upstream), live(fake_upstream)]
    list(watch(lives))
    statuses = sorted(run.stats.status.value for run in lives)
    assert statuses == ["done", "error"]
    failed = next(run for run in lives if run.stats.status is RunStatus.ERROR)
    assert failed.stats.text == " a0 a1 a2" and failed.error is not None


def test_stop_ends_both_upstream_requests_and_leaves_no_threads(fake_upstream):
    fake_upstream.push(
        Script(tokens=[f" a{i}" for i in range(500)], delay=0.05),
        Script(tokens=[f" b{i}" for i in range(500)], fault="stall", fault_after=2),
    )
    lives = [live(fake_upstream, Provider.OPENAI), live(fake_upstream, Provider.OLLAMA)]
    for _ in watch(lives):
        if all(run.stats.text for run in lives):
            break
    records = fake_upstream.streams()
    stop_all(lives)
    # Neither stream ends by itself for 25 s (one stalls): the server seeing both leave is Stop's
    # doing. How fast that is, is measured in bench/, not asserted here.
    for record in records:
        assert fake_upstream.wait_for_disconnect(10.0, record)
        assert not record.completed and record.tokens_sent < 500
    assert all(run.stats.status is RunStatus.CANCELLED for run in lives)
    assert model_threads() == []


def test_comparison_table_findings_and_winners(make_record):
    done = dict(page="compare", status="done")
    a = make_record(
        **done, report=REPORT_A, ttft_s=0.5, total_s=10.0, tokens_per_s=30.0, cost_usd=0.0
    )
    b = make_record(
        **done,
        report=REPORT_B,
        model="claude-sonnet-5-5",
        provider="anthropic",
        ttft_s=1.5,
        total_s=6.0,
        tokens_per_s=80.0,
        cost_usd=0.01,
    )
    table = comparison_table([a, b])
    assert table.loc["RED findings"].tolist() == [1, 0]
    assert table.loc["YELLOW findings"].tolist() == [1, 1]
    winners = better_side([a, b])
    assert (
        winners["Time to first answer token (s)"] == 0
        and winners["Generation speed (tokens/s)"] == 1
    )
    assert winners["Total time (s)"] == 1 and winners["Cost (USD)"] == 0
    diff = findings_diff([a, b])
    assert diff["Left: Ollama · llama3.2"] == {"Indemnity": "RED", "Payment terms": "YELLOW"}
    assert diff["Right: Claude (Anthropic) · claude-sonnet-5-5"] == {"Confidentiality": "YELLOW"}


def test_a_side_that_wrote_no_report_has_no_finding_counts(make_record):
    """A side that failed before its first word flagged nothing because it read nothing: its
    counts are blank, not the 0 / 0 of a report that found no risk; a partial report keeps its
    counts."""
    failed = make_record(page="compare", status="error", report="")
    partial = make_record(page="compare", status="cancelled", report=REPORT_A)
    table = comparison_table([failed, partial])
    assert table.loc["RED findings"].tolist() == [None, 1]
    assert display_table([failed, partial]).loc["YELLOW findings"].iloc[0] == "—"


def test_figures_equal_as_shown_crown_no_side(make_record):
    """0.42 s beside 0.42 s, and 50.2 beside 50.2 tokens/s, were highlighted as a win."""
    done = dict(page="compare", status="done", report=REPORT_A, total_s=5.0)
    a = make_record(**done, ttft_s=0.4213, tokens_per_s=50.21)
    b = make_record(**done, ttft_s=0.4198, tokens_per_s=50.24)
    shown = display_table([a, b])
    assert len(set(shown.loc["Time to first answer token (s)"])) == 1
    winners = better_side([a, b])
    assert winners["Time to first answer token (s)"] is None
    assert winners["Generation speed (tokens/s)"] is None
    b.tokens_per_s = 50.26  # 50.3 as shown: a win again
    assert better_side([a, b])["Generation speed (tokens/s)"] == 1


def test_timeline_frame_shares_one_axis(fake_upstream):
    fake_upstream.push(
        Script(tokens=[" x"] * 10, delay=0.01), Script(tokens=[" y"] * 5, first_delay=0.2)
    )
    lives = [live(fake_upstream), live(fake_upstream)]
    list(watch(lives))
    labels = ["slow" if run.stats.text.startswith(" y") else "fast" for run in lives]
    frame = timeline_frame([run.stats for run in lives], labels)
    assert set(frame["model"]) == {"fast", "slow"}
    slow = frame[frame.model == "slow"]
    assert slow.seconds.iloc[1] >= 0.2 and slow.tokens.max() == pytest.approx(10 / 4)


@pytest.fixture
def env(fake_upstream, tmp_path, monkeypatch):
    for name in ("OPENAI_BASE_URL", "CRS_ALLOWED_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_upstream.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "fake-ant-compare-test-key-000111")
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "h.sqlite3"))
    monkeypatch.setenv("CRS_BUILTIN", "off")
    return fake_upstream


def test_compare_page_runs_both_and_links_them(env):
    env.push(Script(tokens=[REPORT_A]), Script(tokens=[REPORT_B]))
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception
    # The best configured model on the left, the clause finder (no model) beside it.
    assert at.selectbox(key="compare0_provider").value == Provider.ANTHROPIC
    assert at.selectbox(key="compare1_provider").value == Provider.CLAUSE_FINDER
    at.selectbox(key="compare0_provider").set_value(Provider.OLLAMA).run()
    at.selectbox(key="compare1_provider").set_value(Provider.ANTHROPIC).run()
    at.text_area(key="compare_text").input(CONTRACT).run()
    at.button(key="compare").click().run()
    assert not at.exception, at.exception
    records = at.session_state[STATE_KEY]
    assert len(records) == 2 and records[0].comparison_id == records[1].comparison_id
    assert {r.provider for r in records} == {"ollama", "anthropic"}
    assert all(r.status == "done" for r in records)
    paths = sorted(r.path for r in env.streams())
    assert paths == ["/api/chat", "/v1/messages"]
    table = at.dataframe[0].value
    assert "RED findings" in table.index
    assert list(table.loc["Status"]) == ["complete", "complete"]  # as every page words it
    assert any("Flagged only by" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) == 1


def test_compare_without_contract_asks_for_one(env):
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    at.button(key="compare").click().run()
    assert any("Paste or upload a contract first" in i.value for i in at.info)
    assert env.streams() == []


def test_watch_steps_while_one_side_only_thinks(fake_upstream):
    """A side that thinks sends no text for a while: its thinking still moves the page, and each
    side keeps its own thinking state."""
    fake_upstream.push(
        Script(thinking=[f" th{i}" for i in range(30)], tokens=[" a"], delay=0.02),
        Script(tokens=[f" b{i}" for i in range(5)]),
    )
    lives = [live(fake_upstream, Provider.OLLAMA), live(fake_upstream, Provider.OLLAMA)]
    seen: list[tuple[int, int]] = []
    for _step in watch(lives, idle=10.0):
        seen.append(tuple(run.stats.thinking_chars for run in lives))
    # Which side got the thinking script depends on which request reached the server first.
    thinker = 0 if lives[0].stats.thinking else 1
    other = lives[1 - thinker].stats
    assert len({s[thinker] for s in seen}) >= 5, "steps did not follow the thinking"
    assert lives[thinker].stats.thinking == "".join(f" th{i}" for i in range(30))
    assert other.thinking == "" and other.text == "".join(f" b{i}" for i in range(5))
    assert all(s[1 - thinker] == 0 for s in seen)


def test_comparison_table_counts_thinking_apart(make_record):
    done = dict(page="compare", status="done")
    a = make_record(**done, report=REPORT_A, ttft_s=4.0, thinking="hmm", thinking_tokens=300)
    a.ttft_thinking_s, a.thinking_s = 0.5, 3.5
    b = make_record(**done, report=REPORT_B, ttft_s=1.0)
    table = comparison_table([a, b])
    assert list(table.loc["Thinking tokens"]) == ["~300 (estimated)", None]
    assert list(table.loc["Thinking time (s)"]) == [3.5, None]
    assert better_side([a, b])["Time to first answer token (s)"] == 1


def test_the_same_model_twice_keeps_two_names_and_two_files_and_failures_say_so(env, downloads):
    """Both sides one model: the legend, the table and the files named them alike ("…review.md"
    twice); both failing read "Nothing the other model missed." under each."""
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    for side in (0, 1):
        at.selectbox(key=f"compare{side}_provider").set_value(Provider.OLLAMA).run()
    at.text_area(key="compare_text").input(CONTRACT).run()
    # The heading of the contract expander names the contract just pasted.
    assert any("Contract: Pasted contract" in e.label for e in at.expander)
    env.push(Script(tokens=[REPORT_A]), Script(tokens=[REPORT_B]))
    at.button(key="compare").click().run()
    assert not at.exception, at.exception
    columns = list(at.dataframe[0].value.columns)
    assert columns[0].startswith("Left: Ollama") and columns[1].startswith("Right: Ollama")
    names = [
        downloads.of(b).file_name
        for b in at.get("download_button")
        if b.proto.label == "Download Markdown"
    ]
    assert len(set(names)) == 2 and all(" review.md" in n for n in names)
    env.push(Script(status=500), Script(status=500))
    at.button(key="compare").click().run()
    captions = [c.value for c in at.caption]
    assert captions.count("Nothing to compare: this run wrote no report.") == 2
    assert not any("Nothing the other model missed" in c for c in captions)
    assert len(at.get("vega_lite_chart")) == 0


def test_a_topic_the_other_found_nothing_on_is_a_difference_and_unfinished_runs_are_not_ranked(
    make_record,
):
    model = make_record(page="compare", status="done", total_s=9.0,
                        report="### Confidentiality — RED\n### Liability — YELLOW\n")  # fmt: skip
    finder = make_record(page="compare", status="done", provider="clause_finder", model="rules",
                         total_s=0.1, report="### Confidentiality — NOT FOUND\n")  # fmt: skip
    (left, _right) = side_labels([model, finder])
    # The clause finder says NOT FOUND on every topic it has no clause for: still a difference.
    assert findings_diff([model, finder])[left] == {"Confidentiality": "RED", "Liability": "YELLOW"}
    assert better_side([model, finder])["Total time (s)"] == 1
    assert unfinished_note([model, finder]) is None

    stopped = make_record(page="compare", status="cancelled", total_s=0.5,
                          report="### Confidentiality — GREEN\n")  # fmt: skip
    # Stopped before it reached liability: that topic is no difference, and nobody "wins".
    assert findings_diff([model, stopped])[left] == {"Confidentiality": "RED"}
    assert set(better_side([model, stopped]).values()) == {None}
    note = unfinished_note([model, stopped])
    assert note is not None and "stopped" in note and "no side is marked better" in note


def test_a_cap_of_one_run_starts_neither_side_and_says_why(env, monkeypatch):
    """The left side streamed and was billed while the cap refused the right one."""
    monkeypatch.setenv("CRS_MAX_CONCURRENT_RUNS", "1")
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    at.selectbox(key="compare1_provider").set_value(Provider.OLLAMA).run()
    at.text_area(key="compare_text").input(CONTRACT).run()
    at.button(key="compare").click().run()
    assert not at.exception, at.exception
    assert env.streams() == []  # neither side reached its server
    records = at.session_state[STATE_KEY]
    assert len(records) == 2 and all(r.error_kind == "rate_limited" for r in records)
    shown = " ".join(e.value for e in at.error).replace("\\", "")  # markdown escapes
    assert "cannot compare" in shown and "CRS_MAX_CONCURRENT_RUNS" in shown
    # No comparison of two empty runs is drawn: the page says it did not run, and why, once.
    assert not at.dataframe and not at.get("vega_lite_chart")
    [warning] = [w.value.replace("\\", "") for w in at.warning]
    assert warning.startswith("The comparison did not run. A comparison runs 2 reviews at once")
    assert warning.count("CRS_MAX_CONCURRENT_RUNS") == 1


def test_each_sides_template_is_kept_while_the_analyst_is_on_another_page(env):
    app = str(Path(PAGE).resolve().parent.parent / "app.py")
    at = AppTest.from_file(app, default_timeout=60).run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="compare1_template").select("lease").run()
    at.switch_page("pages/history.py").run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="compare1_template").value == "lease"
    assert at.selectbox(key="compare0_template").value == "general"


def test_a_side_that_will_not_fit_its_model_is_not_offered_and_says_which(env):
    """The page said the Ollama side would not run, yet offered Compare: clicked, it recorded
    two refusals (Claude's as too long, though its own estimate said it fits) and drew an empty
    comparison. Review offers no button in the same case."""
    env.app.context_limit = 1024
    clauses = "\n".join(
        f"{i}. Term {i}. The parties agree to clause {i} in full." for i in range(900)
    )
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    at.selectbox(key="compare1_provider").set_value(Provider.OLLAMA).run()
    at.text_area(key="compare_text").input(clauses).run()
    assert not at.exception, at.exception
    [warning] = [w.value.replace("\\", "") for w in at.warning]  # under the Ollama side alone
    assert "Ollama" in warning and "will not run" in warning
    button = at.button(key="compare")
    assert button.disabled and "runs both sides or neither" in button.help
    assert env.streams() == [] and not at.session_state[STATE_KEY]


def test_a_comparison_refused_as_one_side_is_too_long_says_why_once(make_record):
    """The side not started for its partner repeats the too-long side's reason: said once."""
    from lib.runs.compare import not_run_note

    refused = dict(page="compare", status="error", report="")
    long = make_record(
        **refused,
        error_kind="context_too_long",
        error_message="Ollama · m does not fit. Too long. Neither side was started.",
    )
    partner = make_record(
        **refused,
        error_kind="partner_cannot_run",
        error_message="Neither side was started: Ollama · m does not fit.",
    )
    assert not_run_note([partner, long]) == (
        "The comparison did not run. Ollama · m does not fit. Too long. Neither side was started."
    )
    done = make_record(page="compare", status="done", report=REPORT_A, ttft_s=1.0)
    assert not_run_note([done, long]) is None
