"""The aiohttp application behind `sankalp api`.

    GET /healthz   the process is alive (200 whatever Kafka and Postgres do)
    GET /readyz    Kafka and Postgres both answer (else 503, saying which does not)
    GET /metrics   Prometheus text format (requests by route and status, latencies)
    Open311 routes: api/open311.py; officers' routes: api/officer.py
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import officer, open311
from api.context import CONTEXT, ApiContext, Metrics, check_settings, load_keys
from api.errors import Handler, json_response, open311_errors
from api.kafka import AsyncPublisher
from api.posts import PostHolders
from api.ratelimit import RateLimiter
from api.store import Store, StoreUnavailable
from streams.settings import Settings

log = logging.getLogger("sankalp.api")

KEYS_CHECK_SECONDS = 5.0
KAFKA_RECHECK_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 3.0


@web.middleware
async def measured(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics = request.app[CONTEXT].metrics
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - started)


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]

    async def postgres() -> bool:
        try:
            await asyncio.wait_for(ctx.store.ping(), READY_TIMEOUT_SECONDS)
            return True
        except (StoreUnavailable, TimeoutError):
            return False

    kafka, pg = await asyncio.gather(ctx.publisher.check(READY_TIMEOUT_SECONDS), postgres())
    checks = {"kafka": "ok" if kafka else "unreachable",
              "postgres": "ok" if pg else "unreachable"}
    ready = kafka and pg
    return json_response({"status": "ready" if ready else "not ready", **checks},
                         status=200 if ready else 503,
                         headers=None if ready else {"Retry-After": "5"})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[CONTEXT].metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _housekeeping(ctx: ApiContext) -> None:
    """Re-read changed key files; while Kafka is down, look for its return."""
    last_keys = time.monotonic()
    while True:
        await asyncio.sleep(KAFKA_RECHECK_SECONDS)
        if ctx.publisher.down:
            await ctx.publisher.check(KAFKA_RECHECK_SECONDS)
        if time.monotonic() - last_keys >= KEYS_CHECK_SECONDS:
            last_keys = time.monotonic()
            ctx.channel_keys.refresh()
            ctx.officer_keys.refresh()


def build_app(settings: Settings) -> web.Application:
    """The application, its connections opened on start-up and closed on clean-up."""
    check_settings(settings)
    channel_keys, officer_keys = load_keys(settings)
    app = web.Application(client_max_size=settings.api_max_body_bytes,
                          middlewares=[measured, open311_errors])

    async def start(app: web.Application) -> None:
        holders = PostHolders()
        holders.follow(settings)
        app[CONTEXT] = ApiContext(
            settings=settings, channel_keys=channel_keys, officer_keys=officer_keys,
            limiter=RateLimiter(settings.api_rate_per_second, settings.api_rate_burst),
            publisher=AsyncPublisher(settings, asyncio.get_running_loop()),
            store=Store(settings), holders=holders, metrics=Metrics())
        task = asyncio.create_task(_housekeeping(app[CONTEXT]))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        ctx = app[CONTEXT]
        ctx.publisher.close()
        ctx.store.close()
        ctx.holders.stop()

    app.cleanup_ctx.append(start)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    open311.add_routes(app)
    officer.add_routes(app)
    return app


def run_api(settings: Settings) -> int:
    """Serve until SIGTERM / SIGINT."""
    logging.basicConfig(level=settings.log_level.upper(),
                        format="[%(asctime)s] [%(levelname)s] %(name)s: %(message)s")
    app = build_app(settings)
    if settings.api_keys_file is None:
        log.warning("no SANKALP_API_KEYS_FILE: every Open311 POST is refused (403)")
    if settings.officer_keys_file is None:
        log.warning("no SANKALP_OFFICER_KEYS_FILE: no officer can sign in (401)")
    url = f"http://{settings.api_host}:{settings.api_port}"
    # No access log: at thousands of requests a second it would cost more than the request.
    web.run_app(app, host=settings.api_host, port=settings.api_port, access_log=None,
                print=lambda _: log.info("API listening on %s", url))
    return 0
