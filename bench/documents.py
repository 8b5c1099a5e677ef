"""The documents the benchmarks' tills send, by id.

The gateways they measure run in production, where a till's key runs only trusted documents:
these are trusted through an operator's manifest (`GOCRM_TRUSTED_DOCUMENTS`, written once per
run), and sent as `documentId`, as a till sends them."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from gateway.graphql.trusted import document, write_manifest

QUOTE = """query BenchQuote($input: CheckoutInput!) { checkoutQuote(input: $input) {
  total { amount } discounts { id amount { amount } } credits { applied { amount } } } }"""
COMMIT = """mutation BenchCommit($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) { checkout { id total { amount } }
    errors { code } } }"""
CARD = (
    "query BenchCard($code: String!) { customer(cardCode: $code) "
    "{ id firstName groups { reference } wallet { balance { amount } } } }"
)
DOCUMENTS = {"BenchQuote": QUOTE, "BenchCommit": COMMIT, "BenchCard": CARD}


@cache
def manifest_path() -> str:
    folder = Path(tempfile.mkdtemp(prefix="gocrm-bench-documents-"))
    return str(write_manifest(DOCUMENTS, folder / "trusted.json"))


def by_id(body: str, variables: dict[str, Any]) -> dict[str, Any]:
    """A request naming the trusted document `body` by its id."""
    return {"documentId": f"sha256:{document(body, 'bench').id}", "variables": variables}
