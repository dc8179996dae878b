"""The records of a playbook and of its verdicts.

A position is one sentence a team holds to ("The receiving party may share confidential
information with its employees"). A verdict says whether a contract meets it, deviates from it or
does not address it — ContractNLI's Entailment, Contradiction and NotMentioned — with the contract's
own passages as evidence, most decisive first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    MEETS = "meets"
    DEVIATES = "deviates"
    NOT_ADDRESSED = "not addressed"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


# How the built-in checker decides a playbook's verdicts, as its `[playbook] checker` names it:
# the NDA model trained on ContractNLI, or the clause finder's categories and red-flag rules.
# A playbook without one gets evidence only, its verdicts left to a model.
CONTRACTNLI = "contractnli"
CLAUSE_RULES = "clause-rules"
CHECKERS = (CONTRACTNLI, CLAUSE_RULES)


# ContractNLI's names for the same three outcomes (its `choice` field).
CONTRACTNLI_CHOICE: dict[Verdict, str] = {
    Verdict.MEETS: "Entailment",
    Verdict.DEVIATES: "Contradiction",
    Verdict.NOT_ADDRESSED: "NotMentioned",
}
VERDICT_FOR_CHOICE: dict[str, Verdict] = {v: k for k, v in CONTRACTNLI_CHOICE.items()}


@dataclass(frozen=True)
class Position:
    id: str
    title: str
    position: str
    meets: str
    deviates: str
    severity: Severity
    preferred: str = ""
    fallback: str = ""
    # A clause-finder category whose findings are candidate evidence.
    category: str = ""
    # Red-flag rules (lib/analysis/clauses/red_flags.py) whose firing means a deviation.
    deviates_if: tuple[str, ...] = ()
    # When the contract says nothing: most positions are then not addressed, but a position that
    # forbids something ("no exclusivity") is met by silence.
    when_absent: Verdict = Verdict.NOT_ADDRESSED
    # Whether the fallback replaces the deviating text (a tracked deletion) or is added after it.
    replace: bool = False


@dataclass(frozen=True)
class Playbook:
    id: str
    name: str
    description: str
    positions: tuple[Position, ...]
    attribution: str = ""
    # How the built-in checker decides this playbook's verdicts (one of `CHECKERS`; "" = evidence
    # only, the verdicts left to a model).
    checker: str = ""

    def position(self, position_id: str) -> Position | None:
        return next((p for p in self.positions if p.id == position_id), None)


@dataclass(frozen=True)
class Evidence:
    """One passage of the contract: character offsets into the document text."""

    start: int
    end: int
    text: str
    score: float
    clause: str | None = None
    page: int | None = None
    # For a model's quote: the quote check ("verified", "close", "not_found"); "" for passages
    # the built-in checker took from the contract itself. A quote not found has start = end = -1.
    check: str = ""


# How a passage shown for a position found not addressed is labelled (`candidates_only`).
CANDIDATE_LABEL = "closest candidate, to check"


@dataclass(frozen=True)
class PositionResult:
    position_id: str
    # None: the checker could only gather evidence; a model is needed for the verdict.
    verdict: Verdict | None
    reason: str
    evidence: tuple[Evidence, ...] = ()
    # Per verdict, how likely the checker thinks it is (empty when it decided by rule).
    probabilities: dict[Verdict, float] = field(default_factory=dict)
    # Why no verdict could be read from a model's answer (its section missing, malformed or cut
    # off); empty when there is a verdict or the checker only gathered evidence.
    problem: str = ""

    @property
    def unsupported(self) -> bool:
        """A verdict whose every quote is missing from the contract: a model that says "meets"
        on an invented clause has shown nothing, so the verdict is counted apart, marked in
        every table and never agrees with another checker's (`verdict_counts`,
        `playbook_tables`)."""
        return (
            self.verdict is not None
            and bool(self.evidence)
            and all(e.check == "not_found" for e in self.evidence)
        )

    @property
    def candidates_only(self) -> bool:
        """Whether the passages are the closest candidates to check rather than what decided the
        verdict: a position found not addressed may still show the passages likeliest to address
        it, and every front end labels them so, as quoting them as evidence of a verdict that
        says nothing addresses the position contradicts it."""
        return self.verdict is Verdict.NOT_ADDRESSED and bool(self.evidence)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, for the run log; `result_from_dict` reads it back."""
        return {
            "position_id": self.position_id,
            "verdict": self.verdict.value if self.verdict else None,
            "reason": self.reason,
            "problem": self.problem,
            "evidence": [asdict(e) for e in self.evidence],
            "probabilities": {v.value: p for v, p in self.probabilities.items()},
        }


