"""The fault suite: every test in this folder carries the `faults` marker
(`pytest -m "not faults"` leaves the suite out, `pytest tests/faults` runs it alone), and may
use the servers and processes of `tests.faults.processes`."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from tests.faults.processes import FAILED
from tests.faults.processes import fault_database as fault_database
from tests.faults.processes import migrated_template as migrated_template
from tests.faults.processes import postgres_cluster as postgres_cluster
from tests.faults.processes import processes as processes
from tests.faults.processes import redis_server as redis_server

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember a failed test, so that its fixtures print what its processes wrote."""
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    return report
