"""One error vocabulary for every provider.

Every failure a run can meet is mapped to one of these classes, so pages, the history and the
tests speak about the same handful of kinds instead of each provider's exception zoo. Each error
carries a message an analyst can act on. Messages are built from server text and our own words
only; `redact` is applied on the way in so an API key echoed by a server never reaches the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lib.engine.provider_config import ProviderConfig


class ErrorKind(StrEnum):
    CANNOT_CONNECT = "cannot_connect"
    AUTH_FAILED = "auth_failed"
    MODEL_NOT_FOUND = "model_not_found"
    RATE_LIMITED = "rate_limited"
    CONTEXT_TOO_LONG = "context_too_long"
    INTERRUPTED = "interrupted"
    TIMED_OUT = "timed_out"
    BAD_RESPONSE = "bad_response"
    OUTPUT_LIMIT = "output_limit"
    # Not started, as the other run it makes one comparison with cannot run (too long for its
    # model): its own model was never asked, so it is not that model's failure.
    PARTNER_CANNOT_RUN = "partner_cannot_run"


ERROR_TITLES: dict[ErrorKind, str] = {
    ErrorKind.CANNOT_CONNECT: "Cannot connect",
    ErrorKind.AUTH_FAILED: "Authentication failed",
    ErrorKind.MODEL_NOT_FOUND: "Model not found",
    ErrorKind.RATE_LIMITED: "Rate limited or overloaded",
    ErrorKind.CONTEXT_TOO_LONG: "Contract too long for the model",
    # Before or during the answer, or by a restart of the app: the message says which.
    ErrorKind.INTERRUPTED: "Interrupted",
    ErrorKind.TIMED_OUT: "Timed out",
    ErrorKind.BAD_RESPONSE: "Unexpected response",
    ErrorKind.OUTPUT_LIMIT: "Output limit reached",
    ErrorKind.PARTNER_CANNOT_RUN: "Not started: the other side cannot run",
}


def error_title(kind: str | None) -> str:
    """The title of a run's error, as the page and its files show it; "Error" for a kind this
    version does not know (a row a newer or older version wrote)."""
    try:
        return ERROR_TITLES[ErrorKind(kind or "")]
    except ValueError:
        return "Error"


MAX_DETAIL_CHARS = 200


# Shorter strings are too likely to occur in ordinary text to be taken out of it.
MIN_SECRET_CHARS = 8


def clip_detail(text: str, secrets: tuple[str, ...], limit: int = MAX_DETAIL_CHARS) -> str:
    """A server's own words as one short line for the page, with the run's secrets taken out.

    The page shows why a server refused; it must not become a way to read whatever a URL answers
    (an internal service behind a typed endpoint), so only a short single line is kept. Secrets
    go first: a line cut inside an echoed key keeps a piece of it too short to be known as one.
    """
    line = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    line = redact(line, *secrets)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# What a server's echo of a key may hold between its characters that a plain search would stop
# at, though the page shows none of it (a line break becomes a space there): spaces and line
# breaks, zero-width characters and soft hyphens.
_INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")


def redact(text: str, *secrets: str | None) -> str:
    """Remove every secret from text, and any piece of one that starts as it does (a server's
    message clipped in the middle of an echoed key), in any case and broken by spaces, line
    breaks or invisible characters; short or empty secrets are ignored to avoid mangling. It errs
    towards taking out: words that spell a key's first eight characters go too."""
    for secret in secrets:
        if not secret or len(secret) < MIN_SECRET_CHARS:
            continue
        first, pieces, at, i = secret[0].lower(), [], 0, 0
        while i < len(text):
            end = _echo_end(text, i, secret) if text[i].lower() == first else None
            if end is None:
                i += 1
                continue
            pieces += [text[at:i], "[redacted]"]
            at = i = end
        text = "".join([*pieces, text[at:]])
    return text


def _echo_end(text: str, start: int, secret: str) -> int | None:
    """Where the echo of `secret` beginning at `start` ends, if at least its first
    `MIN_SECRET_CHARS` characters are there."""
    i = end = start
    matched = 0
    while i < len(text) and matched < len(secret):
        char = text[i]
        if char.lower() == secret[matched].lower():
            matched += 1
            i = end = i + 1
        elif char.isspace() or char in _INVISIBLE:
            i += 1
        else:
            break
    return end if matched >= MIN_SECRET_CHARS else None


