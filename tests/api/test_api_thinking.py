"""`POST /api/report` with a reasoning model: `thinking` events before the tokens, the thinking's
figures in `done`, the thinking kept with the run and out of its report."""

from __future__ import annotations

import httpx

from devtools.fake_upstream import Script
from lib.store.run_log import RunLog
from tests.api.conftest import Stream, read_events
from tests.api.test_api import BODY, wait_for_status

THOUGHTS = [f" thought{i:03d}" for i in range(30)]
ANSWER = [f" t{i:03d}" for i in range(20)]


def test_thinking_events_come_before_the_tokens_and_done_counts_them(start_api, upstream, tmp_path):
    api = start_api()
    upstream.push(Script(tokens=ANSWER, thinking=THOUGHTS, delay=0.01))
    body = {**BODY, "thinking": True}
    with httpx.stream("POST", f"{api.url}/api/report", json=body, timeout=10) as response:
        stream = read_events(response, Stream())
    types = stream.types()
    assert "thinking" in types and "token" in types
    assert types.index("thinking") < types.index("token")
    last_thinking = len(types) - 1 - types[::-1].index("thinking")
    assert last_thinking < types.index("token"), "no thinking after the answer began"
    thinking = "".join(e.data["text"] for e in stream.events if e.data["type"] == "thinking")
    assert thinking == "".join(THOUGHTS)
    assert stream.text() == "".join(ANSWER)
    done = stream.events[-1].data
    assert done["type"] == "done" and done["status"] == "done"
    assert done["thinking_tokens"] > 0 and done["thinking_reported"] is False
    assert done["ttft_thinking_s"] <= done["ttft_s"]
    assert done["thinking_s"] is not None
    assert upstream.streams()[-1].body["think"] is True
    record = wait_for_status(tmp_path / "history.sqlite3", done["run_id"], "done")
    assert record.thinking == "".join(THOUGHTS)
    assert "thought" not in record.report
    assert RunLog(tmp_path / "history.sqlite3").get(done["run_id"]).thinking == thinking
    detail = httpx.get(f"{api.url}/api/runs/{done['run_id']}", timeout=10).json()
    assert detail["thinking"] == thinking and "thought" not in detail["report"]


def test_a_budget_claude_would_refuse_is_a_400(start_api, upstream):
    api = start_api(ANTHROPIC_API_KEY="sk-ant-test-0123456789", ANTHROPIC_BASE_URL=upstream.url)
    body = {
        **BODY,
        "provider": "anthropic",
        "model": "claude-sonnet-5-5",
        "thinking": True,
        "thinking_budget": 512,
    }
    response = httpx.post(f"{api.url}/api/report", json=body, timeout=10)
    assert response.status_code == 400
    assert "1,024" in response.json()["error"]
    assert not upstream.streams()
