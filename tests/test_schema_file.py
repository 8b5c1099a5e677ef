"""`api/schema.graphql` is the schema the gateway serves, and the documented command writes it."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from gateway.schema.export import COMMAND, schema_text

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_FILE = ROOT / "api" / "schema.graphql"


def test_the_committed_schema_is_the_served_schema() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")

    served = schema_text()

    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            served.splitlines(keepends=True),
            "api/schema.graphql (committed)",
            "served schema",
        )
    )
    assert diff == "", f"api/schema.graphql is out of date; regenerate it: {COMMAND}\n{diff}"


def test_the_export_command_prints_the_served_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.schema.export"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )

    assert result.stderr == b""
    assert result.stdout.decode("utf-8") == schema_text()
    assert COMMAND == "python -m gateway.schema.export > api/schema.graphql"
