"""What the use cases count for Prometheus: checkouts, wallet entries, jobs and syncs.

The gateway serves these at `/metrics` (`gateway.metrics`), summed over every process that
shares the metrics directory. Labels take a few fixed values each; their children are made
once, here, so that counting on the till's path is a dictionary lookup and an increment.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from domain.jobs import JobStatus
from domain.ledger import EntryKind
from domain.pricing import SalesChannel
from domain.upstream import Channel

_QUOTES = Counter(
    "gocrm_checkout_quotes_total", "Checkout quotes priced, by sales channel.", ["channel"]
)
_COMMITS = Counter(
    "gocrm_checkout_commits_total",
    "Checkouts committed, by sales channel (a retried commit answered from its idempotency key"
    " is not counted again).",
    ["channel"],
)
_ENTRIES = Counter(
    "gocrm_wallet_entries_total", "Wallet entries written (committed), by kind.", ["kind"]
)
_JOB_RUNS = Counter(
    "gocrm_job_runs_total",
    "Attempts of background jobs, by kind and how they ended: succeeded, failed (for good),"
    " retried (failed, to be tried again), interrupted (the process stopped between two"
    " chunks), lost (another attempt took the job over).",
    ["kind", "result"],
)
_JOB_SECONDS = Histogram(
    "gocrm_job_duration_seconds",
    "How long attempts of background jobs ran, by kind.",
    ["kind"],
    buckets=(0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0),
)
_SYNC_RUNS = Counter(
    "gocrm_sync_runs_total",
    "Attempts of upstream syncs, by channel and result (succeeded, failed, retried).",
    ["channel", "result"],
)

JOB_KINDS = ("wallet_operation", "schedule_run", "sync_run", "expiry_run")
JOB_RESULTS = ("succeeded", "failed", "retried", "interrupted", "lost")
_RESULT_OF = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.QUEUED: "retried",
}

_quotes = {channel: _QUOTES.labels(channel.value) for channel in SalesChannel}
_commits = {channel: _COMMITS.labels(channel.value) for channel in SalesChannel}
_entries = {kind.value: _ENTRIES.labels(kind.value) for kind in EntryKind}
_job_runs = {
    (kind, result): _JOB_RUNS.labels(kind, result) for kind in JOB_KINDS for result in JOB_RESULTS
}
_job_seconds = {kind: _JOB_SECONDS.labels(kind) for kind in JOB_KINDS}
_sync_runs = {
    (channel, status): _SYNC_RUNS.labels(channel.value, result)
    for channel in Channel
    for status, result in _RESULT_OF.items()
}


def job_label(kind_name: str) -> str:
    """A job kind's name in logs ("wallet operation") as a label value ("wallet_operation")."""
    return kind_name.replace(" ", "_")


def quoted(channel: SalesChannel) -> None:
    _quotes[channel].inc()


def committed(channel: SalesChannel) -> None:
    _commits[channel].inc()


def entries_written(kind: str, count: int = 1) -> None:
    """`count` wallet entries of `kind` (an `EntryKind` value) committed to the ledger."""
    if count:
        _entries[kind].inc(count)


def job_attempt(kind_name: str, result: str, seconds: float) -> None:
    """One attempt of a job ended with `result` (one of `JOB_RESULTS`) after `seconds`."""
    kind = job_label(kind_name)
    _job_runs[kind, result].inc()
    _job_seconds[kind].observe(seconds)


def job_result(status: JobStatus | None, *, interrupted: bool = False) -> str:
    """The result label of an attempt that wrote `status` (None: it was taken over)."""
    if status is None:
        return "lost"
    if interrupted:
        return "interrupted"
    return _RESULT_OF.get(status, "lost")


def sync_attempt(channel: Channel, status: JobStatus | None) -> None:
    """A sync attempt of `channel` ended, writing `status` (None: nothing was its to write)."""
    if status is not None and status in _RESULT_OF:
        _sync_runs[channel, status].inc()
