"""The 41 CUAD clause categories and the curated phrases that signal each one.

Each category has weighted regular expressions matched against one sentence (lower-cased, spaces
collapsed). A sentence belongs to a category when its weights add up to at least 1.0; a clause
heading that names the category adds half a point, because analysts and drafters both put the
subject in the heading. The phrases were written by reading contract drafting conventions and the
first half of the bundled CUAD sample (contracts 01–12); contracts 13–24 are kept for measuring.
The rules of six rare categories (most favoured nation, no-solicit of customers, volume
restriction, affiliate licence from the licensor, unlimited licence, third-party beneficiary) were
revised reading the labels of the training contracts in cross-validation folds 1–3 only, and
checked on folds 4–5 (docs/CLAUSE_MODEL.md, "Rare categories' rules").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CUAD_CATEGORIES: tuple[str, ...] = (
    "Document Name", "Parties", "Agreement Date", "Effective Date", "Expiration Date",
    "Renewal Term", "Notice Period To Terminate Renewal", "Governing Law", "Most Favored Nation",
    "Competitive Restriction Exception", "Non-Compete", "Exclusivity", "No-Solicit Of Customers",
    "No-Solicit Of Employees", "Non-Disparagement", "Termination For Convenience",
    "Rofr/Rofo/Rofn", "Change Of Control", "Anti-Assignment", "Revenue/Profit Sharing",
    "Price Restrictions", "Minimum Commitment", "Volume Restriction", "Ip Ownership Assignment",
    "Joint Ip Ownership", "License Grant", "Non-Transferable License",
    "Affiliate License-Licensor", "Affiliate License-Licensee",
    "Unlimited/All-You-Can-Eat-License", "Irrevocable Or Perpetual License", "Source Code Escrow",
    "Post-Termination Services", "Audit Rights", "Uncapped Liability", "Cap On Liability",
    "Liquidated Damages", "Warranty Duration", "Insurance", "Covenant Not To Sue",
    "Third Party Beneficiary",
)  # fmt: skip

# Review subjects that CUAD does not label; found so that a report can quote them.
EXTRA_CATEGORIES: tuple[str, ...] = (
    "Indemnity", "Confidentiality", "Force Majeure", "Data Protection", "Payment Terms",
)  # fmt: skip

# Categories found by extraction (a name, a date, a place) rather than by clause wording.
SHORT_ANSWER = ("Document Name", "Parties", "Agreement Date", "Effective Date")


@dataclass(frozen=True)
class Signal:
    pattern: re.Pattern[str]
    weight: float


def _s(weight: float, *patterns: str) -> list[Signal]:
    return [Signal(re.compile(p), weight) for p in patterns]


_PARTY = r"(?:either party|neither party|each party|the other party|a party|any party)"
_TERM = r"(?:term|period|duration)"
_NUM = r"(?:\(?\d+\)?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|thirty|sixty|ninety)"

SIGNALS: dict[str, list[Signal]] = {
    "Expiration Date": _s(
        1.0,
        r"\bterm of this (?:agreement|contract)\b.{0,80}\b(?:shall|will|is)\b.{0,40}"
        r"\b(?:be|commence|continue|expire|end|begin|for)\b",
        r"\bthis (?:agreement|contract) (?:shall|will) (?:expire|terminate|end)\b.{0,60}"
        r"\b(?:on|upon|at|in|after)\b",
        r"\b(?:shall|will) (?:continue|remain) in (?:full )?(?:force|effect)\b.{0,80}"
        r"\b(?:until|for a period|for \w+ \(?\d)",
        r"\binitial term\b",
        r"\bshall continue until terminated\b",
        r"\bexpir\w* (?:on|at the end of|upon)\b",
    )
    + _s(
        0.5,
        r"\bterm\b.{0,40}\b(?:years?|months?)\b",
        r"\bunless (?:sooner|earlier) terminated\b",
    ),
    "Renewal Term": _s(
        1.0,
        r"\b(?:automatically|auto-?) ?(?:be )?(?:renew|extend)",
        r"\brenew\w* for (?:successive|additional|a further|an additional|one|\w+ \(\d)",
        r"\b(?:successive|additional|subsequent) (?:renewal )?(?:terms?|periods?) of\b",
        r"\bright to (?:annually )?(?:renew|extend)\b",
        r"\bmay (?:be )?(?:renew|extend)\w*\b.{0,60}\b(?:term|agreement|period)\b",
        r"\brenewal term\b",
    ),
    "Notice Period To Terminate Renewal": _s(
        1.0,
        r"\b(?:renew|extend)\w*\b.{0,160}\bunless\b.{0,80}\bnotice\b",
        r"\bnotice\b.{0,80}\b(?:not to|of (?:its )?intent\w* not to|elected not to) "
        r"(?:renew|extend)",
        r"\bnon-?renewal\b.{0,80}\bnotice\b|\bnotice of non-?renewal\b",
    ),
    "Governing Law": _s(
        1.0,
        r"\bgoverned by\b.{0,120}\blaws?\b",
        r"\bconstrued (?:and enforced )?in accordance with\b.{0,60}\blaws?\b",
        r"\b(?:governing|applicable|choice of) law\b",
        r"\blaws of the (?:state|province|commonwealth|republic|people's republic) of\b",
    ),
    "Most Favored Nation": _s(
        1.0,
        r"\bmost favou?r(?:ed|able) (?:nations?|customers?|licensees?|treatment|terms|pricing|"
        r"prices?|basis|financial)\b|\bmost favou?red\b",
        # terms or prices no worse than those given to others ("no less favorable than those
        # offered to any other customer")
        r"\b(?:(?:no|not) less favou?rabl[ey]|at least as favou?rabl[ey]|as favou?rabl[ey] as|"
        r"(?:equal|equivalent) (?:to )?or (?:better|more favou?rable))\b.{0,200}\bany (?:of \w+'s "
        r"|other |existing |similarly[- ]situated |third[- ]party )*(?:[\w-]+ ){0,2}?(?:customers?|"
        r"clients?|distributors?|resellers?|licensees?|purchasers?|buyers?|third part(?:y|ies)|"
        r"persons?|entit(?:y|ies)|compan(?:y|ies))\b",
        r"\b(?:another|any other|any third[- ]party|similarly[- ]situated) (?:[\w-]+ ){0,2}?"
        r"(?:customers?|clients?|distributors?|resellers?|licensees?|purchasers?)\b.{0,200}"
        r"\b(?:more favou?rable|lower (?:prices?|rates?|fees?)|better (?:prices?|terms))\b",
        r"\b(?:lower|better|lowest|best) (?:[\w-]+ )?(?:prices?|pricing|terms|rates?)\b.{0,120}"
        r"\b(?:any other|other customers|third part|similarly[- ]situated)",
    ),
    "Competitive Restriction Exception": _s(
        1.0,
        r"\bnotwithstanding\b.{0,120}\b(?:compet\w*|exclusiv\w*|non-?solicit\w*)\b",
        r"\b(?:compet\w*|exclusiv\w*|solicit\w*)\b.{0,120}\bshall not (?:apply to|prevent|"
        r"restrict|prohibit)\b",
        r"\bgeneral (?:solicitations?|advertis\w*)\b.{0,80}\bnot\b",
    ),
    "Non-Compete": _s(
        1.0,
        r"\b(?:shall|will|agrees? to|may) not\b.{0,120}\b(?:compet\w*|competitive products?|"
        r"similar products?|business that competes)\b",
        r"\bnon-?compet\w*\b",
        r"\b(?:engage|participate|invest|own|operate)\b.{0,80}\b(?:competing|competitive|"
        r"compete)\b.{0,80}\b(?:business|products?|services?)\b",
        r"\brefrain from\b.{0,80}\bcompet",
    )
    + _s(
        0.5,
        r"\bdirectly or indirectly\b.{0,150}\b(?:during the term|following the termination|"
        r"after the termination)",
    ),
    "Exclusivity": _s(
        1.0,
        r"(?<!non-)(?<!non)\b(?:exclusive|sole) (?:distributor|provider|supplier|reseller|agent|"
        r"representative|"
        r"licensee|right|rights|basis|sponsor|partner|source|marketing|dealer|vendor)\b",
        r"\bexclusively (?:from|to|with|through|for)\b",
        r"\b(?:shall|will) not\b.{0,80}\b(?:appoint|grant|engage|purchase|buy|sell|license)\b"
        r".{0,80}\b(?:any other|any third party|other (?:distributors?|suppliers?|resellers?))",
    )
    + _s(0.6, r"(?<!non-)(?<!non)\bexclusiv\w*\b"),
    "No-Solicit Of Customers": _s(
        1.0,
        r"\bsolicit\w*\b.{0,120}\b(?:customers?|clients?|accounts?)\b",
        r"\b(?:customers?|clients?)\b.{0,80}\b(?:shall not|will not)\b.{0,40}\bsolicit",
        # a party may not divert, approach or entice the other's customers
        r"\b(?:not|nor|neither|refrain from)\b.{0,150}\b(?:divert|circumvent|approach|induce|"
        r"entice)\w*\b.{0,120}\b(?:customers?|clients?|accounts?|merchants|subscribers)\b",
    ),
    "No-Solicit Of Employees": _s(
        1.0,
        r"\b(?:solicit|hire|employ|recruit|engage)\w*\b.{0,120}\b(?:employees?|personnel|"
        r"staff|consultants? of)\b.{0,80}\b(?:of|from|employed by)\b",
        r"\bno-?(?:hire|poach)\b",
    ),
    "Non-Disparagement": _s(
        1.0,
        r"\bdisparag\w*",
        r"\b(?:derogatory|defamatory|negative)\b.{0,60}\b(?:statements?|comments?|remarks?)\b",
    ),
    "Termination For Convenience": _s(
        1.0,
        r"\bterminat\w*\b.{0,80}\b(?:for any reason|for convenience|without cause|"
        r"for no reason|at any time|in its (?:sole )?discretion|with or without cause)\b",
        r"\b(?:for any reason|for convenience|without cause|at any time)\b.{0,80}\bterminat",
        rf"\b{_PARTY}\b.{{0,40}}\bmay terminate\b.{{0,120}}\b(?:upon|with|on|by giving|giving)\b"
        rf".{{0,30}}\b{_NUM}\b.{{0,20}}\b(?:days?|months?)\b.{{0,30}}\bnotice",
        r"\b(?:wishing|wants?|desires?|elects?) to terminate\b.{0,120}\bnotice\b",
        r"\bat the option of any party\b",
    ),
    "Rofr/Rofo/Rofn": _s(
        1.0,
        r"\bright of first (?:refusal|offer|negotiation)\b",
        r"\bfirst (?:right|option) to (?:purchase|acquire|negotiate|offer|match|buy)\b",
        r"\b(?:rofr|rofo|rofn)\b",
    ),
    "Change Of Control": _s(
        1.0,
        r"\bchange (?:of|in) control\b",
        r"\b(?:merger|consolidation|acquisition|sale of all or substantially all)\b.{0,120}"
        r"\b(?:terminat\w*|consent|assign\w*|deemed)\b",
        r"\b(?:control|ownership)\b.{0,40}\b(?:changes?|transferred|acquired)\b",
    ),
    "Anti-Assignment": _s(
        1.0,
        r"\b(?:not|nor|no)\b.{0,80}\b(?:assign\w*|transfer\w*|delegat\w*|sub-?licens\w*)\b"
        r".{0,150}\b(?:consent|approval|permission)\b",
        r"\b(?:assign\w*|transfer\w*|delegat\w*)\b.{0,120}\b(?:without|upon|with) (?:the )?"
        r"(?:prior )?(?:express )?(?:written )?(?:consent|approval)\b",
        r"\b(?:shall|will|may) not (?:be )?(?:assign\w*|transferr?\w*)\b",
        r"\bnot (?:be )?assignable\b|\bnon-?assignable\b",
        r"\bright to assign\b",
    )
    + _s(0.5, r"\bsuccessors and (?:permitted )?assigns\b"),
    "Revenue/Profit Sharing": _s(
        1.0,
        r"\b(?:royalt\w*|commissions?|revenue share|profit share|share of (?:the )?(?:net )?"
        r"(?:profits?|revenues?|sales|income))\b",
        r"\b\d+(?:\.\d+)?\s?%|\bpercent\w*\b.{0,80}\b(?:of (?:the )?(?:gross|net)|revenues?|"
        r"profits?|sales|receipts)\b",
        r"\b(?:gross|net) (?:revenues?|profits?|receipts|sales)\b.{0,80}\b(?:paid|pay|share)",
    ),
    "Price Restrictions": _s(
        1.0,
        r"\b(?:prices?|pricing|fees?|rates?)\b.{0,80}\b(?:shall not|will not|may not)\b.{0,40}"
        r"\b(?:increase|exceed|change|raise)",
        r"\b(?:not|no) (?:increase|raise)\b.{0,60}\b(?:prices?|fees?|rates?)\b",
        r"\bprice (?:protection|increases? (?:shall|will|may) not)\b",
    ),
    "Minimum Commitment": _s(
        1.0,
        r"\b(?:minimum|no less than|not less than|at least)\b.{0,60}\b(?:purchase|order|units?|"
        r"quantit\w*|volume|episodes?|amount|annual|sales|commitment|guests?)\b",
        r"\bminimum (?:purchase|order|annual|quantity|volume|commitment|guarantee)\b",
    ),
    "Volume Restriction": _s(
        1.0,
        # a cap on units, hours, persons or usage
        r"\b(?:up to|not more than|no more than|a maximum of|not to exceed|not exceeding|shall not "
        r"exceed|in excess of|more than)\b (?:a total of )?(?:\S+ ){0,2}?(?:\(\S+\) )?(?:[\w-]+ )"
        r"{0,2}?(?:units?|hours?|persons?|personnel|people|technicians|employees|appearances?|"
        r"sessions?|production days?|service days?|copies|users?|sites|pieces|tons|gallons|"
        r"barrels|releases|links|posts|events|quantit\w*|capacity|volume|gb|mb|kilobytes|miles)\b",
        r"\bmaximum (?:daily |monthly |annual |weekly |total )?(?:quantity|volume|capacity|"
        r"amount of|number of units)\b",
        # a fee when usage exceeds a level
        r"\b(?:in excess of|exceeding|exceeds?|over)\b.{0,80}\b(?:additional (?:charges?|fees?)|"
        r"(?:shall|will) be (?:charged|subject to))",
        r"\b(?:additional (?:charges?|fees?)|charged?)\b.{0,100}\b(?:in excess of|exceed\w*)\b",
    )
    + _s(
        0.5,
        r"\b(?:shall not|will not|may not|not to)\b.{0,60}\bexceed\b.{0,60}\b(?:units?|"
        r"quantit\w*|volume|number|copies|users?)\b",
    ),
    "Ip Ownership Assignment": _s(
        1.0,
        r"\b(?:hereby )?(?:assigns?|transfers?|conveys?)\b.{0,120}\b(?:all )?(?:right,? title"
        r"|intellectual property|copyrights?|patents?|inventions?|work product)\b",
        r"\b(?:shall be|is|are|become) the (?:sole and )?(?:exclusive )?(?:property|owner)\b",
        r"\bwork(?:s)? made for hire\b",
        r"\b(?:sole|exclusive) (?:and exclusive )?owner\b",
    ),
    "Joint Ip Ownership": _s(
        1.0,
        r"\bjointly own\w*\b|\bjoint(?:ly)? (?:ownership|owned|owners)\b",
        r"\bco-?own\w*\b",
    ),
    "License Grant": _s(
        1.0,
        r"\b(?:hereby )?grants?\b.{0,120}\b(?:licen[cs]e|right to use|sublicen[cs]e)\b",
        r"\b(?:licen[cs]e|right) to (?:use|reproduce|distribute|display|sell|market|make)\b",
        r"\blicensed (?:to|marks?|products?|technology|property|rights)\b",
        r"\bpermit\w*\b.{0,60}\bto use\b.{0,60}\b(?:name|logo|marks?|trademarks?)\b",
    ),
    "Non-Transferable License": _s(
        1.0,
        r"\bnon-?transferable\b|\bnon-?sublicensable\b|\bnot (?:be )?transferable\b",
        r"\blicen[cs]e\b.{0,120}\b(?:may not|shall not|cannot) (?:be )?(?:assign\w*|transferr?\w*"
        r"|sub-?licens\w*)",
        r"\bwithout the right to (?:sub-?licen[cs]e|transfer|assign)\b",
    ),
    "Affiliate License-Licensor": _s(
        1.0,
        # the licensor's affiliates grant too, or are licensors
        r"\b(?:licensor|company|grantor)\b.{0,40}\band its affiliates\b.{0,60}"
        r"\b(?:hereby )?grants?\b",
        r"\bon behalf of (?:itself|themselves)? ?(?:and|or) (?:its|their)(?: respective)? "
        r"(?:affiliates|subsidiaries|(?:other )?members)\b.{0,120}\bgrant",
        r"\bfor itself and (?:as representative of|on behalf of) (?:all )?(?:its |the )?(?:other )?"
        r"(?:affiliates|subsidiaries|members)\b.{0,120}\bgrant",
        r"\bgrants?,? and (?:shall|will|agrees to) cause (?:its|each of its|the other|each|"
        r"each other) (?:affiliates|subsidiaries|members? of the \w+ group) to grant",
    )
    + _s(
        0.5,
        # IP defined as the licensor's or its affiliates' (a definition alone is not a grant)
        r"\b(?:controlled|owned)(?: or (?:controlled|owned))? by (?:\w+ ){1,2}or (?:any of )?its "
        r"affiliates\b",
    ),
    "Affiliate License-Licensee": _s(
        1.0,
        r"\blicen[cs]e\b.{0,120}\b(?:to|for) (?:licensee|distributor|customer|[a-z]+) and its "
        r"(?:affiliates|subsidiaries)\b",
        r"\b(?:affiliates|subsidiaries)\b.{0,60}\b(?:may|shall have the right to) "
        r"(?:use|exercise)\b",
    ),
    "Unlimited/All-You-Can-Eat-License": _s(
        1.0,
        r"\bunlimited (?:number of )?(?:copies|users?|licen[cs]es?|use|access|seats)\b",
        r"\b(?:royalty-?free|fully paid-?up)\b.{0,80}\bunlimited\b",
        # unlimited use, copies, users, sites or calls
        r"\bunlimited\b,?(?: [\w-]+,?){0,8}? (?:rights?|licen[cs]es?|use|re-?use|copies|users?|"
        r"access|seats|sites|calls|calling|viewings?|broadcasts?|utili[sz]ation|sublicens\w*|"
        r"distribution|reproduction)\b",
        r"\b(?:multiple|unlimited) (?:viewings|exhibitions|runs|plays)\b.{0,80}\bno additional "
        r"(?:fee|charge|cost)",
    ),
    "Irrevocable Or Perpetual License": _s(
        1.0,
        r"\b(?:irrevocable|perpetual)\b.{0,120}\b(?:licen[cs]e|right)\b",
        r"\b(?:licen[cs]e|right)\b.{0,120}\b(?:irrevocable|perpetual|in perpetuity)\b",
    ),
    "Source Code Escrow": _s(
        1.0,
        r"\bsource code\b.{0,120}\bescrow\b|\bescrow\b.{0,120}\bsource code\b",
        r"\bescrow agent\b",
    ),
    "Post-Termination Services": _s(
        1.0,
        r"\b(?:upon|after|following|on) (?:the )?(?:termination|expiration|expiry)\b.{0,160}"
        r"\b(?:shall|will) (?:continue to|provide|cooperate|assist|deliver|return|cease|sell|"
        r"have the right)\b",
        r"\b(?:transition|wind-?down|sell-?off) (?:period|services|assistance)\b",
        r"\bsurvive (?:the )?(?:termination|expiration)\b",
    ),
    "Audit Rights": _s(
        1.0,
        r"\b(?:audit|inspect|examine)\w*\b.{0,120}\b(?:books|records|accounts|facilit\w*|"
        r"premises|sales|inventor\w*)\b",
        r"\b(?:books|records|accounts)\b.{0,120}\b(?:audit|inspect|examin|copies|review)\w*",
        r"\bright to (?:audit|inspect)\b",
    )
    + _s(0.5, r"\bmaintain\b.{0,60}\b(?:records|books)\b"),
    "Uncapped Liability": _s(
        1.0,
        r"\b(?:limitation|exclusion|cap)s? (?:of|on) liability\b.{0,120}\b(?:shall not apply|"
        r"does not apply|not apply)\b",
        r"\b(?:shall not|will not|does not) (?:apply|limit)\b.{0,120}\b(?:indemnif\w*|gross "
        r"negligence|wilful|willful|fraud|breach of confidential\w*)",
        r"\bexcept (?:for|in the case of|with respect to)\b.{0,120}\b(?:gross negligence|"
        r"wil(?:l)?ful misconduct|fraud|indemnif\w*)\b.{0,120}\b(?:liable|liability|damages)\b",
    ),
    "Cap On Liability": _s(
        1.0,
        r"\b(?:not|no|neither)\b.{0,40}\bbe liable\b.{0,120}\b(?:special|incidental|consequential|"
        r"indirect|punitive|exemplary|lost profits)\b",
        r"\b(?:aggregate|total|maximum|entire|cumulative) (?:liability|amount)\b.{0,160}"
        r"\b(?:shall not exceed|not to exceed|limited to|exceed|shall be limited)\b",
        r"\bliability\b.{0,80}\b(?:shall not exceed|not to exceed|limited to|in no event)\b",
        r"\bin no event\b.{0,120}\bliab",
        r"\b(?:sole and exclusive|exclusive) remedy\b",
        r"\bentire liability\b",
    ),
    "Liquidated Damages": _s(
        1.0,
        r"\bliquidated damages\b",
        r"\b(?:termination|early termination|cancellation|break) (?:fee|payment|charge)\b",
        r"\bpenalty\b.{0,80}\b(?:equal to|of \$|amount)\b",
    ),
    "Warranty Duration": _s(
        1.0,
        r"\bwarrant\w*\b.{0,120}\b(?:for a period of|period of|for \w+ \(?\d+\)?|within \w+ "
        r"\(?\d+\)?|months|days|years) ",
        r"\bwarranty period\b",
    ),
    "Insurance": _s(
        1.0,
        r"\b(?:maintain|carry|obtain|procure|keep)\b.{0,120}\binsurance\b",
        r"\binsurance (?:coverage|policy|policies|certificates?)\b.{0,80}\b(?:amount|limit|"
        r"\$|naming|additional insured)",
        r"\badditional insured\b",
        r"\b(?:general liability|product liability|professional liability|errors and "
        r"omissions|workers'? compensation) (?:insurance|coverage|policy)\b",
    )
    + _s(0.6, r"\binsurance\b"),
    "Covenant Not To Sue": _s(
        1.0,
        r"\b(?:not|never)\b.{0,40}\b(?:sue|bring (?:any )?(?:action|claim|suit))\b",
        r"\b(?:contest|challenge|dispute)\b.{0,80}\b(?:validity|ownership|enforceability)\b",
        r"\bcovenants? not to sue\b",
    ),
    "Third Party Beneficiary": _s(
        1.0,
        # a non-party named a beneficiary, not "no third party beneficiaries"
        r"^(?=.*beneficiar)(?:(?!\b(?:no|not|nothing|neither|nor|none)\b).)*\b(?:is|are|be|been|"
        r"being|as)\b(?:(?!\b(?:no|not)\b).){0,60}\b(?:third[- ]party|intended) beneficiar",
        r"\bexcept that\b.{0,160}\b(?:is|are|be)\b.{0,40}\bthird[- ]party beneficiar",
        # the "no third party beneficiaries" clause, with an exception naming who benefits
        r"\b(?:except|other than|with the exception of)\b.{0,80}\b(?:affiliates|members)\b.{0,300}"
        r"\b(?:beneficiar\w*|confer|benefits?)\b",
    ),
    "Indemnity": _s(
        1.0,
        r"\bindemnif\w*\b.{0,80}\b(?:hold harmless|defend|against|from)\b",
        r"\bhold\b.{0,40}\bharmless\b",
    ),
    "Confidentiality": _s(
        1.0,
        r"\bconfidential information\b.{0,160}\b(?:shall|will|not|disclos\w*)\b",
        r"\b(?:keep|kept|hold|held|maintain\w*|treat\w*)\b.{0,60}"
        r"\b(?:confidential|in (?:strict(?:est)? )?confidence|in trust)\b",
    ),
    "Force Majeure": _s(
        1.0,
        r"\bforce majeure\b",
        r"\b(?:acts? of god|beyond (?:its|their|the) reasonable control)\b",
    ),
    "Data Protection": _s(
        1.0,
        r"\b(?:personal data|personal information|data protection|gdpr|hipaa|privacy)\b",
    ),
    "Payment Terms": _s(
        1.0,
        r"\b(?:invoice\w*|payable|pay|paid)\b.{0,100}\b(?:within|net|days|upon receipt)\b",
        r"\bfees?\b.{0,80}\b(?:due|payable)\b",
        # "to be paid in equal installments of $37,500.00 on January 1, 2008, April 1, …"
        r"\b(?:pa(?:y|id|yable)|payments?)\b.{0,60}\binstal?lments?\b",
    ),
}

# Words a clause heading uses for a category: a heading match adds weight to every sentence below.
HEADING_WORDS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern)
    for name, pattern in {
        "Expiration Date": r"\bterm\b|\bduration\b",
        "Renewal Term": r"\brenewal\b",
        "Governing Law": r"governing law|applicable law|choice of law",
        "Non-Compete": r"non-?compet|competition|competing",
        "Exclusivity": r"exclusiv",
        "No-Solicit Of Customers": r"non-?solicit",
        "No-Solicit Of Employees": r"non-?solicit|no hire",
        "Non-Disparagement": r"disparage",
        "Termination For Convenience": r"terminat",
        "Change Of Control": r"change (?:of|in) control",
        "Anti-Assignment": r"assign",
        "Revenue/Profit Sharing": r"royalt|commission|revenue|profit",
        "Minimum Commitment": r"minimum",
        "Ip Ownership Assignment": r"ownership|intellectual property|work product",
        "License Grant": r"licen[cs]e|grant",
        "Audit Rights": r"audit|inspection|records",
        "Cap On Liability": r"limitation of liability|liability",
        "Liquidated Damages": r"liquidated",
        "Warranty Duration": r"warrant",
        "Insurance": r"insurance",
        "Third Party Beneficiary": r"third party beneficiar",
        "Source Code Escrow": r"escrow",
        "Most Favored Nation": r"most favou?red",
        "Confidentiality": r"confidential|non-?disclosure",
        # Ranks a payment clause's own sentences first ("15. Payment of Money").
        "Payment Terms": r"\bpayments?\b|\bfees?\b|compensation|invoic",
    }.items()
}
HEADING_BONUS = 0.5
THRESHOLD = 1.0


def sentence_scores(sentence: str, heading: str | None = None) -> dict[str, float]:
    """Weight per category for one sentence; categories scoring zero are left out."""
    text = " ".join(sentence.lower().split())
    head = heading.lower() if heading else ""
    scores: dict[str, float] = {}
    for category, signals in SIGNALS.items():
        hits = [s.weight for s in signals if s.pattern.search(text)]
        if not hits:
            continue
        score = max(hits)
        score += min(sum(hits) - score, 1.0) * 0.25
        words = HEADING_WORDS.get(category)
        if head and words is not None and words.search(head):
            score += HEADING_BONUS
        scores[category] = score
    return scores
