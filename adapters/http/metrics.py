"""The upstream request counters of /metrics."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

# Every attempt at an upstream request, by upstream ("GoPOS", "GoOrder") and HTTP status
# ("error" when no answer came); and the attempts that were retries.
_REQUESTS = Counter(
    "gocrm_upstream_requests_total",
    "Requests sent to an upstream system (every attempt), by upstream and HTTP status; 'error'"
    " when the upstream could not be reached or did not answer.",
    ["upstream", "status"],
)
_RETRIES = Counter(
    "gocrm_upstream_retries_total",
    "Upstream requests that were retries of an earlier attempt, by upstream.",
    ["upstream"],
)
_counted: dict[tuple[str, str], Any] = {}


def count_attempt(upstream: str, status: str, attempt: int) -> None:
    """One attempt at a request to `upstream` that ended with `status`; a retry when
    `attempt` > 1."""
    child = _counted.get((upstream, status))
    if child is None:
        child = _counted[upstream, status] = _REQUESTS.labels(upstream, status)
    child.inc()
    if attempt > 1:
        _RETRIES.labels(upstream).inc()
