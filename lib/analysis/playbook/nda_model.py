"""The built-in NDA checker's model: per position, which passages decide it, and the verdict.

Two small linear models trained on ContractNLI's dev split (`train.py`):
- evidence, one logistic regression per position over a passage's words and word pairs: how
  likely this passage is evidence for the position;
- verdict, one multinomial logistic regression shared by every position: meets / deviates / not
  addressed from how strong the best evidence is and what its words say. Word features appear both
  shared and per position, so a cue such as "shall not" learnt on one position helps the others,
  which matters because deviations are rare (95 of 1,037 labels).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.linear import (
    Features,
    binary_score,
    softmax_scores,
    text_features,
)
from lib.analysis.playbook.passages import Passage

CLASSES: tuple[Verdict, ...] = (Verdict.MEETS, Verdict.DEVIATES, Verdict.NOT_ADDRESSED)
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
TOP_PASSAGES = 2
WEIGHTS_FILE = Path(__file__).parent / "weights" / "nda.json"
FORMAT = 1


@dataclass(frozen=True)
class NdaModel:
    evidence: dict[str, dict[str, float]]
    verdict: dict[str, list[float]]

    def passage_scores(self, position_id: str, feats: Sequence[Features]) -> list[float]:
        weights = self.evidence.get(position_id)
        if weights is None:
            return [0.0] * len(feats)
        return [binary_score(weights, f) for f in feats]

    def verdict_probabilities(
        self, position_id: str, feats: Sequence[Features], scores: Sequence[float]
    ) -> dict[Verdict, float]:
        probs = softmax_scores(self.verdict, verdict_features(position_id, feats, scores), 3)
        return dict(zip(CLASSES, probs, strict=True))

    def to_json(self, about: dict[str, Any]) -> str:
        return json.dumps(
            {"format": FORMAT, "about": about, "evidence": self.evidence, "verdict": self.verdict},
            separators=(",", ":"),
            sort_keys=True,
        )


def verdict_features(
    position_id: str, feats: Sequence[Features], scores: Sequence[float]
) -> Features:
    """What the verdict model sees: the best evidence's strength and its words."""
    out: Features = {f"{position_id}|bias": 1.0, "bias": 1.0}
    top = sorted(range(len(scores)), key=lambda i: -scores[i])[:TOP_PASSAGES]
    best = scores[top[0]] if top else 0.0
    for t in THRESHOLDS:
        if best >= t:
            out[f"{position_id}|max>={t}"] = 1.0
    for i in top:
        for k, v in feats[i].items():
            out[k] = out.get(k, 0.0) + v * scores[i]
            key = f"{position_id}|{k}"
            out[key] = out.get(key, 0.0) + v * scores[i]
    return out


