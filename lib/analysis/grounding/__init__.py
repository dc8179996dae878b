"""Checking every quotation in a review report against the contract's extracted text.

Typical use: `index = ContractIndex.build(text, page_starts, clause_spans)` once per contract;
`tracker = GroundingTracker(index)`; `tracker.feed(report_so_far)` as the report streams and
`tracker.finish(report)` at the end; `annotate_markdown(report, tracker.checked)` to show it.
"""

from lib.analysis.grounding.annotate import LEGEND, annotate_markdown
from lib.analysis.grounding.crosscheck import Disagreement, cross_check
from lib.analysis.grounding.index import ContractIndex
from lib.analysis.grounding.matching import CLOSE_THRESHOLD, OCR_THRESHOLD, QuoteCheck, check
from lib.analysis.grounding.quotes import Quote, extract_quotes
from lib.analysis.grounding.report import Grounding, contract_index, ground_report
from lib.analysis.grounding.tracker import CheckedQuote, GroundingTracker, check_report, summarise

__all__ = [
    "CLOSE_THRESHOLD",
    "LEGEND",
    "OCR_THRESHOLD",
    "CheckedQuote",
    "ContractIndex",
    "Disagreement",
    "Grounding",
    "GroundingTracker",
    "Quote",
    "QuoteCheck",
    "annotate_markdown",
    "check",
    "check_report",
    "contract_index",
    "cross_check",
    "extract_quotes",
    "ground_report",
    "summarise",
]
