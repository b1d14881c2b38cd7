"""A real Faust worker (aiokafka) on the real broker: consume, update a changelog-backed
table, produce; and the table survives losing the worker's local store."""

from __future__ import annotations

import json
import shutil

from kit import kafka

from devstack.runners import WorkerProcess
from streams.admin import ensure_topics
from streams.topics import SMOKE_ASSIGNMENTS, SMOKE_COMPLAINTS


def complaint(complaint_id: str, event_id: str, category: str = "drinking_water") -> dict:
    return {"event_id": event_id, "complaint_id": complaint_id, "category": category,
            "district": "Kangra", "text": "हैंडपंप खराब है"}


def send(settings, *events: dict) -> None:
    producer = kafka.producer(settings)
    for event in events:
        producer.produce(settings.topic(SMOKE_COMPLAINTS.name),
                         key=event["complaint_id"].encode(),
                         value=json.dumps(event, ensure_ascii=False).encode())
    assert producer.flush(30) == 0


def read(settings, topic: str, count: int, worker: WorkerProcess | None = None,
         timeout: float = 60) -> list[tuple[bytes, bytes]]:
    messages = kafka.read(settings, [topic], count, timeout=timeout,
                          check=worker.check_healthy if worker else None)
    return [(m.key(), m.value()) for m in messages]


def test_agent_updates_changelog_table_and_produces(test_settings):
    settings = test_settings
    ensure_topics(settings, [SMOKE_COMPLAINTS, SMOKE_ASSIGNMENTS])
    assignments = settings.topic(SMOKE_ASSIGNMENTS.name)
    changelog = f"{settings.app_id}-smoke-applied-changelog"
    log_file = settings.stack_dir / "worker.log"

    worker = WorkerProcess(settings, log_file).start()
    try:
        worker.wait_ready(90)
        first = complaint("HP-A", "e-1")
        send(settings, first, first, complaint("HP-B", "e-2", category="road_repair"))
        out = [json.loads(v) for _, v in read(settings, assignments, 3, worker)]
        assert len(out) == 3, worker.tail()
        by_id: dict[str, list[dict]] = {}
        for a in out:
            by_id.setdefault(a["complaint_id"], []).append(a)
        # The redelivered event is re-sent with the same event_id and not applied twice.
        assert [a["times_applied"] for a in by_id["HP-A"]] == [1, 1]
        assert by_id["HP-A"][0]["event_id"] == by_id["HP-A"][1]["event_id"]
        assert by_id["HP-A"][0]["department"] == "Jal Shakti"
        assert by_id["HP-A"][0]["text"] == "हैंडपंप खराब है"
        assert by_id["HP-B"][0]["department"] == "Public Works"
    finally:
        assert worker.stop() == 0, worker.tail()

    # The table's state is in Kafka, not only in the worker's local store.
    logged = {k: json.loads(v) for k, v in read(settings, changelog, 2)}
    assert set(logged) >= {b'"HP-A"', b'"HP-B"'}, logged

    # Lose the local RocksDB store entirely: the restarted worker must rebuild the table
    # from the changelog and count the next event for HP-A as its second.
    shutil.rmtree(settings.worker_data_dir)
    worker = WorkerProcess(settings, log_file).start()
    try:
        worker.wait_ready(90)
        send(settings, complaint("HP-A", "e-3"))
        out = [json.loads(v) for _, v in read(settings, assignments, 4, worker)]
        assert len(out) == 4, worker.tail()
        assert out[-1]["complaint_id"] == "HP-A"
        assert out[-1]["times_applied"] == 2
    finally:
        assert worker.stop() == 0, worker.tail()