# Words that decide these positions, written from ContractNLI's hypotheses and drafting usage.
# Each cue is one feature every position's model may weigh: with 61 NDAs to learn from, a cue
# shared by many phrasings ("return or destroy", "shall promptly return") is learnt from all.
CUES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "marked": r"\b(?:mark|marked|legend|designat\w*|identified|labell?ed|stamped)\b",
        "oral": r"\b(?:oral\w*|verbal\w*|visual\w*|spoken)\b",
        "writing": r"\bin writing\b|\bwritten\b|\btangible\b",
        "technical": r"\btechnical\b|\bknow-how\b|\bspecifications?\b|\bsource code\b",
        "business": r"\b(?:business|financial|commercial|marketing|customer\w*|pricing)\b",
        "purpose": r"\bpurposes?\b|\bsolely\b|\bexclusively\b|\bother than\b",
        "employees": r"\bemployees?\b|\bstaff\b|\bofficers?\b|\bdirectors?\b",
        "need_to_know": r"\bneed to know\b|\bneed-to-know\b",
        "advisers": r"\b(?:advis[eo]rs?|consultants?|agents?|attorneys?|counsel|accountants?|"
        r"contractors?|representatives?|affiliates?)\b",
        "compelled": r"\b(?:required|compelled|requested) by (?:law|court|any|applicable)|"
        r"\bsubpoena|\bcourt order|\bjudicial|\bgovernmental|\bregulat\w*",
        "notify": r"\b(?:notify|notice|notification|inform)\b",
        "existence": r"\bexistence\b|\bterms of this agreement\b|\bdiscussions?\b|"
        r"\bnegotiations?\b|\bfact that\b",
        "reverse": r"\breverse[- ]engineer\w*|\bdecompil\w*|\bdisassembl\w*|\banaly[sz]e\b",
        "independent": r"\bindependent\w*\b.{0,40}\bdevelop\w*|\bdevelop\w*\b.{0,40}\bindependent",
        "third_party": r"\bthird part(?:y|ies)\b",
        "rightfully": r"\brightfully\b|\blawfully\b|\bwithout (?:a |any )?(?:duty|obligation|"
        r"restriction)",
        "license": r"\blicen[cs]\w*|\bno rights?\b|\bright,? title\b|\bgrant\w*",
        "return": r"\breturn\w*\b|\bdestr\w*|\bdeliver back\b|\berase\b|\bdelete\b",
        "copies": r"\bcop(?:y|ies|ying)\b|\breproduc\w*|\bduplicat\w*",
        "solicit": r"\bsolicit\w*|\bhire\b|\bemploy\b|\brecruit\w*|\bentice\w*",
        "survive": r"\bsurviv\w*|\bafter (?:the )?(?:termination|expiration)|"
        r"\bfollowing (?:the )?(?:termination|expiration)|\bcontinue\w* (?:in effect|to apply)",
        "retain": r"\bretain\w*|\barchiv\w*|\bback-?ups?\b|\bone copy\b|\bkeep\b",
        "termination": r"\bterminat\w*|\bexpir\w*",
        "negation": r"\b(?:shall not|will not|may not|not be|no obligation|nothing|neither|nor|"
        r"without)\b",
        "permission": r"\b(?:may|is permitted|are permitted|is entitled|right to)\b",
        "definition": r"\bmeans\b|\bshall include\b|\bincludes?\b|\bdefined\b",
        "exclusion": r"\bshall not (?:include|apply)|\bdoes not include|\bexclud\w*|"
        r"\bnot (?:be )?(?:deemed|considered)",
    }.items()
}
CONTEXT_WEIGHT = 0.5
_LEAD_BACK = 8


def _cues(text: str) -> Features:
    return {f"cue:{name}": 1.0 for name, pattern in CUES.items() if pattern.search(text)}


def passage_features(passages: Sequence[Passage]) -> list[Features]:
    """Per passage: its words, its cues, its clause heading and the lead-in it belongs to.

    The context matters for list items: "(c) is independently developed" decides nda-12 only
    under "Confidential Information shall not include:" a few lines above.
    """
    own = [text_features(p.text) for p in passages]
    out = []
    for i, p in enumerate(passages):
        feats = dict(own[i])
        feats.update(_cues(p.text))
        if p.heading:
            for k, v in text_features(p.heading, "head:").items():
                feats[k] = v * CONTEXT_WEIGHT
        lead = next(
            (
                passages[j]
                for j in range(i - 1, max(-1, i - 1 - _LEAD_BACK), -1)
                if passages[j].text.rstrip().endswith(":")
            ),
            None,
        )
        if lead is not None:
            for k, v in text_features(lead.text, "lead:").items():
                feats[k] = v * CONTEXT_WEIGHT
            for k in _cues(lead.text):
                feats["lead:" + k] = CONTEXT_WEIGHT
        if i:
            for k, v in own[i - 1].items():
                feats["prev:" + k] = v * CONTEXT_WEIGHT
        out.append(feats)
    return out


def model_from_json(data: dict[str, Any]) -> NdaModel:
    if data.get("format") != FORMAT:
        raise ValueError("unknown weights format")
    evidence = {
        str(h): {str(k): float(v) for k, v in w.items()} for h, w in data["evidence"].items()
    }
    verdict = {str(k): [float(x) for x in v] for k, v in data["verdict"].items()}
    if any(len(v) != len(CLASSES) for v in verdict.values()):
        raise ValueError("verdict weights must have one value per class")
    return NdaModel(evidence, verdict)


@cache
def bundled_model() -> NdaModel:
    """The weights that ship with the app (plain JSON arrays, nothing downloaded)."""
    return model_from_json(json.loads(WEIGHTS_FILE.read_text(encoding="utf-8")))
