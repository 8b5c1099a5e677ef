"""Messages over the API in the reader's language: Accept-Language, else the location's language
(`updateLocationSettings`), with stable ids and parameters in payload errors, GraphQL errors,
quote notices, connection reasons and system wallet descriptions."""

from __future__ import annotations

from dataclasses import replace
from string import Formatter
from typing import Any

from domain.access import Role
from models.tables.wallet import WalletEntry
from services import access
from services.i18n import catalog
from tests.helpers import CREATE_GROUP, Api, create_customer, create_group
from tests.wallet_helpers import credit_ok

ERRORS = "errors { code field message messageId params { name value } }"
CREATE_GROUP_FULL = f"""
mutation($input: CustomerGroupInput!) {{ createCustomerGroup(input: $input) {{ {ERRORS} }} }}"""
CREATE_CUSTOMER_FULL = f"""
mutation($input: CustomerInput!) {{ createCustomer(input: $input) {{ {ERRORS} }} }}"""
SYNCHRONIZE = f"""mutation {{ synchronize(channel: GOPOS) {{ {ERRORS} }} }}"""
SETTINGS = f"""
mutation($input: LocationSettingsInput!) {{
  updateLocationSettings(input: $input) {{ location {{ language currency }} {ERRORS} }}
}}"""
VIEWER = "{ viewer { location { language currency } } }"
QUOTE = """
query($input: CheckoutInput!) {
  checkoutQuote(input: $input) {
    discounts { kind name }
    messages
    notices { messageId text params { name value } }
  }
}"""
CONNECTIONS = """
{ customerGroups { connections { channel status detail
  reason { messageId text params { name value } } } } }"""


def _expected(language: str, message_id: str, params: list[dict[str, str]]) -> str:
    """The text the catalog of `language` makes of a message id and its rendered parameters."""
    values = {p["name"]: p["value"] for p in params}
    count = int(values["count"]) if values.get("count", "").isdigit() else None
    template = catalog(language).text(message_id, count)
    assert template is not None, message_id
    return "".join(
        literal + (values[field] if field is not None else "")
        for literal, field, _, _ in Formatter().parse(template)
    )


def _assert_from_catalog(language: str, message: str, message_id: str, params: Any) -> None:
    assert message == _expected(language, message_id, params)
    other = "en" if language == "pl" else "pl"
    assert message != _expected(other, message_id, params), message_id


async def test_a_polish_answer_carries_only_texts_of_the_polish_catalog(api: Api) -> None:
    polish = replace(api, language="pl")
    await create_group(api, "VIP")
    await create_customer(api, firstName="Anna")
    seen: list[tuple[str, Any, Any]] = []

    refused = [
        await polish.mutate(CREATE_GROUP_FULL, {"input": {"name": "VIP"}}),
        await polish.mutate(CREATE_GROUP_FULL, {"input": {"name": "x" * 300}}),
        await polish.mutate(
            CREATE_CUSTOMER_FULL, {"input": {"email": "nope", "cards": [{"code": ""}] * 2}}
        ),
        await polish.mutate(SYNCHRONIZE),
    ]
    for payload in refused:
        seen += [(e["message"], e["messageId"], e["params"]) for e in payload["errors"]]
    body = await polish.raw(QUOTE, {"input": {"cardCode": "NO-SUCH-CARD", "lines": []}})
    seen += [
        (e["message"], e["extensions"]["messageId"], e["extensions"]["params"])
        for e in body["errors"]
    ]
    connections = (await polish.data(CONNECTIONS))["customerGroups"][0]["connections"]
    seen += [(c["detail"], c["reason"]["messageId"], c["reason"]["params"]) for c in connections]

    assert [message_id for _, message_id, _ in seen] == [
        "group.reference_taken",
        "text.too_long",
        "email.invalid",
        "card.code_empty",
        "card.code_empty",
        "integration.not_configured",
        "bill.too_few_lines",
        "link.never_synced",
        "link.never_synced",
    ]
    for message, message_id, params in seen:
        _assert_from_catalog("pl", message, message_id, params)
    assert seen[0][0] == "Referencja „vip” jest już używana przez inną grupę."
    assert seen[0][2] == [{"name": "reference", "value": "vip"}]


async def test_quote_notices_and_the_credits_name_follow_the_language(api: Api) -> None:
    customer = await create_customer(api, firstName="Anna", cards=[{"code": "CARD-1"}])
    bill = {"cardCode": "CARD-1", "lines": [{"productId": "p", "quantity": "1", "unitPrice": "9"}]}

    polish = (await replace(api, language="pl").data(QUOTE, {"input": bill}))["checkoutQuote"]
    english = (await api.data(QUOTE, {"input": bill}))["checkoutQuote"]

    assert customer["id"]
    assert polish["notices"] == [
        {
            "messageId": "quote.no_credits",
            "text": "Brak kredytów promocyjnych: saldo wynosi 0.00.",
            "params": [{"name": "balance", "value": "0.00"}],
        }
    ]
    assert polish["messages"] == ["Brak kredytów promocyjnych: saldo wynosi 0.00."]
    assert english["messages"] == ["No promotional credits: the balance is 0.00."]
    assert english["notices"][0]["messageId"] == "quote.no_credits"


