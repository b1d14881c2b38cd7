"""Run the measurements, side by side, and write JSON, a markdown table and a PNG plot.

Each stage's figures are printed the moment it finishes and the JSON is rewritten after
every stage, so a run that fails late keeps what it measured; a stage that fails is
recorded as {"error": "<one line>"} and the run goes on. The markdown and the plot are
written at the end from whatever exists.
"""

from __future__ import annotations

import json
import math
import operator
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import measure, pendency
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
    # events fed to the bare Faust agent: as many as the pipeline's agent steps (3 per
    # complaint), so both run for a comparable time
    bare_events: int
    # open complaints written into one worker's changelogs (bench/pendency.py), and how
    # many of them fall due in the same minute
    pendency: int
    pendency_burst: int
    # in-process replays (`sankalp backtest`): (label, days, complaints/day), run with 2 jobs
    replays: tuple[tuple[str, float, float], ...]
    # HTTP intake (`sankalp api`): offered POSTs/s, seconds each
    http_rates: tuple[float, ...] = (500.0, 2000.0)
    http_seconds: float = 10.0


SCALES = {
    # a few seconds each: the test suite runs it so the bench cannot rot (no timing checks)
    "smoke": Scale(500, 300, (50.0,), 2.0, 200, 2.0, 100.0, 300, 900, 2_000, 200,
                   (("two_days", 2.0, 100.0),), (50.0,), 2.0),
    "default": Scale(50_000, 10_000, (100.0, 300.0, 1000.0), 15.0, 20_000, 30.0, 420.0,
                     20_000, 30_000, 100_000, 10_000, (("himachal_year", 365.0, 420.0),)),
    "full": Scale(200_000, 50_000, (100.0, 1000.0, 5000.0), 30.0, 100_000, 365.0, 420.0,
                  200_000, 150_000, 1_000_000, 10_000,
                  (("himachal_year", 365.0, 420.0), ("all_india_year", 365.0, 6027.0))),
}


@dataclass(frozen=True)
class Target:
    section: str
    key: str
    op: str  # ">=", "<=", "<"
    target: float
    # (section, key, least): the target is defined at that size or more (else met: null)
    at_least: tuple[str, str, float] | None = None


OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, "<": operator.lt, ">": operator.gt}

TARGETS = {
    # the speed issue's table
    "pipeline agent events/s, ratio to bare Faust (>= 0.8)":
        Target("ratios_to_bare_faust", "pipeline_agent_events", ">=", 0.8),
    "worker CPU-s per 1,000 events, ratio to bare Faust (<= 1.25)":
        Target("cpu_per_1000_events", "ratio_to_bare", "<=", 1.25),
    "2 worker processes vs 1, agent events/s (>= 1.0)":
        Target("scale_out", "ratio_two_to_one", ">=", 1.0),
    "p99 to assignment at 100/s (<= 500 ms)":
        Target("latency@100", "assigned_p99_ms", "<=", 500),
    "escalation delay p99 after due, 20,000 open (<= 0.5 s)":
        Target("escalations", "delay_p99_s", "<=", 0.5,
               at_least=("escalations", "open_complaints", 20_000)),
    # kept from before
    "pipeline events/s (>= 5,000)": Target("throughput", "agent_events_per_s", ">=", 5000),
    "p99 to assignment at 1,000/s (< 250 ms)":
        Target("latency@1000", "assigned_p99_ms", "<", 250),
    "memory per open complaint (< 2 KB)":
        Target("escalations", "bytes_per_open_complaint", "<", 2048),
    "recovery (< 60 s)": Target("escalations", "recovery_seconds", "<", 60),
    "memory per open complaint at 1,000,000 open (<= 1.5 KB)":
        Target("pendency", "bytes_per_open_complaint", "<=", 1536,
               at_least=("pendency", "open_complaints", 1_000_000)),
    "worker recovery, 1,000,000 open, local store deleted (<= 60 s)":
        Target("pendency", "recovery_seconds", "<=", 60,
               at_least=("pendency", "open_complaints", 1_000_000)),
    "escalation delay p99 after due, 1,000,000 open, realistic spread (<= 1 s)":
        Target("pendency", "delay_p99_s", "<=", 1.0,
               at_least=("pendency", "open_complaints", 1_000_000)),
    "Himachal year via backtest, 2 jobs (<= 30 s)":
        Target("replay", "himachal_year_s", "<=", 30),
    "all-India year (2.2 M) via backtest, 2 jobs (<= 300 s)":
        Target("replay", "all_india_year_s", "<=", 300),
    # the front door's issue
    "HTTP intake, POSTs/s sustained (>= 2,000)":
        Target("http_intake", "max_requests_per_s", ">=", 2000),
    "HTTP intake p99 at 500/s (<= 50 ms)": Target("http_intake", "p99_ms_at_500", "<=", 50),
}

