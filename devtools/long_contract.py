"""A generated franchise agreement of any length, for long-contract tests and benchmarks.

Real long contracts cannot be shipped, so this writes one with their shape: numbered articles and
sections, the clauses a review looks for (liability cap, indemnity, termination, governing law,
confidentiality, …) scattered among many pages of operational boilerplate, and page breaks every
`PAGE_CHARS` characters. Deterministic for a given length and seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

PAGE_CHARS = 2_600

KEY_CLAUSES: dict[str, str] = {
    "Limitation of Liability": (
        "In no event shall either party's aggregate liability arising out of or related to this "
        "Agreement exceed the total Franchise Fees paid by Franchisee in the twelve (12) months "
        "preceding the claim. Nothing in this Agreement limits liability for fraud, death or "
        "personal injury caused by negligence."
    ),
    "Indemnification": (
        "Franchisee shall indemnify, defend and hold harmless Franchisor and its affiliates from "
        "and against any and all claims, losses, damages and expenses arising out of the operation "
        "of the Franchised Business."
    ),
    "Term and Renewal": (
        "This Agreement shall commence on the Effective Date and continue for a term of ten (10) "
        "years. This Agreement shall automatically renew for successive five (5) year terms unless "
        "either party gives written notice of non-renewal at least one hundred eighty (180) days "
        "before the end of the then-current term."
    ),
    "Termination": (
        "Franchisor may terminate this Agreement for convenience upon ninety (90) days' written "
        "notice. Upon termination Franchisee shall cease to use the Marks and shall return all "
        "copies of the Manual."
    ),
    "Governing Law": (
        "This Agreement shall be governed by and construed in accordance with the laws of the "
        "State of Delaware, without regard to its conflict of laws principles."
    ),
    "Confidentiality": (
        "Franchisee shall hold in strict confidence all Confidential Information disclosed by "
        "Franchisor and shall not disclose it to any third party without Franchisor's prior "
        "written consent."
    ),
    "Assignment": (
        "Franchisee shall not assign or transfer this Agreement or any interest in it without the "
        "prior written consent of Franchisor. Any change of control of Franchisee shall be deemed "
        "an assignment."
    ),
    "Non-Competition": (
        "During the term and for two (2) years thereafter, Franchisee shall not own, operate or "
        "have any interest in any competing business within twenty-five (25) miles of any "
        "franchised location."
    ),
    "Insurance": (
        "Franchisee shall maintain commercial general liability insurance with limits of not less "
        "than $2,000,000 per occurrence, naming Franchisor as an additional insured."
    ),
    "Audit Rights": (
        "Franchisor may audit the books and records of Franchisee at any time during normal "
        "business hours upon five (5) days' notice."
    ),
    "Fees and Payment": (
        "Franchisee shall pay a royalty of six percent (6%) of Gross Sales, payable weekly. Late "
        "payments bear interest at one and one-half percent (1.5%) per month."
    ),
    "Force Majeure": (
        "Neither party shall be liable for any failure or delay in performance caused by events "
        "beyond its reasonable control, including acts of God, war, strikes or epidemic."
    ),
}

_FILLER = (
    "Franchisee shall operate the Franchised Business in accordance with the Manual as amended "
    "from time to time.",
    "All signage, fixtures and equipment shall conform to the specifications then in effect.",
    "Franchisee shall keep the premises clean, orderly and in good repair at all times.",
    "Franchisee shall submit monthly reports of Gross Sales in the form Franchisor prescribes.",
    "Training shall be provided at a location designated by Franchisor at Franchisee's expense.",
    "Franchisee shall employ a general manager who has completed the initial training program.",
    "Advertising materials shall be submitted to Franchisor for approval before first use.",
    "Franchisee shall purchase approved products only from approved suppliers.",
    "Menu items, recipes and preparation methods shall follow the standards in the Manual.",
    "Franchisee shall participate in customer satisfaction surveys as Franchisor reasonably "
    "requests.",
)


@dataclass(frozen=True)
class LongContract:
    text: str
    page_starts: list[int]


def long_contract(chars: int = 300_000, seed: int = 7) -> LongContract:
    """About `chars` characters: a preamble, then articles of sections, the key clauses spread
    evenly through the document."""
    rng = random.Random(seed)
    out = [
        'FRANCHISE AGREEMENT\n\nThis Franchise Agreement (the "Agreement") is entered into as of '
        'January 15, 2024 (the "Effective Date") by and between Northwind Foods, Inc., a Delaware '
        'corporation ("Franchisor"), and Harbour Street Eats LLC, a Maine limited liability '
        'company ("Franchisee").\n\n'
    ]
    size = len(out[0])
    key = list(KEY_CLAUSES.items())
    article = 0
    placed = 0
    while size < chars:
        article += 1
        title = f"ARTICLE {article}\nOPERATING STANDARDS {article}\n\n"
        out.append(title)
        size += len(title)
        for section in range(1, 9):
            due = placed < len(key) and size >= (placed + 0.5) * chars / len(key)
            if due:
                heading, body = key[placed]
                placed += 1
            else:
                heading = f"Operations {article}.{section}"
                body = " ".join(rng.choice(_FILLER) for _ in range(rng.randint(4, 8)))
            block = f"{article}.{section} {heading}. {body}\n\n"
            out.append(block)
            size += len(block)
            if size >= chars:
                break
    text = "".join(out)[:chars]
    return LongContract(text, list(range(0, len(text), PAGE_CHARS)))
