"""`DATABASE_URL` in the forms people type: each one works or is refused in one line, and none
hangs (`gocrm` runs with a timeout here)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from settings import load_settings
from tests.test_cli import gocrm


def test_the_four_slash_absolute_sqlite_url_is_accepted(tmp_path: Path) -> None:
    database = tmp_path / "abs.sqlite3"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    migrated = gocrm("migrate", cwd=elsewhere, DATABASE_URL=f"sqlite:///{database}")

    assert (migrated.returncode, migrated.stdout, migrated.stderr) == (
        0,
        "",
        "migrations applied\n",
    )
    assert list(elsewhere.iterdir()) == []
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*) FROM locations").fetchone() == (0,)


def test_the_four_slash_form_becomes_the_three_slash_one() -> None:
    four = load_settings({"DATABASE_URL": "sqlite:////srv/gocrm/gocrm.sqlite3"})
    three = load_settings({"DATABASE_URL": "sqlite:///srv/gocrm/gocrm.sqlite3"})

    assert four.database_url == three.database_url == "sqlite:///srv/gocrm/gocrm.sqlite3"


@pytest.mark.parametrize(
    ("url", "line"),
    [
        (
            "sqlite://",
            "error: DATABASE_URL: sqlite:// names no file; use sqlite://gocrm.sqlite3 (a relative"
            " path) or sqlite:////srv/gocrm/gocrm.sqlite3 (an absolute one)\n",
        ),
        (
            "postgres://postgres@127.0.0.1:5432",
            "error: DATABASE_URL names no database; use postgres://USER@HOST:PORT/DATABASE\n",
        ),
        (
            "postgresql://postgres@127.0.0.1:5432/",
            "error: DATABASE_URL names no database; use postgres://USER@HOST:PORT/DATABASE\n",
        ),
    ],
)
@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["create-location", "--name", "B"]])
def test_a_url_without_a_database_is_one_line(
    url: str, line: str, command: list[str], tmp_path: Path
) -> None:
    result = gocrm(*command, cwd=tmp_path, DATABASE_URL=url)

    assert (result.returncode, result.stdout, result.stderr) == (2, "", line)
    assert list(tmp_path.iterdir()) == []


def test_an_sqlite_url_naming_a_folder_is_one_line(tmp_path: Path) -> None:
    result = gocrm("migrate", cwd=tmp_path, DATABASE_URL=f"sqlite://{tmp_path}")

    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"error: DATABASE_URL: '{tmp_path}' is a folder, not an SQLite file: name a file in it\n",
    )
