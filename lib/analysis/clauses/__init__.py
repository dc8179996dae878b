"""Rule-based clause finder: segmentation, CUAD categories, red flags and a review report."""

from lib.analysis.clauses.finder import Finding, Findings, find_clauses
from lib.analysis.clauses.red_flags import RedFlag, red_flags
from lib.analysis.clauses.report import write_report
from lib.analysis.clauses.segment import Clause, Sentence, split_clauses, split_sentences

__all__ = [
    "Clause", "Finding", "Findings", "RedFlag", "Sentence", "find_clauses", "red_flags",
    "split_clauses", "split_sentences", "write_report",
]  # fmt: skip
