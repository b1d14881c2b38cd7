"""The foundation's smoke pipeline: route a sample complaint to a department.

Deliberately small; it proves the moving parts work together on the real broker:
a topic consumed by an agent, a changelog-backed table, and a produced result.
The lifecycle agents replace it as the product's main path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from schemas.smoke import SmokeAssignment, SmokeComplaint, route_sample
from streams.topics import SMOKE_ASSIGNMENTS, SMOKE_COMPLAINTS

if TYPE_CHECKING:
    from agents.worker import Worker


def attach(w: Worker) -> None:
    complaints_topic = w.raw_topic(SMOKE_COMPLAINTS)
    assignments_topic = w.raw_topic(SMOKE_ASSIGNMENTS)
    # complaint_id -> {"last_event_id": str, "applied": int}; durable through its changelog.
    applied = w.app.Table("smoke-applied", default=None,
                          partitions=w.settings.topic_partitions)

    async def route_smoke(stream: Any) -> None:
        async for _key, raw in stream.items():
            complaint = SmokeComplaint.from_json(raw)
            state = applied.get(complaint.complaint_id) or {"last_event_id": None,
                                                             "applied": 0}
            if state["last_event_id"] != complaint.event_id:
                state = {"last_event_id": complaint.event_id, "applied": state["applied"] + 1}
                applied[complaint.complaint_id] = state
            # Re-sent on redelivery too: the assignment's event_id is derived from the
            # input's, so downstream consumers drop the repeat.
            assignment: SmokeAssignment = route_sample(complaint,
                                                       times_applied=state["applied"])
            await w.send(assignments_topic, complaint.complaint_id.encode(),
                         json.dumps(assignment.to_dict()).encode())

    w.agents["route_smoke"] = w.app.agent(complaints_topic, name="route_smoke")(route_smoke)
