"""Importing customers from CSV: created, updated, unchanged and skipped rows, on both databases."""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

import pytest

from domain import entities
from domain.errors import DomainError, ErrorCode
from domain.requests import CardInput, CustomerInput
from models import customers as customer_repository
from services import customers, groups
from services.importer import ImportProblem, import_customers
from tests.english import en
from tests.helpers import Api, create_customer, create_group

HEADER = "first_name,last_name,email,phone,card_code,groups\n"


def english(problems: Sequence[ImportProblem]) -> tuple[tuple[int, str], ...]:
    """The problems as the CLI reports them: each line with its English text."""
    return tuple((p.line, p.reason) for p in problems)


def write_csv(tmp_path: Path, text: str, name: str = "customers.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def location(api: Api) -> UUID:
    return UUID(api.location_id)


async def customer_count(api: Api) -> int:
    page = await customers.list_customers(location(api), None, 1, None)
    return page.total_count


async def by_card(api: Api, code: str) -> entities.Customer:
    customer = await customers.get_customer_by_card(location(api), code)
    assert customer is not None, code
    return customer


async def card_codes(customer: entities.Customer) -> list[str]:
    found = await customers.cards_of([customer.id])
    return [card.code for card in found[customer.id]]


async def group_references(customer: entities.Customer) -> list[str]:
    found = await customers.groups_of([customer.id])
    return sorted(group.reference for group in found[customer.id])


async def test_good_rows_create_customers_with_cards_and_groups(api: Api, tmp_path: Path) -> None:
    await create_group(api, "VIP")
    await create_group(api, "Stały klient")
    path = write_csv(
        tmp_path,
        HEADER
        + "Anna,Nowak,Anna@Example.com,+48 600 100 200,C1, vip ; STALY-KLIENT\n"
        + "Jan,,,,C2,\n"
        + ",,,,C3,vip\n",
    )

    report = await import_customers(location(api), path)

    assert report.summary() == {"created": 3, "updated": 0, "unchanged": 0, "skipped": 0}
    assert english(report.problems) == ()
    assert await customer_count(api) == 3
    anna = await by_card(api, "C1")
    assert (anna.first_name, anna.last_name, anna.email, anna.phone) == (
        "Anna",
        "Nowak",
        "anna@example.com",
        "+48600100200",
    )
    assert await card_codes(anna) == ["C1"]
    assert await group_references(anna) == ["staly-klient", "vip"]
    jan = await by_card(api, "C2")
    assert (jan.first_name, jan.last_name, jan.email, jan.phone) == ("Jan", None, None, None)
    assert await group_references(jan) == []
    assert await group_references(await by_card(api, "C3")) == ["vip"]


async def test_bad_rows_are_reported_by_line_and_not_written(api: Api, tmp_path: Path) -> None:
    await create_group(api, "VIP")
    path = write_csv(
        tmp_path,
        HEADER
        + "Ewa,,not-an-email,,B1,\n"  # line 2
        + "Olek,,,12ab,B2,\n"  # line 3
        + "Nobody,,,,,vip\n"  # line 4
        + "Hashed,,,,B#4,\n"  # line 5
        + "First,,,,D1,\n"  # line 6
        + "Second,,,, d 1,\n"  # line 7: the same code, typed differently
        + "Grouped,,,,B8,vip;vip2\n"  # line 8
        + '"Multi\nline",,,,G1,\n'  # lines 9-10
        + "Tail,,bad@,,B11,\n"  # line 11
        + "Good,,,,G2,vip\n",  # line 12
    )

    report = await import_customers(location(api), path)

    assert english(report.problems) == (
        (2, "invalid email 'not-an-email'"),
        (3, "invalid phone '12ab'"),
        (4, "missing card code"),
        (
            5,
            "invalid card code 'B#4' (Card code may contain only letters, digits and . _ : / -)",
        ),
        (7, "card code 'D1' repeats line 6"),
        (8, "unknown group 'vip2'"),
        (9, "invalid first name (Must not contain control characters (U+000A))"),
        (11, "invalid email 'bad@'"),
    )
    assert report.summary() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 8}
    assert await customer_count(api) == 2
    for code in ("B1", "B2", "B#4", "B8", "G1", "B11"):
        assert await customers.get_customer_by_card(location(api), code) is None
    assert (await by_card(api, "D1")).first_name == "First"
    assert await group_references(await by_card(api, "G2")) == ["vip"]


