"""Every error the API returns, in the Open311 GeoReport v2 format:

    [{"code": 400, "description": "unknown block 'Xyz' in district Shimla; ..."}]

with the HTTP status as `code`. The middleware turns aiohttp's own errors (404, 405, 413
for an oversized body, ...) into the same shape, and an unexpected exception into a 500
whose description names no detail (the log has it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

log = logging.getLogger("sankalp.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Unavailable(Exception):
    """A service the request needs (Postgres, Kafka) cannot answer now: 503, Retry-After."""

    retry_after = 5


class ApiError(Exception):
    """Raised by a handler: the response is this status and description."""

    def __init__(self, status: int, description: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = dict(headers or {})


def json_response(data: object, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> web.Response:
    # ensure_ascii=False: Hindi names and texts go out as UTF-8, as they came in.
    return web.Response(body=json.dumps(data, ensure_ascii=False).encode(), status=status,
                        content_type="application/json", charset="utf-8",
                        headers=headers)


def error_response(status: int, description: str,
                   headers: Mapping[str, str] | None = None) -> web.Response:
    return json_response([{"code": status, "description": description}], status, headers)


# Headers of aiohttp's own errors worth keeping (405 says which methods are allowed).
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


@web.middleware
async def open311_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.description, exc.headers)
    except Unavailable as exc:
        return error_response(503, str(exc), {"Retry-After": str(exc.retry_after)})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {h: exc.headers[h] for h in _KEPT_HEADERS if h in exc.headers}
        description = {
            404: "no such resource",
            405: f"method {request.method} is not allowed here",
            413: "request body is too large (SANKALP_API_MAX_BODY_BYTES)",
        }.get(exc.status, exc.reason)
        return error_response(exc.status, description, kept)
    except Exception:
        log.exception("unexpected error on %s %s", request.method,
                      request.match_info.route.resource.canonical
                      if request.match_info.route.resource else "?")
        return error_response(500, "internal error (it is logged)")
