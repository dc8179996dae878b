"""Red flags an analyst can check: each is one explicit rule over the findings, with its reason.

Rules rather than scores, so that every flag in a report can be traced to a quoted clause and a
sentence saying why it matters. Severities: RED needs negotiating, YELLOW needs a look, GREEN is
usual market practice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lib.analysis.clauses.finder import Finding, Findings
from lib.analysis.clauses.segment import split_sentences

SEVERITY_ORDER = {"GREEN": 0, "YELLOW": 1, "RED": 2}
# Every rule's name, as a flag carries it and a playbook's `deviates_if` names it (the playbook
# loader refuses any other name: a misspelt rule would never fire and a deviation would pass).
RULES = (
    "Uncapped liability",
    "Perpetual or irrevocable licence",
    "Exclusivity",
    "Most-favoured-nation",
    "Liquidated damages",
    "Audit at any time or without notice",
    "Assignment without consent",
    "No governing law found",
    "No liability cap found",
    "Termination for convenience (both sides)",
    "Termination for convenience by one side only",
    "Auto-renewal with a long notice period",
    "Auto-renewal",
    "Worldwide or long non-compete",
    "Non-compete",
    "No assignment restriction found",
    "One-sided indemnity",
)
# An audit whenever the auditor likes: "at any time", "as often as" (unless the clause asks for
# notice), "without notice", "unannounced".
_ANY_TIME = re.compile(r"\bat any time\b|\bas often as\b", re.IGNORECASE)
_UNANNOUNCED = re.compile(r"\bwithout (?:prior |advance )?notice\b|\bunannounced\b", re.I)
# "Any such inspection or audit shall be upon reasonable notice", "on ten (10) days' prior
# written notice", "after giving advance notice": an audit "at any time" that must be announced.
_NOTICE_FIRST = re.compile(
    r"\b(?:upon|on|with|after|following|giving|providing)\s+(?:[\w()'’-]+\s+){0,7}?notice\b",
    re.IGNORECASE,
)
# The clause's sentences that speak of the audit itself, where its notice would be set.
_AUDIT_WORDS = re.compile(r"\baudit|\binspect|\bexamin|\bbooks\b|\brecords\b", re.IGNORECASE)


@dataclass(frozen=True)
class RedFlag:
    category: str
    severity: str
    rule: str
    explanation: str
    finding: Finding | None


_MUTUAL = re.compile(
    r"\b(?:either party|each party|any party|the parties|both parties|neither party|mutual\w*|"
    r"each of the parties|either of the parties)\b|\b\w+ or \w+ may terminate\b",
    re.IGNORECASE,
)
# A party's name as a clause gives it, up to four capitalised words ("Oaktree US", "the
# Sub-Advisor").
_PARTY_NAME = r"(?:the\s+)?(?-i:[A-Z][\w'’-]*)(?:[ \t]+(?-i:[A-Z][\w'’-]*)){0,3}"
# A right given to both parties by name: "by either Oaktree US or the Sub-Advisor", "Each of the
# Recipient and the Provider may". Termination only: in an indemnity "indemnify each of Nantz
# Communications and Nantz" names the ones indemnified.
_BOTH_NAMED = re.compile(
    rf"\beither\s+{_PARTY_NAME}\s+or\s+{_PARTY_NAME}|"
    rf"\b(?:each\s+of|both)\s+{_PARTY_NAME}\s+and\s+{_PARTY_NAME}",
    re.IGNORECASE,
)
_AUTOMATIC = re.compile(r"\bautomatic\w*|\bwithout notification\b", re.IGNORECASE)
_DAYS = re.compile(
    r"\b(\d{1,3}|thirty|sixty|ninety|one hundred (?:and )?(?:eighty|twenty))\b\s*(?:\(\d+\)\s*)?"
    r"(days?|months?)",
    re.IGNORECASE,
)
_WORDS = {"thirty": 30, "sixty": 60, "ninety": 90, "one hundred twenty": 120,
          "one hundred and twenty": 120, "one hundred eighty": 180,
          "one hundred and eighty": 180}  # fmt: skip
_YEARS = re.compile(r"\b(\d{1,2}|two|three|four|five|ten)\b\s*(?:\(\d+\)\s*)?years?", re.I)
_WORLDWIDE = re.compile(r"\bworld-?wide\b|\banywhere in the world\b|\bglobal\w*\b", re.I)
_ASSIGN_FREELY = re.compile(
    r"\bmay\b(?P<lead>.{0,60})\bassign\b.{0,120}\bwithout\b.{0,40}\b(?:consent|approval)\b|"
    r"\bright to assign\b.{0,120}\b(?:notice|without)\b",
    re.IGNORECASE | re.DOTALL,
)
# "Neither party may assign … without consent", "may not assign", "no right to assign": a bar on
# assignment, worded like a freedom. The words before the verb in the same sentence decide.
_NEGATED = re.compile(r"\b(?:neither|nor|not|no|never|none|cannot)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.;:!?]\s")
# A recital says what a party wants or has ("WHEREAS, Sponsor desires to acquire the exclusive
# right to be the lead sponsor"); only the clauses bind, and one may deny what it wanted ("Cano …
# does not and will not have exclusive rights").
_RECITAL = re.compile(r"\s*WHEREAS\b", re.IGNORECASE)
# "Cano ... does not and will not have exclusive rights", "nothing grants an exclusive right":
# a clause about exclusivity that denies it ties nobody.
_DENIES_EXCLUSIVITY = re.compile(
    r"\b(?:not|no|nor|never|nothing|without)\b(?:\W+\w+){0,5}?\W+(?:an\W+)?exclusiv", re.I
)


# Who gives an indemnity: the name just before "shall / will / must / agrees to … indemnify" (or
# "defend", "hold … harmless", "indemnifies"): "Trust agrees to indemnify", "FCC will defend,
# indemnify", "LICENSOR indemnifies". A name just before "and hold" without a modal verb is the
# indemnified one ("indemnify Licensor and hold it harmless"), so a verb on its own does not count.
_WORD = r"[A-Z][\w&'’-]*(?:\.\w+)*"
_INDEMNIFIER = re.compile(
    rf"(?P<who>{_WORD}(?:[ \t]+{_WORD}){{0,3}})\s+(?i:"
    r"(?:(?:shall|will|must|(?:hereby\s+)?(?:agrees?|undertakes?|covenants?)\s+to|hereby)"
    r"(?:\s+(?:also|further|hereby|promptly|to|and|defend,?|at\s+its\s+(?:own\s+)?"
    r"(?:cost|expense),?))*\s+(?:indemnify|defend|hold|save|protect))"
    r"|(?:hereby\s+)?(?:indemnifies|defends|holds|saves)\b)"
)
# Names that are not a party giving the indemnity: a pronoun, or the procedure's own roles
# ("the Indemnifying Party shall notify").
_NOT_INDEMNIFIER = re.compile(
    r"^(?:it|he|she|they|we|you|this|that|which|nothing|such|each|either|any)$|indemnif",
    re.IGNORECASE,
)
# "indemnify one another", "each other": an indemnity given both ways in one sentence.
_RECIPROCAL = re.compile(r"\b(?:one another|each other)\b", re.IGNORECASE)
# A sentence elsewhere in the contract giving an indemnity both ways ("Each party hereto agrees
# to indemnify the other party"): stricter than a quote's mutual wording, since a procedure's
# "each party will promptly notify the other" in the same clause gives no indemnity.
_BOTH_INDEMNIFY = re.compile(
    r"\b(?:each|either|both)\s+(?:party|parties|of\s+the\s+parties)(?:\s+hereto)?\s+"
    r"(?:shall|will|must|(?:hereby\s+)?(?:agrees?|undertakes?)\s+to)\W+(?:\w+\W+){0,4}?"
    r"indemnif|\bindemnif\w*\W+(?:\w+\W+){0,4}?(?:one another|each other)\b",
    re.IGNORECASE,
)


# One named party given a right to end the contract: "This Agreement may be terminated by
# ArTara", "the Company may, at its option, terminate".
_TERMINATOR = re.compile(
    rf"\bterminat\w*\s+(?:\w+\s+){{0,3}}?by\s+(?:the\s+)?(?P<by>{_WORD})|"
    rf"(?P<who>{_WORD})\s+(?:may|can|shall\s+have\s+the\s+right\s+to|has\s+the\s+right\s+to)"
    r"\b(?:\W+\w+){0,6}?\W+terminate\b"
)
# Words a clause puts where a party's name goes that name no party, or both.
_NOT_TERMINATOR = re.compile(
    r"^(?:this|that|it|such|either|each|any|both|neither|party|parties|agreement|contract|"
    r"notice|section|article)$",
    re.IGNORECASE,
)


def _mutual_termination(text: str) -> bool:
    """Whether `text` gives a right to terminate to both sides in one breath."""
    return bool(_MUTUAL.search(text) or _BOTH_NAMED.search(text))


def _terminators(text: str) -> set[str]:
    """The parties `text` gives a right to terminate alone, as lower-case names: only from its
    sentences not worded mutually, so "either Oaktree US or the Sub-Advisor may terminate" names
    none, while "This Agreement may be terminated by ArTara" names ArTara even beside a heading
    "Termination by Either Party"."""
    names = set()
    for sentence in split_sentences(text):
        if _mutual_termination(sentence.text):
            continue
        for match in _TERMINATOR.finditer(sentence.text):
            who = match.group("by") or match.group("who")
            if not _NOT_TERMINATOR.match(who):
                names.add(who.lower())
    return names


def _indemnifiers(text: str) -> set[str]:
    """The parties `text` has giving an indemnity, as lower-case names without "the"."""
    names = set()
    for match in _INDEMNIFIER.finditer(text):
        who = re.sub(r"^the\s+", "", match.group("who"), flags=re.IGNORECASE).lower()
        if who and not _NOT_INDEMNIFIER.search(who):
            names.add(who)
    return names


def _mutual_indemnity(findings: Findings, quoted: list[Finding]) -> bool:
    """Whether both sides indemnify: any quote worded mutually ("each party", "one another"),
    indemnities given by two different parties, or a sentence giving one both ways. Each side's
    undertaking is often its own sentence ("Administrator agrees to indemnify the Trust …",
    "Trust agrees to indemnify the Administrator …"), so every finding is read, and when they
    name one indemnifier only, every sentence of the contract that speaks of indemnifying (the
    other side's may score lower)."""
    if any(_MUTUAL.search(f.read) or _RECIPROCAL.search(f.read) for f in quoted):
        return True
    names = set().union(*(_indemnifiers(f.read) for f in quoted))
    if len(names) > 1:
        return True
    for clause in findings.clauses:
        if not re.search(r"indemnif", clause.text, re.IGNORECASE):
            continue
        for sentence in clause.sentences():
            if re.search(r"indemnif", sentence.text, re.IGNORECASE):
                names |= _indemnifiers(sentence.text)
                if len(names) > 1 or _BOTH_INDEMNIFY.search(sentence.text):
                    return True
    return False


def _assigns_freely(text: str) -> bool:
    """Whether a party may assign without the other's consent (and is not barred from it)."""
    for match in _ASSIGN_FREELY.finditer(text):
        before = text[max(0, match.start() - 80) : match.start()]
        ends = list(_SENTENCE_END.finditer(before))
        head = before[ends[-1].end() :] if ends else before
        if not _NEGATED.search(head + " " + (match.group("lead") or "")):
            return True
    return False


def _open_audit(finding: Finding) -> bool:
    """Whether the audit may come unannounced: the quote says so ("without notice"), or says "at
    any time" while no sentence of its clause about the audit asks for notice ("Any such
    inspection or audit shall be upon reasonable notice" a sentence after the quote's "right at
    any time")."""
    if _UNANNOUNCED.search(finding.read):
        return True
    if not _ANY_TIME.search(finding.read):
        return False
    sentences = finding.clause.sentences() if finding.clause else split_sentences(finding.read)
    about_audit = [s.text for s in sentences if _AUDIT_WORDS.search(s.text)]
    return not any(_NOTICE_FIRST.search(s) for s in [finding.read, *about_audit])


def _notice_days(text: str) -> int | None:
    longest = None
    for number, unit in _DAYS.findall(text):
        value = int(number) if number.isdigit() else _WORDS.get(number.lower(), 0)
        days = value * (30 if unit.lower().startswith("month") else 1)
        longest = days if longest is None else max(longest, days)
    return longest


def _years(text: str) -> int:
    words = {"two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}
    values = [int(n) if n.isdigit() else words[n.lower()] for n in _YEARS.findall(text)]
    return max([*values, (_notice_days(text) or 0) // 360], default=0)


def red_flags(findings: Findings) -> list[RedFlag]:
    """Every rule that fires, most severe first; rules without a finding explain the absence.

    A risk is raised only from a confident finding (`Findings.sure`), by the rule that makes a
    topic found: a flag from a quote the same report calls borderline ("Found: unsure") would state
    as fact what the report asks the analyst to check. An absence is reported only when nothing at
    all was found."""
    flags: list[RedFlag] = []

    def add(category: str, severity: str, rule: str, why: str, f: Finding | None) -> None:
        flags.append(RedFlag(category, severity, rule, why, f))

    uncapped = next(iter(findings.sure("Uncapped Liability")), None)
    cap = findings.best("Cap On Liability")
    if uncapped:
        add(
            "Uncapped Liability",
            "RED",
            "Uncapped liability",
            "Some liabilities are carved out of the cap, so exposure there has no ceiling.",
            uncapped,
        )
    elif not cap:
        add(
            "Cap On Liability",
            "YELLOW",
            "No liability cap found",
            "Without a cap or exclusion of indirect loss, liability is limited only by law.",
            None,
        )

    # Every finding is read: a clause letting either side end the contract may sit beside one
    # giving a party alone a further right ("may be terminated by ArTara upon thirty days'
    # notice"), which leaves the other side exposed all the same, so the flag is one-sided and
    # cites that right. Rights of their own given to two different parties make it mutual; a
    # clause naming nobody and not worded mutually reads as one-sided, as it always has.
    tfc = findings.sure("Termination For Convenience")
    alone = [(f, _terminators(f.read)) for f in tfc]
    names = set().union(*(who for _, who in alone))
    mutual = next((f for f in tfc if _mutual_termination(f.read)), None)
    if len(names) == 1:
        one_side = next(f for f, who in alone if who)
        add(
            one_side.category,
            "RED",
            "Termination for convenience by one side only",
            "One party may end the contract without cause on terms the other does not have, "
            "leaving the other exposed."
            if mutual
            else "Only one party may end the contract without cause, leaving the other exposed.",
            one_side,
        )
    elif mutual or len(names) > 1:
        add(
            tfc[0].category,
            "YELLOW",
            "Termination for convenience (both sides)",
            "Either side can walk away without cause; plan for the notice period.",
            mutual or tfc[0],
        )
    elif tfc:
        add(
            tfc[0].category,
            "RED",
            "Termination for convenience by one side only",
            "Only one party may end the contract without cause, leaving the other exposed.",
            tfc[0],
        )

    for f in findings.sure("Irrevocable Or Perpetual License")[:1]:
        add(
            f.category,
            "RED",
            "Perpetual or irrevocable licence",
            "The licence cannot be withdrawn or never ends, even after the contract does.",
            f,
        )

    renewal = next(iter(findings.sure("Renewal Term")), None)
    if renewal and _AUTOMATIC.search(renewal.read):
        notice = next(iter(findings.sure("Notice Period To Terminate Renewal")), None)
        days = _notice_days(notice.read if notice else renewal.read)
        if days is not None and days >= 90:
            add(
                renewal.category,
                "RED",
                "Auto-renewal with a long notice period",
                f"The contract renews itself unless notice is given {days} days ahead.",
                renewal,
            )
        else:
            add(
                renewal.category,
                "YELLOW",
                "Auto-renewal",
                "The contract renews itself unless someone gives notice in time.",
                renewal,
            )

    for f in findings.sure("Non-Compete")[:1]:
        if _WORLDWIDE.search(f.read) or _years(f.read) >= 2:
            add(
                f.category,
                "RED",
                "Worldwide or long non-compete",
                "The restriction reaches worldwide or lasts two years or more.",
                f,
            )
        else:
            add(
                f.category,
                "YELLOW",
                "Non-compete",
                "A party is barred from competing; check scope, territory and duration.",
                f,
            )

    ties = [
        f
        for f in findings.sure("Exclusivity")
        if not _DENIES_EXCLUSIVITY.search(f.read) and not _RECITAL.match(f.read)
    ]
    for f in ties[:1]:
        add(
            f.category,
            "YELLOW",
            "Exclusivity",
            "One side is tied to the other; check territory, duration and performance targets.",
            f,
        )

    for f in findings.sure("Most Favored Nation")[:1]:
        add(
            f.category,
            "YELLOW",
            "Most-favoured-nation",
            "Better terms given to anyone else must be passed on, which constrains pricing.",
            f,
        )

    for f in findings.sure("Liquidated Damages")[:1]:
        add(
            f.category,
            "YELLOW",
            "Liquidated damages",
            "A fixed sum is owed on breach or early exit regardless of the actual loss.",
            f,
        )

    audit = next((f for f in findings.sure("Audit Rights") if _open_audit(f)), None)
    if audit:
        add(
            audit.category,
            "YELLOW",
            "Audit at any time or without notice",
            "An audit may come at any time or without notice; ask for reasonable notice, business "
            "hours and at most once a year.",
            audit,
        )

    assignment = findings.get("Anti-Assignment")
    free = next((f for f in findings.sure("Anti-Assignment") if _assigns_freely(f.read)), None)
    if free:
        add(
            free.category,
            "RED",
            "Assignment without consent",
            "A party may hand the contract to someone else without the other's consent.",
            free,
        )
    elif not assignment:
        add(
            "Anti-Assignment",
            "YELLOW",
            "No assignment restriction found",
            "Nothing found stopping the contract being transferred to a third party.",
            None,
        )

    if not findings.present("Governing Law"):
        add(
            "Governing Law",
            "YELLOW",
            "No governing law found",
            "Without a chosen law and forum, where and how disputes are heard is uncertain.",
            None,
        )

    indemnities = findings.sure("Indemnity")
    if indemnities and not _mutual_indemnity(findings, indemnities):
        add(
            "Indemnity",
            "RED",
            "One-sided indemnity",
            "Only one party indemnifies the other; the burden is not shared.",
            indemnities[0],
        )

    flags.sort(key=lambda flag: -SEVERITY_ORDER[flag.severity])
    return flags
