"""A fake model server for tests and benchmarks; see `server.py`."""

from devtools.fake_upstream.server import FakeUpstream, RequestRecord, Script

__all__ = ["FakeUpstream", "RequestRecord", "Script"]