async def test_control_characters_and_long_cells_are_reported_without_quoting_them(
    api: Api, tmp_path: Path
) -> None:
    long_email = "a" * 5_000 + "@example.com"
    long_reference = "x" * 1_000
    path = write_csv(
        tmp_path,
        HEADER
        + "Ewa\x1b[31m,,,,E1,\n"  # line 2: ESC in a name
        + "Ola,Nowak\u202e,,,E2,\n"  # line 3: right-to-left override
        + f"Ala,,{long_email},,E3,\n"  # line 4
        + f"Iza,,,,E4,{long_reference}\n"  # line 5
        + "Good,,,,E5,\n",  # line 6
    )

    report = await import_customers(location(api), path)

    assert english(report.problems) == (
        (2, "invalid first name (Must not contain control characters (U+001B))"),
        (3, "invalid last name (Must not contain control characters (U+202E))"),
        (4, "invalid email (An email address has at most 254 characters)"),
        (5, "unknown group (not shown)"),
    )
    assert report.summary() == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 4}
    assert (await by_card(api, "E5")).first_name == "Good"


async def test_rerunning_the_same_file_changes_nothing(api: Api, tmp_path: Path) -> None:
    await create_group(api, "VIP")
    path = write_csv(
        tmp_path,
        HEADER + "Anna,Nowak,anna@example.com,600100200,R1,vip\nJan,,,,R2,\n,,,,R3,\n",
    )
    first = await import_customers(location(api), path)
    anna_before = await by_card(api, "R1")

    again = await import_customers(location(api), path)

    assert first.summary() == {"created": 3, "updated": 0, "unchanged": 0, "skipped": 0}
    assert again.summary() == {"created": 0, "updated": 0, "unchanged": 3, "skipped": 0}
    assert await customer_count(api) == 3
    anna_after = await by_card(api, "R1")
    assert anna_after == anna_before
    assert await group_references(anna_after) == ["vip"]


async def test_update_changes_only_given_fields_and_adds_groups(api: Api, tmp_path: Path) -> None:
    vip = await create_group(api, "VIP")
    await create_group(api, "Gold")
    await create_customer(
        api,
        firstName="Anna",
        lastName="Nowak",
        email="anna@example.com",
        phone="600100200",
        cards=[{"code": "U1"}, {"code": "U1-B"}],
        groupIds=[vip["id"]],
    )
    await create_customer(api, firstName="Jan", cards=[{"code": "U2"}], groupIds=[vip["id"]])
    path = write_csv(
        tmp_path,
        HEADER
        + ",Kowalska,,,U1,gold\n"  # new last name and a group; other fields kept
        + ",,ANNA@new.example,,U1-B,\n"  # the same customer's second card
        + "Jan,,,,U2,VIP\n"  # nothing new
        + "Piotr,,,,U3,\n",
    )

    report = await import_customers(location(api), path)

    assert report.summary() == {"created": 1, "updated": 2, "unchanged": 1, "skipped": 0}
    anna = await by_card(api, "U1")
    assert (anna.first_name, anna.last_name, anna.email, anna.phone) == (
        "Anna",
        "Kowalska",
        "anna@new.example",
        "+48600100200",
    )
    assert await card_codes(anna) == ["U1", "U1-B"]
    assert await group_references(anna) == ["gold", "vip"]
    jan = await by_card(api, "U2")
    assert jan.first_name == "Jan"
    assert await group_references(jan) == ["vip"]
    assert await customer_count(api) == 3


async def test_a_header_without_card_code_is_refused_before_writing(
    api: Api, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "first_name,email,code\nAnna,anna@example.com,C1\n")

    with pytest.raises(DomainError) as caught:
        await import_customers(location(api), path)

    (error,) = caught.value.errors
    assert (error.code, error.field) == (ErrorCode.INVALID, "file")
    assert "card_code" in en(error.message)
    assert await customer_count(api) == 0


