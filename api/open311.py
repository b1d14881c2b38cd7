"""Open311 GeoReport v2 (JSON): services, a new service request, a request's status.

    GET  /open311/v2/services.json                      complaint categories as services
    GET  /open311/v2/services/{service_code}.json       their attributes: district, block
    POST /open311/v2/requests.json                      a complaint (201 once Kafka has it)
    GET  /open311/v2/requests/{service_request_id}.json its status
    GET  /open311/v2/requests.json?service_request_id=A,B,...
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp import web

from api.context import CONTEXT
from api.errors import ApiError, json_response
from api.intake import RequestRefused, parse_body, request_key, submission
from api.kafka import KafkaUnavailable
from api.status import duplicate_status, open311_status, service_definition, services
from streams.topics import COMPLAINTS_SUBMITTED

# Complaint ids as the pipeline allows them (at most 64 characters) and as channels make
# them: letters, digits, '-', '_', '.'. Anything else (a path, a quote, a NUL) is refused
# before it reaches a query.
COMPLAINT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_IDS_PER_QUERY = 50


def check_format(request: web.Request) -> None:
    fmt = request.match_info.get("format", "json")
    if fmt != "json":
        raise ApiError(400, f"format {fmt!r} is not supported; use .json")


def check_complaint_id(value: str) -> str:
    if not COMPLAINT_ID.match(value):
        raise ApiError(400, "not a complaint id (letters, digits, '-', '_', '.'; at most 64)")
    return value


async def list_services(request: web.Request) -> web.Response:
    check_format(request)
    return json_response(services())


async def get_service(request: web.Request) -> web.Response:
    check_format(request)
    try:
        return json_response(service_definition(request.match_info["code"]))
    except ValueError:
        raise ApiError(404, f"no service {request.match_info['code']!r}; see "
                            "/open311/v2/services.json") from None


async def post_request(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    check_format(request)
    body = await request.read()  # over client_max_size: 413, nothing read further
    try:
        fields = parse_body(request.content_type, body)
        client = ctx.client(fields.pop("api_key", None) or request.headers.get("X-Api-Key"))
        ctx.limit(f"client/{client.name}", client.rate)
        key = request_key(request.headers.get("Idempotency-Key"), fields)
        fields.pop("jurisdiction_id", None)  # one jurisdiction: Himachal Pradesh
        fields.pop("channel_request_id", None)
        accepted = submission(fields, client=client.name, channel=client.channel, key=key,
                              now=datetime.now(UTC),
                              max_payload_bytes=ctx.settings.max_payload_bytes)
    except RequestRefused as exc:
        raise ApiError(exc.status, str(exc)) from None
    complaint_id = accepted.submitted.complaint_id
    try:
        await ctx.publisher.send(COMPLAINTS_SUBMITTED.name, complaint_id, accepted.payload)
    except KafkaUnavailable as exc:
        again = " with the same Idempotency-Key" if key else ""
        wait = max(1, round(ctx.settings.api_kafka_timeout_seconds))
        raise ApiError(503, f"{exc}; the complaint was not accepted, retry{again} later",
                       {"Retry-After": str(wait)}) from None
    ctx.metrics.submitted.labels(client.name).inc()
    return json_response(
        [{"service_request_id": complaint_id,
          "service_notice": "registered; it reaches the responsible officer within seconds",
          "account_id": None}],
        status=201, headers={"Location": f"/open311/v2/requests/{complaint_id}.json"})


async def _statuses(request: web.Request, ids: list[str]) -> list[dict]:
    ctx = request.app[CONTEXT]
    now = datetime.now(UTC)
    rows = await ctx.store.statuses(ids)
    missing = [i for i in ids if i not in rows]
    linked = await ctx.store.duplicates(missing) if missing else {}
    out = []
    for complaint_id in ids:
        if complaint_id in rows:
            out.append(open311_status(rows[complaint_id], now))
        elif complaint_id in linked:
            out.append(duplicate_status(complaint_id, linked[complaint_id]))
    return out


async def get_request(request: web.Request) -> web.Response:
    check_format(request)
    complaint_id = check_complaint_id(request.match_info["id"])
    found = await _statuses(request, [complaint_id])
    if not found:
        raise ApiError(404, f"no complaint {complaint_id} (a complaint just submitted is "
                            "listed within a few seconds)")
    return json_response(found)


async def get_requests(request: web.Request) -> web.Response:
    check_format(request)
    unknown = sorted(set(request.query) - {"service_request_id", "jurisdiction_id"})
    if unknown:
        raise ApiError(400, f"unsupported parameter(s): {', '.join(unknown)}; this endpoint "
                            "lists requests by service_request_id")
    raw = request.query.getall("service_request_id", [])
    ids = [i.strip() for value in raw for i in value.split(",") if i.strip()]
    if not ids:
        raise ApiError(400, "service_request_id is required (comma-separated ids)")
    if len(ids) > MAX_IDS_PER_QUERY:
        raise ApiError(400, f"at most {MAX_IDS_PER_QUERY} ids per request")
    ids = list(dict.fromkeys(check_complaint_id(i) for i in ids))
    return json_response(await _statuses(request, ids))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/open311/v2/services.{format}", list_services)
    app.router.add_get("/open311/v2/services/{code}.{format}", get_service)
    app.router.add_post("/open311/v2/requests.{format}", post_request)
    app.router.add_get("/open311/v2/requests.{format}", get_requests)
    app.router.add_get("/open311/v2/requests/{id}.{format}", get_request)
