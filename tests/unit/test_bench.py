"""The bench's pure parts: targets, ratios, the report from partial results, and a run that
keeps what it measured when a stage fails. No Kafka, no Postgres."""

from __future__ import annotations

import json
import os

import pytest

from bench import measure
from bench.run import (
    Stage,
    Target,
    check_targets,
    derive,
    markdown,
    one_line,
    plot,
    run_stages,
    summary,
)

MACHINE = {"date": "2026-12-02T00:00:00+00:00", "cpus": 2, "memory_gib": 24,
           "platform": "Linux", "python": "3.11.7", "commit": "abc1234",
           "versions": {"faust-streaming": "0.15.3"}}


def measured() -> dict:
    return {
        "machine": MACHINE, "scale": "default",
        "raw": {"messages": 1000, "produce_per_s": 90_000.0, "consume_per_s": 150_000.0,
                "round_trip_per_s": 50_000.0},
        "bare_faust": {"events": 3000, "with_table": True, "seconds": 1.0,
                       "events_per_s": 4000.0, "worker_cpu_s": 0.6,
                       "worker_cpu_s_per_1000_events": 0.2},
        "bare_faust_no_table": {"events": 3000, "with_table": False, "seconds": 0.6,
                                "events_per_s": 5000.0, "worker_cpu_s": 0.3,
                                "worker_cpu_s_per_1000_events": 0.1},
        "throughput": {"workers": 1, "complaints": 1000, "seconds": 1.0,
                       "complaints_per_s": 1000.0, "agent_events_per_s": 3000.0,
                       "sink_rows": 2000, "sink_rows_per_s": 2000.0, "worker_cpu_s": 0.75,
                       "worker_cpu_s_per_1000_events": 0.25},
        "two_workers": {"workers": 2, "complaints": 1000, "seconds": 1.2,
                        "complaints_per_s": 833.0, "agent_events_per_s": 2500.0,
                        "sink_rows": 2000, "sink_rows_per_s": 1666.0, "worker_cpu_s": 1.0,
                        "worker_cpu_s_per_1000_events": 0.33,
                        "worker_cpu_s_each": [0.5, 0.5],
                        "spread": {"assignment_unchanged": True,
                                   "input_partitions_each": [9, 9],
                                   "input_messages_each": [1400, 1600],
                                   "input_messages_max_share": 0.53, "cpu_max_share": 0.5}},
        "latency@100": {"offered_per_s": 100.0, "complaints": 1500,
                        "assigned_p50_ms": 120.0, "assigned_p99_ms": 480.0,
                        "last_to_postgres_ms": 900.0},
        "escalations": {"open_complaints": 20_000, "escalated": 20_000, "delay_p50_s": 0.2,
                        "delay_p99_s": 0.6, "delay_max_s": 0.9, "rss_kib_before": 1,
                        "rss_kib_open": 2, "bytes_per_open_complaint": 5000.0,
                        "recovery_seconds": 2.0},
        "backtest": {"simulated_days": 30, "complaints": 12_000, "events": 30_000,
                     "seconds": 60.0, "events_per_s": 500.0,
                     "himachal_year_estimate_s": 750.0, "escalations": 10},
        "sink": {"rows": 40_000, "seconds": 4.0, "rows_per_s": 10_000.0},
    }


def test_ratios_to_raw_kafka_and_to_the_bare_faust_agent():
    results = derive(measured())
    assert results["ratios_to_raw"]["pipeline_agent_events"] == pytest.approx(0.06)
    assert results["ratios_to_raw"]["bare_faust_events"] == pytest.approx(0.08)
    bare = results["ratios_to_bare_faust"]
    assert bare["pipeline_agent_events"] == pytest.approx(0.75)
    assert bare["pipeline_two_workers_agent_events"] == pytest.approx(2500 / 4000)
    assert bare["bare_faust_no_table_events"] == pytest.approx(1.25)
    assert "bare_faust_events" not in bare  # the reference itself
    assert results["cpu_per_1000_events"]["ratio_to_bare"] == pytest.approx(1.25)
    assert results["scale_out"]["ratio_two_to_one"] == pytest.approx(2500 / 3000)
    assert results["failed_stages"] == []