# figures set beside the raw Kafka baseline and the bare Faust agent: name -> where
RATIO_FIGURES = {
    "bare_faust_events": ("bare_faust", "events_per_s"),
    "bare_faust_no_table_events": ("bare_faust_no_table", "events_per_s"),
    "pipeline_agent_events": ("throughput", "agent_events_per_s"),
    "pipeline_two_workers_agent_events": ("two_workers", "agent_events_per_s"),
    "sink_rows": ("throughput", "sink_rows_per_s"),
    "backtest_events": ("backtest", "events_per_s"),
    "sink_alone_rows": ("sink", "rows_per_s"),
}
RAW = ("raw", "round_trip_per_s")
BARE = ("bare_faust", "events_per_s")


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    measure: Callable[[], dict]


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


def stages(settings: Settings, scale: Scale, work: Path) -> list[Stage]:
    s, w = settings, work
    out = [
        Stage("raw", f"raw Kafka baseline: {scale.raw_messages:,} messages",
              lambda: measure.raw_kafka(s, scale.raw_messages)),
        Stage("bare_faust", f"bare Faust agent, table write + send: {scale.bare_events:,} "
              "events", lambda: measure.bare_faust(s, w, scale.bare_events, with_table=True)),
        Stage("bare_faust_no_table", f"bare Faust agent, send only: {scale.bare_events:,} "
              "events", lambda: measure.bare_faust(s, w, scale.bare_events, with_table=False)),
        Stage("throughput", f"pipeline throughput, 1 worker: "
              f"{scale.throughput_complaints:,} complaints",
              lambda: measure.pipeline_throughput(s, w, scale.throughput_complaints)),
        Stage("two_workers", f"pipeline throughput, 2 worker processes: "
              f"{scale.throughput_complaints:,} complaints",
              lambda: measure.pipeline_throughput(s, w, scale.throughput_complaints,
                                                  workers=2)),
    ]
    for rate in scale.latency_rates:
        out.append(Stage(f"latency@{rate:g}", f"latency at {rate:g} complaints/s for "
                         f"{scale.latency_seconds:g}s",
                         lambda rate=rate: measure.latency(s, w, rate, scale.latency_seconds)))
    out += [
        Stage("escalations", f"escalations, memory and recovery with "
              f"{scale.open_complaints:,} open",
              lambda: measure.escalations_under_load(s, w, scale.open_complaints)),
        Stage("backtest", f"backtest: {scale.backtest_days:g} simulated days",
              lambda: measure.backtest(s, w, scale.backtest_days, scale.backtest_per_day)),
        Stage("sink", f"the sink alone: output of {scale.sink_complaints:,} complaints",
              lambda: measure.sink_alone(s, w, scale.sink_complaints)),
        Stage("pendency", f"{scale.pendency:,} open complaints in one worker: memory, "
              f"recovery, escalation delay (burst of {scale.pendency_burst:,})",
              lambda: pendency.measure_pendency(s, w, scale.pendency,
                                                burst=scale.pendency_burst)),
        Stage("replay", "in-process replays (sankalp backtest --jobs 2): " + ", ".join(
              f"{label} ({days:g} days at {rate:g}/day)" for label, days, rate in scale.replays),
              lambda: measure.replays(s, scale.replays)),
        Stage("http_intake", "HTTP intake (sankalp api, wrk): " + ", ".join(
              f"{r:g}/s" for r in scale.http_rates) + f", then flat out; {scale.http_seconds:g}"
              " s each", lambda: measure.http_intake(s, w, scale.http_rates,
                                                      scale.http_seconds)),
    ]
    return out


