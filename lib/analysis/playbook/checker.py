"""The built-in playbook checker: no model, nothing downloaded, well under a second per contract.

- NDA positions (checker "contractnli"): the models trained on ContractNLI rank every passage (a
  sentence or list item, the unit ContractNLI's evidence is made of) and decide meets / deviates /
  not addressed (`nda_model.py`), for the 17 positions as the bundled playbook words them; a
  position edited from that wording is a team's own (below).
- Commercial positions (checker "clause-rules"): the clause finder's findings in the position's
  category are the evidence, and a red-flag rule named in `deviates_if` decides a deviation;
  only confident findings (`Findings.confident`, the clause report's rule) make the wording
  found, borderline ones alone leave the position not addressed, quoted to check. A rule of
  absence ("No liability cap found") deviates with no passage to quote; a position naming rules
  but no category deviates when one fires and otherwise gets candidate evidence (below).
- Any other position (a team's own): candidate evidence only, ranked by BM25 on the position's
  words and boosted where the clause finder puts it in the position's category; the verdict is
  left to a model, and the reason says so plainly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from lib.analysis.clauses.finder import Finding, Findings, find_clauses
from lib.analysis.clauses.red_flags import RedFlag, red_flags
from lib.analysis.playbook.format import (
    CLAUSE_RULES,
    CONTRACTNLI,
    Evidence,
    Playbook,
    PlaybookResult,
    Position,
    PositionResult,
    Verdict,
)
from lib.analysis.playbook.loader import bundled_playbooks
from lib.analysis.playbook.nda_model import NdaModel, bundled_model
from lib.analysis.playbook.passages import Passage, page_of, split_passages
from lib.analysis.playbook.ranking import Bm25

CHECKER_NAME = "Built-in playbook checker (no model)"
# The provider and model a built-in check is recorded under (no model server is involved).
BUILTIN_PROVIDER = "playbook_checker"
BUILTIN_MODEL = "built-in"
NDA_PLAYBOOK = "nda"
MAX_EVIDENCE = 3
# A passage the NDA model scores below this is not shown as evidence.
EVIDENCE_MIN = 0.2
MODEL_NEEDED = "A model is needed for the verdict: these are the likeliest passages."
# The bundled NDA model learnt ContractNLI's 17 positions as written: a position of that id whose
# sentence was edited means something else, so it gets evidence only.
EDITED = (
    "This position was edited from the bundled NDA playbook's, which is the only wording the "
    "built-in checker can decide: a model is needed for the verdict."
)
# A clause-rules position with `deviates_if` but no category: its rules decide a deviation, and
# without a category's wording nothing tells meets from not addressed.
NO_RULE_FIRED = (
    "No rule for a deviation applies; without a category the checker cannot tell whether the "
    "contract meets the position: a model is needed for the verdict."
)
NOTHING_FOUND = "No passage matches this position's words: a model is needed for the verdict."


def _evidence(p: Passage, score: float) -> Evidence:
    return Evidence(p.start, p.end, p.text, round(score, 4), p.clause, p.page)


def _nda(
    position: Position,
    passages: list[Passage],
    scores: Sequence[float],
    probs: dict[Verdict, float],
) -> PositionResult:
    verdict = max(probs, key=probs.__getitem__)
    ranked = sorted(range(len(passages)), key=lambda i: -scores[i])
    chosen = [i for i in ranked[:MAX_EVIDENCE] if scores[i] >= EVIDENCE_MIN]
    if not chosen and verdict is not Verdict.NOT_ADDRESSED and ranked:
        chosen = ranked[:1]
    evidence = tuple(_evidence(passages[i], scores[i]) for i in chosen)
    confidence = f"{probs[verdict]:.0%} likely"
    if verdict is Verdict.NOT_ADDRESSED and evidence:
        # A passage scored as likely evidence is kept to check: the verdict may be wrong.
        reason = f"No passage decides this position ({confidence}); the closest is quoted to check."
    elif verdict is Verdict.NOT_ADDRESSED:
        reason = f"No passage addresses this position ({confidence})."
    elif verdict is Verdict.MEETS:
        reason = f"The quoted passage meets the position ({confidence})."
    else:
        reason = f"The quoted passage deviates from the position ({confidence})."
    return PositionResult(position.id, verdict, reason, evidence, probs)


def _from_finding(text: str, finding: Finding, page_starts: Sequence[int] | None) -> Evidence:
    return Evidence(
        finding.start,
        finding.end,
        text[finding.start : finding.end],
        round(float(finding.score), 4),
        finding.cited,
        page_of(finding.start, page_starts),
    )


def _deviation(
    position: Position, text: str, flags: Sequence[RedFlag], page_starts: Sequence[int] | None
) -> PositionResult | None:
    """A deviation when a rule the position names in `deviates_if` fired, quoting its finding;
    a rule of absence ("No liability cap found") fires with none, and deviates all the same."""
    flag = next((f for f in flags if f.rule in position.deviates_if), None)
    if flag is None:
        return None
    evidence = (_from_finding(text, flag.finding, page_starts),) if flag.finding else ()
    return PositionResult(
        position.id, Verdict.DEVIATES, f"{flag.rule}: {flag.explanation}", evidence
    )


def _rules(
    position: Position,
    text: str,
    findings: Findings,
    flags: Sequence[RedFlag],
    page_starts: Sequence[int] | None,
) -> PositionResult:
    if (deviation := _deviation(position, text, flags, page_starts)) is not None:
        return deviation
    found = findings.get(position.category)
    # The clause report's one rule: only a confident finding counts as the wording found; a
    # borderline one (right half the time or less) is quoted to check, never a reason to meet.
    sure = [f for f in found if findings.confident(f)]
    if sure:
        evidence = tuple(_from_finding(text, f, page_starts) for f in sure[:MAX_EVIDENCE])
        reason = f"{position.category} wording found and no rule for a deviation applies."
        return PositionResult(position.id, Verdict.MEETS, reason, evidence)
    if found:
        # Neither silence (which may meet the position) nor wording found: nothing decides it.
        evidence = tuple(_from_finding(text, f, page_starts) for f in found[:MAX_EVIDENCE])
        reason = (
            f"Only borderline {position.category} wording found, which decides nothing: the "
            "closest is quoted to check by hand."
        )
        return PositionResult(position.id, Verdict.NOT_ADDRESSED, reason, evidence)
    if position.when_absent is Verdict.MEETS:
        reason = (
            f"No {position.category} wording found, which meets this position; the clause "
            "finder can miss unusual wording, so check by hand before relying on it."
        )
    else:
        reason = f"No {position.category} wording found."
    return PositionResult(position.id, position.when_absent, reason)


def _candidates(
    position: Position, text: str, passages: list[Passage], bm25: Bm25, findings: Findings
) -> PositionResult:
    query = " ".join((position.title, position.position, position.meets, position.deviates))
    scores = bm25.scores(query)
    top = max(scores, default=0.0)
    normalised = [s / top if top else 0.0 for s in scores]
    # The clause finder's category counts as strong agreement: it reads the same passage.
    for f in findings.get(position.category) if position.category else []:
        for i, p in enumerate(passages):
            if p.start < f.end and f.start < p.end:
                normalised[i] = min(1.0, normalised[i] + 0.5)
    ranked = [
        i for i in sorted(range(len(passages)), key=lambda i: -normalised[i]) if normalised[i] > 0
    ]
    evidence = tuple(_evidence(passages[i], normalised[i]) for i in ranked[:MAX_EVIDENCE])
    return PositionResult(position.id, None, MODEL_NEEDED if evidence else NOTHING_FOUND, evidence)


def check_playbook(
    text: str,
    playbook: Playbook,
    page_starts: Sequence[int] | None = None,
    model: NdaModel | None = None,
) -> PlaybookResult:
    """Every position's result, in the playbook's order; never raises on odd text."""
    passages = split_passages(text or "", page_starts)
    # The clause finder runs only for a position that reads its findings: the NDA model decides
    # its positions from the passages alone, and the finder is most of a long NDA's check time.
    findings: Findings | None = None
    flags: list[RedFlag] = []
    # position id → passage scores and verdict probabilities, when the NDA model checks
    nda: dict[str, tuple[list[float], dict[Verdict, float]]] = {}
    if playbook.checker == CONTRACTNLI:
        nda = (model or bundled_model()).check([p.text for p in passages])
    bm25: Bm25 | None = None
    results = []
    for position in playbook.positions:
        if position.id in nda and _as_trained(position):
            results.append(_nda(position, passages, *nda[position.id]))
            continue
        if findings is None:
            findings = find_clauses(text or "")
            flags = red_flags(findings)
        rules = playbook.checker == CLAUSE_RULES
        if rules and position.category:
            results.append(_rules(position, text or "", findings, flags, page_starts))
            continue
        deviation = _deviation(position, text or "", flags, page_starts) if rules else None
        if deviation is not None:
            results.append(deviation)
            continue
        bm25 = bm25 or Bm25([p.text for p in passages])
        result = _candidates(position, text or "", passages, bm25, findings)
        if position.id in nda:
            result = replace(result, reason=EDITED)
        elif rules and position.deviates_if:
            result = replace(result, reason=NO_RULE_FIRED)
        results.append(result)
    return PlaybookResult(playbook, tuple(results), CHECKER_NAME)


def _as_trained(position: Position) -> bool:
    """Whether `position` says what the bundled NDA position of its id says (spacing aside)."""
    bundled = bundled_playbooks().get(NDA_PLAYBOOK)
    same = bundled.position(position.id) if bundled else None
    return same is not None and same.position.split() == position.position.split()
