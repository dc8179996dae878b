from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.fake_upstream import FakeUpstream


@pytest.fixture
def fake_upstream() -> Iterator[FakeUpstream]:
    """A fresh fake model server on a free loopback port for one test."""
    with FakeUpstream() as upstream:
        yield upstream
