"""`sankalp`: the project's one console command.

    sankalp stack up [--cluster] [--no-postgres]   start the local Kafka (KRaft) and Postgres
    sankalp stack status                           what runs where, and where its logs are
    sankalp stack down [--wipe]                    stop everything (and delete its data)
    sankalp topics create                          create every declared topic
    sankalp topics list                            the topic catalogue
    sankalp worker                                 run a Faust worker with all agents
    sankalp submit --category C --district D --block B --phone P --name N --text T
                                                   register one complaint from the shell
    sankalp directory publish                      publish the officer directory topic
    sankalp contract write                         regenerate schemas/json + asyncapi.json
    sankalp db migrate                             apply the Postgres migrations
    sankalp sink                                   Postgres + metrics sink (metrics on :9108)
    sankalp smoke                                  route one sample complaint end to end
    sankalp demo [--days N --speed H]              the stack, a worker, the sink and simulated
                                                   statewide traffic, with a live view
    sankalp backtest [--days N --rate R --seed S]  simulated traffic through the core in one
                                                   process, no broker; --compare A.json B.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streams.settings import Settings, SettingsError


def _stack(settings: Settings):
    from devstack.stack import LocalStack

    return LocalStack.from_settings(settings)


def cmd_stack(args: argparse.Namespace, settings: Settings) -> int:
    stack = _stack(settings)
    if args.action == "up":
        addresses = stack.up(kafka=not args.no_kafka, cluster=args.cluster,
                             postgres=not args.no_postgres)
        seconds = addresses.pop("ready_in_seconds")
        print(f"stack ready in {seconds}s")
        for name, value in addresses.items():
            print(f"  {name}={value}")
        print(f"  logs: {stack.logs}")
    elif args.action == "status":
        for line in stack.describe():
            print(line)
    elif args.action == "down":
        stack.down()
        if args.wipe:
            stack.wipe()
            print(f"stack stopped; data under {stack.stack_dir} deleted")
        else:
            print("stack stopped")
    return 0


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from streams.topics import ALL_TOPICS

    if args.action == "list":
        for spec in ALL_TOPICS:
            retention = spec.kafka_config().get("retention.ms", "broker default")
            policy = "compacted" if spec.compacted else f"retention {retention} ms"
            print(f"{settings.topic(spec.name):32} key={spec.key:14} "
                  f"partitions={spec.partitions_for(settings):<3} {policy}  {spec.carries}")
        return 0
    from streams.admin import ensure_topics

    created = ensure_topics(settings)
    print(f"created {len(created)} topic(s); {len(ALL_TOPICS) - len(created)} already existed")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from agents.factory import create_worker, run_worker

    return run_worker(create_worker(settings))


def cmd_smoke(args: argparse.Namespace, settings: Settings) -> int:
    from devstack.smoke import run_smoke

    run_smoke(settings)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from devstack.demo import DemoOptions, run_demo

    stack = _stack(settings)
    was_running = stack.kafka.is_running() and stack.postgres.is_running()
    addresses = stack.up()
    print(f"stack ready in {addresses['ready_in_seconds']}s", flush=True)
    options = DemoOptions(days=args.days, speed=args.speed, complaints_per_day=args.rate,
                          seed=args.seed, interactive=not args.no_view)
    try:
        run_demo(settings, options, stack.logs)
    finally:
        if not was_running and not args.keep_stack:
            stack.down()
        else:
            print("The local stack keeps running; stop it with: .venv/bin/sankalp stack down")
    return 0


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    import uuid
    from datetime import UTC, datetime

    from schemas.events import ComplaintSubmitted
    from schemas.records import InvalidEvent
    from streams.producer import EventPublisher
    from streams.topics import COMPLAINTS_SUBMITTED

    complaint_id = args.complaint_id or f"HP-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:8]}"
    try:
        submitted = ComplaintSubmitted(
            event_id=str(uuid.uuid4()), complaint_id=complaint_id.upper(),
            occurred_at=datetime.now(UTC), channel=args.channel, category=args.category,
            district=args.district, block=args.block, text=args.text,
            citizen_phone=args.phone, citizen_name=args.name)
    except InvalidEvent as exc:
        print(f"sankalp: not submitted: {exc}", file=sys.stderr)
        return 2
    publisher = EventPublisher(settings)
    publisher.send(COMPLAINTS_SUBMITTED.name, submitted.complaint_id, submitted)
    publisher.flush()
    print(f"submitted {submitted.complaint_id} ({submitted.category}, {submitted.block}, "
          f"{submitted.district}) to {settings.topic(COMPLAINTS_SUBMITTED.name)}")
    return 0


def cmd_directory(args: argparse.Namespace, settings: Settings) -> int:
    from core.reference import build_officer_directory
    from streams.directory import post_of
    from streams.producer import EventPublisher
    from streams.topics import OFFICER_DIRECTORY

    publisher = EventPublisher(settings)
    officers = build_officer_directory()
    for officer in officers:
        post = post_of(officer)
        publisher.send(OFFICER_DIRECTORY.name, post.post_id, post)
    publisher.flush()
    print(f"published {len(officers)} officer posts to {settings.topic(OFFICER_DIRECTORY.name)}")
    return 0


def cmd_contract(args: argparse.Namespace, settings: Settings) -> int:
    from schemas.contract import write

    for path in write():
        print(path)
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from sinks.migrate import migrate
    from sinks.postgres import connect

    conn = connect(settings.database_url, settings.database_password)
    try:
        ran = migrate(conn)
    finally:
        conn.close()
    for migration in ran:
        print(f"applied {migration.version:04d}_{migration.name}")
    print("database schema is current" if not ran else f"{len(ran)} migration(s) applied")
    return 0


def cmd_sink(args: argparse.Namespace, settings: Settings) -> int:
    from sinks.postgres_sink import PostgresSink, run_sink

    return run_sink(PostgresSink(settings))


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.run import run

    stack = _stack(settings)
    was_running = stack.kafka.is_running() and stack.postgres.is_running()
    addresses = stack.up()
    print(f"stack ready in {addresses['ready_in_seconds']}s", flush=True)
    try:
        results = run(settings, args.scale, Path(args.out), stack.stack_dir / "bench",
                      only=[o for o in args.only.split(",") if o])
    finally:
        if not was_running:
            stack.down()
    print((Path(results["files"][1])).read_text())
    print("wrote " + ", ".join(results["files"]))
    if results.get("failed_stages"):
        print("failed stages: " + ", ".join(results["failed_stages"]), file=sys.stderr)
        return 1
    return 0


def cmd_backtest(args: argparse.Namespace, settings: Settings) -> int:
    import dataclasses
    from datetime import timedelta

    from bench.backtest import (
        PolicyFileError,
        Source,
        comparison_lines,
        load_policy,
        plot_comparison,
        run_compare,
        run_sharded,
    )

    source = Source(days=args.days, rate=args.rate, seed=args.seed, path=args.input)
    every = timedelta(days=args.progress_days)
    fold = not args.exact
    if not args.compare:
        print(f"[backtest] {source.describe()}, in {args.jobs} process(es)"
              f"{'' if fold else ', every reminder through the core'}", flush=True)
        summary = run_sharded(settings, source, args.jobs, fold=fold, progress="[backtest] ",
                              progress_every=every)
        print("\n".join(summary.lines()))
        return 0
    try:
        first, second = (load_policy(path, settings) for path in args.compare)
    except PolicyFileError as exc:
        print(f"sankalp: {exc}", file=sys.stderr)
        return 2
    if first.name == second.name:
        first = dataclasses.replace(first, name=f"{first.name}-A")
        second = dataclasses.replace(second, name=f"{second.name}-B")
    for spec in (first, second):
        changes = ", ".join(f"{k}={v}" for k, v in spec.changes.items()) or "the settings as set"
        print(f"[backtest] {spec.name}: {changes}", flush=True)
    print(f"[backtest] {source.describe()}, under both", flush=True)
    a, b = run_compare(first, second, source, jobs=args.jobs, fold=fold,
                       progress="[backtest] ", progress_every=every)
    for spec, summary in ((first, a), (second, b)):
        print(f"\n== {spec.name}")
        print("\n".join(summary.lines()))
    print()
    print("\n".join(comparison_lines(a, b, first.name, second.name)))
    path = plot_comparison(a, b, first.name, second.name, args.out,
                           title=f"{first.name} vs {second.name}: {source.describe()}")
    print(f"\nwrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from api.cli import add_commands as add_api_commands

    parser = argparse.ArgumentParser(prog="sankalp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="the local Kafka + Postgres stack")
    stack.add_argument("action", choices=["up", "status", "down"])
    stack.add_argument("--cluster", action="store_true",
                       help="also start the three-broker cluster (replication factor 3)")
    stack.add_argument("--no-kafka", action="store_true", help="skip the single broker")
    stack.add_argument("--no-postgres", action="store_true", help="skip Postgres")
    stack.add_argument("--wipe", action="store_true", help="with down: delete all stack data")
    stack.set_defaults(func=cmd_stack)

    topics = sub.add_parser("topics", help="the declared Kafka topics")
    topics.add_argument("action", choices=["create", "list"])
    topics.set_defaults(func=cmd_topics)

    sub.add_parser("worker", help="run a Faust worker").set_defaults(func=cmd_worker)

    submit = sub.add_parser("submit", help="register one complaint")
    submit.add_argument("--complaint-id", help="registration number (default: generated)")
    submit.add_argument("--channel", default="phone_1100",
                        choices=["phone_1100", "portal", "app", "whatsapp", "cm_office",
                                 "jan_manch"])
    submit.add_argument("--category", required=True, help="e.g. drinking_water_supply")
    submit.add_argument("--district", required=True)
    submit.add_argument("--block", required=True)
    submit.add_argument("--phone", required=True, help="citizen's 10-digit mobile number")
    submit.add_argument("--name", required=True, help="citizen's name")
    submit.add_argument("--text", required=True, help="the complaint, in any language")
    submit.set_defaults(func=cmd_submit)

    directory = sub.add_parser("directory", help="the officer directory topic")
    directory.add_argument("action", choices=["publish"])
    directory.set_defaults(func=cmd_directory)

    db = sub.add_parser("db", help="the Postgres schema")
    db.add_argument("action", choices=["migrate"])
    db.set_defaults(func=cmd_db)

    sub.add_parser("sink", help="write complaint state to Postgres, serve metrics").set_defaults(
        func=cmd_sink)

    bench = sub.add_parser("bench", help="measure throughput, latency, escalations, memory")
    bench.add_argument("--scale", choices=["smoke", "default", "full"], default="default")
    bench.add_argument("--out", default="bench/results", help="folder for JSON, .md, .png")
    bench.add_argument("--only", default="", metavar="STAGE[,STAGE]",
                       help="run only these stages (e.g. pendency,replay); default: all")
    bench.set_defaults(func=cmd_bench)

    contract = sub.add_parser("contract", help="the published JSON Schemas and AsyncAPI")
    contract.add_argument("action", choices=["write"])
    contract.set_defaults(func=cmd_contract)
    sub.add_parser("smoke", help="route one sample complaint end to end").set_defaults(
        func=cmd_smoke)
    demo = sub.add_parser("demo", help="the main job: simulated statewide traffic, live view")
    demo.add_argument("--days", type=float, default=30.0, help="simulated days (default 30)")
    demo.add_argument("--speed", type=float, default=4.0,
                      help="simulated hours per wall second (default 4: a day in 6 s)")
    demo.add_argument("--rate", type=float, default=420.0,
                      help="complaints per simulated day (default 420, Himachal's volume)")
    demo.add_argument("--seed", type=int, default=1100)
    demo.add_argument("--no-view", action="store_true",
                      help="print the view as lines instead of redrawing the screen")
    demo.add_argument("--keep-stack", action="store_true",
                      help="leave Kafka and Postgres running afterwards")
    demo.set_defaults(func=cmd_demo)

    backtest = sub.add_parser(
        "backtest", help="simulated (or recorded) traffic through the core in one process, "
                         "no broker; what-if comparison of two policies")
    backtest.add_argument("--days", type=float, default=365.0,
                          help="simulated days (default 365)")
    backtest.add_argument("--rate", type=float, default=420.0,
                          help="complaints per simulated day (default 420, Himachal's volume)")
    backtest.add_argument("--seed", type=int, default=1100)
    backtest.add_argument("--input", metavar="FILE",
                          help="a JSON-lines file of submissions and commands in time order, "
                               "instead of the simulator")
    backtest.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                          help="run the same stream under two policy files and compare them")
    backtest.add_argument("--out", default="bench/results/backtest-compare.png",
                          help="where --compare writes its plot")
    backtest.add_argument("--jobs", type=int, default=1,
                          help="processes: shards of callers (or, with --compare, one per "
                               "policy); only worth it on idle cores")
    backtest.add_argument("--exact", action="store_true",
                          help="run every state-level reminder through the core instead of "
                               "counting the repeats (same figures, far slower)")
    backtest.add_argument("--progress-days", type=float, default=30.0,
                          help="a progress line every this many simulated days")
    backtest.set_defaults(func=cmd_backtest)
    add_api_commands(sub)  # `sankalp api`, `sankalp officer token` (api/cli.py)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"sankalp: {exc}", file=sys.stderr)
        return 2
    from devstack.process import ServiceError

    try:
        return args.func(args, settings)
    except SettingsError as exc:  # a setting only a command parses
        print(f"sankalp: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"sankalp: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from sinks.migrate import MigrationsPending

        if isinstance(exc, MigrationsPending):
            print(f"sankalp: {exc}", file=sys.stderr)
            return 1
        raise
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
