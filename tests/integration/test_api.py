"""`sankalp api` on the real broker and Postgres, with a real worker and sink behind it.

One API, worker and sink serve the module (each scenario on complaints of its own):
a POSTed complaint is assigned and readable within about a second; a retried POST is the
same complaint, registered once; an officer's token sees its queue and proposes a
resolution that the citizen's feedback closes; a special close needs the post above;
other posts get 403, missing, forged and expired tokens 401; every bad input gets its
answer and nothing of it reaches Kafka; a flood gets 429; Kafka or Postgres unreachable
gives 503; and every example of docs/api.md runs against the service.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import psycopg2
import pytest
from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from kit import kafka
from kit.settings import REPO, free_port, fresh_schema, own_topics, schema_url, settings_for

from api.intake import complaint_ids
from api.tokens import issue
from core.intake import citizen_ref
from devstack.api_runner import ApiProcess
from devstack.runners import SinkProcess, WorkerProcess, settings_env
from schemas.events import CitizenFeedback
from sinks.migrate import migrate
from sinks.postgres import connect
from streams.admin import ensure_topics
from streams.producer import EventPublisher
from streams.settings import Settings
from streams.topics import (
    ALL_TOPICS,
    COMPLAINT_COMMANDS,
    COMPLAINTS_SUBMITTED,
    partition_for_key,
)

KEY = "portal-key-0123456789abcdef"
FLOOD_KEY = "flood-key-0123456789abcdef"
OFFICER_SECRET = "officer-secret-0123456789abcdef"
THEOG_L1, THEOG_L2, RAMPUR_L1 = "JSV/L1/Shimla/Theog", "JSV/L2/Shimla/Theog", "JSV/L1/Shimla/Rampur"
THEOG_OFFICER = "OFF-JSV-L1-SHIMLA-THEOG"
HINDI = "गाँव में तीन दिन से पानी नहीं आ रहा; pipe टूटा है\nकृपया ठीक करें 🙏 (ward 4)"
DOC = REPO / "docs" / "api.md"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def text(self) -> str:
        return self.body.decode()


@dataclass
class Api:
    settings: Settings
    process: ApiProcess
    worker: WorkerProcess
    sink: SinkProcess

    @property
    def url(self) -> str:
        return self.process.url

    def call(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        return http(self.url + path, method, body, headers)

    def check_healthy(self) -> None:
        for process in (self.process, self.worker, self.sink):
            process.check_healthy()


def http(url: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


def new_phone() -> str:
    return f"98{uuid.uuid4().int % 10**8:08d}"


def complaint(**changes) -> dict:
    return {"api_key": KEY, "service_code": "drinking_water_supply",
            "attribute": {"district": "Shimla", "block": "Theog"}, "description": HINDI,
            "phone": new_phone(), "first_name": "परीक्षण", "last_name": "नागरिक", **changes}


def post(api: Api, fields: dict, key: str | None = None) -> Reply:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.call("POST", "/open311/v2/requests.json",
                    json.dumps(fields, ensure_ascii=False).encode(), headers)


def created(api: Api, **changes) -> str:
    reply = post(api, complaint(**changes))
    assert reply.status == 201, reply.body
    return reply.json()[0]["service_request_id"]


def wait_status(api: Api, complaint_id: str, check: Callable[[dict], bool] = lambda _: True,
                timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = api.call("GET", f"/open311/v2/requests/{complaint_id}.json")
        if reply.status == 200 and check(reply.json()[0]):
            return reply.json()[0]
        api.check_healthy()
        time.sleep(0.02)
    raise AssertionError(f"{complaint_id}: no such status within {timeout}s; last: "
                         f"{reply.status} {reply.body[:300]!r}\n{api.worker.tail()}")


_TOKENS: dict[tuple[int, str], str] = {}


def token(api: Api, post_id: str) -> str:
    """Issued by the CLI, as an administrator would (once per post and module)."""
    if (id(api), post_id) not in _TOKENS:
        done = subprocess.run(
            [sys.executable, "-m", "streams.cli", "officer", "token", post_id],
            env=settings_env(api.settings), capture_output=True, text=True, timeout=60,
            check=False)
        assert done.returncode == 0, done.stderr
        _TOKENS[(id(api), post_id)] = done.stdout.strip()
    return _TOKENS[(id(api), post_id)]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}", "Content-Type": "application/json"}


def act(api: Api, complaint_id: str, token_value: str, **body) -> Reply:
    return api.call("POST", f"/officer/v1/complaints/{complaint_id}/actions",
                    json.dumps(body, ensure_ascii=False).encode(), bearer(token_value))


def topic_messages(settings: Settings, topic_name: str) -> list[tuple[bytes, bytes]]:
    """Every message of a topic, from its start to its end now."""
    topic = settings.topic(topic_name)
    consumer = kafka.consumer(settings)
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        out, done = [], {p for p, end in ends.items() if end == 0}
        deadline = time.monotonic() + 30
        while len(done) < len(ends) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            out.append((message.key(), message.value()))
            if message.offset() + 1 >= ends[message.partition()]:
                done.add(message.partition())
        return out
    finally:
        consumer.close()


def rows(api: Api, sql: str, *params) -> list[tuple]:
    conn = psycopg2.connect(api.settings.database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def warm_up(api: Api) -> None:
    """One complaint through every partition of every stage (by complaint id, and by
    caller for the second intake stage): a partition's first message after a worker starts
    waits a second or more for its fetch to begin, and the tests measure the pipeline once
    it flows."""
    n = api.settings.topic_partitions
    keys = {partition_for_key(complaint_ids("portal-web", f"warm-{i}")[0].encode(), n):
            f"warm-{i}"
            for i in range(200)}
    phones = {partition_for_key(citizen_ref(p, api.settings.citizen_ref_key).encode(), n): p
              for p in (f"98765{i:05d}" for i in range(200))}
    assert len(keys) == len(phones) == n
    ids = []
    for partition in range(n):
        reply = post(api, complaint(phone=phones[partition]), key=keys[partition])
        assert reply.status == 201, reply.body
        ids.append(reply.json()[0]["service_request_id"])
    for cid in ids:
        wait_status(api, cid, timeout=90)


@pytest.fixture(scope="module")
def api(services, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    (tmp / "channel.keys").write_text(
        f"portal-web portal {KEY} 1000\nflood-bot whatsapp {FLOOD_KEY} 1\n")
    (tmp / "officer.keys").write_text(f"k1 {OFFICER_SECRET}\n")
    with fresh_schema(services.database_url, prefix="t_api_") as schema:
        settings = settings_for(
            "api", services, tmp, database_url=schema_url(services.database_url, schema),
            api_port=free_port(), api_keys_file=tmp / "channel.keys",
            officer_keys_file=tmp / "officer.keys", api_rate_burst=5,
            verification_sample_rate=0.0)
        with own_topics(settings):
            ensure_topics(settings, ALL_TOPICS)
            conn = connect(settings.database_url)
            try:
                migrate(conn)
            finally:
                conn.close()
            processes = [WorkerProcess(settings, tmp / "worker.log").start(),
                         SinkProcess(settings, tmp / "sink.log").start(),
                         ApiProcess(settings, tmp / "api.log").start()]
            worker, sink, front = processes
            try:
                front.wait_ready(30, kafka_and_postgres=True)
                worker.wait_ready(120)
                sink.wait_ready(60)
                ready = Api(settings, front, worker, sink)
                warm_up(ready)
                yield ready
            finally:
                for process in reversed(processes):
                    process.stop()


def test_alive_ready_and_the_services(api):
    assert api.call("GET", "/healthz").json() == {"status": "alive"}
    assert api.call("GET", "/readyz").json() == {"status": "ready", "kafka": "ok",
                                                 "postgres": "ok"}
    services = api.call("GET", "/open311/v2/services.json").json()
    water = next(s for s in services if s["service_code"] == "drinking_water_supply")
    assert water["service_name_hi"] == "पेयजल आपूर्ति" and water["sla_working_days"] == 7
    definition = api.call("GET", "/open311/v2/services/road_repair.json").json()
    assert [a["code"] for a in definition["attributes"]] == ["district", "block"]
    missing = api.call("GET", "/open311/v2/services/teleportation.json")
    assert missing.status == 404 and missing.json()[0]["code"] == 404


def test_a_posted_complaint_is_assigned_and_its_status_readable_within_a_second(api):
    latencies = []
    for _ in range(3):
        reply = post(api, complaint())
        acknowledged = time.monotonic()
        assert reply.status == 201, reply.body
        cid = reply.json()[0]["service_request_id"]
        assert reply.headers["Location"] == f"/open311/v2/requests/{cid}.json"
        status = wait_status(api, cid)
        latencies.append(time.monotonic() - acknowledged)
    print(f"\n[api] 201 -> status readable: {', '.join(f'{s:.2f}s' for s in latencies)}")
    assert status["status"] == "open"
    ext = status["extended_attributes"]
    assert (ext["level"], ext["level_name"], ext["pipeline_status"]) == (1, "block", "assigned")
    assert ext["office"] == "Junior Engineer, Theog block, Shimla district"
    assert status["expected_datetime"] == ext["due_at"] and ext["due_at"].endswith("Z")
    shown = json.dumps(status, ensure_ascii=False)
    assert "परीक्षण" not in shown and THEOG_OFFICER not in shown
    # The pipeline's own latency: three worker stages, each publishing at its commit
    # (SANKALP_COMMIT_INTERVAL_SECONDS), then the sink's batch. About half a second here.
    assert sorted(latencies)[1] < 1.0 and max(latencies) < 3.0, latencies


def test_a_retried_post_is_the_same_complaint_registered_once(api):
    fields = complaint()
    first = post(api, fields, key="portal-retry-1")
    again = post(api, fields, key="portal-retry-1")
    # The channel's own request id in Open311's form encoding: the same complaint too.
    form = {k: v for k, v in fields.items() if k != "attribute"}
    form |= {"attribute[district]": "Shimla", "attribute[block]": "Theog",
             "channel_request_id": "portal-retry-1"}
    as_form = api.call("POST", "/open311/v2/requests.json", urlencode(form).encode(),
                       {"Content-Type": "application/x-www-form-urlencoded"})
    assert first.status == again.status == as_form.status == 201
    cid = first.json()[0]["service_request_id"]
    assert again.json()[0]["service_request_id"] == as_form.json()[0]["service_request_id"] == cid
    other = post(api, fields | {"phone": new_phone()}, key="portal-retry-2")
    assert other.json()[0]["service_request_id"] != cid
    wait_status(api, cid)
    wait_status(api, other.json()[0]["service_request_id"])
    time.sleep(1.5)  # the repeats went through the pipeline too
    submitted = [json.loads(v) for k, v in topic_messages(api.settings, COMPLAINTS_SUBMITTED.name)
                 if k == cid.encode()]
    assert len(submitted) == 3 and len({s["event_id"] for s in submitted}) == 1
    assert {s["text"] for s in submitted} == {HINDI}  # byte for byte through Kafka
    events = rows(api, "SELECT event_type FROM complaint_event WHERE complaint_id = %s", cid)
    assert sorted(e for (e,) in events) == ["complaint.assigned"]  # no rejection, no repeat
    assert rows(api, "SELECT version FROM complaint_current WHERE complaint_id = %s",
                cid) == [(1,)]


def test_an_officer_sees_the_queue_proposes_a_resolution_and_the_citizen_closes_it(api):
    cid = created(api)
    wait_status(api, cid)
    theog = token(api, THEOG_L1)
    queue = api.call("GET", "/officer/v1/queue?limit=500", headers=bearer(theog)).json()
    assert queue["post_id"] == THEOG_L1 and queue["officer_id"] == THEOG_OFFICER
    mine = next(c for c in queue["complaints"] if c["complaint_id"] == cid)
    assert mine["sla"] == "on_track" and mine["due_at"] and mine["level"] == 1
    # Another post's queue does not list it.
    rampur = api.call("GET", "/officer/v1/queue", headers=bearer(token(api, RAMPUR_L1))).json()
    assert cid not in {c["complaint_id"] for c in rampur["complaints"]}

    reply = act(api, cid, theog, action="resolution_proposed", note="पाइप बदल दिया गया")
    assert reply.status == 202, reply.body
    assert reply.json()["officer_id"] == THEOG_OFFICER
    wait_status(api, cid, lambda s: s["extended_attributes"]["pipeline_status"]
                == "resolution_proposed")
    recorded = rows(api, "SELECT payload ->> 'officer_id' FROM complaint_event "
                         "WHERE complaint_id = %s AND event_type = 'complaint.officer_action'", cid)
    assert recorded == [(THEOG_OFFICER,)]  # the token's post, never the body

    # The helpline's call-back desk reports the citizen's answer.
    publisher = EventPublisher(api.settings)
    publisher.send(COMPLAINT_COMMANDS.name, cid, CitizenFeedback(
        event_id=str(uuid.uuid4()), complaint_id=cid, occurred_at=datetime.now(UTC),
        outcome="satisfied"))
    publisher.flush()
    closed = wait_status(api, cid, lambda s: s["status"] == "closed")
    assert closed["extended_attributes"]["close_reason"] == "citizen_satisfied"
    assert closed["expected_datetime"] is None
    queue = api.call("GET", "/officer/v1/queue?limit=500", headers=bearer(theog)).json()
    assert cid not in {c["complaint_id"] for c in queue["complaints"]}
    late = act(api, cid, theog, action="acknowledged")
    assert late.status == 409


def test_a_special_close_is_decided_by_the_post_one_level_up(api):
    cid = created(api)
    wait_status(api, cid)
    l1, l2 = token(api, THEOG_L1), token(api, THEOG_L2)
    assert act(api, cid, l1, action="special_close_proposed",
               reason="scheme not sanctioned; budget matter").status == 202
    wait_status(api, cid, lambda s: s["extended_attributes"]["pipeline_status"]
                == "special_close_proposed")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the request event follows the state in the sink
        queue = api.call("GET", "/officer/v1/queue", headers=bearer(l2)).json()
        waiting = {a["complaint_id"]: a for a in queue["awaiting_your_decision"]}
        if cid in waiting:
            break
        time.sleep(0.1)
    assert waiting[cid]["proposed_by"] == THEOG_OFFICER
    assert act(api, cid, l1, action="special_close_approved").status == 403
    assert act(api, cid, l2, action="special_close_approved").status == 202
    closed = wait_status(api, cid, lambda s: s["status"] == "closed")
    assert closed["extended_attributes"]["pipeline_status"] == "special_closed"


def test_acknowledgements_replies_and_a_transfer_go_through_the_api(api):
    cid = created(api)
    wait_status(api, cid)
    theog = token(api, THEOG_L1)
    for action in ("acknowledged", "interim_reply"):
        assert act(api, cid, theog, action=action, note="देख रहे हैं").status == 202
    bad = act(api, cid, theog, action="transfer_requested", reason="road work")
    assert bad.status == 400 and "target_department or target_block" in bad.text()
    moved = act(api, cid, theog, action="transfer_requested",
                reason="the road was cut by PWD's contractor", target_department="PWD")
    assert moved.status == 202, moved.body
    status = wait_status(api, cid, lambda s: s["extended_attributes"]["department"] == "PWD")
    assert status["extended_attributes"]["transfers"] == 1
    assert status["extended_attributes"]["office"].endswith("Theog block, Shimla district")
    pwd = api.call("GET", "/officer/v1/queue?limit=500",
                   headers=bearer(token(api, "PWD/L1/Shimla/Theog"))).json()
    assert cid in {c["complaint_id"] for c in pwd["complaints"]}
    recorded = rows(api, "SELECT payload ->> 'action' FROM complaint_event WHERE "
                         "complaint_id = %s AND event_type = 'complaint.officer_action' "
                         "ORDER BY occurred_at", cid)
    assert [a for (a,) in recorded] == ["acknowledged", "interim_reply"]


def test_other_posts_get_403_and_missing_forged_or_expired_tokens_401(api):
    cid = created(api)
    wait_status(api, cid)
    theog = token(api, THEOG_L1)
    expired = issue(THEOG_L1, "k1", OFFICER_SECRET.encode(), time.time() - 7200, hours=1)
    forged = issue(THEOG_L1, "k1", b"guessed-secret-0123456789", time.time(), hours=1)
    retired = issue(THEOG_L1, "k0", OFFICER_SECRET.encode(), time.time(), hours=1)
    body = json.dumps({"action": "acknowledged"}).encode()
    path = f"/officer/v1/complaints/{cid}/actions"
    for headers, status, reason in [
        (bearer(token(api, RAMPUR_L1)), 403, "not held by post JSV/L1/Shimla/Rampur"),
        ({"Content-Type": "application/json"}, 401, "bearer token is required"),
        (bearer(expired), 401, "expired"),
        (bearer(forged), 401, "signature does not match"),
        (bearer(retired), 401, "unknown or retired key"),
        (bearer("not-a-token"), 401, "malformed"),
        ({"Authorization": f"Basic {theog}", "Content-Type": "application/json"}, 401,
         "Bearer"),
    ]:
        reply = api.call("POST", path, body, headers)
        assert reply.status == status, (reason, reply.body)
        assert reason in reply.json()[0]["description"]
        if status == 401:
            assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert api.call("GET", "/officer/v1/queue").status == 401
    # The officer id is the token's, never the body's.
    spoof = act(api, cid, theog, action="acknowledged", officer_id="OFF-JSV-L4-STATE")
    assert spoof.status == 400 and "comes from the token" in spoof.json()[0]["description"]
    time.sleep(1.0)
    commands = [json.loads(v) for k, v in topic_messages(api.settings, COMPLAINT_COMMANDS.name)
                if k == cid.encode()]
    assert [c["event_type"] for c in commands] == ["complaint.registered"]


BAD_REQUESTS = [
    # (what, content type, body, expected status, expected words in the description)
    ("malformed JSON", "application/json", b'{"api_key": "' + KEY.encode() + b'", MARK', 400,
     "not valid UTF-8 JSON"),
    ("a JSON array", "application/json", b'["MARK"]', 400, "must be a JSON object"),
    ("nested brackets", "application/json", b"[" * 15000 + b'"MARK"', 400,
     "nested too deeply"),
    ("wrong content type", "text/plain", b"MARK", 415, "is not accepted"),
    ("oversized", "application/json",
     json.dumps(complaint(description="MARK " + "x" * 20000)).encode(), 413, "too large"),
    ("unknown field", "application/json",
     json.dumps(complaint(description="MARK", lat="31.1")).encode(), 400, "unknown field(s): lat"),
    ("unknown attribute", "application/json", json.dumps(complaint(
        description="MARK", attribute={"district": "Shimla", "block": "Theog",
                                       "ward": "4"})).encode(), 400, "unknown attribute"),
    ("a NUL in text", "application/json",
     json.dumps(complaint(description="MARK\x00; DROP TABLE complaint_current")).encode(),
     400, "control characters"),
    ("an unpaired surrogate", "application/json",
     json.dumps(complaint(description="MARK")).replace("MARK", "MARK\\ud800").encode(),
     400, "not valid Unicode"),
    ("a number for text", "application/json",
     json.dumps(complaint(description="MARK", first_name=7)).encode(), 400, "must be a string"),
    ("bad category", "application/json",
     json.dumps(complaint(description="MARK", service_code="' OR 1=1 --")).encode(), 400,
     "unknown complaint category"),
    ("bad district", "application/json", json.dumps(complaint(
        description="MARK", attribute={"district": "Gotham", "block": "Theog"})).encode(),
     400, "unknown district 'Gotham'"),
    ("bad block", "application/json", json.dumps(complaint(
        description="MARK", attribute={"district": "Shimla", "block": "../../etc"})).encode(),
     400, "unknown block '../../etc' in district Shimla"),
    ("bad phone", "application/json",
     json.dumps(complaint(description="MARK", phone="0000")).encode(), 400,
     "phone: must be a 10-digit"),
    ("no api key", "application/json",
     json.dumps({k: v for k, v in complaint(description="MARK").items() if k != "api_key"}
                ).encode(), 401, "api_key is required"),
    ("unknown api key", "application/json",
     json.dumps(complaint(description="MARK", api_key="x" * 20)).encode(), 403,
     "api_key is not valid"),
    ("form field twice", "application/x-www-form-urlencoded",
     f"api_key={KEY}&description=MARK&description=again".encode(), 400, "given twice"),
    ("broken percent-encoding", "application/x-www-form-urlencoded",
     f"api_key={KEY}&description=MARK%FF".encode(), 400, "not valid UTF-8"),
]


def test_every_bad_input_gets_its_answer_and_nothing_reaches_kafka(api):
    run = uuid.uuid4().hex[:8]
    for what, content_type, body, status, words in BAD_REQUESTS:
        headers = {"Content-Type": content_type} if content_type else {}
        reply = api.call("POST", "/open311/v2/requests.json",
                         body.replace(b"MARK", f"BAD-{run}".encode()), headers)
        assert reply.status == status, (what, reply.body)
        error = reply.json()
        assert error == [{"code": status, "description": error[0]["description"]}], what
        assert words in error[0]["description"], (what, error)
    for path, status in [
        ("/open311/v2/requests/..%2F..%2Fetc%2Fpasswd.json", 400),
        ("/open311/v2/requests/HP-1'%20OR%20'1'='1.json", 400),
        ("/open311/v2/requests/" + "A" * 65 + ".json", 400),
        ("/open311/v2/requests/HP-NOT-THERE.json", 404),
        ("/open311/v2/requests/HP-1.xml", 400),
        ("/open311/v2/requests.json?service_request_id=a,../b", 400),
        ("/open311/v2/requests.json?status=open", 400),
        ("/open311/v2/../../etc/passwd", 404),
        ("/nothing/here", 404),
    ]:
        reply = api.call("GET", path)
        assert reply.status == status, (path, reply.body)
        assert reply.json()[0]["code"] == status
    assert api.call("DELETE", "/open311/v2/services.json").status == 405
    officer = api.call("POST", "/officer/v1/complaints/HP-1/actions", b"{",
                       bearer(token(api, THEOG_L1)))
    assert officer.status == 400
    # The service keeps serving, and its Hindi, mixed-script text travels byte for byte.
    cid = created(api, description=f"OK-{run} {HINDI}")
    submitted = [v for k, v in topic_messages(api.settings, COMPLAINTS_SUBMITTED.name)]
    assert not [v for v in submitted if f"BAD-{run}".encode() in v]
    mine = [json.loads(v) for v in submitted if f"OK-{run}".encode() in v]
    assert [m["complaint_id"] for m in mine] == [cid]
    assert mine[0]["text"] == f"OK-{run} {HINDI}"
    assert f"OK-{run} {HINDI}".split("\n")[0].encode() in next(
        v for v in submitted if f"OK-{run}".encode() in v)


def test_a_flood_from_one_key_gets_429_and_the_others_are_served(api):
    run = uuid.uuid4().hex[:8]
    flood = complaint(api_key=FLOOD_KEY, description=f"FLOOD-{run}",
                      attribute={"district": "Shimla", "block": "Nowhere"})
    answers = [post(api, flood) for _ in range(8)]
    statuses = [a.status for a in answers]
    assert statuses[:5] == [400] * 5 and set(statuses[5:]) == {429}, statuses
    limited = answers[-1]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()[0]["code"] == 429
    assert post(api, complaint()).status == 201
    assert not [v for _, v in topic_messages(api.settings, COMPLAINTS_SUBMITTED.name)
                if f"FLOOD-{run}".encode() in v]


def test_kafka_or_postgres_unreachable_gives_503_with_retry_after(api, tmp_path):
    settings = api.settings.with_overrides(
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
        database_url=f"postgresql://sankalp@127.0.0.1:{free_port()}/nowhere",
        api_port=free_port(), api_kafka_timeout_seconds=2.0)
    cut_off = ApiProcess(settings, tmp_path / "api.log").start()
    try:
        cut_off.wait_ready(30)
        ready = http(cut_off.url + "/readyz")
        assert ready.status == 503 and ready.json() == {
            "status": "not ready", "kafka": "unreachable", "postgres": "unreachable"}
        started = time.monotonic()
        reply = http(cut_off.url + "/open311/v2/requests.json", "POST",
                     json.dumps(complaint()).encode(), {"Content-Type": "application/json"})
        assert reply.status == 503, reply.body
        assert time.monotonic() - started < 5
        assert int(reply.headers["Retry-After"]) >= 1
        assert "not accepted" in reply.json()[0]["description"]
        status = http(cut_off.url + "/open311/v2/requests/HP-1.json")
        assert status.status == 503 and status.headers["Retry-After"]
    finally:
        cut_off.stop()


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in
            re.finditer(r"^```(\w*)\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)]


def test_the_examples_in_docs_api_md_run_against_the_service(api):
    """Every ```bash block of docs/api.md runs, in order, in one shell; where the block
    after it shows `HTTP nnn` lines, the run must print the same."""
    blocks = fenced_blocks(DOC.read_text(encoding="utf-8"))
    runs = [(i, text) for i, (lang, text) in enumerate(blocks) if lang == "bash"]
    assert len(runs) >= 10
    script = "set -euo pipefail\n" + "".join(
        f"echo '@@block {n}@@'\n{text}\n" for n, (_, text) in enumerate(runs))
    env = {**settings_env(api.settings), "SANKALP_API": api.url, "API_KEY": KEY,
           "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    outputs = re.split(r"^@@block \d+@@\n", done.stdout, flags=re.MULTILINE)[1:]
    assert len(outputs) == len(runs)
    statuses = re.compile(r"^HTTP \d{3}$", re.MULTILINE)
    for (index, text), output in zip(runs, outputs, strict=True):
        shown = blocks[index + 1][1] if index + 1 < len(blocks) and blocks[index + 1][0] in (
            "text", "json") else ""
        assert statuses.findall(output) == statuses.findall(shown), (text, output)


def test_the_api_log_holds_no_key_token_or_personal_data(api):
    """Last in the module: whatever the tests above sent, the log shows none of it."""
    log = api.process.tail(100_000)
    assert "API listening on" in log
    secrets = [KEY, FLOOD_KEY, OFFICER_SECRET, "परीक्षण", "नागरिक", "9816012345",
               *_TOKENS.values()]
    assert not [s for s in secrets if s in log]
