"""Synchronisation with GoPOS and GoOrder: queueing a run, running it, and reading the mirror.

- `runs`: the records of sync runs. `synchronize` queues one (one unfinished run per location
  and channel: a second request gets `SyncAlreadyRunning`), `queue_periodic_syncs` queues the
  periodic ones, and `SYNC_RUNS` is their kind of job.
- `job`: one attempt of a run (`run_sync`): open the credentials, read the whole upstream
  outside any transaction, check it and convert it into mirror rows, then count what links.
- `write`: what the attempt writes, in chunks of at most `Runtime.chunk_size` rows, each a
  transaction of its own that bumps the location's sync version; and the purge of rows removed
  upstream longer than the retention ago (`purge_removed`).
- `views`: pages of the mirror, by name.
- `links`: the connections of CRM groups, derived from the mirror when read, and the upstream
  references no group has, kept per sync version in `MirrorReads`.

Every module reads and writes through the repositories in `models` (`sync_runs`, `mirror`,
`credentials`, `locations`, `groups`) and logs as `services.sync`.
"""

from domain.sync_runs import SyncRunInfo
from services.sync.job import run_sync
from services.sync.links import (
    MAX_CACHED_LINKS,
    UNMATCHED_SHOWN,
    GroupLink,
    MirrorReads,
    group_links,
    mirror_reads,
    synced_channels,
    unmatched,
)
from services.sync.runs import (
    SYNC_RUNS,
    SyncAlreadyRunning,
    get_run,
    latest_run,
    queue_periodic_syncs,
    synchronize,
)
from services.sync.views import PosGroupView, PromotionView, pos_groups_page, promotions_page
from services.sync.write import PURGE_BATCH, PURGE_STATEMENTS, purge_removed

__all__ = [
    "MAX_CACHED_LINKS",
    "PURGE_BATCH",
    "PURGE_STATEMENTS",
    "SYNC_RUNS",
    "UNMATCHED_SHOWN",
    "GroupLink",
    "MirrorReads",
    "PosGroupView",
    "PromotionView",
    "SyncAlreadyRunning",
    "SyncRunInfo",
    "get_run",
    "group_links",
    "latest_run",
    "mirror_reads",
    "pos_groups_page",
    "promotions_page",
    "purge_removed",
    "queue_periodic_syncs",
    "run_sync",
    "synced_channels",
    "synchronize",
    "unmatched",
]
