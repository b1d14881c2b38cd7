"""The published contract: a JSON Schema per payload and one AsyncAPI 3 document.

Generated from the records and the topic catalogue, written under `schemas/json/` and
`schemas/asyncapi.json`, and compared in a test, so the files cannot drift from the code.
Regenerate with `sankalp contract write`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas.records import Record

CONTRACT_DIR = Path(__file__).resolve().parent
SCHEMA_DIR = CONTRACT_DIR / "json"
ASYNCAPI_FILE = CONTRACT_DIR / "asyncapi.json"


# How every channel's key is written and partitioned (docs/contract.md, "Partitioner"):
# a producer that partitions otherwise puts a complaint's messages on another partition
# than its workers' tables and loses the order per complaint.
KEY_ENCODING = "the key's UTF-8 bytes as they are (Kafka key, no serializer framing)"
PARTITIONER = (
    "murmur2 over the raw key bytes, positive, modulo the partition count: Kafka's Java "
    "default partitioner and aiokafka's; librdkafka clients must set "
    "partitioner=murmur2_random (their default, CRC32, puts keys elsewhere)")


def schema_file_name(record: type[Record]) -> str:
    return f"{record.EVENT_TYPE}.v{record.SCHEMA_VERSION}.json"


def message_name(record: type[Record]) -> str:
    return f"{record.EVENT_TYPE.replace('.', '_')}_v{record.SCHEMA_VERSION}"


def _topics():
    from streams.topics import LIFECYCLE_TOPICS

    return LIFECYCLE_TOPICS


def all_records() -> list[type[Record]]:
    seen: dict[str, type[Record]] = {}
    for topic in _topics():
        for record in topic.payloads:
            seen[schema_file_name(record)] = record
    return [seen[name] for name in sorted(seen)]


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for record in all_records():
        messages[message_name(record)] = {
            "name": record.EVENT_TYPE,
            "title": f"{record.EVENT_TYPE} v{record.SCHEMA_VERSION}",
            "summary": record.DESCRIPTION,
            "contentType": "application/json",
            "payload": {"$ref": f"./json/{schema_file_name(record)}"},
        }
    for topic in _topics():
        channel_id = topic.name.replace(".", "_")
        channels[channel_id] = {
            "address": topic.name,
            "description": topic.carries,
            "messages": {
                message_name(r): {"$ref": f"#/components/messages/{message_name(r)}"}
                for r in topic.payloads
            },
            "bindings": {
                "kafka": {
                    "topicConfiguration": {
                        "cleanup.policy": ["compact" if topic.compacted else "delete"],
                        **({"retention.ms": topic.retention_ms}
                           if topic.retention_ms and not topic.compacted else {}),
                    },
                    "bindingVersion": "0.5.0",
                }
            },
            "x-key": topic.key,
            "x-key-encoding": KEY_ENCODING,
            "x-partitioner": PARTITIONER,
            "x-ordering": topic.ordering or (
                f"in order per {topic.key} (one partition per key); none across keys"),
            "x-audience": topic.audience,
            "x-partitions": topic.partitions or "SANKALP_TOPIC_PARTITIONS (default 6)",
        }
        operations[f"receive_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Subscribe to {topic.name} (key: {topic.key}).",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sankalp grievance pipeline",
            "version": "1.0.0",
            "description": (
                "Topics of the statewide grievance helpline's event backbone. Every complaint "
                "topic is keyed by complaint_id. Payloads are JSON; each carries event_type and "
                "schema_version, and a changed payload gets a new version, never a silent edit. "
                "Fields marked x-personal-data appear only on private topics."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "the project's own local stack (sankalp stack up)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> dict[Path, str]:
    """Every contract file and its exact text."""
    files = {
        SCHEMA_DIR / schema_file_name(r): json.dumps(r.json_schema(), indent=2,
                                                     ensure_ascii=False) + "\n"
        for r in all_records()
    }
    files[ASYNCAPI_FILE] = json.dumps(asyncapi_document(), indent=2, ensure_ascii=False) + "\n"
    return files


def write() -> list[Path]:
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    files = render()
    for stale in set(SCHEMA_DIR.glob("*.json")) - set(files):
        stale.unlink()
    for path, text in files.items():
        path.write_text(text)
    return sorted(files)


if __name__ == "__main__":
    for written in write():
        print(written)
