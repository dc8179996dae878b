"""The server's own lag, timed inside the server for the many-sessions benchmark (`bench.sessions`).

A browser's figure mixes the server's delay with the browser's rendering, and on a benchmark
machine many browsers share the server's cores. So, only when the operator names a file in
`CRS_BENCH_LAG_FILE`, each batch of report text is timed at three points on one clock
(`time.monotonic`, shared by every process on the machine): when its first token came off the
model stream on the worker, when it was taken to be shown, and when it was handed over. Where the
page has a live feed (`lib.ui.live_feed`, the app as served), a batch is one write of the feed:
taken by the event loop, handed over when its write to the browser's connection returned.
Without one (Streamlit's `AppTest`), a batch is what the script thread drained for one render,
handed over when the placeholder write that shows it returned (handed to Streamlit): arrival to
drain is then the wait for the next render under the render budget, drain to handed the page's
own work (sanitising, quote checks, building the message).

The samples of one live view are written at its end, in one append: nothing is timed or written
when the setting is off (no `LagLog` exists then).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

# Live views of every session append to the same file.
_WRITE = threading.Lock()


@dataclass(frozen=True)
class LagSample:
    """One batch: seconds on the monotonic clock."""

    arrived: float
    drained: float
    handed: float

    @property
    def lag(self) -> float:
        return self.handed - self.arrived

    def line(self) -> str:
        return f"{self.arrived:.6f} {self.drained:.6f} {self.handed:.6f}\n"

    @classmethod
    def parse(cls, line: str) -> LagSample:
        arrived, drained, handed = (float(part) for part in line.split())
        return cls(arrived, drained, handed)


@dataclass
class LagLog:
    """The samples of one run's live view, until it writes them to `path`."""

    path: Path
    samples: list[LagSample] = field(default_factory=list)
    _drained: tuple[float, float] | None = None

    def drained(self, arrived: float, at: float) -> None:
        """A batch left the run's queue; its sample is complete once it is `handed`."""
        self._drained = (arrived, at)

    def handed(self, at: float) -> None:
        if self._drained is not None:
            self.samples.append(LagSample(*self._drained, at))
            self._drained = None

    def write(self) -> None:
        """Append the samples so far (one write per live view) and forget them."""
        if not self.samples:
            return
        text = "".join(sample.line() for sample in self.samples)
        self.samples.clear()
        with _WRITE, self.path.open("a", encoding="utf-8") as handle:
            handle.write(text)


def read_samples(path: Path) -> list[LagSample]:
    """Every sample in a lag file (none when it was never written)."""
    if not path.exists():
        return []
    return [LagSample.parse(line) for line in path.read_text().splitlines() if line.strip()]
