"""A three-position playbook, a contract that meets, breaks and ignores it, and a model's answer
in the playbook format, section by section: shared by the run's and the API's playbook tests."""

from __future__ import annotations

MINI_PLAYBOOK = """
[playbook]
id = "mini"
name = "Mini playbook"

[[positions]]
id = "cap"
title = "Liability cap"
position = "Liability is capped."
meets = "A cap applies."
deviates = "Liability is unlimited."
severity = "high"

[[positions]]
id = "law"
title = "Governing law"
position = "English law governs."
meets = "English law is chosen."
deviates = "Another law is chosen."
severity = "medium"

[[positions]]
id = "audit"
title = "Audit"
position = "We may audit."
meets = "An audit right exists."
deviates = "Audits are excluded."
severity = "low"
"""
CONTRACT = (
    "9. Liability. The Supplier's liability for data breaches shall be unlimited.\n\n"
    "12. Governing law. This Agreement is governed by the laws of England.\n"
)
SECTION_CAP = (
    "### [cap] Liability cap\nVerdict: DEVIATES\nReason: Data breaches are uncapped.\n"
    'Evidence:\n> "The Supplier\'s liability for data breaches shall be unlimited" (clause 9)\n\n'
)
SECTION_LAW = (
    "### [law] Governing law\nVerdict: MEETS\nReason: English law.\nEvidence:\n"
    '> "governed by the laws of England" (clause 12)\n\n'
)
SECTION_AUDIT = "### [audit] Audit\nVerdict: NOT ADDRESSED\nReason: Silent.\nEvidence: none\n"


def lines(text: str) -> list[str]:
    """The answer as the model streams it: a token per line."""
    return [line + "\n" for line in text.split("\n")]
