"""The soak's invariants of credit lots, as SQL over one location (`bench.soak_checks`'s rules:
the tables, nothing of the gateway's code). PostgreSQL only.

A customer's balance is made of lots (`credit_lots`): their remaining amounts sum to it, and none
holds less than nothing or more than it was given. A lot whose expiry day is over (in the
location's time zone) holds nothing once the periodic check has run: what it held left through
one EXPIRE entry, never two.
"""

from __future__ import annotations

from uuid import UUID

from bench.soak_checks import Check, Database

LOTS_SQL = """
WITH held AS (
    SELECT customer_id, sum(remaining) AS remaining, count(*) AS lots,
           count(*) FILTER (WHERE remaining < 0 OR remaining > amount) AS out_of_range
    FROM credit_lots WHERE location_id = $1 GROUP BY customer_id
), expired AS (
    SELECT count(*) AS lots, coalesce(sum(amount), 0) AS amount
    FROM credit_lots WHERE location_id = $1 AND expires_on < (now() AT TIME ZONE $2)::date
), expire_entries AS (
    SELECT count(*) AS entries, count(DISTINCT source_id) AS lots, coalesce(-sum(delta), 0) AS taken
    FROM wallet_entries WHERE location_id = $1 AND kind = 'EXPIRE'
)
SELECT
    (SELECT count(*) FROM customers c LEFT JOIN held h ON h.customer_id = c.id
     WHERE c.location_id = $1 AND c.credit_balance <> coalesce(h.remaining, 0)) AS off,
    (SELECT coalesce(sum(lots), 0) FROM held) AS lots,
    (SELECT coalesce(sum(out_of_range), 0) FROM held) AS out_of_range,
    (SELECT count(*) FROM credit_lots WHERE location_id = $1 AND remaining > 0
       AND expires_on < (now() AT TIME ZONE $2)::date) AS unexpired,
    (SELECT lots FROM expired) AS expired_lots,
    (SELECT entries FROM expire_entries) AS expire_entries,
    (SELECT lots FROM expire_entries) AS expire_sources,
    (SELECT taken FROM expire_entries) AS expired_amount
"""


async def check_lots(db: Database, location_id: UUID, timezone: str) -> Check:
    """Lots sum to every balance and stay in range; no lot past its day still holds anything;
    each lot left through one EXPIRE entry at most."""
    row = await db.fetchrow(LOTS_SQL, location_id, timezone)
    bad = row["off"] + row["out_of_range"] + row["unexpired"]
    bad += row["expire_entries"] - row["expire_sources"]
    return Check(
        "lots sum to the balances; expired once",
        bad == 0 and row["expired_lots"] > 0 and row["expire_entries"] > 0,
        f"{row['lots']:,} lots; {row['off']} balances differ from their lots, "
        f"{row['out_of_range']} lots out of range, {row['unexpired']} past their day still "
        f"holding; {row['expired_lots']:,} lots past their day, {row['expire_entries']:,} EXPIRE "
        f"entries of {row['expire_sources']:,} lots took {row['expired_amount']:,}",
    )
