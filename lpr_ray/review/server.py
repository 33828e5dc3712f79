"""The review web server: Starlette on uvicorn, one page, a small JSON API, loopback only.

Access works as in notebooks: the URL printed at start carries a random token; the first
request with it sets an HttpOnly, SameSite=Strict cookie, and every request without one of
the two is refused. Images are fetched from storage by the server (credentials never reach
the page), only for URIs the queue has shown, decoded with the job's own checks and sent
re-encoded as PNG, so no stored byte reaches the browser as it was.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from importlib import resources

from lpr_ray.core.errors import LprRayError, require
from lpr_ray.results.reviews import Verdict
from lpr_ray.review.queue import Conflict, Filters, ReviewQueue

COOKIE = "lpr_ray_review"
# No inline script, nothing from elsewhere, images only from us (and blob: URLs we make).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the first URL
    "Cache-Control": "no-store",
}
MAX_BODY = 16 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _static(name: str) -> bytes:
    return resources.files("lpr_ray.review").joinpath("static", name).read_bytes()


def create_app(queue: ReviewQueue, token: str, reviewer: str):
    """The Starlette application over QUEUE, guarded by TOKEN; REVIEWER is the default name."""
    require("starlette", "review")
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool  # storage and DuckDB calls block
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    def allowed(request) -> bool:
        given = request.query_params.get("token") or request.cookies.get(COOKIE) or ""
        return secrets.compare_digest(given.encode(), token.encode())

    def guard(handler):
        async def wrapped(request):
            if not allowed(request):
                return Response("missing or wrong token: open the URL that `lpr-ray review` printed\n",
                                status_code=403, media_type="text/plain", headers=SECURITY_HEADERS)
            try:
                response = await handler(request)
            except Conflict as exc:
                response = JSONResponse({"error": str(exc), "conflict": exc.record}, status_code=409)
            except LprRayError as exc:
                response = JSONResponse({"error": str(exc)}, status_code=400)
            response.headers.update(SECURITY_HEADERS)
            if request.query_params.get("token"):
                response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
            return response

        return wrapped

    async def body(request) -> dict:
        # A JSON content type: a cross-site form post cannot send it without a preflight.
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise LprRayError("expected a JSON body (Content-Type: application/json)")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise LprRayError(f"the request body is {len(raw)} bytes, over {MAX_BODY}")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise LprRayError(f"the request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise LprRayError("expected a JSON object")
        return data

    def text(data: dict, key: str, default: str | None = None) -> str | None:
        v = data.get(key, default)
        if v is not None and not isinstance(v, str):
            raise LprRayError(f"{key} must be a string, got {type(v).__name__}")
        return v

    async def page(request):
        return Response(_static("index.html"), media_type="text/html; charset=utf-8")

    async def asset(request):
        name = request.path_params["name"]
        types = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}
        if name not in types:  # a fixed list: no path from the request reaches the file system
            return Response("not found\n", status_code=404, media_type="text/plain")
        return Response(_static(name), media_type=types[name])

    async def config(request):
        return JSONResponse({"root": queue.root, "reviewer": reviewer, "facets": await run_in_threadpool(queue.facets)})

    async def next_reads(request):
        page_id = request.query_params.get("page", "")[:64]
        try:
            limit = int(request.query_params.get("limit", "20"))
        except ValueError:
            raise LprRayError("limit must be a whole number") from None
        filters = Filters.from_query(request.query_params)
        return JSONResponse(await run_in_threadpool(queue.next, filters, page_id, limit))

    async def image(request):
        from lpr_ray.core.preview import png_of

        uri = request.query_params.get("uri", "")
        if uri not in queue.shown:
            return JSONResponse({"error": "this image was not shown by this review server"}, status_code=404)
        png, status, error = await run_in_threadpool(png_of, uri)
        if png is None:
            return JSONResponse({"status": status, "error": error}, status_code=422)
        return Response(png, media_type="image/png")

    async def decide(request):
        data = await body(request)
        verdict = Verdict.parse(text(data, "uri", ""), text(data, "verdict", ""), text(data, "label"),
                                text(data, "reviewer", reviewer) or reviewer)
        return JSONResponse(await run_in_threadpool(queue.decide, verdict, text(data, "seen_review")))

    async def undo(request):
        data = await body(request)
        who = text(data, "reviewer", reviewer) or reviewer
        return JSONResponse(await run_in_threadpool(queue.undo, text(data, "id", ""), who))

    async def no_icon(request):
        return Response(status_code=204)

    routes = [
        Route("/", guard(page)),
        Route("/favicon.ico", guard(no_icon)),
        Route("/static/{name}", guard(asset)),
        Route("/api/config", guard(config)),
        Route("/api/next", guard(next_reads)),
        Route("/api/image", guard(image)),
        Route("/api/review", guard(decide), methods=["POST"]),
        Route("/api/undo", guard(undo), methods=["POST"]),
    ]
    return Starlette(routes=routes)


def serve(root: str, *, host: str, port: int, token: str | None, reviewer: str, announce) -> None:
    """Serve until interrupted; ANNOUNCE(url) is called once the socket listens."""
    uvicorn = require("uvicorn", "review")
    token = token or secrets.token_urlsafe(24)
    queue = ReviewQueue(root)
    app = create_app(queue, token, reviewer)

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets)
            bound = self.servers[0].sockets[0].getsockname()[1] if self.servers else port
            shown = f"[{host}]" if ":" in host else host
            announce(f"http://{shown}:{bound}/?token={token}")

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    try:
        server.run()
    finally:
        queue.close()