async def test_a_file_neither_utf8_nor_windows_1250_is_refused_before_writing(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "binary.csv"
    # 0x81 and 0x98 are not UTF-8 here, and Windows-1250 leaves them undefined.
    path.write_bytes(b"card_code,first_name\nC1,Anna\nC2,\x81\x98\n")

    with pytest.raises(DomainError) as caught:
        await import_customers(location(api), path)

    (error,) = caught.value.errors
    assert (error.code, error.field, en(error.message)) == (
        ErrorCode.INVALID,
        "file",
        "The file is neither UTF-8 nor Windows-1250 text (line 3).",
    )
    assert await customer_count(api) == 0


async def test_a_byte_order_mark_and_extra_columns_are_accepted(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("Card_Code,First_Name,comment\nZ1,Żaneta,ignored\n".encode("utf-8-sig"))

    report = await import_customers(location(api), path)

    assert report.summary() == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0}
    assert (await by_card(api, "Z1")).first_name == "Żaneta"


async def test_the_same_card_code_in_another_location_is_untouched(
    api: Api, other: Api, tmp_path: Path
) -> None:
    theirs = await create_customer(other, firstName="Theirs", cards=[{"code": "S1"}])
    path = write_csv(tmp_path, HEADER + "Ours,,,,S1,\n")

    report = await import_customers(location(api), path)

    assert report.summary() == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0}
    assert (await by_card(api, "S1")).first_name == "Ours"
    their_customer = await by_card(other, "S1")
    assert (str(their_customer.id), their_customer.first_name) == (theirs["id"], "Theirs")
    assert await customer_count(other) == 1


async def test_batches_report_progress(api: Api, tmp_path: Path) -> None:
    path = write_csv(tmp_path, HEADER + "".join(f"P{i},,,,P{i},\n" for i in range(5)))
    calls: list[tuple[int, int]] = []

    report = await import_customers(
        location(api), path, lambda d, t: calls.append((d, t)), batch_size=2
    )

    assert report.created == 5
    assert calls == [(2, 5), (4, 5), (5, 5)]


async def test_a_card_taken_during_the_import_is_reported(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_card_holders = customer_repository.card_holders
    raced = False

    async def racing_card_owners(
        location_id: UUID, codes: Sequence[str]
    ) -> dict[str, entities.Customer]:
        nonlocal raced
        found = await real_card_holders(location_id, codes)
        if not raced:  # another writer takes a card code right after the import has looked
            raced = True
            await customers.create_customer(
                location_id, CustomerInput(first_name="Racer", cards=(CardInput("T2"),))
            )
        return found

    monkeypatch.setattr(customer_repository, "card_holders", racing_card_owners)
    path = write_csv(tmp_path, HEADER + "A,,,,T1,\nB,,,,T2,\nC,,,,T3,\n")

    report = await import_customers(location(api), path)

    assert english(report.problems) == ((3, "card code 'T2' was taken during the import"),)
    assert report.summary() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 1}
    assert (await by_card(api, "T2")).first_name == "Racer"
    assert await card_codes(await by_card(api, "T1")) == ["T1"]
    assert await customer_count(api) == 3


async def test_five_thousand_generated_rows(api: Api, tmp_path: Path) -> None:
    vip = await create_group(api, "VIP")
    rows = "".join(
        f"Name{i},Surname{i},user{i}@example.com,+48 600 {i:06d},GEN{i:05d},vip\n"
        for i in range(5_000)
    )
    path = write_csv(tmp_path, HEADER + rows)

    report = await import_customers(location(api), path)

    assert report.summary() == {"created": 5_000, "updated": 0, "unchanged": 0, "skipped": 0}
    assert await customer_count(api) == 5_000
    assert await groups.customer_counts([UUID(vip["id"])]) == {UUID(vip["id"]): 5_000}
    last = await by_card(api, "GEN04999")
    assert (last.first_name, last.email) == ("Name4999", "user4999@example.com")


