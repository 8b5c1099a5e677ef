"""The documents the fault suite's tills send. The gateways it starts run in production, where
a till's key runs only trusted documents: these are trusted through an operator's manifest
(`GOCRM_TRUSTED_DOCUMENTS`), as a restaurant's own till software's would be, so every fault run
also loads an operator's manifest in real processes."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from gateway.graphql.trusted import write_manifest

QUOTE = """query FaultQuote($input: CheckoutInput!) {
  checkoutQuote(input: $input) {
    subtotal { amount } total { amount } credits { applied { amount } } } }"""
COMMIT = """mutation FaultCommit($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { id total { amount } creditsUsed { amount } cashbackGranted { amount } }
    errors { code field message } } }"""
TYPENAME = "query Typename { __typename }"
BY_CARD = "query FaultByCard($code: String!) { customer(cardCode: $code) { firstName } }"

DOCUMENTS = {
    "FaultQuote": QUOTE,
    "FaultCommit": COMMIT,
    "Typename": TYPENAME,
    "FaultByCard": BY_CARD,
}


@cache
def manifest_path() -> str:
    """The manifest of `DOCUMENTS`, written once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="gocrm-fault-documents-"))
    return str(write_manifest(DOCUMENTS, folder / "trusted.json"))
