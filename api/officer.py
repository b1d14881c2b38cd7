"""The officers' API: a post's queue, and its actions on the complaints it holds.

    GET  /officer/v1/queue                          what the post holds, by due time, and
                                                    the special closes awaiting its decision
    POST /officer/v1/complaints/{id}/actions        an OfficerActed command, 202 once Kafka
                                                    has it; the lifecycle applies it in order

`Authorization: Bearer <token>` (api/tokens.py, issued by `sankalp officer token POST_ID`).
The acting officer is the post's current holder, from the directory: never the body. A
post acting on a complaint it does not hold gets 403 here (from what the sink wrote); if
the complaint moved on since, the core refuses the command too (`command.rejected`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from api.context import CONTEXT, ApiContext
from api.errors import ApiError, json_response
from api.intake import JSON, RequestRefused, clean_text, load_json
from api.kafka import KafkaUnavailable
from api.open311 import check_complaint_id
from api.posts import posts
from api.status import CLOSED, approval_item, office, queue_item
from api.store import PostScope
from api.tokens import TokenError, verify
from core.reference import Officer
from core.state import derived_id
from schemas.events import OfficerActed
from schemas.records import InvalidEvent, utc_iso
from streams.topics import COMPLAINT_COMMANDS

DECISIONS = ("special_close_approved", "special_close_rejected")
ACTION_FIELDS = frozenset({"action", "note", "reason", "target_department", "target_block"})
MAX_QUEUE = 500


@dataclass(frozen=True)
class SignedIn:
    post_id: str
    officer_id: str  # the post's holder now
    post: Officer  # the post's department, level and place (from the reference directory)

    @property
    def scope(self) -> PostScope:
        return PostScope(self.officer_id, self.post.department_code, self.post.level,
                         self.post.district)


def _unauthorised(description: str, error: str | None = None) -> ApiError:
    challenge = 'Bearer realm="sankalp"' + (f', error="{error}"' if error else "")
    return ApiError(401, description, {"WWW-Authenticate": challenge})


def signed_in(request: web.Request, ctx: ApiContext) -> SignedIn:
    """The post a valid bearer token names, and its holder; 401 for no token, a forged,
    expired or malformed one; 403 for a vacant post."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorised("a bearer token is required (sankalp officer token POST_ID)")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("Authorization must be `Bearer <token>`", "invalid_request")
    try:
        post_id = verify(token.strip(), ctx.officer_keys.value, time.time(),
                         ctx.settings.officer_token_hours)
    except TokenError as exc:
        raise _unauthorised(str(exc), "invalid_token") from None
    post = posts().get(post_id)
    if post is None:
        raise _unauthorised("the token names no known post", "invalid_token")
    officer_id = ctx.holders.holder(post_id)
    if officer_id is None:
        raise ApiError(403, f"post {post_id} is vacant in the officer directory")
    ctx.limit(f"post/{post_id}")
    return SignedIn(post_id, officer_id, post)


def _limit_param(request: web.Request) -> int:
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_QUEUE:
        raise ApiError(400, f"limit: a whole number from 1 to {MAX_QUEUE}")
    return int(raw)


async def get_queue(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    who = signed_in(request, ctx)
    unknown = sorted(set(request.query) - {"limit"})
    if unknown:
        raise ApiError(400, f"unsupported parameter(s): {', '.join(unknown)}")
    limit = _limit_param(request)
    now = datetime.now(UTC)
    warn_at = min(ctx.settings.policy().warning_fractions, default=1.0)
    held = await ctx.store.queue(who.scope, limit)
    decide = await ctx.store.approvals(who.scope, limit)
    p = who.post
    return json_response({
        "post_id": who.post_id,
        "officer_id": who.officer_id,
        "office": office(p.department_code, p.level, p.district or "", p.tehsil or "",
                         p.block or ""),
        "generated_at": utc_iso(now),
        "complaints": [queue_item(row, now, warn_at) for row in held],
        "awaiting_your_decision": [approval_item(row) for row in decide],
    })


async def _action_fields(request: web.Request) -> dict[str, object]:
    if request.content_type != JSON:
        raise ApiError(415, f"send the action as {JSON}")
    try:
        data = load_json(await request.read())
    except RequestRefused as exc:
        raise ApiError(exc.status, str(exc)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object")
    if "officer_id" in data:
        raise ApiError(400, "officer_id comes from the token, never the body")
    unknown = sorted(set(data) - ACTION_FIELDS)
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(unknown)}; accepted: "
                            f"{', '.join(sorted(ACTION_FIELDS))}")
    try:
        for name in ("note", "reason"):
            if isinstance(data.get(name), str):
                clean_text(name, data[name], multiline=True)
        for name in ("target_department", "target_block"):
            if isinstance(data.get(name), str):
                clean_text(name, data[name], max_chars=64)
    except RequestRefused as exc:
        raise ApiError(exc.status, str(exc)) from None
    return data


async def post_action(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    who = signed_in(request, ctx)
    complaint_id = check_complaint_id(request.match_info["id"])
    fields = await _action_fields(request)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 128 and key.isascii() and key.isprintable()):
        raise ApiError(400, "Idempotency-Key: 1 to 128 visible ASCII characters")
    # A retry with the same key is the same command: the complaint applies an id once.
    event_id = (str(uuid.uuid4()) if key is None
                else derived_id("officer", who.post_id, complaint_id, key))
    try:
        command = OfficerActed.from_dict({
            **fields, "event_type": OfficerActed.EVENT_TYPE,
            "schema_version": OfficerActed.SCHEMA_VERSION, "event_id": event_id,
            "complaint_id": complaint_id, "occurred_at": utc_iso(datetime.now(UTC)),
            "officer_id": who.officer_id})
    except InvalidEvent as exc:
        raise ApiError(400, str(exc).removeprefix(f"{OfficerActed.EVENT_TYPE}: ")) from None
    assert isinstance(command, OfficerActed)
    target = await ctx.store.action_target(complaint_id)
    if target is None:
        raise ApiError(404, f"no complaint {complaint_id}")
    if command.action in DECISIONS:
        if target.approver != who.officer_id or target.status != "special_close_proposed":
            raise ApiError(403, f"complaint {complaint_id} awaits no decision of post "
                                f"{who.post_id}")
    elif target.officer_id != who.officer_id:
        raise ApiError(403, f"complaint {complaint_id} is not held by post {who.post_id}")
    if target.status in CLOSED:
        raise ApiError(409, f"complaint {complaint_id} is {target.status}")
    try:
        await ctx.publisher.send(COMPLAINT_COMMANDS.name, complaint_id, command.to_json())
    except KafkaUnavailable as exc:
        wait = max(1, round(ctx.settings.api_kafka_timeout_seconds))
        raise ApiError(503, f"{exc}; the action was not recorded, retry later",
                       {"Retry-After": str(wait)}) from None
    ctx.metrics.commands.labels(command.action).inc()
    return json_response({
        "command_id": command.event_id,
        "complaint_id": complaint_id,
        "action": command.action,
        "officer_id": who.officer_id,
        "status": "accepted",
        "accepted_at": utc_iso(command.occurred_at),
    }, status=202)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/officer/v1/queue", get_queue)
    app.router.add_post("/officer/v1/complaints/{id}/actions", post_action)
