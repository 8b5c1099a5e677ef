"""The typed decoders of upstream pages (msgspec) against the generic readers they stand in
for: on any body, a typed decoder either builds exactly the records the generic reader builds
or leaves the body to it (`Unchecked`); it never accepts what the generic reader refuses. A
well-formed page is read by the typed decoder alone, and a page it leaves is still read."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from adapters.goorder import schemas as goorder
from adapters.gopos import fetch_gopos
from adapters.gopos import schemas as gopos
from adapters.gopos.simulator import GoposSimulator, create_gopos_simulator
from adapters.http import session as upstream_session
from adapters.wire import FieldError, Unchecked
from domain.upstream import GoposCredentials
from tests.upstream_helpers import FakeTime, open_clients
from tests.upstream_helpers import fake as fake

FIXTURES = Path(__file__).parent / "fixtures"
GOPOS: dict[str, Any] = json.loads((FIXTURES / "gopos.json").read_text(encoding="utf-8"))
GOORDER: dict[str, Any] = json.loads((FIXTURES / "goorder.json").read_text(encoding="utf-8"))
CREDENTIALS = GoposCredentials(
    base_url="http://gopos.test",
    client_id="demo",
    client_secret=GOPOS["client_secret"],
    organization_id="1001",
)

REFUSED = "refused"
LEFT = "left to the generic reader"

# Values that sit on either side of a check: types, nulls, bounds, control characters, the
# spellings of decimals and currencies, ids as integers and strings.
TRICKY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(
        [
            "PERCENT", "AMOUNT", "ENABLED", "DISABLED", "ORDER_PERCENT", "ORDER_AMOUNT",
            "MANUAL", "AUTOMATIC", "12.50", "0", "-1.5", "1.00\n", " 1.00", "1e3", "1.",
            "1.1234567890123", "123456789012345678901", "PLN", "pln", "PLNX", "", " ",
            "Stały\u00a0klient", "x\x00", "x\u202e", "\ud800", "r" * 500, "r" * 501,
            "1" * 200, "1" * 201,
        ]
    ),
    st.lists(st.integers(min_value=-3, max_value=3) | st.sampled_from(["3", "", True]), max_size=3),
)  # fmt: skip


def _object(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """`valid`, with some fields left out and some replaced by tricky values."""

    def mutate(changes: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
        return {k: changes.get(k, v) for k, v in valid.items() if k not in dropped} | {
            k: v for k, v in changes.items() if k not in valid
        }

    keys = [*valid, "extra"]
    return st.builds(
        mutate,
        st.dictionaries(st.sampled_from(keys), TRICKY, max_size=3),
        st.sets(st.sampled_from(list(valid)), max_size=1),
    )


MONEY = st.one_of(
    st.none(),
    st.fixed_dictionaries({"amount": TRICKY, "currency": TRICKY}),
    _object({"amount": "50.00", "currency": "PLN"}),
)


def _group() -> st.SearchStrategy[dict[str, Any]]:
    return _object(GOPOS["groups"][0]) | _object(GOPOS["groups"][0]).map(
        lambda group: group | {"daily_discount_limit": None}
    ).flatmap(lambda group: MONEY.map(lambda money: group | {"daily_discount_limit": money}))


def _body(
    items: st.SearchStrategy[Any], key: str, extra: dict[str, Any]
) -> st.SearchStrategy[bytes]:
    page = st.lists(items, max_size=3).map(lambda found: {key: found, **extra})
    root = st.one_of(
        page, TRICKY, page.map(lambda body: {k: v for k, v in body.items() if k != key})
    )
    return st.builds(
        lambda body, ascii_only: json.dumps(body, ensure_ascii=ascii_only).encode(
            "utf-8", "surrogatepass"
        ),
        root,
        st.booleans(),
    )


def outcome(read: Callable[[bytes], Any], body: bytes) -> Any:
    try:
        return read(body)
    except Unchecked:
        return LEFT


def generic(parse: Callable[[object], Any], body: bytes) -> Any:
    try:
        return parse(json.loads(body))
    except (ValueError, RecursionError, FieldError):  # not JSON, or a field refused
        return REFUSED


DIFFERENTIAL = settings(max_examples=400, deadline=None, database=None)


@DIFFERENTIAL
@given(body=_body(_group(), "data", {}))
@example(body=json.dumps({"data": GOPOS["groups"]}).encode())
@example(body=b'{"data": [{"id": 1, "id": 2, "name": "a", "reference": null,'
         b' "daily_discount_limit": null, "discount_ids": []}]}')  # fmt: skip
@example(body=b'{"data": [{"id": 1, "name": "a", "reference": null, "discount_ids": [],'
         b' "daily_discount_limit": {"amount": "1.00\\n", "currency": "PLN"}}]}')  # fmt: skip
@example(body=b'{"data": [], "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
def test_a_groups_page_is_typed_as_the_generic_reader_reads_it(body: bytes) -> None:
    typed = outcome(gopos.decode_groups_page, body)
    assert typed == LEFT or typed == generic(gopos.parse_groups_page, body)


@DIFFERENTIAL
@given(body=_body(_object(GOPOS["discounts"][0]), "data", {}))
@example(body=json.dumps({"data": GOPOS["discounts"]}).encode())
def test_a_discounts_page_is_typed_as_the_generic_reader_reads_it(body: bytes) -> None:
    typed = outcome(gopos.decode_discounts_page, body)
    assert typed == LEFT or typed == generic(gopos.parse_discounts_page, body)


@DIFFERENTIAL
@given(
    body=_body(
        _object(GOORDER["promotions"][0]),
        "items",
        {"page": 1, "pages": 1, "total": 1},
    )
    | st.builds(
        lambda page, pages, total: json.dumps(
            {"items": [], "page": page, "pages": pages, "total": total}
        ).encode(),
        TRICKY,
        TRICKY,
        TRICKY,
    )
)
@example(
    body=json.dumps({"items": GOORDER["promotions"], "page": 1, "pages": 1, "total": 2}).encode()
)
def test_a_promotions_page_is_typed_as_the_generic_reader_reads_it(body: bytes) -> None:
    typed = outcome(goorder.decode_promotions_page, body)
    assert typed == LEFT or typed == generic(goorder.parse_promotions_page, body)


@pytest.mark.parametrize(
    ("read", "parse", "body"),
    [
        (gopos.decode_groups_page, gopos.parse_groups_page, {"data": GOPOS["groups"]}),
        (gopos.decode_discounts_page, gopos.parse_discounts_page, {"data": GOPOS["discounts"]}),
        (
            goorder.decode_promotions_page,
            goorder.parse_promotions_page,
            {"items": GOORDER["promotions"], "page": 1, "pages": 1, "total": 2},
        ),
    ],
)
def test_a_well_formed_page_is_read_by_the_typed_decoder(
    read: Callable[[bytes], Any], parse: Callable[[object], Any], body: dict[str, Any]
) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    typed = read(raw)
    assert typed == parse(json.loads(raw))
    assert len(typed if isinstance(typed, list) else typed.promotions) == 2


async def test_a_sync_reads_its_pages_without_generic_json(
    fake: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the token's answer goes through `json.loads`; every page is typed."""
    app: Starlette = create_gopos_simulator(GOPOS)
    simulator: GoposSimulator = app.state.simulator
    simulator.generate(groups=250, discounts=120)
    read: list[bytes] = []
    loads = json.loads

    def counted(body: bytes) -> Any:
        read.append(body)
        return loads(body)

    monkeypatch.setattr(upstream_session.json, "loads", counted)
    async with open_clients(app, fake, read_ahead_pages=1) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert (len(snapshot.groups), len(snapshot.discounts)) == (250, 120)
    assert len(read) == 1
    assert b"access_token" in read[0]


async def test_a_page_the_typed_decoder_leaves_is_read_by_the_generic_reader(
    fake: FakeTime,
) -> None:
    """A no-break space is printable to nobody but the generic reader, which keeps it."""
    app: Starlette = create_gopos_simulator(GOPOS)
    simulator: GoposSimulator = app.state.simulator
    simulator.groups[0]["name"] = "Stały\u00a0klient"
    body = json.dumps({"data": simulator.groups}).encode()
    assert outcome(gopos.decode_groups_page, body) == LEFT

    async with open_clients(app, fake) as clients:
        snapshot = await fetch_gopos(clients, CREDENTIALS, deadline=60)

    assert [group.name for group in snapshot.groups] == ["Stały\u00a0klient", "Pracownicy"]
