"""One error vocabulary for every provider.

Every failure a run can meet is mapped to one of these classes, so pages, the history and the
tests speak about the same handful of kinds instead of each provider's exception zoo. Each error
carries a message an analyst can act on. Messages are built from server text and our own words
only; `redact` is applied on the way in so an API key echoed by a server never reaches the page.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    CANNOT_CONNECT = "cannot_connect"
    AUTH_FAILED = "auth_failed"
    MODEL_NOT_FOUND = "model_not_found"
    RATE_LIMITED = "rate_limited"
    CONTEXT_TOO_LONG = "context_too_long"
    INTERRUPTED = "interrupted"
    TIMED_OUT = "timed_out"
    BAD_RESPONSE = "bad_response"


ERROR_TITLES: dict[ErrorKind, str] = {
    ErrorKind.CANNOT_CONNECT: "Cannot connect",
    ErrorKind.AUTH_FAILED: "Authentication failed",
    ErrorKind.MODEL_NOT_FOUND: "Model not found",
    ErrorKind.RATE_LIMITED: "Rate limited or overloaded",
    ErrorKind.CONTEXT_TOO_LONG: "Contract too long for the model",
    ErrorKind.INTERRUPTED: "Interrupted mid-answer",
    ErrorKind.TIMED_OUT: "Timed out",
    ErrorKind.BAD_RESPONSE: "Unexpected response",
}


def redact(text: str, *secrets: str | None) -> str:
    """Remove every secret from text; short or empty secrets are ignored to avoid mangling."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "[redacted]")
    return text


class ProviderError(Exception):
    """Base of the hierarchy; `kind` says which of the eight situations this is."""

    kind: ErrorKind = ErrorKind.BAD_RESPONSE

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    @property
    def title(self) -> str:
        return ERROR_TITLES[self.kind]

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
