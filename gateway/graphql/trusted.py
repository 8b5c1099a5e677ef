"""Trusted documents: the GraphQL documents a till, a kiosk or an online store may run.

The documents the product's clients send are known in advance: they live as `.graphql` files
under `documents/` (one named operation per file, with the fragments it uses): the till's in
`till/`, the web console's in `console/`, and the README walkthrough's steps in `walkthrough/`
(`tests/test_readme.py` holds the README to their text). `documents/manifest.json` lists them
in Apollo's persisted-query manifest format, each with the SHA-256 of its text as its id.
`tests/test_trusted_documents.py` fails when the files and the manifest disagree;
`python -m gateway.graphql.trusted` writes the manifest again. The web console's documents
are also written as the ES module it imports (`python -m gateway.graphql.trusted --console`),
so that the console sends each by its id and keeps working where ADMIN keys too run only
trusted documents. An operator adds the documents of their own clients with a manifest of the
same format named by `GOCRM_TRUSTED_DOCUMENTS` (`write_manifest` writes one), checked and
loaded at start-up with the shipped one.

A request names a trusted document instead of sending its text:

- by `documentId` (`sha256:<hex>`), as the GraphQL-over-HTTP persisted-documents proposal has it;
- by Apollo's automatic persisted queries (`extensions.persistedQuery.sha256Hash`). A hash sent
  with its text registers that text for later requests by hash (per process, at most
  `MAX_REGISTERED`), but only for a key that may run documents of its own; an unknown hash is
  `PERSISTED_QUERY_NOT_FOUND`, which tells an Apollo client to send the text.

Who may run documents of their own (ad hoc): in development every key, so that GraphiQL and
tests can explore; in production ADMIN keys, unless `GOCRM_TRUSTED_DOCUMENTS_FOR_ADMIN` says
otherwise. Any other key sends a trusted document, by id, by hash, or as its exact text; anything
else is refused with `TRUSTED_DOCUMENT_REQUIRED` before it is parsed. That also bounds what a
stolen till key can ask for to what a till asks.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    parse,
)

from domain.access import Role
from domain.errors import ErrorCode
from domain.messages import msg
from gateway.graphql.execute import Schema
from gateway.graphql.request import BadRequestError
from services.i18n import render

DOCUMENTS = Path(__file__).parent / "documents"
MANIFEST = DOCUMENTS / "manifest.json"
CONSOLE_DOCUMENTS = DOCUMENTS / "console"
MANIFEST_FORMAT = "apollo-persisted-query-manifest"

MAX_DOCUMENTS = 1_000  # in one manifest
MAX_BODY_CHARS = 100_000  # of one document's text
MAX_REGISTERED = 1_000  # texts registered by hash, per process

# The till's documents (`documents/till/`): of the shipped ones, those that run by a compiled
# plan (`gateway.graphql.plan`).
PLANNED = frozenset({"CheckoutQuote", "CommitCheckout", "RefundCheckout", "CustomerByCard"})

_HEX = re.compile(r"[0-9a-f]{64}")
_DOCUMENT_ID = re.compile(r"sha256:([0-9a-f]{64})")


class ManifestError(ValueError):
    """A manifest or a document file that cannot be trusted; the message names it."""


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    id: str  # the SHA-256 of `body`, in lower-case hex
    name: str  # the operation's name
    type: str  # "query" or "mutation"
    body: str


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _operation(body: str, where: str) -> OperationDefinitionNode:
    """The one named operation of a document's text (fragments besides it allowed)."""
    try:
        document: DocumentNode = parse(body)
    except GraphQLError as error:
        raise ManifestError(f"{where}: not a GraphQL document: {error.message}") from error
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    others = [
        d
        for d in document.definitions
        if not isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    if len(operations) != 1 or others:
        raise ManifestError(f"{where}: a trusted document holds one operation and its fragments")
    operation = operations[0]
    if operation.name is None:
        raise ManifestError(f"{where}: a trusted document's operation has a name")
    if operation.operation.value not in ("query", "mutation"):
        raise ManifestError(f"{where}: only queries and mutations can be trusted")
    return operation


def document(body: str, where: str) -> TrustedDocument:
    """A document's text as a trusted document, checked (`ManifestError` naming `where`)."""
    if len(body) > MAX_BODY_CHARS:
        raise ManifestError(f"{where}: longer than {MAX_BODY_CHARS:,} characters")
    operation = _operation(body, where)
    assert operation.name is not None
    return TrustedDocument(sha256_of(body), operation.name.value, operation.operation.value, body)


def documents_in(folder: Path = DOCUMENTS) -> list[TrustedDocument]:
    """The documents of the `.graphql` files under `folder`, by path. A file's text, less its
    trailing white space, is the document; its operation is named as the file is, and no other
    file's is, so that a name says which document a request ran."""
    found: dict[str, TrustedDocument] = {}
    for path in sorted(folder.rglob("*.graphql")):
        where = str(path.relative_to(folder))
        trusted = document(path.read_text("utf-8").rstrip(), where)
        if trusted.name != path.stem:
            raise ManifestError(f"{where}: its operation is named {trusted.name}")
        if trusted.name in found:
            raise ManifestError(f"{where}: another file's operation is named {trusted.name} too")
        found[trusted.name] = trusted
    return list(found.values())


def manifest_of(documents: Iterable[TrustedDocument]) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "operations": [
            {"id": d.id, "name": d.name, "type": d.type, "body": d.body} for d in documents
        ],
    }


