"""`POST /api/report` with a playbook, over real HTTP on loopback (the fake model server for a
model): a `verdict` event per position as it is decided, done or error as for reviews, the run in
/api/runs with its verdicts, a stop that keeps the verdicts reached, and a bad playbook refused."""

from __future__ import annotations

import httpx

from devtools.fake_upstream import Script
from devtools.long_contract import long_contract
from lib.analysis.playbook.loader import MAX_BYTES, bundled_playbooks
from lib.api.report_request import playbook_refusal
from tests.api.conftest import Stream, read_events
from tests.playbook_fixtures import (
    CONTRACT,
    MINI_PLAYBOOK,
    SECTION_AUDIT,
    SECTION_CAP,
    SECTION_LAW,
    lines,
)

PLAYBOOK = MINI_PLAYBOOK
MODEL = {"provider": "ollama", "model": "llama3.2"}


def verdicts(stream: Stream) -> list[dict]:
    return [e.data for e in stream.events if e.data["type"] == "verdict"]


def test_the_built_in_checker_streams_a_verdict_per_position_and_the_run_is_listed(
    start_api, upstream
):
    api = start_api()
    body = {"contract": CONTRACT, "playbook": "commercial"}
    with httpx.stream("POST", f"{api.url}/api/report", json=body, timeout=20) as response:
        assert response.status_code == 200
        stream = read_events(response, Stream())
    types = stream.types()
    book = bundled_playbooks()["commercial"]
    assert types[0] == "start" and types[-1] == "done"
    assert types[1:-1] == ["verdict"] * len(book.positions)
    start, done = stream.events[0].data, stream.events[-1].data
    assert start["playbook"] == "commercial" and start["positions"] == len(book.positions)
    assert start["provider"] == "playbook_checker"
    got = verdicts(stream)
    assert [v["position_id"] for v in got] == [p.id for p in book.positions]
    assert [v["index"] for v in got] == list(range(len(book.positions)))
    assert all(v["severity"] in ("low", "medium", "high") for v in got)
    assert done["status"] == "done" and done["summary"].endswith("deviations")
    assert sum(done["counts"][k] for k in ("meets", "deviates", "not_addressed")) == len(got)
    assert upstream.streams() == [], "the built-in checker asks no model"

    run_id = start["run_id"]
    listed = httpx.get(f"{api.url}/api/runs", timeout=5).json()
    row = next(r for r in listed if r["run_id"] == run_id)
    assert row["kind"] == "playbook" and row["playbook_id"] == "commercial"
    assert row["playbook_summary"] == done["summary"]
    detail = httpx.get(f"{api.url}/api/runs/{run_id}", timeout=5).json()
    assert [v["position_id"] for v in detail["verdicts"]] == [p.id for p in book.positions]


def test_a_model_checks_a_playbook_sent_as_toml_verdicts_before_the_answer_ends(
    start_api, upstream
):
    api = start_api()
    # The model stalls after its first section: the first verdict must arrive while it has not
    # finished, and a stop keeps it, the others saying why they have none.
    stall_after = len(lines(SECTION_CAP)) + 2
    upstream.push(
        Script(
            tokens=lines(SECTION_CAP + SECTION_LAW + SECTION_AUDIT),
            fault="stall",
            fault_after=stall_after,
        )
    )
    body = {"contract": CONTRACT, "playbook_toml": PLAYBOOK, **MODEL}
    with httpx.stream("POST", f"{api.url}/api/report", json=body, timeout=20) as response:
        assert response.status_code == 200
        lines_in = response.iter_lines()
        stream = read_events(lines_in, Stream(), stop=lambda s: s.types()[-1] == "verdict")
        first = verdicts(stream)[0]
        assert first["position_id"] == "cap" and first["verdict"] == "deviates"
        assert first["evidence"][0]["check"] == "verified"
        assert first["title"] == "Liability cap" and first["severity"] == "high"
        run_id = stream.events[0].data["run_id"]
        assert httpx.delete(f"{api.url}/api/runs/{run_id}", timeout=5).status_code == 200
        read_events(lines_in, stream)
    got = verdicts(stream)
    assert [v["position_id"] for v in got] == ["cap", "law", "audit"]
    assert [v["verdict"] for v in got] == ["deviates", None, None]
    assert all(v["problem"] for v in got[1:])
    done = stream.events[-1].data
    assert done["type"] == "done" and done["status"] == "cancelled"
    assert done["counts"]["deviates"] == 1 and done["counts"]["unanswered"] == 2


