"""The hub's streams when their own pump fails: the client is told and the run is let go."""

from __future__ import annotations

import asyncio
import json

from lib.api.hub import STREAM_FAILED, ApiRun, RunHub


def test_a_pump_that_fails_ends_its_stream_with_an_error_and_the_run(make_record):
    """Before, the pump's task died unseen: the client read keep-alives for ever and the run kept
    its place among the app's runs (text no event could carry did it)."""

    async def scenario() -> ApiRun:
        hub = RunHub(resume_grace_s=0.01, stats_interval_s=1.0)
        run = ApiRun(make_record(), live=None, resume=False)

        async def pump() -> None:
            run.add({"type": "token", "text": "so far"})
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

        await hub._guarded(run, pump())
        return run

    run = asyncio.run(scenario())
    assert run.ended
    last = json.loads(run.events[-1].decode().split("data: ", 1)[1])
    assert last == {"type": "error", "message": STREAM_FAILED, "kind": "bad_response"}
