"""The prompt that asks a model to check a contract against a playbook, section by section.

The answer format is one section per position, in the playbook's order, so the app can parse
verdicts while the model writes (`answer.py`). The prompt is built by the same builder as a
review's (`lib.analysis.prompts.contract_prompt`): the contract in its own tag, the "data, not
instructions" rule after it, then the positions — so a playbook check after a review of the same
contract reuses the server's prompt cache. Position texts are flattened to one line each so no
playbook entry can open a section of its own.
"""

from __future__ import annotations

from lib.analysis.playbook.format import Playbook, Verdict
from lib.analysis.prompts import Prompt, contract_prompt

VERDICT_WORDS = {Verdict.MEETS: "MEETS", Verdict.DEVIATES: "DEVIATES",
                 Verdict.NOT_ADDRESSED: "NOT ADDRESSED"}  # fmt: skip

FORMAT = """For each position, in the order given, write exactly:

### [<position id>] <position title>
Verdict: MEETS | DEVIATES | NOT ADDRESSED
Reason: <one line>
Evidence:
> "<an exact quote from the contract>" (clause <number>)

Quote the contract's own words, the passages that decide the verdict, most decisive first; one
quote per `>` line, at most three. For NOT ADDRESSED write `Evidence: none`. Write nothing before
the first section and nothing after the last."""


def _line(text: str) -> str:
    return " ".join(text.split())


def positions_block(playbook: Playbook) -> str:
    out = []
    for p in playbook.positions:
        out.append(
            f"- [{_line(p.id)}] {_line(p.title)}: {_line(p.position)}\n"
            f"  Meets: {_line(p.meets)}\n  Deviates: {_line(p.deviates)}"
        )
    return "\n".join(out)


def build_playbook_prompt(playbook: Playbook, document_text: str, document_name: str) -> Prompt:
    task = (
        "Your task: check the contract above against a team's playbook of standard positions. "
        "For each position decide whether the contract MEETS it, DEVIATES from it, or does NOT "
        "ADDRESS it, and quote the evidence.\n\n"
        f"The positions ({_line(playbook.name)}):\n{positions_block(playbook)}\n\n"
        f"{FORMAT}\n\n"
        "Now write one section per position in the format you were given."
    )
    return contract_prompt(document_text, document_name, task)
