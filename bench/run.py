"""Run the measurements, side by side, and write JSON, a markdown table and a PNG plot."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import measure
from streams.settings import Settings


@dataclass(frozen=True)
class Scale:
    raw_messages: int
    throughput_complaints: int
    latency_rates: tuple[float, ...]
    latency_seconds: float
    open_complaints: int
    backtest_days: float
    backtest_per_day: float
    sink_complaints: int


SCALES = {
    # a few seconds each: the test suite runs it so the bench cannot rot (no timing checks)
    "smoke": Scale(500, 300, (50.0,), 2.0, 200, 2.0, 100.0, 300),
    "default": Scale(50_000, 10_000, (100.0, 300.0, 1000.0), 15.0, 20_000, 30.0, 420.0,
                     20_000),
    "full": Scale(200_000, 50_000, (100.0, 1000.0, 5000.0), 30.0, 1_000_000, 365.0, 420.0,
                  200_000),
}
TARGETS = {
    "pipeline events/s (>= 5,000)": ("throughput", "agent_events_per_s", ">=", 5000),
    "p99 to assignment at 1,000/s (< 250 ms)": ("latency@1000", "assigned_p99_ms", "<", 250),
    "escalation delay p99 (< 1 s)": ("escalations", "delay_p99_s", "<", 1.0),
    "memory per open complaint (< 2 KB)": ("escalations", "bytes_per_open_complaint", "<",
                                           2048),
    "recovery (< 60 s)": ("escalations", "recovery_seconds", "<", 60),
    "Himachal year backtest (< 120 s)": ("backtest", "himachal_year_estimate_s", "<", 120),
}


def machine() -> dict:
    def version(pkg: str) -> str:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return "-"

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit or "-",
        "versions": {p: version(p) for p in ("faust-streaming", "aiokafka", "confluent-kafka",
                                              "psycopg2-binary", "rocksdict")},
    }


def run(settings: Settings, scale_name: str, out_dir: Path, work: Path) -> dict:
    scale = SCALES[scale_name]
    out_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "scale": scale_name, "scale_detail": asdict(scale)}
    measure.say(f"1/6 raw Kafka baseline: {scale.raw_messages:,} messages")
    results["raw"] = measure.raw_kafka(settings, scale.raw_messages)
    measure.say(f"2/6 pipeline throughput: {scale.throughput_complaints:,} complaints")
    results["throughput"] = measure.pipeline_throughput(settings, work,
                                                        scale.throughput_complaints)
    for rate in scale.latency_rates:
        measure.say(f"3/6 latency at {rate:g} complaints/s for {scale.latency_seconds:g}s")
        results[f"latency@{rate:g}"] = measure.latency(settings, work, rate,
                                                       scale.latency_seconds)
    measure.say(f"4/6 escalations, memory and recovery with {scale.open_complaints:,} open")
    results["escalations"] = measure.escalations_under_load(settings, work,
                                                            scale.open_complaints)
    measure.say(f"5/6 backtest: {scale.backtest_days:g} simulated days")
    results["backtest"] = measure.backtest(settings, work, scale.backtest_days,
                                           scale.backtest_per_day)
    measure.say(f"6/6 the sink alone: output of {scale.sink_complaints:,} complaints")
    results["sink"] = measure.sink_alone(settings, work, scale.sink_complaints)
    raw = results["raw"]["round_trip_per_s"]
    results["ratios_to_raw"] = {
        "pipeline_agent_events": results["throughput"]["agent_events_per_s"] / raw,
        "sink_rows": results["throughput"]["sink_rows_per_s"] / raw,
        "backtest_events": results["backtest"]["events_per_s"] / raw,
        "sink_alone_rows": results["sink"]["rows_per_s"] / raw,
    }
    results["targets"] = check_targets(results)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    base = out_dir / f"bench-{scale_name}-{stamp}"
    Path(f"{base}.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    Path(f"{base}.md").write_text(markdown(results))
    plot(results, Path(f"{base}.png"))
    results["files"] = [f"{base}.json", f"{base}.md", f"{base}.png"]
    return results


def check_targets(results: dict) -> dict:
    out = {}
    for label, (section, key, op, target) in TARGETS.items():
        value = results.get(section, {}).get(key)
        if value is None:
            out[label] = {"value": None, "met": None}
            continue
        met = value >= target if op == ">=" else value < target
        out[label] = {"value": value, "target": target, "met": met}
    return out


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"# Benchmark ({results['scale']} scale), {m['date']}",
        "",
        f"Machine: {m['cpus']} CPUs, {m['memory_gib']} GiB, {m['platform']}, Python "
        f"{m['python']}, commit {m['commit']}; Kafka, Postgres, one worker and the sink on "
        "the same machine. Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
        "| measurement | value | ratio to raw Kafka |",
        "|---|---|---|",
        f"| raw Kafka produce + consume (confluent-kafka) | "
        f"{results['raw']['round_trip_per_s']:,.0f} msg/s | 1.00 |",
        f"| pipeline: agent events/s (3 per complaint) | "
        f"{results['throughput']['agent_events_per_s']:,.0f} | "
        f"{results['ratios_to_raw']['pipeline_agent_events']:.3f} |",
        f"| pipeline: complaints/s into Postgres | "
        f"{results['throughput']['complaints_per_s']:,.0f} | |",
        f"| sink rows/s while following the pipeline (bounded by it) | "
        f"{results['throughput']['sink_rows_per_s']:,.0f} | "
        f"{results['ratios_to_raw']['sink_rows']:.3f} |",
    ]
    for key, value in results.items():
        if key.startswith("latency@"):
            lines.append(f"| latency at {value['offered_per_s']:g}/s: to assignment p50 / p99"
                         f" | {value['assigned_p50_ms']:,.0f} / {value['assigned_p99_ms']:,.0f}"
                         f" ms | |")
    esc = results["escalations"]
    lines += [
        f"| escalation delay after due, {esc['open_complaints']:,} open: p50 / p99 / max | "
        f"{esc['delay_p50_s']:.2f} / {esc['delay_p99_s']:.2f} / {esc['delay_max_s']:.2f} s | |",
        f"| worker memory per open complaint | {esc['bytes_per_open_complaint']:,.0f} B | |",
        f"| recovery: restarted worker ready | {esc['recovery_seconds']:.1f} s | |",
        f"| backtest: {results['backtest']['simulated_days']:g} simulated days, "
        f"{results['backtest']['events']:,} events | {results['backtest']['seconds']:.1f} s "
        f"({results['backtest']['events_per_s']:,.0f} events/s) | "
        f"{results['ratios_to_raw']['backtest_events']:.3f} |",
        f"| Himachal year (150,000 complaints), extrapolated | "
        f"{results['backtest']['himachal_year_estimate_s']:,.0f} s | |",
        f"| the sink alone: {results['sink']['rows']:,} rows into Postgres | "
        f"{results['sink']['rows_per_s']:,.0f} rows/s | "
        f"{results['ratios_to_raw']['sink_alone_rows']:.3f} |",
        "",
        "| target | value | met |",
        "|---|---|---|",
    ]
    for label, t in results["targets"].items():
        value = "-" if t["value"] is None else f"{t['value']:,.2f}"
        lines.append(f"| {label} | {value} | {'yes' if t['met'] else 'no'} |")
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["raw Kafka\nmsg/s", "pipeline\nagent events/s", "backtest\nevents/s",
              "sink alone\nrows/s"]
    values = [results["raw"]["round_trip_per_s"], results["throughput"]["agent_events_per_s"],
              results["backtest"]["events_per_s"], results["sink"]["rows_per_s"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar(labels, values, color=["#888", "#2a7", "#27a", "#a72"])
    left.set_yscale("log")
    left.set_title("throughput (log scale)")
    rates = [(v["offered_per_s"], v["assigned_p50_ms"], v["assigned_p99_ms"])
             for k, v in results.items() if k.startswith("latency@")]
    if rates:
        xs, p50, p99 = zip(*rates, strict=True)
        right.plot(xs, p50, marker="o", label="p50")
        right.plot(xs, p99, marker="o", label="p99")
        right.axhline(250, color="red", linestyle="--", label="p99 target 250 ms")
        right.set_xscale("log")
        right.set_yscale("log")
        right.set_xlabel("offered complaints/s")
        right.set_ylabel("ms to assignment")
        right.legend()
    right.set_title("latency: submission to assignment")
    fig.suptitle(f"sankalp bench, {results['scale']} scale, {results['machine']['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
