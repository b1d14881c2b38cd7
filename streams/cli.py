"""`sankalp`: the project's one console command.

    sankalp stack up [--cluster] [--no-postgres]   start the local Kafka (KRaft), Postgres and
                                                   Prometheus (--no-prometheus: without it)
    sankalp stack status                           what runs where, and where its logs are
    sankalp stack down [--wipe]                    stop everything (and delete its data)
    sankalp topics create                          create every declared topic
    sankalp topics list                            the topic catalogue
    sankalp worker                                 run a Faust worker with all agents
    sankalp submit --category C --district D --block B --phone P --name N --text T [--wait]
                                                   register one complaint from the shell;
                                                   --wait: print where it went
    sankalp directory publish                      publish the officer directory topic
    sankalp contract write                         regenerate schemas/json + asyncapi.json
    sankalp db migrate                             apply the Postgres migrations
    sankalp sink                                   Postgres + metrics sink (metrics on :9108)
    sankalp smoke                                  route one sample complaint end to end
    sankalp demo [--days N --speed H]              the stack, a worker, the sink and simulated
                                                   statewide traffic, with a live view
    sankalp backtest [--days N --rate R --seed S]  simulated traffic through the core in one
                                                   process, no broker; --compare A.json B.json

A command that needs Kafka or Postgres and cannot reach it (or a topic or migration it needs
is missing) says so in one line, with what to run, and exits with 2.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from streams.settings import Settings, SettingsError

START_STACK = "start the local stack with `sankalp stack up`"


class Unreachable(RuntimeError):
    """A service or something on it that a command needs is not there; the message (one
    line) says what, where, and what to run. Exit code 2."""


def _kafka_reason(exc: Exception) -> str:
    error = exc.args[0] if exc.args else None
    return error.str() if hasattr(error, "str") else (str(exc) or type(exc).__name__)


def _need_kafka(settings: Settings, topics: Sequence[str] = (), timeout: float = 5.0) -> None:
    """One metadata request, quiet (librdkafka would print a line per failed connection):
    the brokers answer, and `topics` (logical names) exist."""
    from confluent_kafka.admin import AdminClient

    from streams.security import confluent_config

    servers = settings.kafka_bootstrap_servers
    try:
        present = AdminClient(confluent_config(settings) | {"log_level": 0}).list_topics(
            timeout=timeout).topics
    except Exception as exc:
        raise Unreachable(f"cannot reach Kafka at {servers} ({_kafka_reason(exc)}); "
                          f"{START_STACK}, or set KAFKA_BOOTSTRAP_SERVERS") from None
    missing = [settings.topic(t) for t in topics if settings.topic(t) not in present]
    if missing:
        raise Unreachable(f"topic {missing[0]} does not exist on {servers}"
                          f"{f' (nor {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
                          "create the topics with `sankalp topics create`")


def _need_postgres(settings: Settings, *, migrated: bool = False) -> None:
    """A connection to DATABASE_URL; with `migrated`, the schema is current."""
    import psycopg2

    from sinks.migrate import MigrationsPending, check
    from sinks.postgres import connect
    from streams.security import redact_url

    where = redact_url(settings.database_url)
    try:
        conn = connect(settings.database_url, settings.database_password, connect_timeout=5)
    except psycopg2.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise Unreachable(f"cannot reach Postgres at {where} ({reason}); {START_STACK}, "
                          "or set DATABASE_URL") from None
    try:
        if migrated:
            check(conn)
    except MigrationsPending as exc:
        raise Unreachable(f"{exc} (database {where})") from None
    finally:
        conn.close()


def _waiting_for_kafka_hint(settings: Settings) -> None:
    """A worker or sink waits for Kafka (start order does not matter, docs/operations.md);
    say once, up front, what it waits for and how to start it."""
    try:
        _need_kafka(settings, timeout=3.0)
    except Unreachable as exc:
        stack = _stack(settings)
        if (settings.kafka_wait_seconds == 0 and _uses_local(settings, stack)[0]
                and not stack.kafka.is_running()):
            # Pointed at this machine's own stack, which is not running: nothing will start
            # it for us, so waiting would only hang (a real cluster is waited for).
            raise Unreachable(f"{exc}; the local stack is not running (set "
                              "SANKALP_KAFKA_WAIT_SECONDS to wait for it instead)") from None
        limit = settings.kafka_wait_seconds
        until = (f"for up to {limit:g} s (SANKALP_KAFKA_WAIT_SECONDS)" if limit > 0 else
                 "until it answers (SANKALP_KAFKA_WAIT_SECONDS bounds the wait)")
        print(f"sankalp: {exc}; waiting {until}", file=sys.stderr, flush=True)


def _stack(settings: Settings):
    from devstack.stack import LocalStack

    return LocalStack.from_settings(settings)


def _uses_local(settings: Settings, stack) -> tuple[bool, bool]:
    """Whether the settings point at the local stack's Kafka and Postgres (then the demo
    and the bench start them; otherwise they use what the settings name)."""
    from urllib.parse import urlsplit

    db = urlsplit(settings.database_url)
    local_pg = (db.hostname in ("127.0.0.1", "localhost")
                and db.port == stack.postgres_port)
    return settings.kafka_bootstrap_servers == stack.kafka.bootstrap_servers, local_pg


def _bring_up(settings: Settings, stack, *, prometheus: bool) -> dict[str, str]:
    """The local services the settings point at (checking the others answer first)."""
    local_kafka, local_pg = _uses_local(settings, stack)
    if not local_kafka:
        _need_kafka(settings)
    if not local_pg:
        _need_postgres(settings)
    return stack.up(kafka=local_kafka, postgres=local_pg, prometheus=prometheus)


def cmd_stack(args: argparse.Namespace, settings: Settings) -> int:
    stack = _stack(settings)
    if args.action == "up":
        addresses = stack.up(kafka=not args.no_kafka, cluster=args.cluster,
                             postgres=not args.no_postgres,
                             prometheus=not args.no_prometheus)
        seconds = addresses.pop("ready_in_seconds")
        prometheus = addresses.pop("prometheus", None)
        print(f"stack ready in {seconds}s")
        for name, value in addresses.items():
            print(f"  {name}={value}")
        if prometheus:
            from devstack.prometheus import PrometheusAPI

            print(f"  Prometheus: {prometheus} (alerts: {PrometheusAPI(prometheus).page('alerts')}"
                  f"; scrapes the targets in {stack.prometheus.target_folder})")
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

    _need_kafka(settings)
    created = ensure_topics(settings)
    print(f"created {len(created)} topic(s); {len(ALL_TOPICS) - len(created)} already existed")
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from agents.factory import create_worker, run_worker

    _waiting_for_kafka_hint(settings)
    return _gave_up_on_kafka(settings, run_worker(create_worker(settings)))


def _gave_up_on_kafka(settings: Settings, code: int) -> int:
    if code == 2:  # SANKALP_KAFKA_WAIT_SECONDS ran out (the wait logged why)
        print(f"sankalp: gave up waiting for Kafka at {settings.kafka_bootstrap_servers} or "
              f"its topics; {START_STACK} and `sankalp topics create`", file=sys.stderr)
    return code


def cmd_smoke(args: argparse.Namespace, settings: Settings) -> int:
    from devstack.smoke import run_smoke

    _need_kafka(settings)
    _need_postgres(settings)
    run_smoke(settings)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from devstack.demo import DemoOptions, run_demo

    stack = _stack(settings)
    before = _running(stack)
    addresses = _bring_up(settings, stack, prometheus=not args.no_prometheus)
    print(f"stack ready in {addresses['ready_in_seconds']}s", flush=True)
    options = DemoOptions(days=args.days, speed=args.speed, complaints_per_day=args.rate,
                          seed=args.seed, interactive=not args.no_view)
    prometheus = stack.prometheus if "prometheus" in addresses else None
    try:
        run_demo(settings, options, stack.logs, prometheus)
    finally:
        _stop_what_was_started(stack, before, keep=args.keep_stack)
    return 0


def _running(stack) -> dict[str, bool]:
    return {name: getattr(stack, name).is_running()
            for name in ("prometheus", "kafka", "postgres")}


def _stop_what_was_started(stack, before: dict[str, bool], *, keep: bool = False) -> None:
    """The demo and the bench leave the local services as they found them."""
    if not keep:
        for name, was_running in before.items():
            if not was_running:
                getattr(stack, name).down()
    if any(_running(stack).values()):
        print("The local stack keeps running; stop it with: .venv/bin/sankalp stack down")


def _not_routable(exc: Exception, category: str) -> str:
    """Intake's reason (core/routing.py), and where to find the valid values: the places'
    reasons list them already, the 65 categories are too many for one line."""
    message = str(exc)
    if "categor" in message:
        import difflib

        from core.reference import CATEGORIES

        close = difflib.get_close_matches(category, [c.code for c in CATEGORIES], n=2)
        if close:
            message += f" (did you mean {' or '.join(close)}?)"
        message += "; the valid codes are in core/reference/categories.py"
    return message


class _OutcomeReader:
    """What became of one submission, read from the pipeline's outputs with a plain
    consumer (no group commits): its assignment or duplicate link on the events topic, or
    its dead letter. Starts at the current end of every partition of both topics."""

    def __init__(self, settings: Settings) -> None:
        import uuid

        from confluent_kafka import Consumer, TopicPartition

        from streams.security import confluent_config
        from streams.topics import COMPLAINT_EVENTS, DEAD_LETTERS

        self.events = settings.topic(COMPLAINT_EVENTS.name)
        self.dead_letters = settings.topic(DEAD_LETTERS.name)
        self.consumer = Consumer(confluent_config(settings) | {
            "group.id": f"sankalp-submit-{uuid.uuid4()}", "enable.auto.commit": False,
            "log_level": 0})
        assignment = []
        metadata = self.consumer.list_topics(timeout=10).topics
        for topic in (self.events, self.dead_letters):
            for partition in metadata[topic].partitions:
                _, end = self.consumer.get_watermark_offsets(TopicPartition(topic, partition),
                                                             timeout=10)
                assignment.append(TopicPartition(topic, partition, end))
        self.consumer.assign(assignment)

    def close(self) -> None:
        self.consumer.close()

    def wait(self, submitted, timeout: float) -> tuple[int, str]:
        """(exit code, one line): 0 registered or linked as a duplicate, 1 refused (dead
        letter) or nothing seen within `timeout` seconds."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.consumer.poll(0.5)
            if message is None or message.error():
                continue
            found = (self._event(submitted, message.value())
                     if message.topic() == self.events
                     else self._dead_letter(submitted, message.value()))
            if found is not None:
                return found
        return 1, (f"sankalp: no outcome for {submitted.complaint_id} within {timeout:g} s; "
                   "is a worker running? (`sankalp worker`)")

    @staticmethod
    def _event(submitted, raw: bytes) -> tuple[int, str] | None:
        from core.calendar import IST
        from core.routing import LEVEL_NAMES
        from schemas.events import ComplaintAssigned, DuplicateLinked, decode

        event = decode(raw)
        if event.complaint_id != submitted.complaint_id:
            return None
        if isinstance(event, ComplaintAssigned):
            return 0, (f"registered {event.complaint_id}: level {event.level} "
                       f"({LEVEL_NAMES[event.level]}), {event.department}, officer "
                       f"{event.officer_id}, due {event.due_at.astimezone(IST):%Y-%m-%d %H:%M} "
                       "IST")
        if isinstance(event, DuplicateLinked):
            return 0, (f"{event.complaint_id} is a duplicate of {event.duplicate_of}: linked "
                       "to it, not registered again")
        return None

    @staticmethod
    def _dead_letter(submitted, raw: bytes) -> tuple[int, str] | None:
        import json

        from schemas.deadletter import DeadLetter

        letter = DeadLetter.from_dict(json.loads(raw))
        # Keyed by the complaint id where it could be read; a letter keyed otherwise (a
        # caller-keyed intake stage) is recognised by the original submission's event id.
        try:
            original = json.loads(letter.original())
        except ValueError:
            original = None
        if isinstance(original, dict):
            original = original.get("event_id")
        if letter.key != submitted.complaint_id and original != submitted.event_id:
            return None
        return 1, f"sankalp: {submitted.complaint_id} refused (dead letter): {letter.reason}"


