"""The officer directory a worker routes with, kept current from its compacted topic.

It starts from the reference directory shipped with the project; every OfficerPost record
on `reference.officers.v1` (read from the beginning, by every worker, outside any consumer
group) replaces the holder of that post. So an officer transfer takes effect at run time.
"""

from __future__ import annotations

import json
import logging
import threading

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from core.reference import Block, Officer, OfficerDirectory, build_officer_directory
from schemas.directory import OfficerPost
from schemas.records import InvalidEvent
from streams.security import confluent_config
from streams.settings import Settings
from streams.topics import OFFICER_DIRECTORY

log = logging.getLogger(__name__)


def post_of(officer: Officer) -> OfficerPost:
    unit = officer.block or officer.tehsil or officer.district or "STATE"
    return OfficerPost(
        post_id=f"{officer.department_code}/L{officer.level}/{officer.district or '-'}/{unit}",
        department=officer.department_code,
        level=officer.level,
        district=officer.district,
        tehsil=officer.tehsil,
        block=officer.block,
        officer_id=officer.officer_id,
        designation=officer.designation,
    )


def officer_of(post: OfficerPost) -> Officer:
    return Officer(
        officer_id=post.officer_id,
        department_code=post.department,
        level=post.level,
        district=post.district,
        tehsil=post.tehsil,
        block=post.block,
        designation=post.designation,
    )


class LiveDirectory:
    """Thread-safe enough for one writer (the follower) and readers on the event loop:
    each update is a single dict assignment inside OfficerDirectory."""

    def __init__(self) -> None:
        self._directory = OfficerDirectory(build_officer_directory())
        self.updates_applied = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def responsible(self, department_code: str, level: int, block: Block) -> Officer:
        return self._directory.responsible(department_code, level, block)

    def apply(self, post: OfficerPost) -> None:
        self._directory.upsert(officer_of(post))
        self.updates_applied += 1

    def follow(self, settings: Settings) -> None:
        """Read the directory topic in a background thread until `stop()`."""
        self._thread = threading.Thread(target=self._run, args=(settings,), daemon=True,
                                        name="officer-directory")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self, settings: Settings) -> None:
        topic = settings.topic(OFFICER_DIRECTORY.name)
        consumer = Consumer({
            **confluent_config(settings),
            "group.id": f"{settings.app_id}-directory-unused",  # assign() only; never commits
            "enable.auto.commit": False,
        })
        try:
            while not self._stop.is_set():
                try:
                    metadata = consumer.list_topics(topic, timeout=5)
                    partitions = metadata.topics[topic].partitions
                    if partitions:
                        break
                except KafkaException:
                    pass
                self._stop.wait(1)
            else:
                return
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
            while not self._stop.is_set():
                message = consumer.poll(0.5)
                if message is None or message.error() or message.value() is None:
                    continue
                try:
                    self.apply(OfficerPost.from_dict(json.loads(message.value())))
                except (InvalidEvent, ValueError) as exc:
                    log.warning("ignored a bad officer directory record: %s", exc)
        finally:
            consumer.close()
