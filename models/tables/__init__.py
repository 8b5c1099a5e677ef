"""The Tortoise table classes: what the migrations create, read and written by the repositories
of `models` alone (services never see a row; an import-linter contract says so).

`crm` holds locations, API keys, customers with their cards, groups and memberships, and the
idempotency keys; `wallet` the ledger, bulk operations, schedules, credit lots and their
expiry runs; `integrations` the GoPOS and GoOrder settings, sync runs and the mirror;
`checkouts` the till's sales and refunds.
"""
