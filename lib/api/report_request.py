"""`POST /api/report`'s body, as JSON or a multipart form, turned into a contract and a model
(and, for a playbook check, a playbook).

The same checks as the Review page: the endpoint lock (`catalog.check_endpoint`), the providers
the operator switched on, the output-token limits, the document reader and its size limit; a
playbook is a bundled one's id or a TOML body read by the one loader, under its limits.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.types import Strict

from lib.analysis.documents import (
    DEFAULT_MAX_BYTES,
    OCR_OFFERED,
    Document,
    DocumentError,
    NeedsOcr,
    document_from_text,
)
from lib.analysis.ocr import ocr_status
from lib.analysis.playbook.format import Playbook
from lib.analysis.playbook.loader import MAX_BYTES as PLAYBOOK_MAX_BYTES
from lib.analysis.playbook.loader import PlaybookError, parse_playbook
from lib.analysis.plural import counted
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY, TEMPLATES
from lib.engine.errors import ErrorKind
from lib.engine.provider_config import (
    DEFAULT_MAX_TOKENS,
    MAX_MAX_TOKENS,
    MIN_MAX_TOKENS,
    Provider,
    ProviderConfig,
)
from lib.engine.providers.registry import spec_for
from lib.engine.settings import Settings
from lib.runs import playbook_library
from lib.runs.document_sandbox import ReaderBusy, read_upload
from lib.runs.model_choice import ChoiceError, ModelChoice, resolve
from lib.runs.scans import left_out
from lib.store.playbook_store import PlaybookStore

MAX_CONTRACT_CHARS = DEFAULT_MAX_BYTES
# Why the API refuses a scan rather than reading it: OCR takes seconds a page, minutes a contract,
# and waits for any other OCR run on the server; a request would hang that long before its first
# event.
API_OCR = (
    f"The API does not run OCR, which can take minutes: this server reads scans on the "
    f"{OCR_OFFERED}. Or send the contract's text."
)


# When to send a file again that arrived while the reader was busy: another file's read takes a
# second or two, and the message says "in a moment" (the 60 s default is a run's place).
READER_RETRY_S = 2


# The control characters a request's text may hold: a tab and line breaks (a playbook's TOML has
# lines, "\r\n" from a Windows editor). Any other (a NUL, which PostgreSQL text refuses; an
# escape) is refused with 422 in the fields the API stores or sends to a model (`FREE_TEXT`) and
# in `GET /api/runs`'s text filters, which reach the run log's query; the contract's text loses
# them when it is read, and its name in `Document`.
ALLOWED_CONTROLS = frozenset("\t\n\r")
FREE_TEXT = ("model", "base_url", "perspective", "playbook", "playbook_toml")


def control_character(text: str) -> str | None:
    """The first control character in `text` other than a tab or a line break, or None."""
    return next(
        (ch for ch in text if ch not in ALLOWED_CONTROLS and unicodedata.category(ch) == "Cc"),
        None,
    )


def no_control_characters(value: str | None) -> str | None:
    """`value` as sent, or ValueError (a 422 naming the field) when it holds a control character
    other than a tab or a line break: the rule for every text the API takes, a body's fields and
    `GET /api/runs`'s filters alike, which reach the run log's query and its log lines."""
    if value is not None and (found := control_character(value)) is not None:
        raise ValueError(
            f"holds a control character (U+{ord(found):04X}); only tabs and line breaks may be sent"
        )
    return value


class ApiError(Exception):
    """A request the API refuses before streaming anything: HTTP status and a JSON body."""

    def __init__(self, status: int, message: str, *, retry_after_s: int = 60, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}
        # For a 429: when to ask again, as its message says (a run's place frees in minutes,
        # an estimate's in a second or so).
        self.retry_after_s = retry_after_s


class ReportRequest(BaseModel):
    """Start a review. Only `contract` (or, in a multipart form, `file`) is required."""

    model_config = ConfigDict(extra="forbid")

    contract: str = Field(
        "", max_length=MAX_CONTRACT_CHARS, description="The contract text (or upload `file`)."
    )
    name: str = Field(
        "Contract", min_length=1, max_length=200, description="Document name for the run log."
    )
    provider: Provider | None = Field(
        None, description="Default: the first configured provider that answers."
    )
    model: str | None = Field(
        None, min_length=1, max_length=200, description="Default: the provider's first model."
    )
    base_url: str | None = Field(
        None,
        max_length=500,
        description="The provider's endpoint; limited to the operator's list when one is set.",
    )
    template: str = Field(DEFAULT_TEMPLATE_KEY, description=f"One of {', '.join(TEMPLATES)}.")
    perspective: str = Field("", max_length=200, description="Whose side to review for.")
    # Strict, these four: a JSON body's "4096", 4096.0 or "yes" is a 422, not a guess at what was
    # meant (a multipart form's fields are text, read as JSON would read them: `from_form`).
    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=MIN_MAX_TOKENS, le=MAX_MAX_TOKENS, strict=True)
    thinking: bool | None = Field(
        None,
        strict=True,
        description="Ask a reasoning model to think first (true) or not (false); default: the"
        " provider's (Claude: off; Ollama: the model's own). Ignored by providers without a"
        " thinking switch.",
    )
    thinking_budget: int | None = Field(
        None,
        strict=True,
        ge=1,
        le=MAX_MAX_TOKENS,
        description="Claude: tokens it may spend thinking, at least 1024 and below max_tokens"
        " (default: half of max_tokens).",
    )
    playbook: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Check the contract against a playbook: a bundled one's id (nda,"
        " commercial) or one the caller saved on the Playbook page (its id), instead of writing"
        " a review: the stream carries a `verdict` event per position."
        " Without provider, model and base_url the built-in checker decides (no model).",
    )
    playbook_toml: str | None = Field(
        None,
        min_length=1,
        max_length=PLAYBOOK_MAX_BYTES,
        description="A playbook of your own, as TOML, instead"
        " of `playbook`; validated, every problem named (400).",
    )
    resume: bool = Field(
        False,
        strict=True,
        description="Keep the run going for the grace period if the connection drops, so the"
        " client can reconnect with Last-Event-ID; such a client stops a run with DELETE.",
    )

    @classmethod
    def from_form(cls, fields: Mapping[str, str]) -> Self:
        """A multipart form's fields, whose values are all text: the strict fields (numbers,
        switches) read as JSON would read them, so `4096` and `true` are taken and `4096.0`,
        `4_096`, ` 4096`, `yes`, `on` or `1` are the same 422 as in a JSON body. Pydantic's
        string mode (`model_validate_strings`, strict or not) would take each of those."""
        data: dict[str, Any] = {
            name: _form_value(value) if name in _JSON_VALUED else value
            for name, value in fields.items()
        }
        return cls.model_validate(data)

    @field_validator(*FREE_TEXT)
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        return no_control_characters(value)

    @field_validator("template")
    @classmethod
    def _known_template(cls, value: str) -> str:
        if value not in TEMPLATES:
            raise ValueError(f"unknown template; use one of {', '.join(TEMPLATES)}")
        return value


# The fields a JSON body must send as a JSON number or `true`/`false` (not text): those declared
# strict; a form sends them as text holding that JSON.
_JSON_VALUED = frozenset(
    name
    for name, field in ReportRequest.model_fields.items()
    if any(isinstance(meta, Strict) for meta in field.metadata)
)


def read_json(raw: str | bytes) -> Any:
    """JSON as the API reads it: NaN and ±Infinity, which Python's parser takes by default, are
    not JSON (ValueError, as for any text that is not JSON)."""
    return json.loads(raw, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _form_value(text: str) -> Any:
    """A form field's text as the JSON value it holds; text that is not exactly one JSON value
    (surrounding spaces included, which JSON's parser skips) stays text, for the strict field to
    refuse."""
    if text != text.strip():
        return text
    try:
        return read_json(text)
    except (ValueError, RecursionError):  # a number past Python's digit limit, deep nesting
        return text


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def read_document(request: ReportRequest, upload: Upload | None, settings: Settings) -> Document:
    """The contract to review, or 400 when there is none or it cannot be read. A file is read in
    the limited child process, as on the pages; a scan is refused (`kind` `needs_ocr`, with
    whether this server can read it with OCR elsewhere). Blocking: call it off the event loop."""
    limits, sandbox = settings.document_limits, settings.sandbox
    try:
        if upload is not None:
            if request.contract.strip():
                raise ApiError(400, "Send the contract as text or as a file, not both")
            return read_upload(upload.data, upload.filename, limits=limits, sandbox=sandbox)
        if not request.contract.strip():
            raise ApiError(
                400, "No contract: send it as `contract` (text) or as a multipart field `file`"
            )
        return document_from_text(request.contract, request.name, limits=limits)
    except ReaderBusy as exc:  # not the file's fault: the same request works in a moment
        raise ApiError(429, exc.message, retry_after_s=READER_RETRY_S, kind="reader_busy") from None
    except NeedsOcr as exc:
        message = left_out(exc.reason, API_OCR)
        available = ocr_status().available
        raise ApiError(400, message, kind="needs_ocr", ocr_available=available) from None
    except DocumentError as exc:
        raise ApiError(400, exc.message) from None


def read_playbook(request: ReportRequest, store: PlaybookStore | None) -> Playbook | None:
    """The playbook to check against (None: a review): a bundled or saved one found the way the
    pages find it (`store`: the caller's own playbooks), or a TOML body; 400 naming what is
    wrong with it."""
    if request.playbook is not None and request.playbook_toml is not None:
        raise ApiError(400, "Send a playbook id or a playbook's TOML, not both")
    try:
        if request.playbook is not None:
            return playbook_library.find(request.playbook, store)
        if request.playbook_toml is not None:
            return parse_playbook(request.playbook_toml, "playbook_toml")
    except PlaybookError as exc:
        sent = (
            f"The playbook {request.playbook!r}"
            if request.playbook is not None
            else "The playbook sent as playbook_toml"
        )
        raise ApiError(400, playbook_refusal(sent, exc.problems), problems=exc.problems) from None
    return None


# Problems named in a refusal's `error`; its `problems` lists every one.
NAMED_PROBLEMS = 3


def playbook_refusal(sent: str, problems: list[str]) -> str:
    """A 400's `error` for a playbook: what was sent and what is wrong with it, in one line a
    client can show as it is (the loader's own message is a heading over a list)."""
    named = "; ".join(problems[:NAMED_PROBLEMS])
    more = len(problems) - NAMED_PROBLEMS
    rest = f" (and {counted(more, 'more problem')}, listed in problems)" if more > 0 else ""
    return f"{sent} cannot be used: {named}{rest}"


def names_a_model(request: ReportRequest) -> bool:
    """Whether the request picks a model; a playbook check that does not is the built-in
    checker's."""
    return any(v is not None for v in (request.provider, request.model, request.base_url))


def resolve_thinking(
    request: ReportRequest, config: ProviderConfig
) -> tuple[bool | None, int | None]:
    """The run's thinking switch and budget under the provider's rules, or 400."""
    switch = spec_for(config.provider).thinking
    if switch is None:
        return None, None
    try:
        return switch.choose(request.thinking, request.thinking_budget, request.max_tokens)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None


def resolve_config(request: ReportRequest, settings: Settings) -> ProviderConfig:
    """Provider, endpoint and model chosen as on every front end (`model_choice.resolve`).

    Blocking (it may ask the provider for its models): call it off the event loop.
    """
    choice = ModelChoice(request.provider, request.model, request.base_url)
    try:
        return resolve(choice, settings, probe=request.model is None)
    except ChoiceError as exc:
        if exc.kind == "unavailable":
            raise provider_failed(exc.message, exc.error_kind) from None
        raise ApiError(400, exc.message) from None


# The status of a provider's failure met before anything streams, by its kind: one that does not
# answer may answer soon (503), a busy one later (429, with Retry-After), a slow one timed out
# (504); any other (a refused key, a server error, an unexpected answer) is the provider's
# answer and will not change by asking again (502), its `kind` saying which.
PROVIDER_FAILURE_STATUS: dict[ErrorKind, int] = {
    ErrorKind.CANNOT_CONNECT: 503,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.TIMED_OUT: 504,
}


def provider_failed(message: str, kind: ErrorKind | None) -> ApiError:
    """The refusal for a provider that failed when the API asked it for its models, with the
    same `kind` a run's `error` event gives that failure; a provider that cannot be asked (no
    key or endpoint set) is `cannot_connect`, as one that does not answer."""
    kind = kind or ErrorKind.CANNOT_CONNECT
    return ApiError(PROVIDER_FAILURE_STATUS.get(kind, 502), message, kind=kind.value)
