"""Write the review report from the rule-based findings, in the same skeleton a model is asked for.

The report streams section by section (a generator) so the app can show it the way it shows a
model's report, and so it can be scored and compared with one. Every quote is an exact substring
of the contract, or several with only a page break (its page number, its running header) left
out between them; a quote never spans a blank line, so it stays one Markdown paragraph.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from lib.analysis.clauses.categories import CUAD_CATEGORIES, EXTRA_CATEGORIES
from lib.analysis.clauses.finder import Finding, Findings, find_clauses
from lib.analysis.clauses.mapping import categories_for
from lib.analysis.clauses.red_flags import SEVERITY_ORDER, RedFlag, red_flags
from lib.analysis.clauses.segment import place_label
from lib.analysis.page_furniture import is_page_number
from lib.analysis.plural import counted
from lib.analysis.prompts import (
    DEFAULT_TEMPLATE_KEY,
    NOT_FOUND,
    NOT_FOUND_LABEL,
    TEMPLATES,
    side_of,
)

# No language model wrote this report, so it does not call itself AI-assisted as a model's does.
DISCLAIMER = "> Automated review, not legal advice: check every quote against the contract."
NO_MODEL = (
    "*Written by the clause finder: no language model was used. Curated phrases and a small "
    "model trained on expert-labelled contracts pick the clauses, so it can miss unusual wording "
    "and cannot judge commercial context. Each quote says how sure the finder is.*"
)
# A text in which the finder recognises no clause of any kind (a shopping list, a letter, the
# wrong file, a contract in German: the finder's phrases are English) still gets flags such as "no
# liability cap found", which read like findings about a contract. Every contract and NDA the
# finder was measured on has at least three kinds found.
NOT_A_CONTRACT = (
    "The clause finder recognised no clause of any kind in this text: it may not be a contract, "
    "not be in English (the clause finder reads English only), or not be the document meant. "
    "Check the document before reading the flags below."
)

RULES_ONLY = (
    "*Written by the rule-based clause finder alone (its trained model could not be loaded): no "
    "language model was used. It matches curated phrases, so it can miss unusual wording and "
    "cannot judge commercial context.*"
)
QUOTES_PER_CATEGORY = 2
# A topic the finder has only borderline quotes for: neither found nor clean, so it reads as the
# topics found nothing on do (NOT FOUND, checked by hand), without claiming the contract is silent.
BORDERLINE_LABEL = "unsure — only borderline matches, check by hand"
# A template topic no CUAD category covers (an NDA's permitted use, an MSA's acceptance): the
# finder has no rule for it, so it did not look, and never says it found nothing there.
NOT_LOOKED_FOR_LABEL = (
    "not looked for — the clause finder has no rule for this topic; check by hand"
)
# The header's mark on a borderline quote: it still shows where to look.
HEADER_BORDERLINE = "unsure (borderline match, check by hand)"
# A line holding only white space is blank, whatever spaces a PDF set on it (a non-breaking one).
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_LINE_BREAK = re.compile(r"[^\S\n]*\n[^\S\n]*")

MEANING: dict[str, str] = {
    "Cap On Liability": "Limits how much either side can recover, or excludes kinds of loss.",
    "Uncapped Liability": "Some liabilities sit outside the cap and are unlimited.",
    "Indemnity": "One side pays the other's losses from third-party claims.",
    "Ip Ownership Assignment": "Rights in work product move to one party.",
    "Joint Ip Ownership": "Both sides own some IP together; exploitation needs care.",
    "License Grant": "Sets what may be used, where and for how long.",
    "Irrevocable Or Perpetual License": "The licence cannot be taken back or never ends.",
    "Non-Transferable License": "The licence cannot be passed on.",
    "Expiration Date": "Fixes when the contract ends.",
    "Renewal Term": "Says whether and how the contract continues after its term.",
    "Notice Period To Terminate Renewal": "How far ahead notice must be given to stop a renewal.",
    "Termination For Convenience": "Lets a party end the contract without cause.",
    "Post-Termination Services": "Duties that continue after the contract ends.",
    "Governing Law": "Whose law decides disputes, and often where they are heard.",
    "Insurance": "Cover a party must carry; check amounts and who is insured.",
    "Anti-Assignment": "Controls whether the contract can be transferred.",
    "Change Of Control": "What happens if a party is taken over.",
    "Non-Compete": "Restricts a party from competing.",
    "Exclusivity": "Ties a party to the other for some goods, services or territory.",
    "No-Solicit Of Customers": "Stops poaching customers.",
    "No-Solicit Of Employees": "Stops poaching staff.",
    "Competitive Restriction Exception": "Carves exceptions out of a restriction.",
    "Most Favored Nation": "Better terms given elsewhere must be matched.",
    "Price Restrictions": "Limits on changing prices.",
    "Minimum Commitment": "A minimum that must be bought, sold or delivered.",
    "Volume Restriction": "A ceiling on quantities or use.",
    "Audit Rights": "One party may check the other's books or premises.",
    "Liquidated Damages": "A fixed sum is payable on a breach or early exit.",
    "Warranty Duration": "How long promises about quality last.",
    "Confidentiality": "What must be kept secret and for how long.",
    "Data Protection": "How personal data must be handled.",
    "Force Majeure": "Excuses performance for events beyond control.",
    "Payment Terms": "When and how money is due.",
    "Revenue/Profit Sharing": "Payments measured as a share of revenue or profit.",
}
SUGGESTION: dict[str, tuple[str, str, str]] = {
    # rule: (suggested change, priority, fallback position)
    "Uncapped liability": (
        "Bring the carve-outs under a (higher) cap",
        "must",
        "a separate super-cap for the carved-out items",
    ),
    "No liability cap found": (
        "Add a cap (e.g. fees paid in 12 months) and exclude indirect loss",
        "should",
        "exclude indirect and consequential loss at least",
    ),
    "Termination for convenience (both sides)": (
        "Lengthen notice and pay for work done",
        "nice to have",
        "a minimum term before it applies",
    ),
    "Termination for convenience by one side only": (
        "Make the right mutual",
        "must",
        "longer notice plus a termination fee",
    ),
    "Perpetual or irrevocable licence": (
        "Tie the licence to the term, revocable on breach",
        "must",
        "perpetual only for paid-up copies in use",
    ),
    "Auto-renewal with a long notice period": (
        "Shorten the non-renewal notice to 30–60 days",
        "should",
        "a reminder duty before the deadline",
    ),
    "Auto-renewal": (
        "Diary the notice date; ask for a reminder duty",
        "nice to have",
        "accept as drafted",
    ),
    "Worldwide or long non-compete": (
        "Narrow territory and cut duration to 12 months or less",
        "must",
        "limit to named competitors and products",
    ),
    "Non-compete": (
        "Confirm scope, territory and duration are narrow",
        "should",
        "limit to the term of the contract",
    ),
    "Exclusivity": (
        "Add performance targets and an exit if they are missed",
        "should",
        "limit exclusivity to a territory or product line",
    ),
    "Most-favoured-nation": (
        "Delete, or limit to comparable volumes and terms",
        "should",
        "limit to a fixed period and exclude discounts",
    ),
    "Liquidated damages": (
        "Check the sum is a genuine pre-estimate and cap it",
        "should",
        "make it the sole remedy for that breach",
    ),
    "Audit at any time or without notice": (
        "Require reasonable written notice, business hours and at most one audit a year",
        "should",
        "notice and business hours, with more audits only after a finding",
    ),
    "Assignment without consent": (
        "Require consent, not to be unreasonably withheld",
        "must",
        "allow only to affiliates or a buyer of the business",
    ),
    "No assignment restriction found": (
        "Add a consent requirement for assignment",
        "should",
        "notice of assignment at least",
    ),
    "One-sided indemnity": (
        "Make the indemnity mutual and cap it",
        "must",
        "limit it to third-party claims caused by the indemnifier",
    ),
    "No governing law found": (
        "Add a governing law and forum clause",
        "should",
        "agree on arbitration seat",
    ),
}


def _quote(text: str, finding: Finding, one_line: bool = False) -> str:
    """The finding's quote as exact contract text, cut at any blank line, in double quotes.

    A page break the quoted sentence runs across is left out with its page number and running
    header (`_across_breaks`). `one_line` sets each line break as one space (other spacing as the
    contract has it), for the header's one-line list: a PDF wraps a party's name ("R. C. Boyd\n
    Enterprises, LLC"), and a break there would split the header and leave the names after it
    without their label. The quote check reads any white space as one space, so the name is still
    verified."""
    quote = _across_breaks(text, finding).strip()
    if one_line:
        quote = _LINE_BREAK.sub(" ", quote)
    if not quote:
        return '"(empty)"'
    return f"“{quote}”" if '"' in quote and "“" not in quote and "”" not in quote else f'"{quote}"'


def _across_breaks(text: str, finding: Finding) -> str:
    """The quote up to its first blank line, read on past the page breaks its clause runs across.

    A break holding only blank lines and bare page-number lines becomes one space: the quote check
    reads past those lines, so the joined words are found as they stand. Any other break (a
    running header, a page number closing the line before it, which the check reads as words)
    becomes " … ", an elision the check accepts: the quote shows only the contract's words and
    still verifies."""
    breaks = finding.clause.breaks if finding.clause else ()
    pieces: list[str] = []
    position = finding.start
    for start, end in breaks:
        if not position <= start < end <= finding.end:
            continue
        if _BLANK_LINE.search(text, position, start):
            break
        rest_of_line, *lines = text[start:end].split("\n")
        seamless = not rest_of_line.strip() and all(map(is_page_number, lines))
        pieces += [text[position:start], " " if seamless else " … "]
        position = end
    pieces.append(_BLANK_LINE.split(text[position : finding.end], maxsplit=1)[0])
    return "".join(pieces)


def _reference(finding: Finding, page_starts: list[int] | None) -> str:
    page = max(1, bisect.bisect_right(sorted(page_starts), finding.start)) if page_starts else None
    cited = finding.cited
    where = place_label(cited, page)
    if not cited:
        where = ", ".join(part for part in ("unnumbered paragraph", where) if part)
    return where


def shown(findings: Findings, category: str) -> list[Finding]:
    """The category's quotes the report shows: the first QUOTES_PER_CATEGORY, leaving out a
    sentence inside a passage already shown (a "merge+split" plan quotes both for CUAD's rule;
    an analyst reads it once)."""
    out: list[Finding] = []
    for f in findings.get(category):
        if len(out) == QUOTES_PER_CATEGORY:
            break
        if not any(o.start <= f.start and f.end <= o.end for o in out):
            out.append(f)
    return out


_PRIORITY_ORDER = {"must": 0, "should": 1, "nice to have": 2}


def suggestion(flag: RedFlag) -> tuple[str, str, str]:
    """The flag's (suggested change, priority, fallback position), the same in its section and the
    negotiation plan."""
    return SUGGESTION.get(flag.rule, ("Review with counsel", "should", "accept with a note"))


def most_serious_first(flags: list[RedFlag]) -> list[RedFlag]:
    """Flags by severity, then by the priority of the change they ask for: the summary's "Most
    serious", the key findings and the plan all name a "must" before a "nice to have"."""
    return sorted(
        flags,
        key=lambda f: (-SEVERITY_ORDER[f.severity], _PRIORITY_ORDER[suggestion(f)[1]]),
    )


def _cited(text: str, f: Finding, pages: list[int] | None, one_line: bool = False) -> str:
    return f"{_reference(f, pages)}: {_quote(text, f, one_line)} ({confidence(f)})"


def confidence(f: Finding) -> str:
    """How sure the finder is of one finding, in words an analyst can weigh."""
    rule = "rule match" if f.rule_match else "no rule match"
    if f.probability is None:
        return rule
    return f"{rule}; model {f.probability:.2f}"


def _risk(flags: list[RedFlag]) -> str:
    red = sum(f.severity == "RED" for f in flags)
    yellow = sum(f.severity == "YELLOW" for f in flags)
    if red >= 3:
        return "CRITICAL"
    if red:
        return "HIGH"
    return "MEDIUM" if yellow > 2 else "LOW"


def _header(
    name: str, text: str, findings: Findings, pages: list[int] | None, perspective: str
) -> str:
    """The header states as fact only what the report calls found (`Findings.sure`); a category
    with borderline findings alone reads "unsure" before its best quote, as its topic does, where
    the header gave the opening paragraph as the contract's term at model 0.02 unmarked."""

    def unfound(category: str) -> str:
        found = findings.get(category)
        if not found:
            return "not found"
        return f"{HEADER_BORDERLINE} — {_cited(text, found[0], pages, True)}"

    named = findings.sure("Parties")
    parties = named[1:7] or named[:1]
    listed = ", ".join(_quote(text, f, True) for f in parties) if parties else unfound("Parties")
    parts = [f"Parties: {listed}"]
    title = next(iter(findings.sure("Document Name")), None)
    parts.append(
        f"Contract type: {_quote(text, title, True) if title else unfound('Document Name')}"
    )
    side = side_of(perspective)
    # Rules read a clause the same for either side: the header says so rather than imply a
    # review written for the analyst's side.
    parts.append(
        "Reviewing for: neutral (no side chosen)"
        if side == side_of(None)
        else f"Reviewing for: {side} (the clause finder reads each clause the same for either side)"
    )
    for label, category in (
        ("Dated", "Agreement Date"),
        ("Governing law", "Governing Law"),
        ("Term", "Expiration Date"),
        ("Renewal", "Renewal Term"),
        ("Notice", "Notice Period To Terminate Renewal"),
    ):
        best = next(iter(findings.sure(category)), None)
        parts.append(f"{label}: {_cited(text, best, pages, True) if best else unfound(category)}")
    note = NO_MODEL if findings.model_used else RULES_ONLY
    return f"# Contract review: {name}\n" + " · ".join(parts) + "\n\n" + note + "\n\n"


def confident_shown(findings: Findings, category: str) -> list[Finding]:
    """The category's shown quotes the finder is confident of: only these read "Found: yes" and
    make a topic found (GREEN unless flagged); the rest are borderline, quoted to check by hand."""
    return [f for f in shown(findings, category) if findings.confident(f)]


def _section(
    title: str, text: str, findings: Findings, flags: list[RedFlag], pages: list[int] | None
) -> str:
    cats = categories_for(title)
    mine = [f for f in flags if f.category in cats]
    found = [c for c in cats if confident_shown(findings, c)]
    borderline = [(c, f) for c in cats for f in shown(findings, c) if not findings.confident(f)]
    severity = max((f.severity for f in mine), key=SEVERITY_ORDER.__getitem__, default="GREEN")
    if not found and severity == "GREEN":
        severity = NOT_FOUND  # nothing found for sure is not a clean bill of health
    lines = [f"### {title} — {severity}"]
    if not cats:
        lines.append(f"- Found: {NOT_LOOKED_FOR_LABEL}")
    elif not found:
        lines.append(f"- Found: {BORDERLINE_LABEL if borderline else 'no — ' + NOT_FOUND_LABEL}")
    for category in found:
        for f in confident_shown(findings, category):
            lines.append(f"- Found: yes — {category}, {_cited(text, f, pages)}")
    for category, f in borderline:
        lines.append(f"- Borderline — {category}, {_cited(text, f, pages)}")
    meanings = [MEANING[c] for c in found if c in MEANING]
    meaning = " ".join(meanings) if meanings else "Nothing on this found by the clause finder."
    if not cats:
        meaning = "The clause finder cannot judge this topic: read the contract, or run a model."
    elif not meanings and borderline:
        meaning = "Nothing on this found for sure by the clause finder."
    lines.append(f"- What it means for our side: {meaning}")
    for flag in mine:
        if flag.severity == "GREEN":
            continue
        change, priority, fallback = suggestion(flag)
        lines.append(
            f"- {flag.severity}: {flag.rule}. {flag.explanation} Suggested change: {change}; "
            f"priority: {priority}; fallback position: {fallback}."
        )
    return "\n".join(lines) + "\n\n"


def write_report(
    document_name: str,
    text: str,
    template_key: str = DEFAULT_TEMPLATE_KEY,
    page_starts: list[int] | None = None,
    *,
    perspective: str = "",
) -> Iterator[str]:
    """The review report in the product's skeleton, one section per yielded string."""
    name = " ".join(str(document_name or "contract").split()) or "contract"
    text = text if isinstance(text, str) else ""
    pages = [p for p in (page_starts or []) if isinstance(p, int) and p >= 0] or None
    template = TEMPLATES.get(template_key) or TEMPLATES[DEFAULT_TEMPLATE_KEY]
    findings = find_clauses(text)
    flags = most_serious_first(red_flags(findings))
    yield _header(name, text, findings, pages, perspective)

    risk = _risk(flags)
    covered = {c for title in template.categories for c in categories_for(title)}
    found_sections = sum(
        any(confident_shown(findings, c) for c in categories_for(t)) for t in template.categories
    )
    unjudged = sum(not categories_for(t) for t in template.categories)
    no_rule = f" ({counted(unjudged, 'topic')} it has no rule for)" if unjudged else ""
    worst = [f for f in flags if f.severity == "RED"][:2] or flags[:1]
    summary = (
        f"Rule-based review (no language model was used) against the {template.title} template: "
        f"{found_sections} of {len(template.categories)} review topics have matching clauses"
        f"{no_rule}; "
        f"{sum(f.severity == 'RED' for f in flags)} red and "
        f"{sum(f.severity == 'YELLOW' for f in flags)} yellow flags."
    )
    if worst:
        summary += " Most serious: " + "; ".join(f.rule.lower() for f in worst) + "."
    if not text.strip():
        summary += " The document has no text to review."
    elif not findings.by_category:
        summary += f" {NOT_A_CONTRACT}"
    yield f"## Overall risk: {risk}\n{summary}\n\n"

    bullets = []
    for flag in flags[:5]:
        ref = _reference(flag.finding, pages) if flag.finding else "not found in the contract"
        bullets.append(f"- {flag.severity} — {flag.rule}: {flag.explanation} ({ref})")
    if not bullets:
        bullets.append("- GREEN — No red-flag rule fired on the clauses found.")
    yield "## Key findings\n" + "\n".join(bullets) + "\n\n"

    yield "## Clause by clause\n"
    for title in template.categories:
        yield _section(title, text, findings, flags, pages)

    check = [
        f"- {f.category}, {_cited(text, f, pages)}"
        for category in (*CUAD_CATEGORIES, *EXTRA_CATEGORIES)
        for f in shown(findings, category)
        if not findings.confident(f)
    ]
    if findings.check_band is not None:
        low, high = findings.check_band
        intro = (
            f"Findings with a model score below {high:.2f}: on contracts it was not trained on, "
            f"findings scored {low:.2f}–{high:.2f} were right 50–80% of the time, lower scores "
            "less often."
        )
        yield "## Check these\n" + intro + "\n" + ("\n".join(check) or "- None.") + "\n\n"

    missing = []
    for title in template.categories:
        cats = categories_for(title)
        if not any(confident_shown(findings, c) for c in cats):
            label = (
                NOT_LOOKED_FOR_LABEL
                if not cats
                else BORDERLINE_LABEL
                if any(findings.get(c) for c in cats)
                else NOT_FOUND_LABEL
            )
            missing.append(f"- {title}: {label}")
    unusual = [
        f"- Unusual for this template — {category}, {_cited(text, f, pages)}"
        for category in CUAD_CATEGORIES
        if category not in covered
        and category not in ("Document Name", "Parties", "Agreement Date", "Effective Date")
        for f in findings.sure(category)[:1]
    ]
    body = "\n".join(missing + unusual) or "- None."
    yield "## Missing or unusual clauses\n" + body + "\n\n"

    steps: list[str] = []
    for flag in flags:
        if flag.severity == "GREEN":
            continue
        change, priority, _ = suggestion(flag)
        steps.append(f"{len(steps) + 1}. ({priority}) {flag.rule}: {change}.")
    steps.append(
        f"{len(steps) + 1}. Check every quote above against the contract before relying "
        "on it; ask counsel about anything marked RED."
    )
    yield "## Negotiation plan and next steps\n" + "\n".join(steps) + "\n\n"
    yield DISCLAIMER + "\n"