def test_a_model_that_answers_in_full_gives_every_verdict_then_done(start_api, upstream):
    api = start_api()
    upstream.push(Script(tokens=lines(SECTION_CAP + SECTION_LAW + SECTION_AUDIT)))
    body = {"contract": CONTRACT, "playbook_toml": PLAYBOOK, **MODEL}
    with httpx.stream("POST", f"{api.url}/api/report", json=body, timeout=20) as response:
        stream = read_events(response, Stream())
    assert [v["verdict"] for v in verdicts(stream)] == ["deviates", "meets", "not addressed"]
    done = stream.events[-1].data
    assert done["status"] == "done" and done["provider"] == "ollama"
    assert done["summary"] == "1 meet, 1 deviate, 1 not addressed — 1 high-severity deviation"


def test_a_bad_playbook_is_refused_before_anything_runs(start_api, upstream):
    api = start_api()
    url = f"{api.url}/api/report"
    bad = PLAYBOOK.replace('id = "law"', 'id = "cap"').replace('severity = "low"', 'severity = "x"')
    answer = httpx.post(url, json={"contract": CONTRACT, "playbook_toml": bad}, timeout=5)
    assert answer.status_code == 400
    problems = answer.json()["problems"]
    assert any("duplicate id" in p for p in problems) and any("severity" in p for p in problems)
    # The error says what was sent and what is wrong with it, in one line.
    assert answer.json()["error"] == (
        "The playbook sent as playbook_toml cannot be used: " + "; ".join(problems)
    )
    answer = httpx.post(url, json={"contract": CONTRACT, "playbook": "nosuch"}, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"] == (
        "The playbook 'nosuch' cannot be used: no bundled or saved playbook has this id;"
        " the known ids are commercial, nda"
    )
    both = {"contract": CONTRACT, "playbook": "nda", "playbook_toml": PLAYBOOK}
    assert httpx.post(url, json=both, timeout=5).status_code == 400
    finder = {"contract": CONTRACT, "playbook": "nda", "provider": "clause_finder"}
    answer = httpx.post(url, json=finder, timeout=5)
    assert answer.status_code == 400 and "no verdicts" in answer.json()["error"]
    huge = {"contract": CONTRACT, "playbook_toml": "#" * (MAX_BYTES + 1)}
    assert httpx.post(url, json=huge, timeout=5).status_code == 422
    assert httpx.get(f"{api.url}/api/runs", timeout=5).json() == []
    assert upstream.streams() == []


def test_a_check_its_model_cannot_hold_is_a_400_saying_so_and_records_nothing(
    start_api, upstream, tmp_path
):
    """It streamed `start`, a "No verdict: the run ended before the model reached this position"
    per position and `error` context_too_long, and wrote a run-log row, where a review of the
    same contract got 400 and no row."""
    from lib.store.run_log import RunLog

    upstream.app.context_limit = 1024
    api = start_api()
    body = {"contract": long_contract(20_000).text, "playbook": "commercial", **MODEL}
    response = httpx.post(f"{api.url}/api/report", json=body, timeout=60)
    assert response.status_code == 400, response.text
    refusal = response.json()
    assert refusal["kind"] == "context_too_long"
    assert refusal["error"].startswith("Ollama · llama3.2: does not fit the model's context")
    assert RunLog(tmp_path / "history.sqlite3").count() == 0
    assert upstream.streams() == []


def test_a_refusal_names_three_problems_and_counts_the_rest():
    problems = [f"position {i}: missing field 'meets'" for i in range(1, 6)]
    assert playbook_refusal("The playbook sent as playbook_toml", problems) == (
        "The playbook sent as playbook_toml cannot be used: position 1: missing field 'meets'; "
        "position 2: missing field 'meets'; position 3: missing field 'meets' "
        "(and 2 more problems, listed in problems)"
    )


def test_the_openapi_schema_describes_the_playbook_fields(start_api):
    api = start_api()
    schema = httpx.get(f"{api.url}/api/openapi.json", timeout=5).json()
    fields = schema["components"]["schemas"]["ReportRequest"]["properties"]
    assert "playbook" in fields and "playbook_toml" in fields
    limits = [a.get("maxLength") for a in fields["playbook_toml"]["anyOf"]]
    assert MAX_BYTES in limits
    assert "verdict" in schema["paths"]["/api/report"]["post"]["description"]
