"""The soak's invariant of undone operations, as SQL over one location (`bench.soak_checks`'s
rules: the tables the reports read, nothing of the gateway's code). PostgreSQL only.

An undo is a wallet operation naming what it reverses (`undo_of_id`, and where that one's
entries are: `undo_source_id`, `undo_period`); it writes one UNDO entry (its own id as the
source, period 0) per live customer the original wrote an entry for, whose requested amount is
minus the net of the original's entries of that customer (its kind, and the CLAWBACK entries
the same application wrote) and whose delta is that, or a part of it of the same sign when the
balance could not take it whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from bench.soak_checks import Check, Database

UNDOS_SQL = """
WITH u AS (
    SELECT id, status, undo_of_id, undo_source_id, undo_period, operation, restored_count,
           partly_restored_count
    FROM wallet_operations WHERE location_id = $1 AND undo_of_id IS NOT NULL
), reached AS (
    SELECT u.id AS undo_id, w.customer_id, -sum(w.delta) AS wanted
    FROM u JOIN wallet_entries w
      ON w.source_id = u.undo_source_id AND w.period = u.undo_period
     AND w.kind IN (u.operation, 'CLAWBACK')
    JOIN customers c ON c.id = w.customer_id AND c.deleted_at IS NULL
    GROUP BY u.id, w.customer_id
    HAVING count(*) FILTER (WHERE w.kind = u.operation) > 0
), undone AS (
    SELECT u.id AS undo_id, w.customer_id, count(*) AS n, sum(w.requested_amount) AS requested,
           sum(w.delta) AS delta
    FROM u JOIN wallet_entries w ON w.source_id = u.id AND w.kind = 'UNDO' AND w.period = 0
    GROUP BY u.id, w.customer_id
), pairs AS (
    SELECT coalesce(r.undo_id, d.undo_id) AS undo_id, r.wanted, d.n, d.requested, d.delta
    FROM reached r FULL JOIN undone d ON d.undo_id = r.undo_id AND d.customer_id = r.customer_id
), per_undo AS (
    SELECT undo_id,
           count(*) FILTER (WHERE n IS NULL) AS missed,
           count(*) FILTER (WHERE wanted IS NULL OR n > 1) AS extra,
           count(*) FILTER (
               WHERE wanted IS NOT NULL AND n IS NOT NULL
                 AND (requested <> wanted
                      OR NOT delta BETWEEN least(wanted, 0) AND greatest(wanted, 0))) AS off,
           count(*) FILTER (WHERE n = 1 AND delta = requested) AS restored,
           count(*) FILTER (WHERE n = 1 AND delta <> requested) AS partly
    FROM pairs GROUP BY undo_id
)
SELECT count(u.id) AS undos,
       coalesce(sum(p.restored + p.partly), 0) AS entries,
       coalesce(sum(p.partly), 0) AS partly,
       count(u.id) FILTER (WHERE u.status <> 'SUCCEEDED') AS unfinished,
       coalesce(sum(p.missed), 0) AS missed,
       coalesce(sum(p.extra), 0) AS extra,
       coalesce(sum(p.off), 0) AS off,
       count(u.id) FILTER (
           WHERE u.restored_count IS DISTINCT FROM coalesce(p.restored, 0)
              OR u.partly_restored_count IS DISTINCT FROM coalesce(p.partly, 0)) AS miscounted,
       (SELECT count(*) FROM (SELECT undo_of_id FROM u GROUP BY undo_of_id
                              HAVING count(*) > 1) twice) AS twice,
       count(u.id) FILTER (WHERE u.undo_of_id IN (SELECT id FROM u)) AS of_undo,
       (SELECT count(*) FROM unnest($2::uuid[], $3::uuid[]) AS k(original, undo)
        WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = k.undo AND u.undo_of_id = k.original))
           AS lost
FROM u LEFT JOIN per_undo p ON p.undo_id = u.id
"""


async def check_undos(db: Database, location_id: UUID, requested: Mapping[UUID, UUID]) -> Check:
    """Every undo SUCCEEDED with exactly one UNDO entry per live customer its original wrote an
    entry for (none for anyone else), each compensating that customer's net of the original,
    whole or clamped to a part of the same sign, its restored counts those of its entries; no
    operation undone twice, no undo undone; and each undo the client saw created (original →
    undo) is there. At least one undo was requested."""
    originals = list(requested)
    row = await db.fetchrow(UNDOS_SQL, location_id, originals, [requested[o] for o in originals])
    bad = sum(
        row[k] for k in ("unfinished", "missed", "extra", "off", "miscounted", "twice", "of_undo")
    )
    return Check(
        "undos reversed each customer once",
        bool(requested) and bad == 0 and row["lost"] == 0,
        f"{len(requested)} undos requested, {row['undos']} found, {row['lost']} of them missing; "
        f"{row['entries']:,} UNDO entries ({row['partly']} partly restoring); "
        f"{row['unfinished']} not SUCCEEDED, {row['missed']} customers missed, "
        f"{row['extra']} entries extra, {row['off']} of another amount, "
        f"{row['miscounted']} undos miscounted, {row['twice']} operations undone twice, "
        f"{row['of_undo']} undos of an undo",
    )
