"""The schema the gateway serves, as SDL: `python -m gateway.schema.export > api/schema.graphql`.

`api/schema.graphql` is this output, committed; `tests/test_schema_file.py` fails when they differ.
"""

from __future__ import annotations

import sys

from strawberry.printer import print_schema

from gateway.schema.root import build_schema

COMMAND = "python -m gateway.schema.export > api/schema.graphql"
HEADER = f"# The schema the GoCRM gateway serves. Generated: {COMMAND}\n\n"


def schema_text() -> str:
    """The served schema (development build, the same types as production) with its header."""
    return HEADER + print_schema(build_schema(production=False)) + "\n"


def main() -> None:
    sys.stdout.write(schema_text())


if __name__ == "__main__":
    main()