def cmd_submit(args: argparse.Namespace, settings: Settings) -> int:
    import uuid
    from datetime import UTC, datetime

    from core.intake import check_routable
    from core.routing import RoutingError
    from schemas.events import ComplaintSubmitted
    from schemas.records import InvalidEvent
    from streams.producer import EventPublisher
    from streams.topics import COMPLAINT_EVENTS, COMPLAINTS_SUBMITTED, DEAD_LETTERS

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
    try:
        check_routable(submitted)  # what intake would dead-letter, refused here at once
    except RoutingError as exc:
        print(f"sankalp: not submitted: {_not_routable(exc, args.category)}", file=sys.stderr)
        return 2
    outputs = [COMPLAINT_EVENTS.name, DEAD_LETTERS.name] if args.wait else []
    _need_kafka(settings, [COMPLAINTS_SUBMITTED.name, *outputs])
    # Positioned at the outputs' ends before the submission is written: what it reads next
    # can only be news.
    outcome = _OutcomeReader(settings) if args.wait else None
    publisher = EventPublisher(settings)
    publisher.send(COMPLAINTS_SUBMITTED.name, submitted.complaint_id, submitted)
    publisher.flush()
    print(f"submitted {submitted.complaint_id} ({submitted.category}, {submitted.block}, "
          f"{submitted.district}) to {settings.topic(COMPLAINTS_SUBMITTED.name)}", flush=True)
    if outcome is None:
        return 0
    with contextlib.closing(outcome):
        code, line = outcome.wait(submitted, args.wait)
    print(line, file=sys.stdout if code == 0 else sys.stderr)
    return code


