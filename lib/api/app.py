"""The API's routes: `POST /api/report` streams a review (or a playbook check) as Server-Sent
Events; the rest lists models and runs. A front end beside the pages: runs go through the same
`launch` → `LiveRun` → `stream_model` path (a check: `start_playbook`) and land in the same run
log.

Why sse-starlette rather than Starlette's `StreamingResponse`: its disconnect listener runs
whatever ASGI version the server speaks (Starlette's only notices a client that left at the next
write, and a model loading writes nothing for minutes, so the 200 ms cancellation would depend on
the keep-alive period); it also sends the keep-alive comments and ends open streams when the
server shuts down. We write the event bytes ourselves: each is formatted once and sent to every
client following the run.
"""

# No `from __future__ import annotations`: FastAPI reads the route signatures at run time, and
# they name objects local to `create_app`.
import asyncio
import contextlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BeforeValidator, TypeAdapter, ValidationError
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from lib.analysis.documents import DEFAULT_MAX_BYTES, Document
from lib.analysis.playbook.format import Playbook
from lib.analysis.playbook.loader import MAX_BYTES as PLAYBOOK_MAX_BYTES
from lib.analysis.prompts import TEMPLATES, default_instructions
from lib.api.config import ApiConfig
from lib.api.guard import RequestGuard
from lib.api.hub import ApiRun, RunHub, figures, parse_event_id
from lib.api.report_request import (
    ApiError,
    ReportRequest,
    Upload,
    names_a_model,
    no_control_characters,
    read_document,
    read_json,
    read_playbook,
    resolve_config,
    resolve_thinking,
)
from lib.engine.errors import ErrorKind, RateLimited
from lib.engine.limits import busy_message
from lib.engine.provider_config import DEFAULT_TEMPERATURE
from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings, UntrustedUserHeader
from lib.runs import catalog
from lib.runs.estimate import RunEstimate, builtin_check_estimate, will_not_start
from lib.runs.launch import RunRequest, launch, save_upload
from lib.runs.live import claim_slot, release_slot
from lib.runs.model_choice import ChoiceError
from lib.runs.playbook_run import (
    PlaybookRequest,
    check_run_request,
    refuse_non_checker,
    start_playbook,
)
from lib.store.database import StoreUnavailable
from lib.store.owners import Scope, scope_for
from lib.store.playbook_store import PlaybookStore
from lib.store.records import RunRecord, SessionHistory, provider_label
from lib.store.run_log import RunLog, open_run_log

STATIC = Path(__file__).resolve().parent / "static"
SSE_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


def body_limit(settings: Settings) -> int:
    """The largest body read: the operator's upload limit (CRS_MAX_UPLOAD_MB, never below the
    default, which also bounds a pasted contract) and a playbook, plus room for the fields."""
    upload = max(settings.document_limits.max_bytes, DEFAULT_MAX_BYTES)
    return upload + PLAYBOOK_MAX_BYTES + 64 * 1024


PAGE = "api"
# The texts a URL gives the run log's queries (a run's id, `GET /api/runs`'s filters), refused with
# 422 under the one rule for every text the API takes: a NUL there broke PostgreSQL's query (500).
RunId = Annotated[str, AfterValidator(no_control_characters)]
Filter = Annotated[str | None, AfterValidator(no_control_characters)]


