"""Which CUAD categories a review heading covers, so reports by any template can be scored.

Review templates name their sections in an analyst's words ("Term and termination (incl. for
convenience, post-termination duties)"); a language model may reword them again. Matching on
keywords rather than exact titles lets one table serve the templates, the rule-based report and
whatever headings a model writes.
"""

from __future__ import annotations

import re

from lib.analysis.clauses.categories import CUAD_CATEGORIES, EXTRA_CATEGORIES

_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"limitation of liability|liability cap|\bcap\b",
     ("Cap On Liability", "Uncapped Liability")),
    # "No uncapped liability" is not "no cap": a cap found does not contradict it.
    (r"uncapped|unlimited liability", ("Uncapped Liability",)),
    (r"indemn", ("Indemnity",)),
    (r"ip ownership|intellectual property|inventions|ip assignment",
     ("Ip Ownership Assignment", "Joint Ip Ownership")),
    (r"licen[cs]e grant|licen[cs]e", (
        "License Grant", "Non-Transferable License", "Affiliate License-Licensor",
        "Affiliate License-Licensee", "Unlimited/All-You-Can-Eat-License",
        "Irrevocable Or Perpetual License", "Source Code Escrow")),
    (r"data protection|security|personal data|privacy", ("Data Protection",)),
    (r"confidential", ("Confidentiality",)),
    (r"warrant", ("Warranty Duration",)),
    (r"\bterm\b|renewal|expir", (
        "Expiration Date", "Renewal Term", "Notice Period To Terminate Renewal")),
    (r"terminat|break option|notice period|severance", (
        "Termination For Convenience", "Post-Termination Services")),
    (r"governing law|disputes|jurisdiction", ("Governing Law",)),
    (r"insurance", ("Insurance",)),
    (r"assign|subletting|subcontract", ("Anti-Assignment",)),
    (r"change of control|change in control", ("Change Of Control",)),
    (r"force majeure", ("Force Majeure",)),
    (r"payment|fees|invoic|rent|compensation", ("Payment Terms", "Revenue/Profit Sharing")),
    (r"non-?compet|competition|restrictive covenant", ("Non-Compete", "Exclusivity",
                                                       "Competitive Restriction Exception")),
    (r"exclusiv", ("Exclusivity",)),
    (r"non-?solicit", ("No-Solicit Of Customers", "No-Solicit Of Employees")),
    (r"most[- ]favou?red|mfn", ("Most Favored Nation",)),
    (r"price restriction|price", ("Price Restrictions",)),
    (r"minimum commitment|minimum", ("Minimum Commitment", "Volume Restriction")),
    (r"audit", ("Audit Rights",)),
    (r"liquidated", ("Liquidated Damages",)),
    (r"post-termination|transition assistance", ("Post-Termination Services",)),
    (r"\bparties\b|party", ("Parties",)),
    (r"governing law", ("Governing Law",)),
    (r"third[- ]party beneficiar", ("Third Party Beneficiary",)),
    (r"non-?disparage", ("Non-Disparagement",)),
    (r"first refusal|first offer|first negotiation|rofr|rofo|rofn", ("Rofr/Rofo/Rofn",)),
    (r"covenant not to sue", ("Covenant Not To Sue",)),
    (r"escrow", ("Source Code Escrow",)),
    (r"agreement date|date of (?:the )?agreement", ("Agreement Date",)),
    (r"effective date", ("Effective Date",)),
    (r"revenue|profit sharing|royalt", ("Revenue/Profit Sharing",)),
)  # fmt: skip
_COMPILED = tuple((re.compile(p, re.IGNORECASE), cats) for p, cats in _RULES)
_BY_NAME = {c.lower(): c for c in (*CUAD_CATEGORIES, *EXTRA_CATEGORIES)}


def categories_for(heading: str) -> tuple[str, ...]:
    """CUAD (or extra) categories a heading covers, in table order, no repeats."""
    name = heading.strip(" *_`#").lower()
    if name in _BY_NAME:
        return (_BY_NAME[name],)
    out: list[str] = []
    for pattern, cats in _COMPILED:
        if pattern.search(name):
            out.extend(c for c in cats if c not in out)
    return tuple(out)