def run(settings: Settings, scale_name: str, out_dir: Path, work: Path,
        only: list[str] | None = None) -> dict:
    """Every stage (or those named in `only`) at this scale; figures to out_dir."""
    scale = SCALES[scale_name]
    chosen = stages(settings, scale, work)
    if only:
        unknown = sorted(set(only) - {st.key for st in chosen})
        if unknown:
            raise ValueError(f"no bench stage {', '.join(unknown)}; the stages are "
                             + ", ".join(st.key for st in chosen))
        chosen = [st for st in chosen if st.key in only]
    out_dir.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "scale": scale_name, "scale_detail": asdict(scale)}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{scale_name}-{'-'.join(only)}" if only else scale_name
    base = out_dir / f"bench-{name}-{stamp}"
    json_file, md_file, png_file = (Path(f"{base}.{ext}") for ext in ("json", "md", "png"))
    measure.say(f"figures go to {json_file} after every stage")
    run_stages(chosen, results, json_file)
    md_file.write_text(markdown(results))
    try:
        plot(results, png_file)
    except Exception as exc:  # the figures are in the JSON and the markdown already
        results["plot_error"] = one_line(exc)
        write_json(results, json_file)
        measure.say(f"plot not written: {results['plot_error']}")
    results["files"] = [str(json_file), str(md_file), str(png_file)]
    return results


def run_stages(stage_list: list[Stage], results: dict, json_file: Path,
               say: Callable[[str], None] = measure.say) -> dict:
    """Each stage in turn: its figures (or its error) into `results`, one line printed,
    the derived figures recomputed and the JSON rewritten; a failure does not stop the
    run (an interrupt does, with the JSON as of the last finished stage)."""
    derive(results)
    write_json(results, json_file)
    for i, stage in enumerate(stage_list, 1):
        say(f"{i}/{len(stage_list)} {stage.title}")
        started = time.monotonic()
        try:
            figures = stage.measure()
        except Exception as exc:
            figures = {"error": one_line(exc)}
        results[stage.key] = figures
        derive(results)
        write_json(results, json_file)
        say(f"= {stage.key} ({time.monotonic() - started:.0f} s): {summary(stage.key, results)}")
    return results


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")[:300]


