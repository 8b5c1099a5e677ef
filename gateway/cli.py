"""The `gocrm` console command: migrate, serve, manage locations and keys, import, demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from domain.access import Role
from domain.errors import DomainError
from gateway.observability import configure_logging
from models.db import close_database, migrate_database, open_database
from settings import Settings, load_settings

T = TypeVar("T")


def _print_json(payload: dict[str, object]) -> None:
    print(json.dumps(payload, ensure_ascii=False), flush=True)


def _with_database(settings: Settings, action: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        await open_database(settings)
        try:
            return await action()
        finally:
            await close_database()

    return asyncio.run(run())


def _fail(error: DomainError) -> int:
    for problem in error.errors:
        where = f"{problem.field}: " if problem.field else ""
        print(f"error: {where}{problem.message}", file=sys.stderr)
    return 2


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(migrate_database(settings))
    print("migrations applied", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if settings.is_sqlite:
        if args.workers > 1:
            print(
                "error: SQLite serves one worker; set DATABASE_URL to PostgreSQL for more.",
                file=sys.stderr,
            )
            return 2
        asyncio.run(migrate_database(settings))
    uvicorn.run(
        "gateway.app:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    return 0


def cmd_create_location(args: argparse.Namespace, settings: Settings) -> int:
    from services.access import create_location

    try:
        location, secret = _with_database(
            settings, lambda: create_location(args.name, args.currency, args.timezone)
        )
    except DomainError as error:
        return _fail(error)
    _print_json({"location_id": str(location.id), "api_key": secret})
    return 0


def cmd_create_api_key(args: argparse.Namespace, settings: Settings) -> int:
    from services.access import create_api_key, find_location

    async def run() -> tuple[str, str] | None:
        location = await find_location(args.location)
        if location is None:
            return None
        key, secret = await create_api_key(location.id, args.name, Role(args.role))
        return str(key.id), secret

    try:
        created = _with_database(settings, run)
    except DomainError as error:
        return _fail(error)
    if created is None:
        print(f"error: location {args.location} not found", file=sys.stderr)
        return 2
    _print_json({"api_key_id": created[0], "api_key": created[1]})
    return 0


def cmd_import_customers(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import Progress

    from services.access import find_location
    from services.importer import ImportReport, import_customers

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2

    async def run() -> ImportReport | None:
        location = await find_location(args.location)
        if location is None:
            return None
        with Progress(transient=True) as progress:
            task = progress.add_task("Importing customers", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await import_customers(location.id, path, on_progress=advance)

    try:
        report = _with_database(settings, run)
    except DomainError as error:
        return _fail(error)
    if report is None:
        print(f"error: location {args.location} not found", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(f"line {problem.line}: {problem.reason}", file=sys.stderr)
    _print_json(report.summary())
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from services.demo import seed_demo

    asyncio.run(migrate_database(settings))
    demo = _with_database(settings, seed_demo)
    url = f"http://{args.host}:{args.port}/graphql"
    print(
        "\nGoCRM demo is ready.\n"
        f"  GraphQL (GraphiQL in a browser): {url}\n"
        f"  Location: {demo.location_name} ({demo.location_id})\n"
        f'  Try: {{ walletOperation(id: "{demo.bulk_operation_id}") {{ status total processed }}'
        " creditSchedules { unit amount { amount } nextRunOn customerCount } }\n"
        f"  ADMIN key: {demo.api_key}\n"
        f"  Send it as the header  Authorization: Bearer {demo.api_key}\n",
        flush=True,
    )
    args.workers = 1
    return cmd_serve(args, settings)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from arq.worker import run_worker

    from tasks.worker import WorkerSettings

    if not settings.redis_url:
        print("error: set REDIS_URL to run arq workers.", file=sys.stderr)
        return 2
    run_worker(WorkerSettings)  # type: ignore[arg-type]
    return 0


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gocrm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="apply migrations to DATABASE_URL").set_defaults(
        run=cmd_migrate
    )

    serve = commands.add_parser("serve", help="run the gateway (migrates first on SQLite)")
    _serve_options(serve)
    serve.set_defaults(run=cmd_serve)

    location = commands.add_parser("create-location", help="a new location with an ADMIN key")
    location.add_argument("--name", required=True)
    location.add_argument("--currency", default="PLN")
    location.add_argument("--timezone", default="Europe/Warsaw")
    location.set_defaults(run=cmd_create_location)

    key = commands.add_parser("create-api-key", help="a new API key for a location")
    key.add_argument("--location", required=True)
    key.add_argument("--name", required=True)
    key.add_argument("--role", required=True, choices=[r.value for r in Role])
    key.set_defaults(run=cmd_create_api_key)

    importer = commands.add_parser("import-customers", help="import customers from a CSV file")
    importer.add_argument("file")
    importer.add_argument("--location", required=True)
    importer.set_defaults(run=cmd_import_customers)

    commands.add_parser("worker", help="run an arq worker (needs REDIS_URL)").set_defaults(
        run=cmd_worker
    )

    demo = commands.add_parser("demo", help="seed a demo location and serve it")
    _serve_options(demo)
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace, Settings], int] = args.run
    return run(args, load_settings())


if __name__ == "__main__":
    sys.exit(main())