def position_to_dict(position: Position) -> dict[str, Any]:
    """Plain JSON values: kept with each verdict, so a check is shown with the positions it was
    made against, whatever the playbook of that id holds later."""
    data = asdict(position)
    data.update(
        severity=position.severity.value,
        when_absent=position.when_absent.value,
        deviates_if=list(position.deviates_if),
    )
    return data


def position_from_dict(data: Mapping[str, Any]) -> Position:
    """`position_to_dict` read back; raises KeyError, TypeError or ValueError on anything else."""
    fields = {k: data[k] for k in ("id", "title", "position", "meets", "deviates")}
    return Position(
        **{k: str(v) for k, v in fields.items()},
        severity=Severity(data["severity"]),
        preferred=str(data.get("preferred", "")),
        fallback=str(data.get("fallback", "")),
        category=str(data.get("category", "")),
        deviates_if=tuple(str(r) for r in data.get("deviates_if", ())),
        when_absent=Verdict(data.get("when_absent", Verdict.NOT_ADDRESSED.value)),
        replace=bool(data.get("replace", False)),
    )


def result_from_dict(data: Mapping[str, Any]) -> PositionResult:
    verdict = data.get("verdict")
    return PositionResult(
        str(data["position_id"]),
        Verdict(verdict) if verdict else None,
        str(data.get("reason", "")),
        tuple(Evidence(**e) for e in data.get("evidence", ())),
        {Verdict(v): float(p) for v, p in (data.get("probabilities") or {}).items()},
        str(data.get("problem", "")),
    )


@dataclass(frozen=True)
class PlaybookResult:
    playbook: Playbook
    results: tuple[PositionResult, ...]
    checker: str

    def summary(self) -> str:
        """E.g. "14 meet, 2 deviate, 1 not addressed — 2 high-severity deviations"."""
        return summary_line(self.playbook, self.results)


@dataclass(frozen=True)
class VerdictCounts:
    """How many positions got each verdict: the scorecard of one check."""

    meets: int = 0
    deviates: int = 0
    not_addressed: int = 0
    # Evidence only: the built-in checker leaves the verdict to a model.
    need_model: int = 0
    # A model's section missing, malformed or cut off.
    unanswered: int = 0
    high_severity_deviations: int = 0
    # A verdict resting only on quotes not found in the contract (`PositionResult.unsupported`):
    # not among the meets, deviations or positions not addressed.
    unsupported: int = 0

    def line(self) -> str:
        """E.g. "14 meet, 2 deviate, 1 not addressed — 2 high-severity deviations"."""
        parts = [
            f"{self.meets} meet",
            f"{self.deviates} deviate",
            f"{self.not_addressed} not addressed",
        ]
        if self.need_model:
            parts.append(f"{self.need_model} need a model")
        if self.unanswered:
            parts.append(f"{self.unanswered} without an answer")
        if self.unsupported:
            parts.append(f"{self.unsupported} unsupported (quotes not in the contract)")
        line = ", ".join(parts)
        high = self.high_severity_deviations
        plural = "deviation" if high == 1 else "deviations"
        return f"{line} — {high} high-severity {plural}"


def verdict_counts(playbook: Playbook, results: Sequence[PositionResult]) -> VerdictCounts:
    counts = {v: 0 for v in Verdict}
    need_model = unanswered = unsupported = high = 0
    for r in results:
        if r.unsupported:
            unsupported += 1
            continue
        if r.verdict is None:
            if r.problem:
                unanswered += 1
            else:
                need_model += 1
            continue
        counts[r.verdict] += 1
        position = playbook.position(r.position_id)
        if r.verdict is Verdict.DEVIATES and position and position.severity is Severity.HIGH:
            high += 1
    return VerdictCounts(
        counts[Verdict.MEETS],
        counts[Verdict.DEVIATES],
        counts[Verdict.NOT_ADDRESSED],
        need_model,
        unanswered,
        high,
        unsupported,
    )


def summary_line(playbook: Playbook, results: Sequence[PositionResult]) -> str:
    return verdict_counts(playbook, results).line()