def write_json(results: dict, path: Path) -> None:
    """Rewrite the whole file, atomically: a reader never sees half of it."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n")
    os.replace(tmp, path)


# --- derived figures ------------------------------------------------------------------
def figure(results: dict, section: str, key: str) -> float | None:
    """A measured number, or None if its stage is missing, failed, or lacks it."""
    part = results.get(section)
    if not isinstance(part, dict) or "error" in part:
        return None
    value = part.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return a / b


def ratios_to(results: dict, base: tuple[str, str]) -> dict:
    reference = figure(results, *base)
    return {name: ratio(figure(results, *where), reference)
            for name, where in RATIO_FIGURES.items() if where != base}


def derive(results: dict) -> dict:
    """The ratios, CPU cost, scale-out and targets from whatever has been measured."""
    results["ratios_to_raw"] = ratios_to(results, RAW)
    results["ratios_to_bare_faust"] = ratios_to(results, BARE)
    per_1000 = "worker_cpu_s_per_1000_events"
    worker = figure(results, "throughput", per_1000)
    bare = figure(results, "bare_faust", per_1000)
    results["cpu_per_1000_events"] = {
        "worker": worker, "bare_faust": bare,
        "bare_faust_no_table": figure(results, "bare_faust_no_table", per_1000),
        "two_workers": figure(results, "two_workers", per_1000),
        "ratio_to_bare": ratio(worker, bare)}
    one = figure(results, "throughput", "agent_events_per_s")
    two = figure(results, "two_workers", "agent_events_per_s")
    results["scale_out"] = {"one_worker_agent_events_per_s": one,
                            "two_workers_agent_events_per_s": two,
                            "ratio_two_to_one": ratio(two, one)}
    results["targets"] = check_targets(results)
    results["failed_stages"] = [k for k, v in results.items()
                                if isinstance(v, dict) and "error" in v]
    return results


def check_targets(results: dict, targets: dict[str, Target] | None = None) -> dict:
    """Each target as {value, target, met}; met is null when not measured (or measured
    at a smaller size than the target is defined for, with a note)."""
    out = {}
    for label, t in (TARGETS if targets is None else targets).items():
        value = figure(results, t.section, t.key)
        entry: dict = {"value": value, "target": t.target, "met": None}
        if value is not None:
            size = figure(results, *t.at_least[:2]) if t.at_least else None
            if t.at_least and (size is None or size < t.at_least[2]):
                entry["note"] = (f"measured at {t.at_least[1]} = {size or 0:,g}; the target "
                                 f"is for {t.at_least[2]:,g}")
            else:
                entry["met"] = bool(OPS[t.op](value, t.target))
        out[label] = entry
    return out


# --- what is printed ------------------------------------------------------------------
SUMMARIES = {
    "raw": "{round_trip_per_s:,.0f} msg/s round trip (produce {produce_per_s:,.0f}/s, "
           "consume {consume_per_s:,.0f}/s)",
    "bare_faust": "{events_per_s:,.0f} events/s, {worker_cpu_s_per_1000_events:.3f} CPU-s "
                  "per 1,000 events",
    "throughput": "{agent_events_per_s:,.0f} agent events/s, {complaints_per_s:,.0f} "
                  "complaints/s, {worker_cpu_s_per_1000_events:.3f} worker CPU-s per 1,000 "
                  "events",
    "latency": "to assignment p50 {assigned_p50_ms:,.0f} ms, p99 {assigned_p99_ms:,.0f} ms",
    "escalations": "{escalated:,} of {open_complaints:,} escalated, delay p50 "
                   "{delay_p50_s:.2f} s, p99 {delay_p99_s:.2f} s; "
                   "{bytes_per_open_complaint:,.0f} B per open complaint; recovery "
                   "{recovery_seconds:.1f} s",
    "backtest": "{events:,} events in {seconds:.1f} s ({events_per_s:,.0f}/s); Himachal year "
                "about {himachal_year_estimate_s:,.0f} s",
    "sink": "{rows:,} rows at {rows_per_s:,.0f} rows/s",
    "http_intake": "{max_requests_per_s:,.0f} POSTs/s at most, p99 at 500/s {p99_ms_at_500} ms",
    "pendency": "{open_complaints:,} open: recovery {recovery_seconds:.1f} s (time index "
                "{index_rebuilt_seconds:.1f} s), {bytes_per_open_complaint:,.0f} B per open "
                "complaint, escalation delay p99 {delay_p99_s:.2f} s",
}


def summary(key: str, results: dict) -> str:
    """One line of a stage's figures, with its ratios once they can be computed."""
    figures = results.get(key, {})
    if "error" in figures:
        return f"FAILED: {figures['error']}"
    kind = ("latency" if key.startswith("latency@") else "bare_faust"
            if key.startswith("bare_faust") else "throughput" if key == "two_workers" else key)
    try:
        line = SUMMARIES[kind].format(**figures)
    except (KeyError, ValueError, TypeError):
        line = ", ".join(f"{k} {v:,.3g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in figures.items() if not isinstance(v, dict | list))
    extra = []
    if key == "throughput":
        extra.append(_ratio_text("to bare Faust", results["ratios_to_bare_faust"].get(
            "pipeline_agent_events")))
        extra.append(_ratio_text("CPU to bare", results["cpu_per_1000_events"]["ratio_to_bare"]))
    if key == "two_workers":
        extra.append(_ratio_text("2 vs 1", results["scale_out"]["ratio_two_to_one"]))
        spread = figures.get("spread") or {}
        if "input_partitions_each" in spread:
            extra.append(f"input partitions {spread['input_partitions_each']}, messages "
                         f"{spread['input_messages_each']}")
    return "; ".join([line] + [e for e in extra if e])


def _ratio_text(label: str, value: float | None) -> str:
    return "" if value is None else f"{label} {value:.2f}"


# --- the report -----------------------------------------------------------------------
def _n(value: float | None, spec: str = ",.0f", unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:{spec}}{unit}"


def markdown(results: dict) -> str:
    m = results["machine"]
    raw_r, bare_r = results.get("ratios_to_raw", {}), results.get("ratios_to_bare_faust", {})
    cpu = results.get("cpu_per_1000_events", {})

    def fig(section: str, key: str) -> float | None:
        return figure(results, section, key)

    def rr(name: str) -> str:
        return _n(raw_r.get(name), ".3f")

    def br(name: str) -> str:
        return _n(bare_r.get(name), ".2f")

    lines = [
        f"# Benchmark ({results['scale']} scale), {m['date']}",
        "",
        f"Machine: {m['cpus']} CPUs, {m['memory_gib']} GiB, {m['platform']}, Python "
        f"{m['python']}, commit {m['commit']}; Kafka, Postgres, the workers and the sink on "
        "the same machine. Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) + ".",
        "",
        "| measurement | value | ratio to raw Kafka | ratio to bare Faust |",
        "|---|---|---|---|",
    ]

    def row(label: str, value: str, to_raw: str = "", to_bare: str = "") -> None:
        lines.append(f"| {label} | {value} | {to_raw} | {to_bare} |")

    def cpu_text(section: str) -> str:
        return _n(fig(section, "worker_cpu_s_per_1000_events"), ".3f", " CPU-s / 1,000 events")

    def rate_text(section: str, unit: str = " events/s") -> str:
        return _n(fig(section, "events_per_s"), unit=unit)

    row("raw Kafka produce + consume (confluent-kafka)",
        _n(fig("raw", "round_trip_per_s"), unit=" msg/s"),
        "1.00" if fig("raw", "round_trip_per_s") else "")
    row("bare Faust agent: a table write + a send per event",
        f"{rate_text('bare_faust')}; {cpu_text('bare_faust')}", rr("bare_faust_events"),
        "1.00" if fig("bare_faust", "events_per_s") else "")
    row("bare Faust agent: a send per event, no table",
        f"{rate_text('bare_faust_no_table')}; {cpu_text('bare_faust_no_table')}",
        rr("bare_faust_no_table_events"), br("bare_faust_no_table_events"))
    row("pipeline, 1 worker: agent events/s (3 per complaint)",
        _n(fig("throughput", "agent_events_per_s")), rr("pipeline_agent_events"),
        br("pipeline_agent_events"))
    row("pipeline, 1 worker: worker CPU per 1,000 agent events", cpu_text("throughput"),
        "", _n(cpu.get("ratio_to_bare"), ".2f"))
    row("pipeline, 1 worker: complaints/s into Postgres",
        _n(fig("throughput", "complaints_per_s")))
    row("sink rows/s while following the pipeline (bounded by it)",
        _n(fig("throughput", "sink_rows_per_s")), rr("sink_rows"), br("sink_rows"))
    row("pipeline, 2 worker processes: agent events/s (ratio to 1 worker: "
        f"{_n(results.get('scale_out', {}).get('ratio_two_to_one'), '.2f')})",
        f"{_n(fig('two_workers', 'agent_events_per_s'))}; {cpu_text('two_workers')}",
        rr("pipeline_two_workers_agent_events"), br("pipeline_two_workers_agent_events"))
    spread = (results.get("two_workers") or {}).get("spread") or {}
    if "input_partitions_each" in spread:
        row("2 worker processes: input partitions / input messages / CPU-s each",
            f"{' / '.join(map(str, spread['input_partitions_each']))} partitions; "
            f"{' / '.join(f'{v:,}' for v in spread['input_messages_each'])} messages; "
            f"{' / '.join(f'{v:.1f}' for v in results['two_workers']['worker_cpu_s_each'])}"
            f" CPU-s{'' if spread['assignment_unchanged'] else ' (assignment changed)'}")
    for key, value in results.items():
        if key.startswith("latency@") and "error" not in value:
            row(f"latency at {value['offered_per_s']:g}/s: to assignment p50 / p99",
                f"{_n(fig(key, 'assigned_p50_ms'))} / {_n(fig(key, 'assigned_p99_ms'))} ms")
    open_n = fig("escalations", "open_complaints")
    row(f"escalation delay after due, {_n(open_n)} open: p50 / p99 / max",
        f"{_n(fig('escalations', 'delay_p50_s'), '.2f')} / "
        f"{_n(fig('escalations', 'delay_p99_s'), '.2f')} / "
        f"{_n(fig('escalations', 'delay_max_s'), '.2f')} s")
    row("worker memory per open complaint",
        _n(fig("escalations", "bytes_per_open_complaint"), unit=" B"))
    row("recovery: restarted worker ready", _n(fig("escalations", "recovery_seconds"), ".1f",
                                               " s"))
    row(f"backtest: {_n(fig('backtest', 'simulated_days'), 'g')} simulated days, "
        f"{_n(fig('backtest', 'events'))} events",
        f"{_n(fig('backtest', 'seconds'), '.1f', ' s')} "
        f"({_n(fig('backtest', 'events_per_s'))} events/s)", rr("backtest_events"),
        br("backtest_events"))
    row("Himachal year (150,000 complaints), extrapolated",
        _n(fig("backtest", "himachal_year_estimate_s"), unit=" s"))
    row(f"the sink alone: {_n(fig('sink', 'rows'))} rows into Postgres",
        _n(fig("sink", "rows_per_s"), unit=" rows/s"), rr("sink_alone_rows"),
        br("sink_alone_rows"))
    pend = results.get("pendency") or {}
    if "open_complaints" in pend:
        steady, burst = pend["steady"], pend["burst"]
        row(f"{_n(pend['open_complaints'])} open complaints written to the changelogs: "
            "records / MiB", f"{_n(pend['changelog_records'])} / "
            f"{_n(pend['changelog_mib'])}")
        row("  recovery, local store deleted: worker ready / time index rebuilt",
            f"{_n(pend['recovery_seconds'], '.1f')} / "
            f"{_n(pend['index_rebuilt_seconds'], '.1f')} s")
        row("  worker memory per open complaint (RSS over an empty worker)",
            _n(pend["bytes_per_open_complaint"], unit=" B"))
        row(f"  escalation delay after due, due times spread, event time at "
            f"{pend['pace']:g}x: n / p50 / p99 / max",
            f"{_n(steady['escalations'])} / {_n(steady['delay_p50_s'], '.2f')} / "
            f"{_n(steady['delay_p99_s'], '.2f')} / {_n(steady['delay_max_s'], '.2f')} s")
        row(f"  a burst of {_n(burst['size'])} due in the same minute: p50 / p99 / all "
            "escalated after", f"{_n(burst['delay_p50_s'], '.2f')} / "
            f"{_n(burst['delay_p99_s'], '.2f')} / {_n(burst['seconds'], '.1f')} s")
    http = results.get("http_intake") or {}
    for st in http.get("stages", []):
        row(f"HTTP intake (sankalp api), offered {st['offered_per_second']}/s: answered/s, "
            "p50 / p99", f"{_n(st['requests_per_second'])}/s, {_n(st['p50_ms'], '.1f')} / "
            f"{_n(st['p99_ms'], '.1f')} ms")
    replay = results.get("replay") or {}
    for key, value in replay.items():
        if key.endswith("_s") and not key.endswith("_per_s"):
            label = key.removesuffix("_s")
            row(f"replay in process (`sankalp backtest --jobs {replay['jobs']}`): {label}, "
                f"{_n(replay.get(label + '_complaints'))} complaints",
                f"{_n(value, '.1f', ' s')} ({_n(replay.get(label + '_inputs_per_s'))} "
                "inputs/s)")
    for key in results.get("failed_stages", []):
        row(f"**{key}: failed**", results[key]["error"].replace("|", "/"))
    lines += ["", "| target | value | met |", "|---|---|---|"]
    for label, t in results.get("targets", {}).items():
        value = _n(t["value"], ",.2f")
        if t.get("note"):
            value += f" ({t['note']})"
        met = "-" if t["met"] is None else "yes" if t["met"] else "no"
        lines.append(f"| {label} | {value} | {met} |")
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [("raw Kafka\nmsg/s", RAW, "#888"),
            ("bare Faust\nevents/s", BARE, "#555"),
            ("bare Faust\nno table", ("bare_faust_no_table", "events_per_s"), "#777"),
            ("pipeline\n1 worker", ("throughput", "agent_events_per_s"), "#2a7"),
            ("pipeline\n2 workers", ("two_workers", "agent_events_per_s"), "#5c9"),
            ("backtest\nevents/s", ("backtest", "events_per_s"), "#27a"),
            ("sink alone\nrows/s", ("sink", "rows_per_s"), "#a72")]
    shown = [(label, figure(results, *where), color) for label, where, color in bars]
    shown = [(label, value, color) for label, value, color in shown
             if value is not None and value > 0]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    if shown:
        labels, values, colors = zip(*shown, strict=True)
        left.bar(labels, values, color=colors)
        left.set_yscale("log")
        left.tick_params(axis="x", labelsize=8)
    left.set_title("throughput (log scale)")
    rates = sorted((v["offered_per_s"], v["assigned_p50_ms"], v["assigned_p99_ms"])
                   for k, v in results.items()
                   if k.startswith("latency@") and isinstance(v, dict) and "error" not in v)
    if rates:
        xs, p50, p99 = zip(*rates, strict=True)
        right.plot(xs, p50, marker="o", label="p50")
        right.plot(xs, p99, marker="o", label="p99")
        right.scatter([100, 1000], [500, 250], color="red", marker="x", zorder=3,
                      label="p99 targets (500 ms at 100/s, 250 ms at 1,000/s)")
        right.set_xscale("log")
        right.set_yscale("log")
        right.set_xlabel("offered complaints/s")
        right.set_ylabel("ms to assignment")
        right.legend(fontsize=8)
    right.set_title("latency: submission to assignment")
    fig.suptitle(f"sankalp bench, {results['scale']} scale, {results['machine']['date']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
