"""Route one sample complaint end to end: producer -> Faust agent -> topic -> Postgres."""

from __future__ import annotations

import json
import time
import uuid

from confluent_kafka import Consumer, Producer

from devstack.runners import WorkerProcess
from sinks.postgres import connect, upsert_smoke_assignment
from streams.admin import ensure_topics
from streams.security import confluent_config
from streams.settings import Settings
from streams.topics import SMOKE_ASSIGNMENTS, SMOKE_COMPLAINTS


def say(message: str) -> None:
    print(f"[smoke] {message}", flush=True)


def sample_complaint() -> dict:
    complaint_id = f"HP-SMOKE-{uuid.uuid4().hex[:10].upper()}"
    return {
        "event_id": str(uuid.uuid4()),
        "complaint_id": complaint_id,
        "category": "drinking_water",
        "district": "Shimla",
        # Mixed Hindi/English, as callers speak; carried byte-for-byte.
        "text": "गाँव में तीन दिन से पानी की सप्लाई बंद है, please send the JE.",
    }


def run_smoke(settings: Settings, timeout: float = 120.0) -> dict:
    created = ensure_topics(settings, [SMOKE_COMPLAINTS, SMOKE_ASSIGNMENTS])
    if created:
        say(f"created topics: {', '.join(created)}")
    log_file = settings.stack_dir / "logs" / "worker-smoke.log"
    say(f"starting a Faust worker (log: {log_file})")
    with WorkerProcess(settings, log_file) as worker:
        worker.wait_ready(timeout)
        complaint = sample_complaint()
        producer = Producer({
            **confluent_config(settings),
            "enable.idempotence": True,
            "acks": "all",
        })
        producer.produce(
            settings.topic(SMOKE_COMPLAINTS.name),
            key=complaint["complaint_id"].encode(),
            value=json.dumps(complaint, ensure_ascii=False).encode(),
        )
        producer.flush(30)
        say(f"submitted {complaint['complaint_id']} ({complaint['category']}, "
            f"{complaint['district']})")
        assignment = _await_assignment(settings, complaint["complaint_id"], timeout, worker)
    say(f"routed to {assignment['department']} at level {assignment['level']}")
    conn = connect(settings.database_url, settings.database_password)
    try:
        upsert_smoke_assignment(conn, assignment)
        with conn.cursor() as cur:
            cur.execute("SELECT department, text FROM smoke_assignment WHERE complaint_id = %s",
                        (assignment["complaint_id"],))
            department, text = cur.fetchone()
    finally:
        conn.close()
    if text != complaint["text"]:
        raise RuntimeError("complaint text changed on its way to Postgres")
    say(f"stored in Postgres table smoke_assignment: {department}; text intact")
    return assignment


def _await_assignment(settings: Settings, complaint_id: str, timeout: float,
                      worker: WorkerProcess) -> dict:
    consumer = Consumer({
        **confluent_config(settings),
        "group.id": f"smoke-reader-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([settings.topic(SMOKE_ASSIGNMENTS.name)])
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            worker.check_healthy()
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            if message.key() == complaint_id.encode():
                return json.loads(message.value())
        raise TimeoutError(f"no assignment for {complaint_id} within {timeout:.0f}s; "
                           f"worker log:\n{worker.tail()}")
    finally:
        consumer.close()