def manifest_text(documents: Iterable[TrustedDocument]) -> str:
    return json.dumps(manifest_of(documents), indent=2, ensure_ascii=False) + "\n"


def write_manifest(documents: Mapping[str, str], path: Path) -> Path:
    """The manifest of `documents` (texts by operation name, each checked: `ManifestError`
    naming it), written to `path`, as an operator's manifest (`GOCRM_TRUSTED_DOCUMENTS`)."""
    checked = []
    for name, body in documents.items():
        trusted = document(body, name)
        if trusted.name != name:
            raise ManifestError(f"{name}: its operation is named {trusted.name}")
        checked.append(trusted)
    path.write_text(manifest_text(checked), "utf-8")
    return path


def console_module(documents: Iterable[TrustedDocument]) -> str:
    """The ES module the web console imports its documents from: for each, a constant named as
    its operation holding its id (`sha256:<hex>`, what the console sends) and its text."""
    lines = [
        "// The console's GraphQL documents, trusted documents of the gateway: the console sends",
        "// each by its id. Written from gateway/graphql/documents/console/*.graphql by",
        "// `python -m gateway.graphql.trusted --console`; do not edit.",
        "",
    ]
    for d in documents:
        text = json.dumps(d.body, ensure_ascii=False)
        lines.append(f'export const {d.name} = {{ id: "sha256:{d.id}", text: {text} }};')
    return "\n".join(lines) + "\n"


def load_manifest(text: str, source: str) -> list[TrustedDocument]:
    """The documents of a manifest in Apollo's format, each checked: its id is the SHA-256 of
    its body, and the body one named query or mutation. `ManifestError` names `source`."""
    try:
        manifest = json.loads(text)
    except ValueError as error:
        raise ManifestError(f"{source}: not JSON") from error
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{source}: not an {MANIFEST_FORMAT}")
    if manifest.get("version") != 1:
        raise ManifestError(f"{source}: only version 1 of the format is known")
    operations = manifest.get("operations")
    if not isinstance(operations, list) or len(operations) > MAX_DOCUMENTS:
        raise ManifestError(f"{source}: 'operations' is a list of at most {MAX_DOCUMENTS:,}")
    found = []
    for index, item in enumerate(operations):
        where = f"{source}: operations[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("body"), str):
            raise ManifestError(f"{where}: has no 'body'")
        trusted = document(item["body"], where)
        if item.get("id") != trusted.id:
            raise ManifestError(f"{where}: its id is not the SHA-256 of its body")
        if item.get("name") != trusted.name or item.get("type") != trusted.type:
            raise ManifestError(f"{where}: its name or type is not its operation's")
        found.append(trusted)
    return found


def load_file(path: str | Path) -> list[TrustedDocument]:
    """A manifest file, checked (`ManifestError` naming it)."""
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot be read ({error})") from error
    return load_manifest(text, str(path))


@cache
def _shipped() -> tuple[TrustedDocument, ...]:
    return tuple(load_file(MANIFEST))


def trusted_documents(operator_manifest: str | None) -> list[TrustedDocument]:
    """The product's documents (its shipped manifest) and the operator's, if named."""
    shipped = list(_shipped())
    return shipped if operator_manifest is None else [*shipped, *load_file(operator_manifest)]


