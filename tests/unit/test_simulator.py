"""The traffic simulator: deterministic, realistic in shape, time-ordered, bounded memory."""

from __future__ import annotations

from collections import Counter
from itertools import islice

from core.calendar import IST
from core.routing import locate, sla_days_for
from schemas.events import CitizenFeedback, ComplaintSubmitted, OfficerActed
from simulator.traffic import Traffic, TrafficProfile

PROFILE = TrafficProfile(seed=7, days=20, complaints_per_day=300)


def test_same_seed_same_traffic_other_seed_other_traffic():
    first = [e.to_json() for e in islice(Traffic(PROFILE), 500)]
    again = [e.to_json() for e in islice(Traffic(PROFILE), 500)]
    other = [e.to_json() for e in islice(Traffic(TrafficProfile(seed=8, days=20)), 500)]
    assert first == again
    assert first != other


def test_traffic_is_time_ordered_valid_and_realistic():
    events = list(Traffic(PROFILE))
    times = [e.occurred_at for e in events]
    assert times == sorted(times)
    submitted = [e for e in events if isinstance(e, ComplaintSubmitted)]
    assert abs(len(submitted) - PROFILE.total) < PROFILE.total * 0.1 + 200
    channels = Counter(s.channel for s in submitted)
    assert set(channels) == {"phone_1100", "portal", "app", "whatsapp", "cm_office",
                             "jan_manch"}
    for s in submitted:
        locate(s.district, s.block)  # a real place
        assert 7 <= sla_days_for(s.category) <= 14
        if s.channel == "phone_1100":  # the call centre's hours, Monday to Saturday
            local = s.occurred_at.astimezone(IST)
            assert 7 <= local.hour < 22 and local.weekday() != 6
    districts = Counter(s.district for s in submitted)
    assert districts["Kangra"] > districts["Lahaul & Spiti"] * 5  # population-weighted
    feedback = Counter(e.outcome for e in events if isinstance(e, CitizenFeedback))
    assert feedback["satisfied"] > feedback["not_satisfied"] > 0 and feedback["unreachable"]
    acted = {e.complaint_id for e in events if isinstance(e, OfficerActed)}
    assert 0 < len(acted) < len(submitted)  # some officers never act


def test_memory_holds_only_what_is_still_to_happen():
    """Future actions reach a steady state: they grow with the open complaints, not with
    everything generated so far."""
    profile = TrafficProfile(seed=1, days=365, complaints_per_day=500)
    traffic = Traffic(profile)
    pending_at: dict[int, int] = {}
    for event in traffic:
        day = int((event.occurred_at - profile.start).total_seconds() // 86400)
        if day in (40, 80) and day not in pending_at:
            pending_at[day] = traffic.pending
        if day > 80:
            break
    assert pending_at[80] < pending_at[40] * 1.3
