"""One attempt of a sync run, from the stored credentials to the counts it reports.

`run_sync` follows the job lifecycle (`services.lifecycle`, kind `SYNC_RUNS`):

1. opens the stored credentials (a secret sealed with another key fails the run at once);
2. reads the whole upstream, outside any transaction (an upstream failure fails the run at
   once, with the adapter's readable message, which names the upstream); an upstream holding
   more than `Runtime.mirror_max_objects` objects fails it too, and reading stops there;
3. converts it into mirror rows in the location's currency (`domain.sync`; GoPOS pages are
   converted as they arrive, while the next ones are on their way; data that would price wrong
   fails the run at once, and the mirror keeps what it had);
4. writes what changed (`services.sync.write`), then counts what the CRM groups link to.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from adapters.errors import (
    CredentialsRejected,
    MalformedResponse,
    UpstreamError,
    UpstreamUnavailable,
)
from adapters.goorder import fetch_goorder
from adapters.gopos import fetch_gopos
from adapters.secrets import SecretKeyMismatch, SecretTokenError
from domain.jobs import JobStatus
from domain.links import (
    MirrorObject,
    connections,
    group_object,
    promotion_object,
    unmatched_references,
)
from domain.messages import Message, msg
from domain.sync import (
    ConnectionStatus,
    GoorderRows,
    GoposConversion,
    GoposRows,
    SyncDataError,
    goorder_rows,
)
from domain.upstream import Channel, GoorderCredentials, GoposCredentials, too_many_objects
from models import groups, locations, sync_runs
from services import metrics
from services.access import currency_minor_units
from services.i18n import render
from services.integrations import open_credentials
from services.lifecycle import Attempt, PermanentFailure, run_attempt
from services.runtime import Runtime, SecretsUnavailableError
from services.sync.runs import SYNC_RUNS
from services.sync.write import write

log = logging.getLogger("services.sync")  # the package's logger, whichever module logs


@dataclass(frozen=True)
class _Fetched:
    rows: GoposRows | GoorderRows
    objects: tuple[MirrorObject, ...]  # what CRM groups link to, as fetched


async def _credentials(
    runtime: Runtime, location_id: UUID, channel: Channel
) -> GoposCredentials | GoorderCredentials:
    try:
        credentials = await open_credentials(runtime, location_id, channel)
    except (SecretKeyMismatch, SecretTokenError, SecretsUnavailableError) as error:
        log.warning("sync of %s: the stored credentials cannot be opened: %s", channel, error)
        raise PermanentFailure(
            msg("sync.credentials_unreadable", upstream=channel.upstream_name)
        ) from error
    if credentials is None:
        raise PermanentFailure(msg("sync.not_configured", upstream=channel.upstream_name))
    return credentials


def _check_cap(channel: Channel, count: int, cap: int) -> None:
    if count > cap:
        raise PermanentFailure(too_many_objects(channel, count, cap, read_so_far=False))


async def _fetch(
    runtime: Runtime,
    credentials: GoposCredentials | GoorderCredentials,
    currency: str,
    minor_units: int,
) -> _Fetched:
    """The upstream's data as mirror rows; no transaction is open meanwhile. More objects
    than `Runtime.mirror_max_objects` fail the run, before anything is converted or written."""
    deadline, cap = runtime.sync_deadline_seconds, runtime.mirror_max_objects
    try:
        if isinstance(credentials, GoposCredentials):
            # Each page is converted as it arrives, while the next ones are on their way.
            conversion = GoposConversion(currency, minor_units)
            pos = await fetch_gopos(
                runtime.upstreams,
                credentials,
                deadline=deadline,
                max_objects=cap,
                on_groups=conversion.groups,
                on_discounts=conversion.discounts,
            )
            _check_cap(Channel.GOPOS, len(pos.groups) + len(pos.discounts), cap)
            pos_rows = conversion.rows(pos)
            objects = tuple(group_object(g, removed=False) for g in pos_rows.groups)
            return _Fetched(pos_rows, objects)
        order = await fetch_goorder(
            runtime.upstreams, credentials, deadline=deadline, max_objects=cap
        )
        _check_cap(Channel.GOORDER, len(order.promotions), cap)
        order_rows = goorder_rows(order, currency, minor_units)
        objects = tuple(promotion_object(p, removed=False) for p in order_rows.promotions)
        return _Fetched(order_rows, objects)
    except UpstreamError as error:
        raise PermanentFailure(upstream_failure(error)) from error
    except SyncDataError as error:
        raise PermanentFailure(error.message) from error


def upstream_failure(error: UpstreamError) -> Message:
    """What a person reads about a failed upstream read; the technical detail (an operator's
    sentence, never a secret) is a parameter."""
    if error.notice is not None:
        return error.notice
    if isinstance(error, CredentialsRejected):
        kind = "sync.credentials_rejected"
    elif isinstance(error, UpstreamUnavailable):
        kind = "sync.upstream_unavailable"
    elif isinstance(error, MalformedResponse):
        kind = "sync.upstream_malformed"
    else:
        kind = "sync.upstream_failed"
    return msg(kind, detail=error.message)


async def run_sync(runtime: Runtime, sync_run_id: UUID) -> None:
    """Run one attempt of a queued sync run to the end; safe to run again, or twice at once
    (one claims it, the other does nothing)."""
    run = await sync_runs.job(sync_run_id)
    if run is None:
        log.warning("sync run %s does not exist; job ignored", sync_run_id)
        return
    if run.status != JobStatus.QUEUED:
        return
    location_id, channel = run.location_id, run.channel

    async def work(attempt: Attempt) -> Mapping[str, Any]:
        started = time.perf_counter()
        credentials = await _credentials(runtime, location_id, channel)
        currency = (await locations.get(location_id)).currency
        fetched = await _fetch(runtime, credentials, currency, currency_minor_units(currency))
        written = await write(attempt, location_id, fetched.rows, runtime.clock())
        crm_groups = await groups.references(location_id)
        links = connections(crm_groups, channel, fetched.objects, synced=True)
        linked = sum(1 for link in links.values() if link.status is ConnectionStatus.LINKED)
        unmatched = len(unmatched_references((ref for _, ref in crm_groups), fetched.objects))
        notes = fetched.rows.notes
        log.info(
            "sync run %s: location %s, %s: fetched %d, linked %d, unmatched %d, written %d "
            "in %.2f s%s",
            sync_run_id,
            location_id,
            channel.value,
            len(fetched.objects),
            linked,
            unmatched,
            written,
            time.perf_counter() - started,
            f"; notes: {' '.join(render(note, 'en') for note in notes)}" if notes else "",
        )
        # `written` is left as the chunks added it up, over every attempt of the run.
        return {"fetched": len(fetched.objects), "linked": linked, "unmatched": unmatched}

    status = await run_attempt(SYNC_RUNS, run.id, runtime, work, attempts=run.attempts)
    metrics.sync_attempt(channel, status)
