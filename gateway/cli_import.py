"""`gocrm import-customers`: a CSV file into a location, its summary as JSON on stdout, its
problems by line on stderr; exit status 1 when every row of the file was skipped."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.cli_database import CommandError, with_database
from settings import Settings


def cmd_import_customers(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from services.access import find_location
    from services.importer import ImportReport, import_customers

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")

    async def run() -> ImportReport:
        location = await find_location(args.location)
        if location is None:
            raise CommandError(f"location {args.location} not found")
        # Progress goes to stderr, and only to a terminal: stdout carries the JSON summary alone.
        console = Console(stderr=True)
        with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
            task = progress.add_task("Importing customers", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await import_customers(
                location.id, path, on_progress=advance, dry_run=args.dry_run
            )

    report = with_database(settings, run)
    for problem in report.problems:
        print(f"line {problem.line}: {problem.reason}", file=sys.stderr)
    print(json.dumps(report.summary(), ensure_ascii=False), flush=True)
    if report.all_skipped:
        print(f"nothing imported: every one of the {report.rows} rows was skipped", file=sys.stderr)
        return 1
    return 0
