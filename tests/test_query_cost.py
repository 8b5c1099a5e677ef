"""The cost of a document, computed before execution: exact figures for known shapes."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.graphql.execute import MAX_QUERY_COST
from gateway.schema.root import build_schema
from tests.helpers import ENTRIES_PER_CUSTOMER, PAGE_OF_CUSTOMERS, query_cost

SCHEMA = build_schema(production=False)._schema


def cost(document: str, variables: dict[str, Any] | None = None, name: str | None = None) -> int:
    return query_cost(SCHEMA, document, variables, name)


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{n}: {ENTRIES_PER_CUSTOMER}" for n in range(count)) + " }"


def test_a_field_costs_one_plus_its_selection() -> None:
    assert cost("{ __typename }") == 1
    assert cost("{ viewer { location { id name } } }") == 4


def test_a_page_of_200_customers_with_their_groups() -> None:
    # 1 + 200 × (edges 1 + node 1 + id, firstName, lastName, email 4 + groups (1 + 3))
    assert cost(PAGE_OF_CUSTOMERS) == 2_001
    assert cost(PAGE_OF_CUSTOMERS) * 5 < MAX_QUERY_COST


def test_a_nested_page_multiplies() -> None:
    # entries: 1 + 200 × (edges 1 + node 1 + id 1 + delta (1 + 1)) = 1,001
    # customers: 1 + 200 × (edges 1 + node 1 + id 1 + wallet (1 + 1,001)) = 201,001
    assert cost(aliased(1)) == 201_001


def test_aliases_each_count() -> None:
    assert cost(aliased(3)) == 603_003
    assert (
        cost("{ a: customers(first: 2) { totalCount } b: customers(first: 3) { totalCount } }") == 7
    )


def test_the_default_page_size_applies_when_first_is_omitted() -> None:
    assert cost("{ customers { totalCount } }") == 51
    assert cost('{ customer(id: "1") { wallet { entries { totalCount } } } }') == 53


def test_a_null_first_is_the_default_page_size() -> None:
    assert cost("{ customers(first: null) { totalCount } }") == 51


@pytest.mark.parametrize(
    ("variables", "expected"),
    [({"n": 10}, 11), ({}, 8), ({"n": None}, 51), ({"n": "ten"}, 51)],
    # null asks for the resolver's default page; "ten" is refused when variables are coerced
    ids=["given", "variable-default", "null", "not-an-integer"],
)
def test_first_is_read_from_the_variables(variables: dict[str, Any], expected: int) -> None:
    document = "query($n: Int = 7) { customers(first: $n) { totalCount } }"

    assert cost(document, variables) == expected


def test_a_variable_without_a_value_or_default_is_the_argument_default() -> None:
    assert cost("query($n: Int) { customers(first: $n) { totalCount } }", {}) == 51


def test_fragments_and_inline_fragments_are_expanded() -> None:
    document = """
    { customers(first: 10) { ...Page } }
    fragment Page on CustomerConnection { totalCount edges { ... on CustomerEdge { cursor } } }
    """

    # 1 + 10 × (totalCount 1 + edges (1 + cursor 1))
    assert cost(document) == 31


def test_a_fragment_counts_every_time_it_is_spread() -> None:
    document = """
    { a: customers(first: 4) { ...Edges } b: customers(first: 4) { ...Edges } }
    fragment Edges on CustomerConnection { edges { node { ...Who } } }
    fragment Who on Customer { id firstName }
    """

    # each: 1 + 4 × (edges 1 + node (1 + 2))
    assert cost(document) == 34


def test_a_fragment_cycle_ends() -> None:
    # validation refuses cycles; the cost still comes out without recursing for ever
    document = """
    { customer(id: "1") { ...A } }
    fragment A on Customer { id ...B }
    fragment B on Customer { firstName ...A }
    """

    assert cost(document) == 3


def test_the_named_operation_is_the_one_costed() -> None:
    document = """
    query Small { customers(first: 1) { totalCount } }
    query Large { customers(first: 100) { totalCount } }
    """

    assert cost(document, name="Small") == 2
    assert cost(document, name="Large") == 101
    assert cost(document) == 0  # ambiguous: the executor refuses it


def test_a_mutation_is_costed_from_the_mutation_root() -> None:
    document = (
        'mutation { createCustomerGroup(input: {name: "VIP"}) { group { id } errors { code } } }'
    )

    assert cost(document) == 5


def test_a_bills_lines_count_as_many_as_a_bill_may_hold() -> None:
    # 1 + 50 × (edges 1 + node (1 + lines (1 + 250 × (productId 1 + total (1 + amount 1)))))
    document = (
        "{ checkouts(first: 50) { edges { node { lines { productId total { amount } } } } } }"
    )

    assert cost(document) == 1 + 50 * (1 + 1 + (1 + 250 * 3)) == 37_651
    assert cost(document) > MAX_QUERY_COST  # refused: ask for fewer bills, or open one


def test_a_sales_refunds_count_as_many_as_a_sale_may_take_and_each_as_many_lines() -> None:
    # 1 + refunds (1 + 10 × (id 1 + lines (1 + 250 × (productId 1 + quantity 1))))
    document = (
        "query($id: ID!) { checkout(id: $id) { refunds { id lines { productId quantity } } } }"
    )

    assert cost(document, {"id": "x"}) == 1 + 1 + 10 * (1 + 1 + 250 * 2) == 5_022
    assert cost(document, {"id": "x"}) < MAX_QUERY_COST