def trusted_only(*, production: bool, for_admin: bool) -> frozenset[Role]:
    """The roles whose keys may run only trusted documents (see the module)."""
    if not production:
        return frozenset()
    return frozenset({Role.POS, Role.ADMIN} if for_admin else {Role.POS})


def prepared(schema: Schema, documents: list[TrustedDocument]) -> TrustedDocuments:
    """The documents, each parsed and validated against `schema` once, now; the till's
    (`PLANNED`) and the operator's, which are their own tills' and kiosks', compiled too
    (`gateway.graphql.plan`). `ManifestError` names the first that is not valid."""
    shipped = {d.id for d in _shipped()}
    planned = [d.body for d in documents if d.name in PLANNED or d.id not in shipped]
    refused = schema.prepare((d.body for d in documents), planned=planned)
    for trusted in documents:
        if errors := refused.get(trusted.body):
            raise ManifestError(
                f"the trusted document {trusted.name} (sha256:{trusted.id}) is not valid"
                f" against the schema: {errors[0].message}"
            )
    return TrustedDocuments(documents)


# ----------------------------------------------------------------------------- requests


def _hash_of(persisted: object) -> str:
    """The SHA-256 an APQ extension names."""
    digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    if (
        not isinstance(persisted, dict)
        or persisted.get("version") != 1
        or not isinstance(digest, str)
        or not _HEX.fullmatch(digest)
    ):
        raise BadRequestError(
            "'persistedQuery' is version 1 with a 'sha256Hash' of 64 lower-case hex digits."
        )
    return digest


def _not_found() -> BadRequestError:
    # The message is the protocol's word for it: Apollo clients send the text when they see it.
    return BadRequestError("PersistedQueryNotFound", code="PERSISTED_QUERY_NOT_FOUND")


class TrustedDocuments:
    """The trusted documents by id, and the texts registered by hash (see the module)."""

    def __init__(self, documents: Iterable[TrustedDocument]) -> None:
        self.documents: dict[str, TrustedDocument] = {d.id: d for d in documents}
        self.registered: LRUCache[str, str] = LRUCache(maxsize=MAX_REGISTERED)

    def __len__(self) -> int:
        return len(self.documents)

    def query_of(self, params: Mapping[str, Any], *, ad_hoc: bool, language: str) -> dict[str, Any]:
        """`params` with the text of the document they name as their `query`; refused
        (`BadRequestError`) when they name none this key may run."""
        document_id = params.get("documentId")
        extensions = params.get("extensions")
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        query = params.get("query")
        if document_id is not None:
            if query is not None:
                raise BadRequestError("Send either 'documentId' or 'query', not both.")
            found = _DOCUMENT_ID.fullmatch(document_id) if isinstance(document_id, str) else None
            if found is None:
                raise BadRequestError("'documentId' is 'sha256:' and 64 lower-case hex digits.")
            return {**params, "query": self._known(found.group(1), ad_hoc)}
        if persisted is not None:
            digest = _hash_of(persisted)
            if query is None:
                return {**params, "query": self._known(digest, ad_hoc)}
            if not isinstance(query, str) or sha256_of(query) != digest:
                raise BadRequestError(
                    "provided sha does not match query", code="PERSISTED_QUERY_HASH_MISMATCH"
                )
            if digest not in self.documents:
                if not ad_hoc:
                    raise self.required(language)
                self.registered[digest] = query
            return dict(params)
        if ad_hoc or (isinstance(query, str) and sha256_of(query) in self.documents):
            return dict(params)
        raise self.required(language)

    def _known(self, digest: str, ad_hoc: bool) -> str:
        trusted = self.documents.get(digest)
        if trusted is not None:
            return trusted.body
        registered = self.registered.get(digest) if ad_hoc else None
        if registered is None:
            raise _not_found()
        return registered

    @staticmethod
    def required(language: str) -> BadRequestError:
        return BadRequestError(
            render(msg("request.trusted_document_required"), language),
            code=ErrorCode.TRUSTED_DOCUMENT_REQUIRED.value,
        )


# python -m gateway.graphql.trusted > gateway/graphql/documents/manifest.json
# python -m gateway.graphql.trusted --console > gateway/console/static/documents.js
if __name__ == "__main__":
    if sys.argv[1:] == ["--console"]:
        sys.stdout.write(console_module(documents_in(CONSOLE_DOCUMENTS)))
    elif sys.argv[1:]:
        sys.exit("usage: python -m gateway.graphql.trusted [--console]")
    else:
        sys.stdout.write(manifest_text(documents_in()))