def test_a_ratio_is_null_when_either_side_is_missing_failed_or_zero():
    results = measured()
    results["bare_faust"] = {"error": "TimeoutError: bare agent: 10 of 900 outputs seen"}
    del results["two_workers"]
    results["raw"]["round_trip_per_s"] = 0.0
    derive(results)
    assert set(results["ratios_to_bare_faust"].values()) == {None}
    assert set(results["ratios_to_raw"].values()) == {None}
    assert results["cpu_per_1000_events"]["ratio_to_bare"] is None
    assert results["cpu_per_1000_events"]["worker"] == pytest.approx(0.25)
    assert results["scale_out"]["ratio_two_to_one"] is None
    assert results["failed_stages"] == ["bare_faust"]


def test_targets_each_hold_value_target_and_met():
    targets = derive(measured())["targets"]
    assert targets["pipeline agent events/s, ratio to bare Faust (>= 0.8)"] == {
        "value": pytest.approx(0.75), "target": 0.8, "met": False}
    cpu = targets["worker CPU-s per 1,000 events, ratio to bare Faust (<= 1.25)"]
    assert cpu["met"] is True  # exactly at the bound: <= holds
    assert targets["2 worker processes vs 1, agent events/s (>= 1.0)"]["met"] is False
    assert targets["p99 to assignment at 100/s (<= 500 ms)"]["met"] is True
    assert targets["escalation delay p99 after due, 20,000 open (<= 0.5 s)"]["met"] is False
    assert targets["memory per open complaint (< 2 KB)"]["met"] is False
    assert targets["recovery (< 60 s)"]["met"] is True
    # not measured in this run (no 1,000/s rate): no verdict
    assert targets["p99 to assignment at 1,000/s (< 250 ms)"] == {
        "value": None, "target": 250, "met": None}


def test_a_target_defined_at_a_size_gives_no_verdict_at_a_smaller_one():
    results = measured()
    results["escalations"].update(open_complaints=200, delay_p99_s=0.1)
    entry = check_targets(results)["escalation delay p99 after due, 20,000 open (<= 0.5 s)"]
    assert entry["value"] == 0.1 and entry["met"] is None
    assert "200" in entry["note"] and "20,000" in entry["note"]


def test_check_targets_operators():
    results = {"s": {"x": 5.0}}
    targets = {"ge": Target("s", "x", ">=", 5), "le": Target("s", "x", "<=", 4),
               "lt": Target("s", "x", "<", 5), "gt": Target("s", "x", ">", 4),
               "missing": Target("t", "x", ">=", 1)}
    met = {k: v["met"] for k, v in check_targets(results, targets).items()}
    assert met == {"ge": True, "le": False, "lt": False, "gt": True, "missing": None}


