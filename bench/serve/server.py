"""The ASGI application: results browser (admin), annotator pages (their link's token), static files.

Every POST checks a token: annotator POSTs the one in their link, admin POSTs the admin token in the form or
an Authorization header (a cookie alone is not enough there, so another site cannot post for the admin). The
votes export (GET) takes the token only in an Authorization header: it hands out every annotator's profile,
so the login cookie, which only reads pages, does not suffice.
Images are addressed by ids and looked up in the database or run metadata, never by a path from the request;
an id is 1 to 19 digits and at most SQLite's largest integer, anything else is 404.
"""

from __future__ import annotations

import hmac
import html
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

from bench.core.errors import BenchError

HERE = Path(__file__).resolve().parent
ADMIN_ENV = "BENCH_ADMIN_TOKEN"
COOKIE = "bench_admin"
MAX_FORM_BYTES = 16_384
MAX_ID = 2**63 - 1  # SQLite's largest INTEGER: a larger id cannot name a row (and overflows the driver)
HEADERS = {
    # Nothing is loaded from elsewhere; no page can frame ours; annotator links never leak as a referrer.
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def admin_token() -> str:
    """The admin token: BENCH_ADMIN_TOKEN, else a fresh random one."""
    token = os.environ.get(ADMIN_ENV) or secrets.token_urlsafe(24)
    if len(token) < 16:
        raise BenchError(f"{ADMIN_ENV} must be at least 16 characters")
    return token


def create_app(token: str, db_file: Path | None = None):
    """The Starlette application; `token` is the admin token."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.requests import Request
    from starlette.responses import (
        FileResponse,
        JSONResponse,
        PlainTextResponse,
        RedirectResponse,
        Response,
    )
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
    from starlette.templating import Jinja2Templates

    from bench.human import db, studies, tasks
    from bench.serve import pages

    _register_id_convertor()

    templates = Jinja2Templates(directory=str(HERE / "templates"))
    db_file = Path(db_file) if db_file else db.db_path()
    with db.opened(db_file):
        pass  # create and migrate once at start, so a broken file fails before the first request

    def reject(status: int, reason: str) -> Response:
        return PlainTextResponse(f"{status}: {reason}\n", status_code=status)

    def same(a: str | None, b: str) -> bool:
        return isinstance(a, str) and hmac.compare_digest(a.encode(), b.encode())

    def bearer(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and same(auth[7:], token)

    def is_admin(request: Request, form: dict | None = None) -> bool:
        if bearer(request):
            return True
        if form is not None:
            return same(form.get("admin_token"), token)
        return same(request.cookies.get(COOKIE), token)

    def content_length(request: Request) -> int:
        raw = request.headers.get("content-length") or "0"
        if not re.fullmatch(r"[0-9]{1,12}", raw):
            raise tasks.Rejected(400, "Content-Length must be a number of bytes")
        return int(raw)

    async def read_form(request: Request) -> dict:
        if content_length(request) > MAX_FORM_BYTES:
            raise tasks.Rejected(413, "form too large")
        ctype = request.headers.get("content-type", "")
        if not ctype and not content_length(request):
            return {}  # an empty form (undo) may come without a type
        if not ctype.startswith("application/x-www-form-urlencoded"):
            raise tasks.Rejected(415, "send an urlencoded form")
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def with_conn(fn, *args):
        with db.opened(db_file) as conn:
            return fn(conn, *args)

    # ---------------------------------------------------------------- results browser (admin)
    async def home(request: Request) -> Response:
        if is_admin(request):
            return RedirectResponse("/results", status_code=303)
        return templates.TemplateResponse(request, "home.html", {"title": "pea-bench"})

    async def login(request: Request) -> Response:
        if request.method == "POST":
            form = await read_form(request)
            candidate = form.get("token")
        else:
            candidate = request.query_params.get("token")
        if not same(candidate, token):
            return reject(403, "wrong admin token")
        response = RedirectResponse("/results", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    def admin_only(handler):
        async def wrapped(request: Request) -> Response:
            if not is_admin(request):
                return reject(403, "admin only: open the /login link bench serve printed")
            return await handler(request)
        return wrapped

    @admin_only
    async def leaderboard(request: Request) -> Response:
        context = await run_in_threadpool(with_conn, pages.leaderboard_context)
        return templates.TemplateResponse(request, "leaderboard.html", context | {"title": "Leaderboard"})

    @admin_only
    async def runs_page(request: Request) -> Response:
        context = await run_in_threadpool(pages.runs_context)
        return templates.TemplateResponse(request, "runs.html", context | {"title": "Runs"})

    @admin_only
    async def prompts_page(request: Request) -> Response:
        q = request.query_params
        try:
            context = await run_in_threadpool(pages.prompts_context, q.get("set"), q.get("lang"), q.get("category"),
                                              q.get("sort"), q.get("q"))
        except BenchError as exc:
            return reject(400, str(exc))
        return templates.TemplateResponse(request, "prompts.html", context | {"title": "Prompts"})

    @admin_only
    async def prompt_page(request: Request) -> Response:
        q = request.query_params
        try:
            context = await run_in_threadpool(pages.prompt_context, q.get("set"), q.get("lang"), q.get("id"))
        except BenchError as exc:
            return reject(404, str(exc))
        return templates.TemplateResponse(request, "prompt.html", context | {"title": context["prompt"]["prompt_id"]})

    @admin_only
    async def run_image(request: Request) -> Response:
        from bench.serve.results import image_file

        p = request.path_params
        if p["sample"] > MAX_ID:
            return reject(404, "no such image")
        path = await run_in_threadpool(image_file, p["run_id"], p["prompt_id"], p["sample"])
        if path is None:
            return reject(404, "no such image")
        return FileResponse(path, media_type="image/png")

    async def new_study_api(request: Request) -> Response:
        form = await read_form(request)
        if not is_admin(request, form):
            return reject(403, "admin token required")
        systems = [x for x in form.get("systems", "").replace(",", " ").split() if x]
        try:
            study = await run_in_threadpool(with_conn, lambda conn: studies.create_study(
                conn, form.get("prompts", ""), form.get("lang", ""), systems, name=form.get("name") or None,
                oracle=form.get("oracle") or None))
        except BenchError as exc:
            return reject(400, str(exc))
        return JSONResponse({"study": study}, status_code=201)

    async def invite_api(request: Request) -> Response:
        form = await read_form(request)
        if not is_admin(request, form):
            return reject(403, "admin token required")
        raw = form.get("n", "1")
        if not re.fullmatch(r"[0-9]{1,6}", raw):  # int() would also read other scripts' digits and 4300-digit runs
            return reject(400, "n must be a whole number")
        try:
            tokens = await run_in_threadpool(with_conn, studies.invite, request.path_params["study"], int(raw))
        except BenchError as exc:
            return reject(400, str(exc))
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"links": [f"{base}/a/{t}" for t in tokens]})

    async def export_api(request: Request) -> Response:
        import json

        from bench.human.votes import vote_records

        if not bearer(request):
            return reject(403, "admin token required in an Authorization: Bearer header (the login cookie only "
                               "reads pages)")
        try:
            records = await run_in_threadpool(with_conn, vote_records, request.path_params["study"])
        except BenchError as exc:
            return reject(404, str(exc))
        body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
        return Response(body, media_type="application/x-ndjson")

    # ---------------------------------------------------------------- annotators
    def annotator_or_none(conn, tok):
        return studies.annotator_for(conn, tok)

    async def annotate(request: Request) -> Response:
        tok = request.path_params["token"]
        context = await run_in_threadpool(with_conn, pages.annotator_context, tok)
        if context is None:
            return reject(404, "unknown link: ask the study's organiser for yours")
        page = "profile.html" if context["needs_profile"] else "vote.html"
        return templates.TemplateResponse(request, page, context | {"title": "Which picture fits?"})

    def _profile(conn, tok, form):
        person = annotator_or_none(conn, tok)
        if person is None:
            raise tasks.Rejected(404, "unknown link")
        pairs = [(form.get(f"lang{k}", ""), form.get(f"level{k}", "")) for k in range(studies.MAX_LANGUAGES)]
        languages, region = studies.parse_profile(pairs, form.get("region", ""))
        studies.set_profile(conn, person["id"], languages, region)

    def _vote(conn, tok, form):
        person = annotator_or_none(conn, tok)
        if person is None:
            raise tasks.Rejected(404, "unknown link")
        if not person["languages"]:
            raise tasks.Rejected(409, "fill in the profile first")
        raw = form.get("task", "")
        if not re.fullmatch(r"[0-9]{1,12}", raw):
            raise tasks.Rejected(400, "task must be a task number")
        return tasks.vote(conn, person, int(raw), form.get("answer", ""))

    def _undo(conn, tok):
        person = annotator_or_none(conn, tok)
        if person is None:
            raise tasks.Rejected(404, "unknown link")
        return tasks.undo(conn, person)

    async def annotator_post(request: Request) -> Response:
        tok, action = request.path_params["token"], request.path_params["action"]
        try:
            form = await read_form(request)
            if action == "profile":
                await run_in_threadpool(with_conn, _profile, tok, form)
            elif action == "vote":
                vote_id = await run_in_threadpool(with_conn, _vote, tok, form)
                if "application/json" in request.headers.get("accept", ""):
                    return JSONResponse({"vote": vote_id})
            elif action == "undo":
                await run_in_threadpool(with_conn, _undo, tok)
            else:
                return reject(404, "no such action")
        except tasks.Rejected as exc:
            return reject(exc.status, str(exc))
        except BenchError as exc:
            return reject(400, str(exc))
        return RedirectResponse(f"/a/{tok}", status_code=303)

    def _annotator_image(conn, tok, image_id):
        person = annotator_or_none(conn, tok)
        if person is None:
            return None
        # Only images of this person's own tasks: a link cannot enumerate the study's images.
        owned = conn.execute("SELECT 1 FROM tasks WHERE annotator_id = ? AND (left_image = ? OR right_image = ?) "
                             "LIMIT 1", (person["id"], image_id, image_id)).fetchone()
        return studies.image_path(conn, image_id, person["study_id"]) if owned else None

    async def annotator_image(request: Request) -> Response:
        if request.path_params["image"] > MAX_ID:
            return reject(404, "no such image for this link")
        path = await run_in_threadpool(with_conn, _annotator_image, request.path_params["token"],
                                       request.path_params["image"])
        if path is None:
            return reject(404, "no such image for this link")
        return FileResponse(path, media_type="image/png")

    class SecurityHeaders(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            response = await call_next(request)
            for key, value in HEADERS.items():
                response.headers.setdefault(key, value)
            return response

    async def refused(request, exc: Exception) -> Response:
        return reject(getattr(exc, "status", 400), str(exc))

    async def not_found(request, exc):
        status = getattr(exc, "status_code", 404)
        return PlainTextResponse(f"{status}: {html.escape(str(getattr(exc, 'detail', 'not found')))}\n",
                                 status_code=status)

    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/results", leaderboard),
        Route("/results/runs", runs_page),
        Route("/results/prompts", prompts_page),
        Route("/results/prompt", prompt_page),
        Route("/results/img/{run_id}/{prompt_id}/{sample:id}", run_image),
        Route("/admin/studies", new_study_api, methods=["POST"]),
        Route("/admin/studies/{study}/invite", invite_api, methods=["POST"]),
        Route("/admin/studies/{study}/export.jsonl", export_api),
        Route("/a/{token}", annotate),
        Route("/a/{token}/img/{image:id}", annotator_image),
        Route("/a/{token}/{action}", annotator_post, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)],
                     exception_handlers={404: not_found, 405: not_found, tasks.Rejected: refused})


def _register_id_convertor() -> None:
    """`{name:id}` in a route: 1 to 19 digits (Starlette's `int` takes any length, and Python refuses to read an
    integer of over 4300 digits: a 500)."""
    from starlette.convertors import CONVERTOR_TYPES, IntegerConvertor, register_url_convertor

    class IdConvertor(IntegerConvertor):
        regex = "[0-9]{1,19}"

    if "id" not in CONVERTOR_TYPES:
        register_url_convertor("id", IdConvertor())


def run(announce: Callable[[str], None], host: str = "127.0.0.1", port: int = 8765) -> None:
    """Announce the database, admin token and login link (the CLI prints them), then serve until interrupted."""
    import uvicorn

    from bench.human.db import db_path, opened

    # Everything that can refuse is checked before a token or a link is printed: the database, the address.
    sock = bind(host, port)
    try:
        with opened():
            pass
    except BaseException:
        sock.close()
        raise
    token = admin_token()
    app = create_app(token)
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    announce(f"database: {db_path()}")
    announce(f"admin token: {token}" + ("" if os.environ.get(ADMIN_ENV) else f" (set {ADMIN_ENV} to keep one)"))
    announce(f"results browser: http://{shown}:{port}/login?token={token}")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


def bind(host: str, port: int):
    """A listening socket on host:port, or a one-line BenchError saying why the address cannot be used."""
    import errno
    import socket

    if not 0 < port < 65536:
        raise BenchError(f"--port must be between 1 and 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise BenchError(f"--host {host!r} is not an address or a known host name ({exc}); "
                         "use 127.0.0.1, 0.0.0.0 or a name this machine resolves") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a restart need not wait
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        why = {errno.EADDRINUSE: "is already in use (another server?); stop it or pick another --port",
               errno.EADDRNOTAVAIL: "is not an address of this machine; use 127.0.0.1 or 0.0.0.0",
               errno.EACCES: "needs privileges (ports below 1024); pick a --port above 1023"}
        raise BenchError(f"cannot listen on {host}:{port}: the address {why.get(exc.errno, exc.strerror)}") \
            from None
    sock.setblocking(False)
    return sock