def create_app(settings: Settings, config: ApiConfig) -> FastAPI:
    # The settings' rules (the endpoint lock, whether it serves a team) hold for where this
    # server listens; and it refuses to serve a team it cannot tell apart (`config.check`).
    settings = replace(settings, listen_address=config.host)
    if len(set(config.tokens.values())) > 1 and not settings.unlock_endpoints:
        # Tokens for several users: a team, even on loopback (behind a proxy or an SSH tunnel),
        # whose callers must not make this server send requests wherever they name (the lock).
        settings = replace(settings, lock_endpoints=True)
    config.check(settings)
    hub = RunHub(resume_grace_s=config.resume_grace_s, stats_interval_s=config.stats_interval_s)
    run_log = open_run_log(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        hub.stop_everything()

    app = FastAPI(
        title="Contract Review Studio API",
        version="1.0",
        summary="Stream a contract review as Server-Sent Events; list models and runs.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.add_middleware(RequestGuard, hosts=settings.host_names)
    bearer = HTTPBearer(
        auto_error=False, description="CRS_API_TOKEN or a CRS_API_TOKENS token, when set"
    )

    def authorised(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Scope:
        """The caller's scope: a per-user token names its user; so does the trusted proxy's
        header (`Settings.proxy_user`). On an API that serves a team — or a request that came
        through a proxy — a caller nobody names is refused; on a laptop's loopback API callers
        share one owner (`session:api`) and see every run, as on the pages."""
        given = (credentials.credentials if credentials else "").encode()
        user = None
        for token, name in config.tokens.items():
            if hmac.compare_digest(given, token.encode()):
                user = name
        shared = config.token is not None and hmac.compare_digest(given, config.token.encode())
        try:
            proxied = settings.proxy_user(
                request.headers, request.client.host if request.client else None
            )
        except UntrustedUserHeader as exc:
            raise ApiError(403, str(exc)) from None
        user = user or proxied
        if config.requires_token and user is None and not shared:
            raise ApiError(401, "A valid bearer token is required")
        team = settings.serves_a_team_for(request.headers)
        if team and user is None:
            raise ApiError(
                401,
                "This API serves a team and must know who you are: send your own token"
                " (CRS_API_TOKENS) or come through the sign-in proxy",
            )
        return scope_for(
            user,
            session_id="api",
            admins=settings.admins,
            shared_log=settings.shared_log,
            beyond_loopback=team,
        )

    guarded = [Depends(authorised)]
    Caller = Annotated[Scope, Depends(authorised)]

    def viewed(scope: Scope) -> RunLog | None:
        """The run log as `scope` may see it and writes to it."""
        return run_log.scoped(scope) if run_log is not None else None

    def visible(record: RunRecord, scope: Scope) -> bool:
        return scope.sees is None or record.owner == scope.sees

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {
            401: {"WWW-Authenticate": "Bearer"},
            429: {"Retry-After": str(exc.retry_after_s)},
        }
        return JSONResponse(exc.body, exc.status, headers=headers.get(exc.status))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Each error's kind, place and message only: the input it names is the caller's own
        # (up to 26 MB sent back, or a value JSON cannot carry), and its place is clipped.
        errors = jsonable_encoder(
            [
                {
                    "type": e.get("type"),
                    "loc": [_clip(str(part)) for part in e.get("loc", ())],
                    "msg": _clip(str(e.get("msg", ""))),
                }
                for e in exc.errors()
            ]
        )
        where = ".".join(str(part) for part in errors[0]["loc"]) if errors else "body"
        message = f"Invalid request: {where}: {errors[0]['msg']}" if errors else "Invalid request"
        return JSONResponse({"error": message, "detail": errors}, 422)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        # A shared database gone away mid-session: said in JSON like every other error (it was
        # a plain "Internal Server Error"), and worth retrying.
        message = f"The run history cannot be reached right now ({exc}); try again in a minute."
        return JSONResponse({"error": message}, 503, headers={"Retry-After": "60"})

    @app.get("/api/health", tags=["server"])
    def health() -> dict[str, Any]:
        """Whether the server is up, and how many runs it is streaming."""
        running = sum(1 for run in hub.runs if not run.ended)
        return {"status": "ok", "runs_streaming": running}

    @app.get("/api/models", tags=["models"], dependencies=guarded)
    def models() -> list[dict[str, Any]]:
        """Each provider this server offers: whether it answers, and its models."""
        rows = []
        for provider in catalog.provider_choices(settings):
            # Where a run that names no endpoint goes, each endpoint asked with its own key only.
            base_url = catalog.starting_endpoint(provider, settings)
            status = catalog.probe_choice(provider, base_url, None, settings)
            rows.append(
                {
                    "provider": provider.value,
                    "label": provider_label(provider),
                    "available": status.available,
                    "models": status.models,
                    "problem": status.problem,
                    "fix": None if status.available else status.fix,
                    # Said whether or not it answers now: a caller decides before sending.
                    "destination": catalog.destination(provider, base_url),
                }
            )
        return rows

    @app.get("/api/runs", tags=["runs"])
    def runs(
        scope: Caller,
        provider: Filter = None,
        model: Filter = None,
        status: Annotated[RunStatus | None, BeforeValidator(RunStatus.named)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    ) -> list[dict[str, Any]]:
        """Runs newest first, from every front end (the run log), without their reports: the
        caller's own runs, or every run for an admin (the pages' rule). `status` takes a stored
        value (`error`) or the label the pages and exports show for it (`failed`); `provider`
        and `model` are refused (422) with a control character, as a body's text is."""
        if run_log is not None:
            records = run_log.scoped(scope).query(
                provider=provider,
                model=model,
                status=status.value if status else None,
                limit=limit,
                with_text=False,
            )
        else:
            records = [
                run.record
                for run in hub.runs
                if visible(run.record, scope)
                and (provider is None or run.record.provider == provider)
                and (model is None or run.record.model == model)
                and (status is None or run.record.status is status)
            ][:limit]
        return [_summary(record) for record in records]

    @app.get("/api/runs/{run_id}", tags=["runs"])
    def run_detail(run_id: RunId, scope: Caller) -> dict[str, Any]:
        """One run's figures, report and thinking (the text so far, while it streams)."""
        live = hub.get(run_id)
        if live is not None and not visible(live.record, scope):
            live = None
        record = live.now() if live is not None else None
        if record is None and run_log is not None:
            record = run_log.scoped(scope).get(run_id)
        if record is None:
            raise ApiError(404, "No such run")
        return {
            **_summary(record),
            "report": record.report,
            "thinking": record.thinking,
            "verdicts": record.verdicts,
        }

    @app.delete("/api/runs/{run_id}", tags=["runs"])
    def cancel(run_id: RunId, scope: Caller) -> dict[str, Any]:
        """Stop a run now: its upstream request ends and it is recorded as cancelled. The Stop of
        a client that asked to resume (a dropped connection would otherwise keep the run going)."""
        run = hub.get(run_id)
        if run is None or not visible(run.record, scope):
            raise ApiError(404, "No such run in flight")
        return run.ask_stop()

    @app.get(
        "/api/runs/{run_id}/events",
        tags=["runs"],
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "The events"}},
    )
    async def run_events(
        run_id: RunId, scope: Caller, last_event_id: Annotated[str | None, Header()] = None
    ) -> Response:
        """Follow a run: the events after `Last-Event-ID` (all without it), then the live rest."""
        if last_event_id:
            return _follow(*_resumed(last_event_id, scope, run_id))
        return _follow(_kept_run(run_id, scope), -1)

    @app.post(
        "/api/report",
        tags=["report"],
        response_class=EventSourceResponse,
        openapi_extra=_report_openapi(),
    )
    async def report(
        request: Request, scope: Caller, last_event_id: Annotated[str | None, Header()] = None
    ) -> Response:
        """Review a contract, streaming `start`, `thinking`…, `token`…, `stats`… and `done` or
        `error` events; with `playbook` or `playbook_toml`, check it against the playbook,
        streaming `start`, a `verdict` per position as it is decided, `stats`… and `done` or
        `error`.

        Sent again with `Last-Event-ID`, it resumes that run instead of starting a new one.
        """
        if last_event_id:
            return _follow(*_resumed(last_event_id, scope))
        body, upload = await _read_body(request, body_limit(settings))
        async with _watching(request) as client:
            return await _review_run(body, upload, request, scope, client)

    async def _review_run(
        body: ReportRequest,
        upload: Upload | None,
        request: Request,
        scope: Scope,
        client: "ClientWatch",
    ) -> Response:
        """A review, or a playbook check, started for a client that is still there."""
        store = PlaybookStore(run_log.scoped(scope)) if run_log is not None else None
        playbook = read_playbook(body, store)
        document = await asyncio.to_thread(read_document, body, upload, settings)
        chosen_with = settings.for_request(request.headers)
        if playbook is not None:
            return await _check(body, upload, document, playbook, chosen_with, scope, client)
        review = await asyncio.to_thread(_review, body, document, chosen_with)
        estimate, holds_place = await _placed(review, scope)
        handed = False  # the place passes to the run (`launch` gives it back if it cannot start)

        def starter(notify: Any) -> Any:
            nonlocal handed
            if upload is not None:
                save_upload(settings, upload.filename, upload.data)
            handed = True
            record, live = launch(
                # The plan its estimate is of, the one the `start` event shows.
                replace(review, plan=estimate.plan),
                history=SessionHistory([]),
                run_log=viewed(scope),
                settings=settings,
                notify=notify,
                holds_place=holds_place,
            )
            record.owner = record.owner or scope.owner
            return record, live

        try:
            client.refuse_if_left()
            run = await hub.start(starter, resume=body.resume, estimate=estimate.as_dict())
        finally:
            if holds_place and not handed:
                release_slot()
        return _follow(run, -1)

    @app.post("/api/estimate", tags=["report"])
    async def estimate_review(request: Request, scope: Caller) -> dict[str, Any]:
        """What `POST /api/report` with the same body would do, without running it: its plan
        (one pass, a focused review of N calls, or too long for the model), tokens, cost, and
        time from the model's earlier runs the caller may see."""
        body, upload = await _read_body(request, body_limit(settings))
        store = PlaybookStore(run_log.scoped(scope)) if run_log is not None else None
        playbook = read_playbook(body, store)
        document = await asyncio.to_thread(read_document, body, upload, settings)
        chosen_with = settings.for_request(request.headers)
        if playbook is not None:
            check = await _check_request(body, document, playbook, chosen_with)
            if check.checker is None:  # it calls no model: said as the Playbook page says it
                return builtin_check_estimate(document.name).as_dict()
            # The check's one pass, as the Playbook page estimates it.
            run = check_run_request(check, check.checker)
        else:
            run = await asyncio.to_thread(_review, body, document, chosen_with)
        made = await hub.planner.estimate(run, settings.prices, viewed(scope))
        return made.as_dict()

    async def _placed(request: RunRequest, scope: Scope) -> tuple[RunEstimate, bool]:
        """A model's run planned before anything is recorded or sent: its place under the cap
        first (429 without one: a request the cap refuses plans nothing, and a long contract's
        plan for a small context is seconds of CPU), then its plan, as its estimate says it (400
        `context_too_long` for a run its model cannot hold). Returns the estimate and whether a
        place is held, which the caller hands to the run or gives back."""
        limit = settings.run_limits.max_concurrent_runs
        holds_place = limit > 0
        if holds_place and not claim_slot(limit):
            raise ApiError(429, busy_message(limit), kind=ErrorKind.RATE_LIMITED.value)
        try:
            estimate = await hub.planner.plan(request, settings.prices, viewed(scope))
            if will_not_start([estimate]):
                raise ApiError(400, estimate.sentence, kind=ErrorKind.CONTEXT_TOO_LONG.value)
        except BaseException:
            if holds_place:
                release_slot()
            raise
        return estimate, holds_place

    def _review(body: ReportRequest, document: Document, chosen_with: Settings) -> RunRequest:
        """The review a body asks for, its model resolved (blocking: it may ask the provider)."""
        model_config = resolve_config(body, chosen_with)
        thinking, thinking_budget = resolve_thinking(body, model_config)
        return RunRequest(
            page=PAGE,
            config=model_config,
            document=document,
            template_key=body.template,
            instructions=default_instructions(TEMPLATES[body.template]),
            perspective=body.perspective,
            max_tokens=body.max_tokens,
            temperature=DEFAULT_TEMPERATURE,
            thinking=thinking,
            thinking_budget=thinking_budget,
        )

    async def _check(
        body: ReportRequest,
        upload: Upload | None,
        document: Document,
        playbook: Playbook,
        chosen_with: Settings,
        scope: Scope,
        client: "ClientWatch",
    ) -> Response:
        """A playbook check: the one run every front end starts (`start_playbook`). A model's is
        placed and planned first, as a review is (`_placed`): one its model cannot hold in one
        pass is a 400, with nothing recorded or sent."""
        request = await _check_request(body, document, playbook, chosen_with)
        checker = request.checker
        holds_place = False
        if checker is not None:
            _, holds_place = await _placed(check_run_request(request, checker), scope)
        handed = False  # the place passes to the run (`start_playbook` gives it back if it fails)

        def starter(notify: Any) -> Any:
            nonlocal handed
            if upload is not None:
                save_upload(settings, upload.filename, upload.data)
            handed = True
            check = start_playbook(
                request,
                history=SessionHistory([]),
                run_log=viewed(scope),
                settings=settings,
                notify=notify,
                refuse_when_busy=True,
                holds_place=holds_place,
            )
            check.record.owner = check.record.owner or scope.owner
            return check

        try:
            client.refuse_if_left()
            run = await hub.start_check(starter, resume=body.resume)
        except RateLimited as exc:
            raise ApiError(429, exc.message, kind=exc.kind.value) from None
        finally:
            if holds_place and not handed:
                release_slot()
        return _follow(run, -1)

    async def _check_request(
        body: ReportRequest, document: Document, playbook: Playbook, chosen_with: Settings
    ) -> PlaybookRequest:
        """The check a body asks for: by the model it names (resolved off the event loop: it
        may ask the provider; a model that cannot check is a 400), else the built-in checker."""
        checker = None
        if names_a_model(body):
            checker = await asyncio.to_thread(resolve_config, body, chosen_with)
            try:
                refuse_non_checker(checker)
            except ChoiceError as exc:
                raise ApiError(400, exc.message) from None
        return PlaybookRequest(document, playbook, checker, page=PAGE, max_tokens=body.max_tokens)

    @app.get("/", include_in_schema=False)
    def demo_page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/client.js", include_in_schema=False)
    def client_script() -> FileResponse:
        return FileResponse(STATIC / "client.js", media_type="text/javascript")

    def _kept_run(run_id: str, scope: Scope) -> ApiRun:
        run = hub.get(run_id)
        if run is None or not visible(run.record, scope):
            raise ApiError(
                404,
                "This run's events are not kept (unknown run, or ended over the grace period"
                " ago); GET /api/runs/{id} has its report",
                run_id=run_id,
            )
        return run

    def _resumed(last_event_id: str, scope: Scope, run_id: str | None = None) -> tuple[ApiRun, int]:
        """The run and the event a `Last-Event-ID` names: 400 for an id this server never sent
        (not `<run id>:<number>`, another run's, or beyond the run's last event), 404 for a run
        whose events are not kept."""
        parsed = parse_event_id(last_event_id)
        if parsed is None or (run_id is not None and parsed[0] != run_id):
            raise ApiError(400, "Last-Event-ID is not an event this server sent for this run")
        run = _kept_run(parsed[0], scope)
        if parsed[1] >= len(run.events):
            raise ApiError(400, "Last-Event-ID names an event this run has not sent")
        return run, parsed[1]

    def _follow(run: ApiRun, after: int) -> EventSourceResponse:
        return EventSourceResponse(
            hub.follow(run, after),
            headers=SSE_HEADERS,
            ping=config.keepalive_s,
            sep="\n",
            ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep="\n"),
        )

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(_report_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.hub = hub  # its runs and its planner's counts, for whoever embeds the app
    return app


CLIENT_LEFT = (
    "The client left before the model was asked: nothing was sent and no run was recorded."
)


class ClientWatch:
    """Whether the client of a request whose body has been read went away before its run
    started: reading a long contract, asking the provider for its models and planning a long
    contract for a small context take seconds, and a client that left meanwhile must not have
    its contract sent to the model (it was, then cancelled after its first token).

    Watched by waiting on the request's next ASGI message, which is `http.disconnect` once the
    body is in: asking `request.is_disconnected()` at the end looks once, and a server that
    paused reading a large body never saw the connection close."""

    def __init__(self, request: Request) -> None:
        self._task = asyncio.create_task(_gone(request))

    @property
    def left(self) -> bool:
        return self._task.done() and not self._task.cancelled()

    def refuse_if_left(self) -> None:
        """Called just before a run starts: a client gone is refused as any request the API
        refuses before sending (nothing sent, nothing recorded); the answer reaches nobody."""
        if self.left:
            raise ApiError(499, CLIENT_LEFT, kind="client_left")

    async def close(self) -> None:
        """Stop watching before the response streams: its own listener reads the messages."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def _watching(request: Request) -> AsyncIterator[ClientWatch]:
    client = ClientWatch(request)
    try:
        yield client
    finally:
        await client.close()


async def _gone(request: Request) -> None:
    """Return when the client has gone away (the body has been read: nothing else arrives)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _summary(record: RunRecord) -> dict[str, Any]:
    return {
        **figures(record),
        "started": record.started.isoformat(),
        "page": record.page,
        "endpoint": record.endpoint,
        "document_name": record.document_name,
        "document_chars": record.document_chars,
        "template": record.template,
        "kind": record.kind,
        "playbook_id": record.playbook_id,
        "playbook_summary": record.playbook_summary,
        "error_kind": record.error_kind,
        "error_message": record.error_message,
        "owner": record.owner,
    }


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise ApiError(413, f"The request is over {limit // 1_048_576} MB")
        yield chunk


async def _read_body(request: Request, limit: int) -> tuple[ReportRequest, Upload | None]:
    """JSON or a multipart form (`file` plus the JSON fields), validated the same way.

    The form is parsed in memory (uploads are never written to disk, as on the pages)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    upload: Upload | None = None
    try:
        if media == "application/json" or media.endswith("+json"):
            raw = b"".join([chunk async for chunk in _limited(request, limit)])
            try:
                data = read_json(raw)
            except (ValueError, RecursionError):  # RecursionError: nested past Python's stack
                raise ApiError(400, "The body is not valid JSON") from None
            if not isinstance(data, dict):
                raise ApiError(400, "The body must be a JSON object")
            if not _utf8_text(data):
                raise ApiError(400, "The body holds text that is not valid Unicode")
        elif media == "multipart/form-data":
            parser = MultiPartParser(
                request.headers, _limited(request, limit), max_files=1, max_fields=20,
                max_part_size=limit,
            )  # fmt: skip
            parser.spool_max_size = limit
            try:
                form = await parser.parse()
            except MultiPartException as exc:
                raise ApiError(400, f"Invalid form: {exc.message}") from None
            data = {key: value for key, value in form.multi_items() if isinstance(value, str)}
            file = form.get("file")
            if isinstance(file, str):
                await form.close()
                raise ApiError(
                    400,
                    "file must be an uploaded file (a form part with a file name); send a"
                    " contract's text as `contract`",
                )
            if file is not None:
                upload = Upload(file.filename or "upload.txt", await file.read())
            await form.close()
        else:
            raise ApiError(400, "Send the request as JSON (application/json) or a multipart form")
    except ClientDisconnect:
        raise ApiError(400, "The request body was cut short") from None
    try:
        if media == "multipart/form-data":
            return ReportRequest.from_form(data), upload
        return ReportRequest.model_validate(data), upload
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


CLIP_CHARS = 200


def _clip(text: str) -> str:
    return text if len(text) <= CLIP_CHARS else text[:CLIP_CHARS] + "…"


def _utf8_text(data: Any) -> bool:
    """Whether every key and string in a parsed body can be written as UTF-8: a `\\ud800`
    escape decodes to a lone surrogate, which no store, model server or response can carry."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _report_schemas() -> dict[str, Any]:
    schema = TypeAdapter(ReportRequest).json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    upload = json.loads(json.dumps(schema))
    upload["title"] = "ReportUpload"
    upload["properties"]["file"] = {
        "type": "string",
        "format": "binary",
        "description": "A PDF, DOCX, TXT or MD file, instead of `contract`.",
    }
    error = {
        "type": "object",
        "properties": {
            "error": {"type": "string", "description": "What is wrong, in a sentence."},
            "kind": {"type": "string", "description": "The error kind, where one applies."},
            "detail": {"type": "array", "items": {}, "description": "Field errors (422)."},
        },
        "required": ["error"],
    }
    return {**defs, "ReportRequest": schema, "ReportUpload": upload, "Error": error}


def _report_openapi() -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ReportRequest"}},
                "multipart/form-data": {"schema": {"$ref": "#/components/schemas/ReportUpload"}},
            },
        },
        "responses": {
            "200": {
                "description": "One `data:` line of JSON per event, each with an `id:`: see"
                " docs/API.md for the event types.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            "400": {"description": "No contract, or a bad request", "content": error},
            "422": {"description": "A field is invalid", "content": error},
            "502": {"description": "The provider refused or failed (`kind`)", "content": error},
            "503": {"description": "The provider is not available", "content": error},
        },
    }