def test_a_failing_stage_is_recorded_and_the_json_is_written_after_every_stage(tmp_path):
    path = tmp_path / "bench.json"
    printed: list[str] = []

    def first() -> dict:
        return {"messages": 10, "produce_per_s": 1.0, "consume_per_s": 1.0,
                "round_trip_per_s": 100.0}

    def failing() -> dict:
        # what the first stage measured is on disk before the next one runs
        assert json.loads(path.read_text())["raw"]["round_trip_per_s"] == 100.0
        raise TimeoutError("only 3 of 300 rows after 300s\nworker log tail ...")

    def after_failure() -> dict:
        assert json.loads(path.read_text())["throughput"]["error"].startswith("TimeoutError")
        return {"rows": 50, "seconds": 1.0, "rows_per_s": 50.0}

    results = {"machine": MACHINE, "scale": "smoke"}
    run_stages([Stage("raw", "raw", first), Stage("throughput", "pipeline", failing),
                Stage("sink", "sink", after_failure)], results, path, say=printed.append)
    on_disk = json.loads(path.read_text())
    assert on_disk["throughput"] == {"error": "TimeoutError: only 3 of 300 rows after 300s"}
    assert on_disk["sink"]["rows_per_s"] == 50.0
    assert on_disk["ratios_to_raw"]["sink_alone_rows"] == pytest.approx(0.5)
    assert on_disk["failed_stages"] == ["throughput"]
    assert not path.with_name(path.name + ".tmp").exists()
    # a title before each stage and one line of figures after it
    finished = [line for line in printed if line.startswith("= ")]
    assert len(finished) == 3
    assert "100 msg/s" in finished[0]
    assert "FAILED: TimeoutError: only 3 of 300 rows" in finished[1]
    assert "50 rows/s" in finished[2]


def test_an_interrupt_stops_the_run_with_the_json_as_of_the_last_stage(tmp_path):
    path = tmp_path / "bench.json"

    def interrupted() -> dict:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_stages([Stage("sink", "sink", lambda: {"rows": 1, "seconds": 1.0,
                                                   "rows_per_s": 1.0}),
                    Stage("backtest", "backtest", interrupted)],
                   {"machine": MACHINE, "scale": "smoke"}, path, say=lambda _: None)
    assert json.loads(path.read_text())["sink"]["rows"] == 1


def test_the_report_is_written_from_whatever_exists(tmp_path):
    results = {"machine": MACHINE, "scale": "smoke",
               "raw": {"messages": 10, "produce_per_s": 1.0, "consume_per_s": 1.0,
                       "round_trip_per_s": 100.0},
               "throughput": {"error": "RuntimeError: worker exited with 1 | boom"},
               "latency@50": {"error": "TimeoutError: x"}}
    derive(results)
    text = markdown(results)
    assert "| target | value | met |" in text
    assert "**throughput: failed** | RuntimeError: worker exited with 1 / boom" in text
    assert "| raw Kafka produce + consume (confluent-kafka) | 100 msg/s | 1.00 |" in text
    plot(results, tmp_path / "partial.png")
    assert (tmp_path / "partial.png").read_bytes().startswith(b"\x89PNG")


def test_the_full_report(tmp_path):
    results = derive(measured())
    text = markdown(results)
    assert "| pipeline, 1 worker: agent events/s (3 per complaint) | 3,000 | 0.060 | 0.75 |" \
        in text
    assert "| 0.250 CPU-s / 1,000 events |  | 1.25 |" in text
    assert "9 / 9 partitions; 1,400 / 1,600 messages" in text
    assert "| 2 worker processes vs 1, agent events/s (>= 1.0) | 0.83 | no |" in text
    plot(results, tmp_path / "full.png")
    assert (tmp_path / "full.png").stat().st_size > 1000


def test_stage_summaries_are_one_line():
    results = derive(measured())
    line = summary("throughput", results)
    assert "3,000 agent events/s" in line and "to bare Faust 0.75" in line
    assert "2 vs 1 0.83" in summary("two_workers", results)
    assert "p99 480 ms" in summary("latency@100", results)
    assert all("\n" not in summary(k, results) for k in
               ("raw", "bare_faust", "bare_faust_no_table", "escalations", "backtest", "sink"))
    # an unexpected shape still prints
    results["raw"] = {"messages": 3}
    assert summary("raw", results) == "messages 3"


def test_one_line_of_an_error():
    assert one_line(RuntimeError("first\nsecond")) == "RuntimeError: first"
    assert one_line(KeyError()) == "KeyError"


def test_cpu_seconds_of_a_process_from_proc():
    before = measure.cpu_seconds(os.getpid())
    sum(i * i for i in range(300_000))
    assert measure.cpu_seconds(os.getpid()) >= before > 0
