"""Token estimates for when a provider reports no usage.

Without a model-specific tokenizer the best cheap estimate for English legal prose is about four
characters a token (OpenAI's and Anthropic's published rule of thumb). Estimates are always flagged
as such wherever they are shown, so they only need to be in the right range.
"""

from __future__ import annotations

import math

CHARS_PER_TOKEN = 4.0


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))