def cmd_directory(args: argparse.Namespace, settings: Settings) -> int:
    from core.reference import build_officer_directory
    from streams.directory import post_of
    from streams.producer import EventPublisher
    from streams.topics import OFFICER_DIRECTORY

    _need_kafka(settings, [OFFICER_DIRECTORY.name])
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

    _need_postgres(settings)
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

    # Postgres is checked at once (its schema must be current); Kafka is waited for.
    _need_postgres(settings, migrated=True)
    _waiting_for_kafka_hint(settings)
    return _gave_up_on_kafka(settings, run_sink(PostgresSink(settings)))


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.run import run

    stack = _stack(settings)
    before = _running(stack)
    addresses = _bring_up(settings, stack, prometheus=False)
    print(f"stack ready in {addresses['ready_in_seconds']}s", flush=True)
    try:
        results = run(settings, args.scale, Path(args.out), stack.stack_dir / "bench",
                      only=[o for o in args.only.split(",") if o])
    finally:
        _stop_what_was_started(stack, before)
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
    stack.add_argument("--no-prometheus", action="store_true", help="skip Prometheus")
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
    submit.add_argument("--wait", type=float, nargs="?", const=60.0, default=None,
                        metavar="SECONDS",
                        help="wait (default 60 s) for the outcome and print it: level, "
                             "office and due time, the duplicate link, or the dead letter's "
                             "reason (needs a running worker)")
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
                      help="leave Kafka, Postgres and Prometheus running afterwards")
    demo.add_argument("--no-prometheus", action="store_true",
                      help="without the local Prometheus")
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
    except (SettingsError, Unreachable) as exc:  # a setting only a command parses
        print(f"sankalp: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"sankalp: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        from sinks.migrate import MigrationsPending

        if isinstance(exc, MigrationsPending):
            print(f"sankalp: {exc}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
