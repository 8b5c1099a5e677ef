"""The GoPOS and GoOrder mirror: set-based writes for a sync, and the reads of the API.

A sync works out what changed (`diff`: in SQL on PostgreSQL, where the mirror lives; on SQLite
by reading the mirror as domain rows, `existing_pos` and `existing_promotions`, for
`domain.mirror_diff.diff_rows`), and writes only that (`writes`: one upsert per table, flags for
rows gone upstream, the location's sync version). The API reads whole tables
or rows by id (`reads`), and the rows of the references in use on their index (`indexed`).
Removed rows are deleted by a sync's retention and purged by the periodic check (`purge`);
`clear` empties one table of a location, as before its first sync (the benchmarks' seeding).
Every function joins the caller's transaction when `db` is one.
"""

from models.mirror.diff import TableDiff, diff_pos, diff_promotions
from models.mirror.indexed import (
    Matched,
    pos_groups_matching,
    promotions_matching,
    unmatched_references,
)
from models.mirror.purge import clear, delete_rows, purge_removed, removed_rows
from models.mirror.reads import (
    existing_pos,
    existing_promotions,
    has_succeeded_sync,
    mirror_objects,
    names,
    pos_discounts,
    pos_discounts_by_id,
    pos_groups,
    pos_groups_by_id,
    promotions,
    promotions_by_id,
)
from models.mirror.rows import BATCH_ROWS, SUCCEEDED, Mirrored, MirrorModel, MirrorTable
from models.mirror.writes import (
    bump_sync_version,
    mark_removed,
    sync_version,
    upsert_pos_discounts,
    upsert_pos_groups,
    upsert_promotions,
)

__all__ = [
    "BATCH_ROWS",
    "SUCCEEDED",
    "Matched",
    "MirrorModel",
    "MirrorTable",
    "Mirrored",
    "TableDiff",
    "bump_sync_version",
    "clear",
    "delete_rows",
    "diff_pos",
    "diff_promotions",
    "existing_pos",
    "existing_promotions",
    "has_succeeded_sync",
    "mark_removed",
    "mirror_objects",
    "names",
    "pos_discounts",
    "pos_discounts_by_id",
    "pos_groups",
    "pos_groups_by_id",
    "pos_groups_matching",
    "promotions",
    "promotions_by_id",
    "promotions_matching",
    "purge_removed",
    "removed_rows",
    "sync_version",
    "unmatched_references",
    "upsert_pos_discounts",
    "upsert_pos_groups",
    "upsert_promotions",
]
