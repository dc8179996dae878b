"""Counts and durations as an analyst reads them: "1 contract", "3 contracts", never "1 runs"
or "3 run(s)"; "1 min 15 s", "about 3 min". Every label that counts goes through `counted`, every
time left or expected through `duration`."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`counted(1, "run")` → "1 run"; `counted(2, "run")` → "2 runs"; thousands separated."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def duration(seconds: float, *, rough: bool = False) -> str:
    """`duration(75)` → "1 min 15 s", `duration(3700)` → "1 h 01 min"; `rough` rounds as one
    says a likely time: "40 s", "3 min", "1 h 20 min" (an estimate's seconds are not known)."""
    if rough and seconds >= 90:
        minutes = round(seconds / 60)
        if minutes < 90:
            return f"{minutes} min"
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes:02d} min"
    whole = max(1, round(seconds))
    if whole < 60 or rough:
        return f"{whole} s"
    minutes, whole = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {whole:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
