"""Every Kafka topic the project owns, declared once: name, partitions, key, retention.

`sankalp topics create` creates them; Faust agents look them up here, so a topic's
shape is never restated elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.settings import Settings

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    carries: str
    compacted: bool = False
    retention_ms: int | None = 30 * DAY_MS
    partitions: int | None = None  # None: the settings' topic_partitions (co-partitioning)
    extra_config: dict[str, str] = field(default_factory=dict)

    def kafka_config(self) -> dict[str, str]:
        config = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None and not self.compacted:
            config["retention.ms"] = str(self.retention_ms)
        config.update(self.extra_config)
        return config

    def partitions_for(self, settings: Settings) -> int:
        return self.partitions or settings.topic_partitions


SMOKE_COMPLAINTS = TopicSpec(
    name="smoke.complaints",
    key="complaint_id",
    carries="sample complaints for the foundation smoke pipeline (JSON)",
    retention_ms=1 * DAY_MS,
)
SMOKE_ASSIGNMENTS = TopicSpec(
    name="smoke.assignments",
    key="complaint_id",
    carries="the smoke pipeline's routing decision for each sample complaint (JSON)",
    retention_ms=1 * DAY_MS,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (SMOKE_COMPLAINTS, SMOKE_ASSIGNMENTS)