async def test_a_row_with_an_oversized_field_is_skipped_and_the_others_imported(
    api: Api, tmp_path: Path
) -> None:
    huge = "x" * 200_000  # beyond the line limit and the csv module's 128 KiB field limit
    path = write_csv(
        tmp_path,
        HEADER
        + "Anna,,,,O1,\n"  # line 2
        + f"{huge},,,,O2,\n"  # line 3
        + "Jan,,,,O3,\n",  # line 4
    )

    report = await import_customers(location(api), path)

    assert english(report.problems) == ((3, "the line is longer than 64 KiB (200,007 bytes)"),)
    assert report.summary() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 1}
    assert (await by_card(api, "O1")).first_name == "Anna"
    assert (await by_card(api, "O3")).first_name == "Jan"
    assert await customers.get_customer_by_card(location(api), "O2") is None
    assert await customer_count(api) == 2


async def test_a_quoted_field_beyond_the_csv_field_limit_is_skipped(
    api: Api, tmp_path: Path
) -> None:
    part = "y" * 60_000  # each line is within the line limit; the field spans three of them
    path = write_csv(
        tmp_path,
        HEADER
        + "Anna,,,,Q1,\n"  # line 2
        + f'"{part}\n{part}\n{part}",,,,Q2,\n'  # lines 3-5
        + "Jan,,,,Q3,\n",  # line 6
    )

    report = await import_customers(location(api), path)

    assert english(report.problems) == (
        (3, "unreadable CSV (field larger than field limit (131072))"),
    )
    assert report.summary() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 1}
    assert await customers.get_customer_by_card(location(api), "Q2") is None
    assert (await by_card(api, "Q3")).first_name == "Jan"


async def test_an_oversized_header_refuses_the_file(api: Api, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "card_code," + "z" * 70_000 + "\nC1\n")

    with pytest.raises(DomainError) as caught:
        await import_customers(location(api), path)

    (error,) = caught.value.errors
    assert (error.code, error.field, en(error.message)) == (
        ErrorCode.INVALID,
        "file",
        "Line 1: the line is longer than 64 KiB (70,010 bytes).",
    )
    assert await customer_count(api) == 0


async def test_a_fifty_megabyte_line_is_skipped_with_bounded_memory(
    api: Api, tmp_path: Path
) -> None:
    path = tmp_path / "long-line.csv"
    chunk = "w" * (1024 * 1024)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER + "Anna,,,,M1,\n")
        out.write("Long,")
        for _ in range(50):
            out.write(chunk)
        out.write(",,,M2,\nJan,,,,M3,vip\n")
    await create_group(api, "VIP")
    tracemalloc.start()
    try:
        report = await import_customers(location(api), path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert english(report.problems) == ((3, "the line is longer than 64 KiB (52,428,811 bytes)"),)
    assert report.summary() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 1}
    assert peak < 4 * 1024 * 1024, f"peak {peak:,} bytes"
    assert await group_references(await by_card(api, "M3")) == ["vip"]
    assert await customer_count(api) == 2


async def test_formula_cells_are_stored_exactly_as_given(api: Api, tmp_path: Path) -> None:
    path = write_csv(tmp_path, HEADER + "=cmd|' /C calc'!A0,@SUM(A1),,,F1,\n")

    report = await import_customers(location(api), path)

    assert report.summary() == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0}
    customer = await by_card(api, "F1")
    assert (customer.first_name, customer.last_name) == ("=cmd|' /C calc'!A0", "@SUM(A1)")


async def test_the_line_limit_is_64_kib_without_the_line_ending(api: Api, tmp_path: Path) -> None:
    def line(code: str, size: int) -> str:
        return f"{code}," + "c" * (size - len(code) - 1)

    path = write_csv(
        tmp_path,
        "card_code,comment\r\n"
        + line("L1", 65_536)  # line 2: at the limit
        + "\r\n"
        + line("L2", 65_537)  # line 3: one byte over
        + "\r\n"
        + line("L3", 65_536),  # line 4: at the limit, at the end of the file
    )

    report = await import_customers(location(api), path)

    assert english(report.problems) == ((3, "the line is longer than 64 KiB (65,537 bytes)"),)
    assert report.summary() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 1}
    assert await customers.get_customer_by_card(location(api), "L2") is None
    assert await card_codes(await by_card(api, "L3")) == ["L3"]
