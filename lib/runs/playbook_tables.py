"""The tables a playbook check is shown as: its verdicts (filling in while it runs), two checkers
side by side with the positions where they disagree, and an evidence passage in its context.

Free of Streamlit so the page, History and tests read the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from lib.analysis.clauses.segment import place_label
from lib.analysis.playbook.format import (
    CANDIDATE_LABEL,
    Evidence,
    Playbook,
    PositionResult,
    Verdict,
)
from lib.analysis.plural import counted

EVIDENCE_CHARS = 300
CONTEXT_CHARS = 240
VERDICT_LABEL = {
    Verdict.MEETS: "✅ meets",
    Verdict.DEVIATES: "❌ deviates",
    Verdict.NOT_ADDRESSED: "⚪ not addressed",
}
WAITING = "⏳ waiting"
WRITING = "✍️ writing…"
NEEDS_MODEL = "🔎 needs a model"
NO_ANSWER = "⚠️ no answer"
CHECK_LABEL = {"verified": "verified", "close": "close", "not_found": "not found"}
DIFFER = "⚠️ differ"
# A verdict resting only on quotes the contract does not hold (`PositionResult.unsupported`).
UNSUPPORTED = "❓ unsupported"


def verdict_word(result: PositionResult) -> str:
    """A position's verdict in a file's words: "meets", "deviates", "not addressed", or why
    there is none ("no answer": the model's section could not be read; "needs a model")."""
    if result.unsupported and result.verdict is not None:
        return f"unsupported {result.verdict.value}"
    if result.verdict is not None:
        return result.verdict.value
    return "no answer" if result.problem else "needs a model"


def verdict_label(result: PositionResult | None, writing: bool = False) -> str:
    """A verdict as the table shows it, or what the position is waiting for."""
    if result is None:
        return WRITING if writing else WAITING
    if result.unsupported and result.verdict is not None:
        return f"{UNSUPPORTED} ({result.verdict.value}, quotes not in the contract)"
    if result.verdict is not None:
        return VERDICT_LABEL[result.verdict]
    return NO_ANSWER if result.problem else NEEDS_MODEL


def where(evidence: Evidence) -> str:
    """ "§9, p. 2" — as far as the passage's place is known."""
    return place_label(evidence.clause, evidence.page)


def evidence_cell(result: PositionResult, evidence: Evidence) -> str:
    """A passage as the verdict table shows it, labelled when it is only a candidate."""
    text = evidence.text[:EVIDENCE_CHARS]
    return f"({CANDIDATE_LABEL}) {text}" if result.candidates_only else text


def verdict_table(
    playbook: Playbook,
    results: Mapping[str, PositionResult] | Sequence[PositionResult],
    writing: str | None = None,
) -> pd.DataFrame:
    """One row per position in the playbook's order; a position not decided yet says so."""
    by_id = results if isinstance(results, Mapping) else {r.position_id: r for r in results}
    rows = []
    for p in playbook.positions:
        r = by_id.get(p.id)
        first = r.evidence[0] if r is not None and r.evidence else None
        rows.append(
            {
                "Position": p.title,
                "Severity": p.severity.value,
                "Verdict": verdict_label(r, writing == p.id),
                "Reason": r.reason if r is not None else "",
                "Evidence": evidence_cell(r, first) if r is not None and first else "",
                "Where": where(first) if first else "",
                "Quote": CHECK_LABEL.get(first.check, "") if first else "",
            }
        )
    return pd.DataFrame(rows)


def _decided(result: PositionResult | None) -> Verdict | None:
    return result.verdict if result is not None else None


def _unsupported(result: PositionResult | None) -> bool:
    return result is not None and result.unsupported


def disagreements(
    playbook: Playbook, a: Sequence[PositionResult], b: Sequence[PositionResult]
) -> list[str]:
    """The positions the two checkers do not agree on, in the playbook's order: their verdicts
    differ (a verdict against none counts: one checker decided what the other could not), or
    either verdict is unsupported, whose quotes are not in the contract (two checkers "agreeing"
    on a clause neither could show is no agreement)."""
    first = {r.position_id: r for r in a}
    second = {r.position_id: r for r in b}
    return [
        p.id
        for p in playbook.positions
        if p.id in first
        and p.id in second
        and (
            _decided(first[p.id]) != _decided(second[p.id])
            or _unsupported(first[p.id])
            or _unsupported(second[p.id])
        )
    ]


def disagreement_line(
    playbook: Playbook, a: Sequence[PositionResult], b: Sequence[PositionResult]
) -> str:
    """What the highlighted rows are: opposite verdicts apart from positions only one checker
    decided ("disagree on 16 of 17" counted 13 positions a model had not answered) and from
    verdicts with no quote in the contract."""
    first = {r.position_id: r for r in a}
    second = {r.position_id: r for r in b}
    differ = disagreements(playbook, a, b)
    unsupported = sum(1 for i in differ if _unsupported(first[i]) or _unsupported(second[i]))
    one_sided = sum(
        1
        for i in differ
        if not (_unsupported(first[i]) or _unsupported(second[i]))
        and (first[i].verdict is None or second[i].verdict is None)
    )
    both = len(differ) - one_sided - unsupported
    line = f"They disagree on **{both}** of {counted(len(playbook.positions), 'position')}"
    if one_sided:
        line += f"; **{one_sided}** more {'was' if one_sided == 1 else 'were'} decided by one only"
    if unsupported:
        line += (
            f"; **{unsupported}** more {'rests' if unsupported == 1 else 'rest'} on quotes not in"
            " the contract"
        )
    return line + "."


def comparison_table(
    playbook: Playbook,
    a: Sequence[PositionResult],
    b: Sequence[PositionResult],
    labels: tuple[str, str],
) -> pd.DataFrame:
    """Position, severity, each checker's verdict, and whether they agree (`disagreements`)."""
    first = {r.position_id: r for r in a}
    second = {r.position_id: r for r in b}
    differ = set(disagreements(playbook, a, b))
    rows = [
        {
            "Position": p.title,
            "Severity": p.severity.value,
            labels[0]: verdict_label(first.get(p.id)),
            labels[1]: verdict_label(second.get(p.id)),
            "Agree": (
                UNSUPPORTED
                if _unsupported(first.get(p.id)) or _unsupported(second.get(p.id))
                else DIFFER
                if p.id in differ
                else "✓"
            ),
        }
        for p in playbook.positions
    ]
    return pd.DataFrame(rows)


def in_context(text: str, evidence: Evidence) -> tuple[str, str, str] | None:
    """The passage with the contract's text around it, or None for a quote not found."""
    if evidence.start < 0 or evidence.end > len(text) or evidence.end <= evidence.start:
        return None
    before = text[max(0, evidence.start - CONTEXT_CHARS) : evidence.start]
    after = text[evidence.end : evidence.end + CONTEXT_CHARS]
    return before, text[evidence.start : evidence.end], after
