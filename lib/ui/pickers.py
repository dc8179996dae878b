"""Sidebar and form widgets: the contract, the provider and model, generation settings."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Any

import streamlit as st

from lib.analysis.documents import Document, DocumentError, NeedsOcr, document_from_text
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY, TEMPLATES
from lib.analysis.samples import ATTRIBUTION, load_sample, sample_names
from lib.engine.provider_config import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    MAX_MAX_TOKENS,
    MIN_MAX_TOKENS,
    Provider,
    ProviderConfig,
    shown_url,
)
from lib.engine.providers.registry import spec_for
from lib.engine.settings import Settings
from lib.runs import catalog
from lib.runs.document_sandbox import UploadCache, read_upload
from lib.runs.launch import save_upload
from lib.runs.model_choice import ChoiceError, ModelChoice, options, resolve
from lib.store.records import provider_label
from lib.ui.ocr_panel import ocr_panel
from lib.ui.safe import label, md

DOCUMENT_KEY = "document"  # the contract in use, shared by the Review and Compare pages
DOCUMENT_FROM = "document_from"  # the page whose input made it
UPLOADS_KEY = "read_uploads"


def kept(
    key: str, default: object = None, allowed: Sequence[object] | None = None
) -> Callable[[], None]:
    """Keep a widget's value while the analyst is on another page, and put it back when they
    return: Streamlit forgets a widget not drawn in a run, so their instructions, side or pasted
    text came back empty while the contract itself was kept, and a model picked by hand came back
    as the default provider, to which the next review then sent the contract. Call before drawing
    the widget (which then takes no `value`/`index`), and pass the returned callback as its
    `on_change`.

    A value no longer `allowed` (a model the server stopped listing) is replaced by one that is,
    set as the widget's value so the page shows what the run will use: a value only dropped left
    the browser showing the old model while runs went to the first one listed."""
    state = st.session_state
    store = f"kept_{key}"
    if allowed is not None:
        if store in state and _still_allowed(state[store], allowed, None) != state[store]:
            del state[store]
        if key in state and (valid := _still_allowed(state[key], allowed, default)) != state[key]:
            if valid is None:
                del state[key]
            else:
                state[key] = valid
    if key not in state:
        if store in state:
            state[key] = state[store]
        elif default is not None:
            state[key] = default

    def remember() -> None:
        state[store] = state[key]

    return remember


def _still_allowed(value: object, allowed: Sequence[object], default: object) -> object:
    """`value` if it is still offered; of several (a multiselect's), those that are; else the
    default, or the first choice offered."""
    if isinstance(value, list | tuple):
        return type(value)(item for item in value if item in allowed)
    if value in allowed:
        return value
    if default is not None and default in allowed:
        return default
    return allowed[0] if allowed else None


def document_input(settings: Settings, key: str) -> Document | None:
    """Paste or upload a contract; the result is shared with the other pages of the session.

    Returns the contract loaded on another page when nothing was entered on this one. A file
    that cannot be read, a box the analyst empties (or a file they remove), or a switch to an
    empty paste box leaves no contract at all: they see the error, and Review must not quietly
    review the contract that was there before. Only their own change counts: coming back to a
    page, whose boxes Streamlit has emptied meanwhile, keeps the contract.
    """
    state = st.session_state
    changed, switched, read_from = f"{key}_changed", f"{key}_switched", f"{key}_read_from"
    state[_AWAITING_OCR.format(key)] = False
    if state.get(DOCUMENT_FROM, key) != key:
        # Another page chose the contract since: this page's own input, kept while the analyst
        # was away, must not come back and replace it.
        for name in ("text", "source", "sample"):
            state.pop(f"kept_{key}_{name}", None)
        state.pop(read_from, None)
    keep_text = kept(f"{key}_text")

    def mark_changed() -> None:
        state[changed] = True

    def text_changed() -> None:
        keep_text()
        mark_changed()

    keep_source = kept(f"{key}_source")

    def source_changed() -> None:
        keep_source()
        state[switched] = True

    source = st.radio(
        "Contract",
        ["Paste text", "Upload a file", "Try a sample contract"],
        horizontal=True,
        label_visibility="collapsed",
        key=f"{key}_source",
        on_change=source_changed,
    )
    document: Document | None = None
    upload = None
    refused = False
    limits, sandbox = settings.document_limits, settings.sandbox
    if source == "Paste text":
        pasted = st.text_area(
            "Contract text",
            height=220,
            key=f"{key}_text",
            placeholder="Paste the contract here…",
            on_change=text_changed,
        )
        if pasted.strip():
            try:
                document = document_from_text(pasted, limits=limits)
            except DocumentError as exc:
                refused = True
                st.error(md(exc.message), icon=":material/content_paste:")
    elif source == "Try a sample contract":
        document = _sample_input(key)
    else:
        upload = st.file_uploader(
            "Contract file",
            type=["pdf", "docx", "txt", "md"],
            key=f"{key}_file",
            on_change=mark_changed,
        )
        if upload is not None:
            cache: UploadCache = state.setdefault(UPLOADS_KEY, UploadCache())
            reader = functools.partial(read_upload, limits=limits, sandbox=sandbox)

            def read_and_keep(data: bytes, name: str) -> Document:
                parsed = reader(data, name)
                save_upload(settings, name, data)
                return parsed

            data = upload.getvalue()
            scan: NeedsOcr | None = None
            try:
                document = cache.read(data, upload.name, read_and_keep)
            except NeedsOcr as exc:
                scan, refused = exc, True  # no contract until OCR has read it
                st.warning(md(exc.reason), icon=":material/document_scanner:")
            except DocumentError as exc:
                refused = True
                st.error(md(exc.message), icon=":material/description:")
            if scan is not None or (document is not None and document.image_pages):
                document = (
                    ocr_panel(data, upload.name, document, scan, settings, key=key) or document
                )
                state[_AWAITING_OCR.format(key)] = document is None
    emptied, moved = state.pop(changed, False), state.pop(switched, False)
    # What each way of entering a contract last gave on this page: Streamlit empties a file box
    # hidden for a run, so switching back to it brings back the file read there, while
    # switching to an empty paste box is choosing to paste, not to review the file again.
    by_source: dict[str, Document] = state.setdefault(read_from, {})
    if document is None and (refused or emptied):
        by_source.pop(source, None)
        state.pop(DOCUMENT_KEY, None)
        return None
    if document is None and moved:
        document = by_source.get(source)
        if document is None:
            state.pop(DOCUMENT_KEY, None)
            return None
    if document is None:
        document = state.get(DOCUMENT_KEY)
        _name_kept_file(document, source, upload)
        return document
    _name_kept_file(document, source, upload)
    by_source[source] = document
    state[DOCUMENT_KEY], state[DOCUMENT_FROM] = document, key
    for warning in document.warnings:
        st.warning(md(warning))
    return document


_AWAITING_OCR = "{}_awaiting_ocr"


def no_contract(key: str, usual: str) -> str:
    """Why a page's button has no contract to run on: the `usual` sentence, unless the file in
    its box is a scan waiting for OCR ("Paste a contract or upload a file first" read oddly under
    the file just uploaded)."""
    if st.session_state.get(_AWAITING_OCR.format(key)):
        return "The file is a scan: read it with OCR first (the button under it), then try again."
    return usual


def _name_kept_file(document: Document | None, source: str, upload: object) -> None:
    """Under an empty file box, the contract in use: Streamlit cannot put a file back in its box,
    so after a visit to another page or source the box looked empty while Review went on to
    review the file read before."""
    if document is not None and source == "Upload a file" and upload is None:
        st.caption(f"Reviewing {label(document.name)}, read earlier — upload a file to replace it.")


def _sample_input(key: str) -> Document:
    names = sample_names()
    name = st.selectbox(
        "Sample contract",
        names,
        format_func=lambda n: load_sample(n).title,
        key=f"{key}_sample",
        on_change=kept(f"{key}_sample"),
        help="Real contracts filed with the SEC, from the CUAD data set, for trying the app.",
    )
    sample = load_sample(name)
    st.caption(ATTRIBUTION)
    return document_from_text(sample.text, name=f"{sample.title}.txt")


def template_picker(target: Any, key: str, label: str = "Review template") -> str:
    """A review template's key, kept while the analyst is on another page (`kept`)."""
    keys = list(TEMPLATES)
    return str(
        target.selectbox(
            label, keys, format_func=lambda k: TEMPLATES[k].title, key=key,
            on_change=kept(key, DEFAULT_TEMPLATE_KEY, keys),
        )
    )  # fmt: skip


def generation_settings(key: str) -> tuple[int, float]:
    """Max output tokens and temperature, in a collapsed expander of the current container."""
    tokens_key, temperature_key = f"{key}_max_tokens", f"{key}_temperature"
    keep_tokens = kept(tokens_key, DEFAULT_MAX_TOKENS, range(MIN_MAX_TOKENS, MAX_MAX_TOKENS + 1))
    keep_temperature = kept(temperature_key, DEFAULT_TEMPERATURE)
    with st.expander("Generation settings"):
        max_tokens = int(
            st.number_input(
                "Max output tokens", MIN_MAX_TOKENS, MAX_MAX_TOKENS, step=256, key=tokens_key,
                on_change=keep_tokens,
            )
        )  # fmt: skip
        temperature = st.slider(
            "Temperature (local models)", 0.0, 1.0, step=0.05, key=temperature_key,
            on_change=keep_temperature,
        )  # fmt: skip
    return max_tokens, temperature


THINKING_CHOICES = {None: "model's default", True: "on", False: "off"}


def thinking_switch(
    config: ProviderConfig | None, max_tokens: int, key: str
) -> tuple[bool | None, int | None]:
    """The run's thinking switch and budget, for a provider that takes one (its spec's
    `ThinkingSwitch`); (None, None) for any other. A budget the provider would refuse is shown
    as an error and the run asks for no thinking."""
    switch = spec_for(config.provider).thinking if config is not None else None
    if config is None or switch is None:
        return None, None
    switch_key = f"{key}_thinking_{config.provider}"
    if switch.min_budget is None:
        choices = list(THINKING_CHOICES)
        keep = kept(switch_key, switch.default, choices)  # None: the first choice
        asked = st.radio(
            "Thinking (reasoning models)",
            choices,
            format_func=THINKING_CHOICES.__getitem__,
            horizontal=True,
            key=switch_key,
            on_change=keep,
            help="Ask a reasoning model to think before it answers, or not. A model that cannot "
            "think runs without it.",
        )
        return switch.choose(asked, None, max_tokens)
    fits = switch.default_budget(max_tokens)
    keep = kept(switch_key, bool(switch.default))
    asked = st.toggle(
        "Extended thinking",
        disabled=fits is None,
        key=switch_key,
        on_change=keep,
        help="The model thinks before it answers; thinking is billed as output tokens.",
    )
    if not asked or fits is None:
        if fits is None:
            st.caption(f"Extended thinking needs more than {switch.min_budget:,} max tokens.")
        return switch.choose(False, None, max_tokens)
    budget_key = f"{key}_thinking_budget"
    keep_budget = kept(budget_key, fits, range(switch.min_budget, max_tokens))
    budget = int(
        st.number_input(
            "Thinking budget (tokens)",
            min_value=switch.min_budget,
            max_value=max_tokens - 1,
            step=256,
            key=budget_key,
            on_change=keep_budget,
        )
    )
    try:
        return switch.choose(True, budget, max_tokens)
    except ValueError as exc:
        st.error(label(str(exc)))
        return switch.choose(False, None, max_tokens)


def provider_picker(
    settings: Settings,
    key: str,
    default: Provider | None = None,
    exclude: Collection[Provider] = (),
) -> ProviderConfig | None:
    """Provider, endpoint and model widgets; None (with the reason shown) when nothing is usable.

    `exclude`: providers that cannot do this page's work (the clause finder writes no verdicts)."""
    choices = [p for p in catalog.provider_choices(settings) if p not in exclude]
    if not choices:
        st.warning("No model provider is switched on here.", icon=":material/block:")
        return None
    if default is None:
        default = catalog.choose_default(settings)
    keep = kept(f"{key}_provider", default if default in choices else choices[0], choices)
    provider = st.selectbox(
        "Provider", choices, format_func=provider_label, key=f"{key}_provider", on_change=keep
    )
    spec = spec_for(provider)
    base_url = catalog.starting_endpoint(provider, settings)
    choices_for_endpoint = catalog.endpoint_choices(provider, settings)
    typed_key: str | None = None
    if spec.note:
        st.info(spec.note, icon=":material/info:")
    if choices_for_endpoint is not None:
        endpoint_key = f"{key}_endpoint_{provider}"
        base_url = st.selectbox(
            "Endpoint",
            choices_for_endpoint,
            format_func=shown_url,
            key=endpoint_key,
            on_change=kept(endpoint_key, allowed=choices_for_endpoint),
        )
    elif spec.typed_endpoint:
        url_key = f"{key}_base_url_{provider}"
        keep_url = kept(url_key, shown_url(base_url))
        base_url = st.text_input(
            "Base URL", key=url_key, placeholder=spec.url_placeholder, on_change=keep_url
        )
    if spec.takes_key:
        # Kept for the session like every other choice: dropped on a visit to another page, the
        # next run went out on the operator's key (billed to them) with nothing said.
        key_box = f"{key}_api_key_{provider}"
        keep_key = kept(key_box)
        typed_key = st.text_input(
            "API key (this session only)",
            type="password",
            key=key_box,
            on_change=keep_key,
            help="Used for this browser session only; never stored, logged or exported. The "
            "operator's key is only ever sent to the endpoint it was set up for.",
            placeholder="operator's key set (for its own endpoint)"
            if catalog.has_operator_key(provider, settings)
            else "sk-…",
        )
    choice = ModelChoice(provider, None, base_url or "", typed_key)
    try:
        found = options(choice, settings)
        model_key = f"{key}_model_{provider}"
        keep_model = kept(model_key, allowed=found.models)
        model = st.selectbox("Model", found.models, key=model_key, on_change=keep_model)
        st.caption(label(catalog.destination(provider, found.base_url)))
        return resolve(replace(choice, model=model), settings)
    except ChoiceError as exc:
        if exc.kind == "endpoint":
            st.error(md(exc.message))
        else:
            st.warning(md(exc.message))
        return None
