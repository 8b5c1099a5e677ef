from typing import Any

from tests.helpers import Api, create_customer, create_group

SET_CREDITS = """
mutation($input: SetPromotionalCreditsInput!) {
  setPromotionalCredits(input: $input) {
    operation { id status total processed amount { amount currency } }
    schedule { id nextRunOn lastRunOn target customerCount }
    errors { code field message }
  }
}"""

WALLET = """
query($id: ID!) {
  customer(id: $id) {
    wallet { balance { amount } entries { edges { node { kind requestedAmount { amount }
      delta { amount } balanceAfter { amount } source actor } } } }
  }
}"""


async def wallet_of(api: Api, customer_id: str) -> dict[str, Any]:
    data = await api.data(WALLET, {"id": customer_id})
    result: dict[str, Any] = data["customer"]["wallet"]
    return result


async def test_add_reduce_set_on_one_customer(api: Api) -> None:
    customer = await create_customer(api, firstName="Ala")
    target = {"customerIds": [customer["id"]]}

    for operation, amount in (("ADD", "50.00"), ("REDUCE", "80.00"), ("SET", "20.00")):
        payload = await api.mutate(
            SET_CREDITS, {"input": {"target": target, "operation": operation, "amount": amount}}
        )
        assert payload["errors"] == []
        assert payload["operation"]["status"] == "SUCCEEDED"

    wallet = await wallet_of(api, customer["id"])
    assert wallet["balance"] == {"amount": "20.00"}
    assert [
        (
            e["node"]["kind"],
            e["node"]["requestedAmount"]["amount"],
            e["node"]["delta"]["amount"],
            e["node"]["balanceAfter"]["amount"],
            e["node"]["source"],
        )
        for e in wallet["entries"]["edges"]
    ] == [
        ("SET", "20.00", "20.00", "20.00", "MANUAL"),
        ("REDUCE", "80.00", "-50.00", "0.00", "MANUAL"),
        ("ADD", "50.00", "50.00", "50.00", "MANUAL"),
    ]


async def test_group_filter_and_schedule(api: Api) -> None:
    group = await create_group(api, "VIP")
    members = [await create_customer(api, groupIds=[group["id"]]) for _ in range(3)]
    outsider = await create_customer(api)

    payload = await api.mutate(
        SET_CREDITS,
        {
            "input": {
                "target": {"filter": {"groupIds": [group["id"]]}},
                "operation": "ADD",
                "amount": "10.00",
            }
        },
    )
    assert payload["operation"]["total"] == 3
    assert payload["operation"]["status"] == "SUCCEEDED"
    assert [(await wallet_of(api, m["id"]))["balance"]["amount"] for m in members] == [
        "10.00"
    ] * 3
    assert (await wallet_of(api, outsider["id"]))["balance"]["amount"] == "0.00"
