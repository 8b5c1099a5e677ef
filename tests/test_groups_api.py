"""Customer groups over the API: references, validation, updates, deletion and membership."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from models import groups as group_repository
from models.tables.crm import CustomerGroup
from tests.builders import (
    ADD_TO_GROUP,
    CUSTOMER_IDS,
    DELETE_GROUP,
    GET_CUSTOMER,
    GET_GROUP,
    LIST_GROUPS,
    REMOVE_FROM_GROUP,
    UPDATE_GROUP,
    customer_ids,
    snapshot,
)
from tests.english import checked
from tests.helpers import CREATE_GROUP, Api, create_customer, create_group


async def _create(api: Api, **fields: Any) -> dict[str, Any]:
    return await api.mutate(CREATE_GROUP, {"input": fields})


async def _update(api: Api, group_id: str, **fields: Any) -> dict[str, Any]:
    return await api.mutate(UPDATE_GROUP, {"id": group_id, "input": fields})


async def _groups(api: Api) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = (await api.data(LIST_GROUPS))["customerGroups"]
    return groups


async def _group(api: Api, group_id: str) -> dict[str, Any]:
    group: dict[str, Any] = (await api.data(GET_GROUP, {"id": group_id}))["customerGroup"]
    return group


def _errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


# ------------------------------------------------------------------ references


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("Stały klient", "staly-klient"),
        ("Żółta kartka", "zolta-kartka"),
        ("  VIP  ", "vip"),
        ("Klient: Złoty / 10%", "klient-zloty-10"),
        ("ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż", "acelnoszz-acelnoszz"),
    ],
)
async def test_the_reference_is_generated_from_the_name(
    api: Api, name: str, reference: str
) -> None:
    payload = await _create(api, name=name)

    assert payload["errors"] == []
    group = payload["group"]
    assert group["name"] == name.strip()
    assert group["reference"] == reference
    assert group["description"] is None
    assert group["cashbackPercent"] is None
    assert group["customerCount"] == 0
    fetched = await _group(api, group["id"])
    assert {k: fetched[k] for k in group} == group


@pytest.mark.parametrize(
    ("reference", "stored"),
    [
        ("  GOLD-Club_1 ", "gold-club-1"),
        ("a b", "a-b"),
        ("ｖｉｐ", "vip"),  # full-width letters
        ("Stały  Klient", "staly-klient"),
    ],
)
async def test_an_explicit_reference_is_normalised_by_the_rule_that_makes_references(
    api: Api, reference: str, stored: str
) -> None:
    payload = await _create(api, name="Złoci", reference=reference)

    assert payload["errors"] == []
    assert payload["group"]["reference"] == stored
    assert [g["reference"] for g in await _groups(api)] == [stored]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "../../etc",
            "Reference may contain only letters, digits, spaces, dashes and underscores.",
        ),
        ("vip.gold", "Reference may contain only letters, digits, spaces, dashes and underscores."),
        ("vip\x1b", "Reference must not contain control characters (U+001B)."),
        ("v\u202eip", "Reference must not contain control characters (U+202E)."),
        ("---", "Reference must contain a letter or a digit."),
    ],
)
async def test_an_explicit_reference_that_normalising_would_change_is_invalid(
    api: Api, reference: str, message: str
) -> None:
    group = await create_group(api, "VIP")
    before = await snapshot(api)

    created = await _create(api, name="Other", reference=reference)
    updated = await _update(api, group["id"], reference=reference)

    error = {"code": "INVALID", "field": "input.reference", "message": message}
    assert created == {"group": None, "errors": [error]}
    assert updated == {"group": None, "errors": [error]}
    assert await snapshot(api) == before


async def test_a_generated_reference_clash_is_a_duplicate_on_the_name(api: Api) -> None:
    # given a group "Stały klient" (staly-klient)
    await create_group(api, "Stały klient")
    before = await snapshot(api)

    # when another name makes the same reference
    payload = await _create(api, name="STAŁY   klient!")

    # then it is refused on the name: no silent suffix, no second group
    assert payload["group"] is None
    assert payload["errors"] == [
        {
            "code": "DUPLICATE",
            "field": "input.name",
            "message": "Reference 'staly-klient' is already used by another group.",
        }
    ]
    assert await snapshot(api) == before


@pytest.mark.parametrize("reference", ["staly-klient", "  STALY-Klient "])
async def test_an_explicit_reference_clash_is_a_duplicate_on_the_reference(
    api: Api, reference: str
) -> None:
    await create_group(api, "Stały klient")
    before = await snapshot(api)

    payload = await _create(api, name="Another name", reference=reference)

    assert payload["group"] is None
    assert _errors(payload) == [("DUPLICATE", "input.reference")]
    assert await snapshot(api) == before
    assert [g["reference"] for g in await _groups(api)] == ["staly-klient"]


@pytest.mark.parametrize("name", ["", "   ", None])
async def test_a_group_needs_a_name(api: Api, name: str | None) -> None:
    payload = await _create(api, name=name, reference="no-name")

    assert payload["group"] is None
    assert payload["errors"] == [
        {"code": "REQUIRED", "field": "input.name", "message": "Name must not be empty."}
    ]
    assert await _groups(api) == []


async def test_an_omitted_name_is_required_too(api: Api) -> None:
    payload = await _create(api)

    assert _errors(payload) == [("REQUIRED", "input.name")]
    assert await _groups(api) == []


async def test_a_name_without_letters_needs_an_explicit_reference(api: Api) -> None:
    refused = await _create(api, name="!!!")
    accepted = await _create(api, name="!!!", reference="bang")

    assert _errors(refused) == [("REQUIRED", "input.reference")]
    assert accepted["errors"] == []
    assert [(g["name"], g["reference"]) for g in await _groups(api)] == [("!!!", "bang")]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "N" * 101}, [("INVALID", "input.name")]),
        ({"reference": "r" * 65}, [("INVALID", "input.reference")]),
        ({"reference": "   "}, [("INVALID", "input.reference")]),
        ({"description": "d" * 2001}, [("INVALID", "input.description")]),
        ({"name": "\x1b[31mVIP"}, [("INVALID", "input.name")]),
        ({"name": "\u202eVIP"}, [("INVALID", "input.name")]),
        ({"name": "Two\nlines"}, [("INVALID", "input.name")]),
        ({"description": "Our\x07regulars"}, [("INVALID", "input.description")]),
        ({"description": "\u202eOur regulars"}, [("INVALID", "input.description")]),
        (
            {"name": "\x1b", "description": "\u202e", "cashbackPercent": "-1"},
            [
                ("INVALID", "input.name"),
                ("INVALID", "input.description"),
                ("INVALID", "input.cashbackPercent"),
            ],
        ),
    ],
)
async def test_out_of_range_text_is_invalid(
    api: Api, fields: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    payload = await _create(api, **{"name": "Valid", **fields})

    assert payload["group"] is None
    assert _errors(payload) == errors
    assert await _groups(api) == []


@pytest.mark.parametrize("field", ["name", "reference", "description"])
async def test_a_nul_character_is_invalid_with_its_path_and_changes_nothing(
    api: Api, field: str
) -> None:
    group = await create_group(api, "VIP")
    before = await snapshot(api)

    created = await api.raw(CREATE_GROUP, {"input": {"name": "Valid", field: "a\x00b"}})
    updated = await api.raw(UPDATE_GROUP, {"id": group["id"], "input": {field: "a\x00b"}})

    for body in (created, updated):
        assert body.get("data") is None
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
            ("INVALID", f"input.{field}")
        ]
    assert await snapshot(api) == before


# ------------------------------------------------------------------ cashback


@pytest.mark.parametrize("percent", ["0", "0.00", "101", "100.01", "-5", "2.505", "0.001"])
async def test_an_out_of_range_cashback_is_invalid(api: Api, percent: str) -> None:
    payload = await _create(api, name="Cashback", cashbackPercent=percent)

    assert payload["group"] is None
    assert _errors(payload) == [("INVALID", "input.cashbackPercent")]
    assert await _groups(api) == []


@pytest.mark.parametrize("percent", ["NaN", "Infinity", "1e2", "+5", " 5"])
async def test_a_cashback_that_is_not_a_decimal_is_refused_by_the_scalar(
    api: Api, percent: str
) -> None:
    body = await api.raw(CREATE_GROUP, {"input": {"name": "Cashback", "cashbackPercent": percent}})

    assert "data" not in body or body["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]] == [
        ("INVALID", "input.cashbackPercent")
    ]
    assert await _groups(api) == []


@pytest.mark.parametrize(
    ("percent", "returned"),
    [("2.50", "2.50"), ("2.5", "2.50"), ("0.01", "0.01"), ("100", "100.00"), (None, None)],
)
async def test_a_valid_cashback_is_stored_with_two_decimals(
    api: Api, percent: str | None, returned: str | None
) -> None:
    payload = await _create(api, name="Cashback", cashbackPercent=percent)

    assert payload["errors"] == []
    assert payload["group"]["cashbackPercent"] == returned
    assert (await _group(api, payload["group"]["id"]))["cashbackPercent"] == returned


# ------------------------------------------------------------------ update


@pytest.fixture
async def regulars(api: Api) -> dict[str, Any]:
    return await create_group(
        api, "Stały klient", description="Our regulars", cashbackPercent="2.50"
    )


async def test_renaming_keeps_the_reference(api: Api, regulars: dict[str, Any]) -> None:
    payload = await _update(api, regulars["id"], name="Bardzo stały klient")

    assert payload["errors"] == []
    assert {k: payload["group"][k] for k in regulars} == {
        **regulars,
        "name": "Bardzo stały klient",
    }
    assert payload["group"]["reference"] == "staly-klient"
    assert (await _group(api, regulars["id"]))["reference"] == "staly-klient"


async def test_update_changes_only_the_given_fields(api: Api, regulars: dict[str, Any]) -> None:
    payload = await _update(api, regulars["id"], reference=" Regular ", cashbackPercent="5")

    assert payload["errors"] == []
    group = await _group(api, regulars["id"])
    assert group["name"] == "Stały klient"
    assert group["description"] == "Our regulars"
    assert group["reference"] == "regular"
    assert group["cashbackPercent"] == "5.00"


async def test_explicit_null_clears_description_and_cashback(
    api: Api, regulars: dict[str, Any]
) -> None:
    payload = await _update(api, regulars["id"], description=None, cashbackPercent=None)

    assert payload["errors"] == []
    group = await _group(api, regulars["id"])
    assert (group["description"], group["cashbackPercent"]) == (None, None)
    assert (group["name"], group["reference"]) == ("Stały klient", "staly-klient")


async def test_updating_to_its_own_reference_is_no_clash(
    api: Api, regulars: dict[str, Any]
) -> None:
    payload = await _update(api, regulars["id"], reference="STALY-KLIENT")

    assert payload["errors"] == []
    assert payload["group"]["reference"] == "staly-klient"


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"reference": " VIP "}, [("DUPLICATE", "input.reference")]),
        ({"reference": None}, [("REQUIRED", "input.reference")]),
        ({"name": ""}, [("REQUIRED", "input.name")]),
        ({"name": None}, [("REQUIRED", "input.name")]),
        ({"cashbackPercent": "0"}, [("INVALID", "input.cashbackPercent")]),
        ({"cashbackPercent": "101"}, [("INVALID", "input.cashbackPercent")]),
        ({"cashbackPercent": "2.505"}, [("INVALID", "input.cashbackPercent")]),
        ({"name": "Stały\u2067klient"}, [("INVALID", "input.name")]),
        ({"description": "\x1b]0;title\x07"}, [("INVALID", "input.description")]),
        ({"reference": "a/b"}, [("INVALID", "input.reference")]),
    ],
)
async def test_a_refused_update_changes_nothing(
    api: Api, regulars: dict[str, Any], fields: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    # given another group with the reference vip
    await create_group(api, "VIP")
    before = await snapshot(api)

    # when an update with a valid change and one refused field is sent
    payload = await _update(api, regulars["id"], **{"description": "changed", **fields})

    # then nothing, not even the valid part, is applied
    assert payload["group"] is None
    assert _errors(payload) == errors
    assert await snapshot(api) == before


async def test_updating_an_unknown_group_is_not_found(api: Api) -> None:
    payload = await _update(api, str(uuid4()), name="Ghost")

    assert payload["errors"] == [
        {"code": "NOT_FOUND", "field": "id", "message": "Customer group not found."}
    ]


async def test_an_update_does_not_overwrite_a_concurrent_change_of_other_fields(
    api: Api, regulars: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given another admin renames the group while this update is between its read and write
    reference_taken = group_repository.reference_taken
    group_id = UUID(regulars["id"])

    async def checked_then_renamed(*args: Any, **kwargs: Any) -> bool:
        taken = await reference_taken(*args, **kwargs)
        await CustomerGroup.filter(id=group_id).update(name="Renamed meanwhile")
        return taken

    monkeypatch.setattr(group_repository, "reference_taken", checked_then_renamed)

    # when this update changes only the reference
    payload = await _update(api, regulars["id"], reference="regular")

    # then both changes survive
    assert payload["errors"] == []
    group = await _group(api, regulars["id"])
    assert group["reference"] == "regular"
    assert group["name"] == "Renamed meanwhile"


# ------------------------------------------------------------------ delete


async def test_delete_removes_memberships_but_not_customers(
    api: Api, regulars: dict[str, Any]
) -> None:
    # given two customers in the group, one of them also in VIP
    vip = await create_group(api, "VIP")
    anna = await create_customer(api, firstName="Anna", groupIds=[regulars["id"], vip["id"]])
    jan = await create_customer(api, firstName="Jan", groupIds=[regulars["id"]])

    # when the group is deleted
    payload = await api.mutate(DELETE_GROUP, {"id": regulars["id"]})

    # then it is gone with its memberships; the customers and the other membership remain
    assert payload == {"deletedId": regulars["id"], "errors": []}
    assert (await api.data(GET_GROUP, {"id": regulars["id"]}))["customerGroup"] is None
    assert sorted(await customer_ids(api)) == sorted([anna["id"], jan["id"]])
    anna_after = (await api.data(GET_CUSTOMER, {"id": anna["id"]}))["customer"]
    jan_after = (await api.data(GET_CUSTOMER, {"id": jan["id"]}))["customer"]
    assert anna_after["groups"] == [{"id": vip["id"], "reference": "vip"}]
    assert jan_after["groups"] == []
    assert [(g["reference"], g["customerCount"]) for g in await _groups(api)] == [("vip", 1)]
    gone = await api.raw(CUSTOMER_IDS, {"filter": {"groupIds": [regulars["id"]]}})
    assert checked(gone["errors"][0]) == {"code": "NOT_FOUND", "field": "filter.groupIds.0"}
    # and the reference is free again, for an empty group
    again = await create_group(api, "Stały klient")
    assert again["customerCount"] == 0
    # and deleting again is NOT_FOUND
    assert await api.mutate(DELETE_GROUP, {"id": regulars["id"]}) == {
        "deletedId": None,
        "errors": [{"code": "NOT_FOUND", "field": "id", "message": "Customer group not found."}],
    }


# ------------------------------------------------------------------ membership


@pytest.fixture
async def crowd(api: Api) -> dict[str, Any]:
    """A target group and five customers, two of them in a second group."""
    target = await create_group(api, "Target")
    vip = await create_group(api, "VIP")
    ids = []
    for n, name in enumerate(["Anna", "Bartek", "Celina", "Darek", "Ewa"]):
        groups = [vip["id"]] if n < 2 else []
        customer = await create_customer(api, firstName=name, groupIds=groups)
        ids.append(customer["id"])
    return {"target": target["id"], "vip": vip["id"], "ids": ids}


async def _add(api: Api, group_id: str, target: dict[str, Any]) -> dict[str, Any]:
    return await api.mutate(ADD_TO_GROUP, {"groupId": group_id, "target": target})


async def _remove(api: Api, group_id: str, target: dict[str, Any]) -> dict[str, Any]:
    return await api.mutate(REMOVE_FROM_GROUP, {"groupId": group_id, "target": target})


async def _members(api: Api, group_id: str) -> set[str]:
    return set(await customer_ids(api, {"groupIds": [group_id]}))


async def test_add_and_remove_by_ids(api: Api, crowd: dict[str, Any]) -> None:
    ids = crowd["ids"]

    added = await _add(api, crowd["target"], {"customerIds": [ids[0], ids[2], ids[2]]})
    added_again = await _add(api, crowd["target"], {"customerIds": [ids[0], ids[3]]})
    removed = await _remove(api, crowd["target"], {"customerIds": [ids[0], ids[4]]})

    assert added == {"group": {"id": crowd["target"], "customerCount": 2}, "errors": []}
    assert added_again["group"]["customerCount"] == 3
    assert removed == {"group": {"id": crowd["target"], "customerCount": 2}, "errors": []}
    assert await _members(api, crowd["target"]) == {ids[2], ids[3]}
    assert await _members(api, crowd["vip"]) == {ids[0], ids[1]}


async def test_add_and_remove_by_filter(api: Api, crowd: dict[str, Any]) -> None:
    ids = crowd["ids"]

    # every customer
    everyone = await _add(api, crowd["target"], {"allCustomers": True})
    assert everyone == {"group": {"id": crowd["target"], "customerCount": 5}, "errors": []}
    assert await _members(api, crowd["target"]) == set(ids)

    # removing the members of VIP
    without_vip = await _remove(api, crowd["target"], {"filter": {"groupIds": [crowd["vip"]]}})
    assert without_vip["group"]["customerCount"] == 3
    assert await _members(api, crowd["target"]) == {ids[2], ids[3], ids[4]}

    # removing by a search
    by_search = await _remove(api, crowd["target"], {"filter": {"search": "CELINA"}})
    assert by_search["group"]["customerCount"] == 2
    assert await _members(api, crowd["target"]) == {ids[3], ids[4]}

    # adding by ids and search together (Anna, Bartek, Celina all contain "a")
    readded = await _add(api, crowd["target"], {"filter": {"search": "a", "ids": ids[:3]}})
    assert readded == {"group": {"id": crowd["target"], "customerCount": 5}, "errors": []}
    assert await _members(api, crowd["target"]) == set(ids)
    # and VIP was never touched
    assert await _members(api, crowd["vip"]) == {ids[0], ids[1]}


async def test_removing_every_customer_empties_the_group(api: Api, crowd: dict[str, Any]) -> None:
    await _add(api, crowd["target"], {"customerIds": crowd["ids"][1:4]})

    removed = await _remove(api, crowd["target"], {"allCustomers": True})

    assert removed == {"group": {"id": crowd["target"], "customerCount": 0}, "errors": []}
    assert await _members(api, crowd["vip"]) == set(crowd["ids"][:2])


@pytest.mark.parametrize("mutation", [ADD_TO_GROUP, REMOVE_FROM_GROUP], ids=["add", "remove"])
@pytest.mark.parametrize(
    "shape", ["neither", "both", "both-empty", "ids-and-all", "filter-and-all", "all-false"]
)
async def test_the_target_needs_exactly_one_of_ids_filter_and_all_customers(
    api: Api, crowd: dict[str, Any], mutation: str, shape: str
) -> None:
    await _add(api, crowd["target"], {"customerIds": crowd["ids"][:1]})
    before = await snapshot(api)
    target = {
        "neither": {},
        "both": {"customerIds": crowd["ids"][1:2], "filter": {"ids": crowd["ids"][:1]}},
        "both-empty": {"customerIds": [], "filter": {}},
        "ids-and-all": {"customerIds": crowd["ids"][1:2], "allCustomers": True},
        "filter-and-all": {"filter": {"ids": crowd["ids"][:1]}, "allCustomers": True},
        "all-false": {"allCustomers": False},
    }[shape]

    payload = await api.mutate(mutation, {"groupId": crowd["target"], "target": target})

    assert payload["group"] is None
    assert payload["errors"] == [
        {
            "code": "INVALID",
            "field": "target",
            "message": "Give exactly one of customerIds, filter and allCustomers.",
        }
    ]
    assert await snapshot(api) == before


@pytest.mark.parametrize("mutation", [ADD_TO_GROUP, REMOVE_FROM_GROUP], ids=["add", "remove"])
@pytest.mark.parametrize(
    "criteria",
    [{}, {"ids": None, "groupIds": None, "search": None, "hasCredits": None}, {"search": "  "}],
    ids=["empty", "nulls", "blank-search"],
)
async def test_an_empty_filter_is_refused_and_changes_nothing(
    api: Api, crowd: dict[str, Any], mutation: str, criteria: dict[str, Any]
) -> None:
    await _add(api, crowd["target"], {"customerIds": crowd["ids"][:2]})
    before = await snapshot(api)

    payload = await api.mutate(
        mutation, {"groupId": crowd["target"], "target": {"filter": criteria}}
    )

    assert payload["group"] is None
    assert payload["errors"] == [
        {
            "code": "INVALID",
            "field": "target.filter",
            "message": "A filter needs at least one criterion; to target every customer, send"
            " allCustomers: true.",
        }
    ]
    assert await snapshot(api) == before
    assert await _members(api, crowd["target"]) == set(crowd["ids"][:2])


@pytest.mark.parametrize("mutation", [ADD_TO_GROUP, REMOVE_FROM_GROUP], ids=["add", "remove"])
async def test_an_unknown_customer_changes_nothing(
    api: Api, crowd: dict[str, Any], mutation: str
) -> None:
    # given two members
    await _add(api, crowd["target"], {"customerIds": crowd["ids"][:2]})
    before = await snapshot(api)
    ids = crowd["ids"]

    # when known ids are sent along with unknown and malformed ones
    payload = await api.mutate(
        mutation,
        {
            "groupId": crowd["target"],
            "target": {"customerIds": [ids[1], str(uuid4()), ids[3], "abc"]},
        },
    )

    # then each unknown one is NOT_FOUND at its index, and nothing is added or removed
    assert payload["group"] is None
    assert payload["errors"] == [
        {"code": "NOT_FOUND", "field": "target.customerIds.1", "message": "Customer not found."},
        {"code": "NOT_FOUND", "field": "target.customerIds.3", "message": "Customer not found."},
    ]
    assert await snapshot(api) == before
    assert await _members(api, crowd["target"]) == {ids[0], ids[1]}


@pytest.mark.parametrize("mutation", [ADD_TO_GROUP, REMOVE_FROM_GROUP], ids=["add", "remove"])
async def test_an_unknown_group_is_not_found(
    api: Api, crowd: dict[str, Any], mutation: str
) -> None:
    before = await snapshot(api)

    payload = await api.mutate(
        mutation, {"groupId": str(uuid4()), "target": {"customerIds": crowd["ids"]}}
    )

    assert payload["group"] is None
    assert _errors(payload) == [("NOT_FOUND", "groupId")]
    assert await snapshot(api) == before


async def test_an_invalid_filter_changes_nothing(api: Api, crowd: dict[str, Any]) -> None:
    before = await snapshot(api)

    payload = await _add(api, crowd["target"], {"filter": {"ids": ["x"] * 10_001}})

    assert payload["group"] is None
    assert _errors(payload) == [("INVALID", "target.filter.ids")]
    assert await snapshot(api) == before


async def test_more_than_ten_thousand_ids_are_refused_and_change_nothing(
    api: Api, crowd: dict[str, Any]
) -> None:
    before = await snapshot(api)
    ids = [*crowd["ids"], *(str(uuid4()) for _ in range(10_000))]

    added = await _add(api, crowd["target"], {"customerIds": ids})
    removed = await _remove(api, crowd["target"], {"customerIds": ids})

    for payload in (added, removed):
        assert payload == {
            "group": None,
            "errors": [
                {
                    "code": "INVALID",
                    "field": "target.customerIds",
                    "message": "At most 10000 ids; use a filter for more.",
                }
            ],
        }
    assert await snapshot(api) == before


async def test_adding_and_removing_twice_is_the_same_as_once(
    api: Api, crowd: dict[str, Any]
) -> None:
    ids = crowd["ids"]
    vip = {"filter": {"groupIds": [crowd["vip"]]}}

    once = await _add(api, crowd["target"], vip)
    twice = await _add(api, crowd["target"], vip)
    by_ids = await _add(api, crowd["target"], {"customerIds": ids[:2]})
    removed = await _remove(api, crowd["target"], vip)
    removed_again = await _remove(api, crowd["target"], vip)

    assert [p["group"]["customerCount"] for p in (once, twice, by_ids)] == [2, 2, 2]
    assert [p["group"]["customerCount"] for p in (removed, removed_again)] == [0, 0]
    assert await _members(api, crowd["vip"]) == {ids[0], ids[1]}


async def test_every_customer_means_the_callers_customers_only(
    api: Api, other: Api, crowd: dict[str, Any]
) -> None:
    their_group = await create_group(other, "Target")
    theirs = [(await create_customer(other, firstName=f"T{n}"))["id"] for n in range(3)]
    await _add(other, their_group["id"], {"customerIds": theirs[:1]})

    added = await _add(api, crowd["target"], {"allCustomers": True})
    removed = await _remove(api, crowd["target"], {"filter": {"search": "r"}})
    into_theirs = await _add(api, their_group["id"], {"allCustomers": True})

    assert added["group"]["customerCount"] == 5
    assert removed["group"]["customerCount"] == 3  # Bartek and Darek hold an "r"
    assert into_theirs == {
        "group": None,
        "errors": [
            {"code": "NOT_FOUND", "field": "groupId", "message": "Customer group not found."}
        ],
    }
    assert await _members(other, their_group["id"]) == {theirs[0]}
