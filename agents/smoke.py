"""The foundation's smoke pipeline: route a sample complaint to a department.

Deliberately small; it proves the moving parts work together on the real broker:
a topic consumed by an agent, a changelog-backed table, and a produced result.
The lifecycle agents replace it as the product's main path.
"""

from __future__ import annotations

import json

from schemas.smoke import SmokeAssignment, SmokeComplaint, route_sample
from streams.app import app, raw_topic, settings
from streams.topics import SMOKE_ASSIGNMENTS, SMOKE_COMPLAINTS

complaints_topic = raw_topic(SMOKE_COMPLAINTS)
assignments_topic = raw_topic(SMOKE_ASSIGNMENTS)

# complaint_id -> {"last_event_id": str, "applied": int}; durable through its changelog topic.
applied = app.Table("smoke-applied", default=None, partitions=settings.topic_partitions)


@app.agent(complaints_topic)
async def route_smoke(stream):
    async for _key, raw in stream.items():
        complaint = SmokeComplaint.from_json(raw)
        state = applied.get(complaint.complaint_id) or {"last_event_id": None, "applied": 0}
        if state["last_event_id"] != complaint.event_id:
            state = {"last_event_id": complaint.event_id, "applied": state["applied"] + 1}
            applied[complaint.complaint_id] = state
        # Re-sent on redelivery too: the assignment's event_id is derived from the input's,
        # so downstream consumers drop the repeat.
        assignment: SmokeAssignment = route_sample(complaint, times_applied=state["applied"])
        await assignments_topic.send(
            key=complaint.complaint_id.encode(), value=json.dumps(assignment.to_dict()).encode()
        )