async def test_without_accept_language_the_location_language_is_used_and_can_be_changed(
    api: Api,
) -> None:
    unnamed = replace(api, language=None)
    german = replace(api, language="de-DE,de;q=0.9")

    assert (await unnamed.data(VIEWER))["viewer"]["location"] == {
        "language": "pl",
        "currency": "PLN",
    }
    first = await unnamed.mutate(CREATE_GROUP, {"input": {"name": ""}})
    assert first["errors"][0]["message"] == "Nazwa nie może być pusta."
    assert (await german.mutate(CREATE_GROUP, {"input": {"name": ""}}))["errors"][0][
        "message"
    ] == "Nazwa nie może być pusta."

    changed = await unnamed.mutate(SETTINGS, {"input": {"language": "en"}})

    assert changed == {"location": {"language": "en", "currency": "PLN"}, "errors": []}
    again = await unnamed.mutate(CREATE_GROUP, {"input": {"name": ""}})
    assert again["errors"][0]["message"] == "Name must not be empty."
    asked = await replace(api, language="pl").mutate(CREATE_GROUP, {"input": {"name": ""}})
    assert asked["errors"][0]["message"] == "Nazwa nie może być pusta."


async def test_an_unsupported_language_is_refused_and_changes_nothing(api: Api) -> None:
    refused = await api.mutate(SETTINGS, {"input": {"language": "de"}})

    assert refused == {
        "location": None,
        "errors": [
            {
                "code": "INVALID",
                "field": "input.language",
                "message": "Language 'de' is not supported; use one of: pl, en.",
                "messageId": "location.language",
                "params": [
                    {"name": "language", "value": "de"},
                    {"name": "languages", "value": "pl, en"},
                ],
            }
        ],
    }
    assert (await api.data(VIEWER))["viewer"]["location"]["language"] == "pl"


async def test_a_pos_key_may_not_change_settings(api: Api) -> None:
    till = await api.key_with_role(Role.POS)

    refused = await till.mutate(SETTINGS, {"input": {"language": "en"}})

    assert [(e["code"], e["messageId"]) for e in refused["errors"]] == [
        ("FORBIDDEN", "access.forbidden")
    ]
    assert (await api.data(VIEWER))["viewer"]["location"]["language"] == "pl"


async def test_a_location_selling_in_another_currency_speaks_english(api: Api) -> None:
    location, secret = await access.create_location("Cafe", currency="EUR")
    cafe = Api(api.http, secret, str(location.id), language=None)

    assert (await cafe.data(VIEWER))["viewer"]["location"] == {"language": "en", "currency": "EUR"}
    refused = await cafe.mutate(CREATE_GROUP, {"input": {"name": ""}})
    assert refused["errors"][0]["message"] == "Name must not be empty."


COMMIT = """
mutation($input: CheckoutInput!, $key: String!) {
  commitCheckout(input: $input, idempotencyKey: $key) {
    checkout { discounts { kind name } } errors { code }
  }
}"""
ENTRIES = """
query($id: ID!) { customer(id: $id) { wallet { entries { edges { node { kind description } } } } } }
"""


async def test_the_system_writes_codes_into_the_ledger_and_each_reader_reads_them_in_turn(
    api: Api,
) -> None:
    customer = await create_customer(api, firstName="Anna", cards=[{"code": "CARD-2"}])
    await credit_ok(api, {"customerIds": [customer["id"]]}, "ADD", "5.00", description="Na start")
    bill = {"cardCode": "CARD-2", "lines": [{"productId": "p", "quantity": "1", "unitPrice": "9"}]}

    sold = await replace(api, language="pl").mutate(COMMIT, {"input": bill, "key": "sale-1"})

    assert sold["checkout"]["discounts"] == [
        {"kind": "PROMOTIONAL_CREDITS", "name": "Kredyty promocyjne"}
    ]
    rows = await WalletEntry.filter(customer_id=customer["id"]).order_by("created_at", "id")
    stored = [(row.kind, row.description) for row in rows]
    assert stored == [("ADD", "Na start"), ("REDEEM", "entry.redeem")]
    for language, redeemed in (
        ("pl", "Kredyty wykorzystane przy zakupie"),
        ("en", "Credits used at checkout"),
    ):
        reader = replace(api, language=language)
        edges = (await reader.data(ENTRIES, {"id": customer["id"]}))["customer"]["wallet"][
            "entries"
        ]
        assert [e["node"] for e in edges["edges"]] == [
            {"kind": "REDEEM", "description": redeemed},
            {"kind": "ADD", "description": "Na start"},
        ]