class ProviderError(Exception):
    """Base of the hierarchy; `kind` says which of the situations this is."""

    kind: ErrorKind = ErrorKind.BAD_RESPONSE

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    def redacted(self, *secrets: str | None) -> ProviderError:
        """A copy of this error whose message cannot contain the given secrets."""
        clean = type(self)(redact(self.message, *secrets), status_code=self.status_code)
        return clean


class CannotConnect(ProviderError):
    kind = ErrorKind.CANNOT_CONNECT


class AuthFailed(ProviderError):
    kind = ErrorKind.AUTH_FAILED


class ModelNotFound(ProviderError):
    kind = ErrorKind.MODEL_NOT_FOUND


class RateLimited(ProviderError):
    kind = ErrorKind.RATE_LIMITED


class ContextTooLong(ProviderError):
    kind = ErrorKind.CONTEXT_TOO_LONG


class StreamInterrupted(ProviderError):
    kind = ErrorKind.INTERRUPTED


class TimedOut(ProviderError):
    kind = ErrorKind.TIMED_OUT


class BadResponse(ProviderError):
    kind = ErrorKind.BAD_RESPONSE


class PartnerCannotRun(ProviderError):
    kind = ErrorKind.PARTNER_CANNOT_RUN


class OutputLimit(ProviderError):
    """The report reached this app's own output cap (not the model's max tokens)."""

    kind = ErrorKind.OUTPUT_LIMIT


@dataclass(frozen=True)
class Hints:
    """How to tell an analyst to fix each failure, in the words of one kind of server."""

    service: str
    connect_fix: str
    model_fix: str
    # For the operator's key (a variable, a secrets file); a key typed for the session is
    # `TYPED_KEY_FIX` whatever the provider.
    auth_fix: str = "check the API key"
    # After a server error (5xx) and after any other refusal: where the cause is to be read (a
    # server of your own has a log; a hosted service does not show you one).
    server_fix: str = "try again; if it keeps failing, the server's log says why"
    refusal_fix: str = "the server's log says why it refused the request"

    @property
    def service_in_sentence(self) -> str:
        """`service` as it reads after the start of a sentence ("the connection to the
        OpenAI-compatible server broke"): it is written to open one ("The OpenAI-compatible
        server at …"), and a name ("Ollama") stays as it is."""
        first, _, rest = self.service.partition(" ")
        return f"the {rest}" if first == "The" and rest else self.service


TYPED_KEY_FIX = "check the API key typed for this session"


# Markers servers use for "prompt does not fit" (llama.cpp, llama-cpp-python, Ollama, vLLM, OpenAI,
# Anthropic's "prompt is too long").
CONTEXT_MARKERS = (
    "exceed_context_size",
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "too long",
    "too many tokens",
)

# Anthropic names its errors by type as well as status; a type seen in-band (an `error` event in a
# stream that began with HTTP 200) maps to the status it stands for.
ERROR_TYPE_STATUS = {
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
    "timeout_error": 504,
}


def looks_like_context_error(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in CONTEXT_MARKERS)


def error_for_status(
    status: int, detail: str, *, where: str, config: ProviderConfig, hints: Hints
) -> ProviderError:
    """The one map from an HTTP status (and the server's words) to an error kind."""
    said = clip_detail(
        detail, config.secrets
    )  # the server's own words, where it gave any we can show
    detail = said or f"HTTP {status}"
    model = config.model
    if status in (401, 403):
        fix = TYPED_KEY_FIX if config.key_typed else hints.auth_fix
        return AuthFailed(f"{where} refused the credentials ({detail}) — {fix}.", status)
    if status == 404:
        return ModelNotFound(
            f"{where} does not know model '{model}' ({detail}) — {hints.model_fix}.", status
        )
    if status == 413 or (status in (400, 422) and looks_like_context_error(detail)):
        return ContextTooLong(
            f"The contract does not fit model '{model}' ({detail}) — use a model with a "
            "longer context, raise its context length, or review a shorter excerpt.",
            status,
        )
    if status in (429, 503, 529):
        return RateLimited(
            f"{where} is busy or rate limiting ({detail}) — wait a minute and try again.", status
        )
    if status in (408, 504):
        return TimedOut(f"{where} timed out ({detail}) — try again or use a faster model.", status)
    # Every other status still says what to do: a server error may pass (an overloaded worker, a
    # restart); any other refusal is the request's.
    fix = hints.server_fix if status >= 500 else hints.refusal_fix
    return BadResponse(
        f"{where} answered HTTP {status}" + (f": {said}" if said else "") + f" — {fix}.", status
    )
