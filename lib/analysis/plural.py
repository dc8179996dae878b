"""A count with its noun, as an analyst reads it: "1 contract", "3 contracts", never "1 runs"
or "3 run(s)". Every label that counts goes through `counted`."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`counted(1, "run")` → "1 run"; `counted(2, "run")` → "2 runs"; thousands separated."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
