"""The `gocrm` console command: migrate, serve, manage locations and keys, import, demo.

An ordinary mistake (a database that does not exist or is not reachable, an unsupported
`DATABASE_URL`, a bad `GOCRM_ENV`, Redis down) prints one line on stderr saying what is wrong and
what to do, and exits with status 2; `gocrm --debug ...` shows the traceback instead.

On SQLite every command migrates the database first; on PostgreSQL a command refuses to run on
a database that lacks a migration (`gocrm migrate` applies them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from domain.access import Role
from domain.bill import SalesChannel
from domain.errors import DomainError
from gateway.cli_checks import (
    check_listen,
    check_port,
    check_secret_key_setting,
    check_start,
    check_trusted_documents,
    generate_key,
)
from gateway.cli_database import (
    CommandError,
    check_database_url,
    database_line,
    with_database,
)
from gateway.cli_demo import cmd_demo
from gateway.cli_import import cmd_import_customers
from gateway.observability import configure_logging
from settings import Settings, load_settings

MISTAKE = 2
UNEXPECTED = 1


def _print_json(payload: dict[str, object]) -> None:
    print(json.dumps(payload, ensure_ascii=False), flush=True)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.runtime import database_config
    from models.db import migrate_database

    asyncio.run(migrate_database(database_config(settings)))
    print("migrations applied", file=sys.stderr)
    return 0


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _share_metrics(settings: Settings) -> None:
    """Before any metric exists: this process, and the processes it starts, keep their metrics
    in `GOCRM_METRICS_DIR` (prometheus-client's multiprocess mode), where `/metrics` sums them.
    The files of processes no longer running are removed first; those of a `gocrm worker` or
    a gateway still running on this host are kept."""
    directory = Path(settings.metrics_dir).resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(
            f"GOCRM_METRICS_DIR: cannot create {str(directory)!r} ({error.strerror})"
        ) from None
    if not os.access(directory, os.W_OK):
        raise CommandError(f"GOCRM_METRICS_DIR: {str(directory)!r} is not writable")
    for file in directory.glob("*.db"):
        pid = file.stem.rpartition("_")[2]
        if pid.isdigit() and not _running(int(pid)):
            file.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    workers = args.workers or settings.server_workers
    if settings.is_sqlite and workers > 1:
        raise CommandError("SQLite serves one worker; set DATABASE_URL to PostgreSQL for more")
    check_secret_key_setting(settings)
    check_listen(args.host, args.port)
    _share_metrics(settings)
    check_trusted_documents(settings)
    # Reachable, migrated on SQLite; in production also current and, without a key, holding no
    # sealed secrets (the app checks again at start-up; in development it answers 503 while a
    # migration is missing).
    with_database(settings, lambda: check_start(settings), require_current=settings.production)
    args.workers = workers
    return _serve(args, settings)


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _serve(
    args: argparse.Namespace, settings: Settings, factory: str = "gateway.app:app_factory"
) -> int:
    """uvicorn: on SIGTERM it stops accepting, gives the requests in flight
    `GOCRM_SHUTDOWN_GRACE` seconds, then runs the lifespan's shutdown (jobs, pools). Every
    process guards its connections (`gateway.connections`)."""
    import uvicorn

    from gateway.connections import ConnectionLimits, http_protocol, raise_open_file_limit

    limits = ConnectionLimits(
        header_timeout_seconds=settings.header_timeout_seconds,
        max_connections=settings.max_connections,
        max_connections_per_client=settings.max_connections_per_client,
    )
    if (warning := raise_open_file_limit(limits)) is not None:
        logging.getLogger(__name__).warning(warning)
    # Once shut down, uvicorn raises the signal that stopped it again, for the handler it
    # found: a stop on SIGTERM that went as planned ends the command with status 0.
    signal.signal(signal.SIGTERM, _stopped)
    uvicorn.run(
        factory,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http=http_protocol(limits),
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
    return 0


def cmd_create_location(args: argparse.Namespace, settings: Settings) -> int:
    from services.access import create_location

    location, secret = with_database(
        settings, lambda: create_location(args.name, args.currency, args.timezone)
    )
    _print_json({"location_id": str(location.id), "api_key": secret})
    return 0


def cmd_create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    from services.access import create_api_key, find_location

    async def run() -> tuple[str, str]:
        location = await find_location(args.location)
        if location is None:
            raise CommandError(f"location {args.location} not found")
        channels = None if args.channel is None else [SalesChannel(c) for c in args.channel]
        key, secret = await create_api_key(location.id, args.name, Role(args.role), channels)
        return str(key.id), secret

    key_id, secret = with_database(settings, run)
    _print_json({"api_key_id": key_id, "api_key": secret})
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.redis_url:
        raise CommandError("set REDIS_URL to run arq workers (without it jobs run in-process)")
    check_secret_key_setting(settings)
    _share_metrics(settings)
    from gateway.readiness import redis_state

    if asyncio.run(redis_state(settings.redis_url)) != "up":
        parts = urlsplit(settings.redis_url)
        where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
        raise CommandError(f"Redis is not reachable at {where}: start it or fix REDIS_URL")
    with_database(settings, lambda: check_start(settings))

    from arq.connections import RedisSettings

    from gateway.metrics import AddressAllowList, process_stopped, serve_worker_metrics
    from gateway.runtime import build_runtime, close_runtime, database_config
    from models.db import close_database, open_database
    from services.jobs import Dispatcher
    from services.runtime import Runtime
    from tasks.worker import GracefulWorker, worker_options

    opened: list[Runtime] = []

    async def start(dispatcher: Dispatcher) -> Runtime:
        await open_database(database_config(settings))
        opened.append(build_runtime(settings, dispatcher))
        return opened[-1]

    async def stop() -> None:
        for runtime in opened:
            await close_runtime(runtime)
        await close_database()
        process_stopped()

    if settings.worker_metrics_port is not None:
        try:
            serve_worker_metrics(
                settings.worker_metrics_port, AddressAllowList(settings.metrics_allow)
            )
        except OSError as error:
            raise CommandError(
                f"GOCRM_WORKER_METRICS_PORT: cannot listen on port"
                f" {settings.worker_metrics_port} ({error.strerror})"
            ) from None

    GracefulWorker(
        **worker_options(
            start=start,
            stop=stop,
            redis_settings=RedisSettings.from_dsn(settings.redis_url),
            queue_name=settings.queue_name,
            check_seconds=settings.check_seconds,
            job_timeout_seconds=settings.job_timeout_seconds,
            max_jobs=settings.worker_max_jobs,
            shutdown_grace_seconds=settings.shutdown_grace_seconds,
        )
    ).run()
    return 0


def cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.simulator_server import serve_simulator

    check_port(args.port)
    fixture = Path(args.fixture)
    if not fixture.is_file():
        raise CommandError(f"no fixture file at {str(fixture)!r}")
    serve_simulator(args.kind, str(fixture), args.port, args.host)
    return 0


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except for required options, which have none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.required or action.default in (None, argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def _serve_options(parser: argparse.ArgumentParser, workers: int | None = 1) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--workers",
        type=int,
        default=workers,
        help="server processes (PostgreSQL only for more than 1)"
        + ("" if workers else "; default GOCRM_WORKERS, else 2 on PostgreSQL and 1 on SQLite"),
    )


def _location_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """`create-location` and `create-api-key`."""
    location = command("create-location", "Create a location and print its first ADMIN key.")
    location.add_argument("--name", required=True, help="the location's name")
    location.add_argument("--currency", default="PLN", help="ISO 4217 currency code")
    location.add_argument("--timezone", default="Europe/Warsaw", help="IANA time zone")
    location.set_defaults(run=cmd_create_location)

    key = command("create-api-key", "Create an API key for a location and print it.")
    key.add_argument("--location", required=True, help="the location's id")
    key.add_argument("--name", required=True, help="a name to recognise the key by")
    key.add_argument(
        "--role",
        required=True,
        choices=[r.value for r in Role],
        help="ADMIN for the back office, POS for tills, kiosks and the online store",
    )
    key.add_argument(
        "--channel",
        action="append",
        choices=[c.value for c in SalesChannel],
        help="POS keys: a channel the key may quote and commit for; repeat for several "
        "(default: POS and KIOSK, a till and its kiosk; ONLINE only when named, for the "
        "online store)",
    )
    key.set_defaults(run=cmd_create_api_key)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gocrm",
        description="GoCRM gateway: migrate, serve, manage locations and keys, import, demo.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the Python traceback of an error"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=summary, description=summary, formatter_class=_HelpFormatter
        )

    command("migrate", "Apply migrations to DATABASE_URL.").set_defaults(run=cmd_migrate)

    serve = command("serve", "Run the gateway (migrates first on SQLite).")
    _serve_options(serve, workers=None)
    serve.set_defaults(run=cmd_serve)

    _location_commands(command)

    importer = command("import-customers", "Import customers from a CSV file.")
    importer.add_argument(
        "file",
        help="CSV (',' or ';', UTF-8 or Windows-1250) with the header "
        "first_name,last_name,email,phone,note,card_code,groups",
    )
    importer.add_argument("--location", required=True, help="the location's id")
    importer.add_argument(
        "--dry-run", action="store_true", help="report what the import would do; write nothing"
    )
    importer.set_defaults(run=cmd_import_customers)

    command("worker", "Run an arq worker (needs REDIS_URL).").set_defaults(run=cmd_worker)

    demo = command("demo", "Seed a demo location, print a fresh ADMIN key and serve it.")
    _serve_options(demo)
    demo.add_argument(
        "--fresh",
        action="store_true",
        help="delete the demo location of earlier runs, with all its data, and seed it again",
    )
    demo.set_defaults(run=cmd_demo)

    # Run by `main` before the settings are read.
    command("generate-key", "Print a new key for GOCRM_SECRET_KEY (it seals integration secrets).")

    simulate = command(
        "simulate", "Serve a local simulator of the GoPOS or GoOrder API (for tests and demos)."
    )
    simulate.add_argument("kind", choices=["gopos", "goorder"], help="which upstream to simulate")
    simulate.add_argument("--fixture", required=True, help="JSON file with the upstream's data")
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on")
    simulate.add_argument("--port", type=int, default=8100, help="port to listen on")
    simulate.set_defaults(run=cmd_simulate)
    return parser


def _report(error: BaseException, settings: Settings | None) -> int:
    if isinstance(error, CommandError):
        print(f"error: {error}", file=sys.stderr)
        return MISTAKE
    if isinstance(error, DomainError):
        # Imported here: the command chooses the metrics directory before services load.
        from services.i18n import render

        for problem in error.errors:
            where = f"{problem.field}: " if problem.field else ""
            print(f"error: {where}{render(problem.message, 'en')}", file=sys.stderr)
        return MISTAKE
    if settings is not None and (line := database_line(error, settings)) is not None:
        print(f"error: {line}", file=sys.stderr)
        return MISTAKE
    print(
        f"error: unexpected {type(error).__name__}: {error} "
        "(run gocrm --debug ... to see the traceback)",
        file=sys.stderr,
    )
    return UNEXPECTED


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "generate-key":  # needs no settings: it works whatever they hold
        print(generate_key(), flush=True)
        return 0
    configure_logging()
    run: Callable[[argparse.Namespace, Settings], int] = args.run
    settings: Settings | None = None
    try:
        # The settings are read once, here; a bad value is reported as one line.
        try:
            settings = load_settings()
        except ValueError as error:
            raise CommandError(str(error)) from error
        configure_logging(json_lines=settings.log_format == "json")
        check_database_url(settings)
        return run(args, settings)
    except Exception as error:
        if args.debug:
            raise
        return _report(error, settings)


if __name__ == "__main__":
    sys.exit(main())
