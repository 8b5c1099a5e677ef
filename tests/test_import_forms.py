"""The CSV files Poles have: ';' or ',', UTF-8 (with or without a byte order mark) or
Windows-1250, groups by name or reference, several cards a row; and the sample in docs/."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID

from services import customers
from services.importer import import_customers, import_text
from tests.helpers import Api, create_customer, create_group
from tests.test_import import (
    by_card,
    card_codes,
    customer_count,
    english,
    group_references,
    location,
)

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "customers-sample.csv"
POLISH = "Zażółć gęślą jaźń ŻÓŁĆ ĘŚĄ"


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "customers.csv"
    path.write_bytes(data)
    return path


async def test_windows_1250_is_read_with_its_polish_letters(api: Api, tmp_path: Path) -> None:
    await create_group(api, "Stały klient")
    text = f"card_code;first_name;last_name;groups\r\nW1;Łucja;{POLISH};Stały klient\r\n"
    data = text.encode("cp1250")
    assert data != text.encode("iso-8859-2")  # ś, ź and ą differ: this is not Latin-2 luck

    report = await import_customers(location(api), write(tmp_path, data))

    assert report.summary() == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0}
    customer = await by_card(api, "W1")
    assert (customer.first_name, customer.last_name) == ("Łucja", POLISH)
    assert await group_references(customer) == ["staly-klient"]


async def test_utf8_with_and_without_a_byte_order_mark(api: Api, tmp_path: Path) -> None:
    text = f"card_code,last_name\nU1,{POLISH}\n"
    plain = await import_customers(location(api), write(tmp_path, text.encode("utf-8")))
    marked = text.replace("U1", "U2").encode("utf-8-sig")

    with_bom = await import_customers(location(api), write(tmp_path, marked))

    assert (plain.created, with_bom.created) == (1, 1)
    assert (await by_card(api, "U1")).last_name == POLISH
    assert (await by_card(api, "U2")).last_name == POLISH


async def test_the_separator_is_the_one_that_finds_the_card_code_column(
    api: Api, tmp_path: Path
) -> None:
    await create_group(api, "VIP")
    await create_group(api, "Gold")
    semicolons = 'imię;card_code;first_name;groups\r\nx,y;S1;Anna, Maria;"vip;gold"\r\n'
    commas = 'card_code,first_name,note\nS2,Jan,"a; b; c"\n'

    first = await import_customers(location(api), write(tmp_path, semicolons.encode()))
    second = await import_customers(location(api), write(tmp_path, commas.encode()))

    assert (first.created, second.created, first.skipped, second.skipped) == (1, 1, 0, 0)
    anna = await by_card(api, "S1")
    assert anna.first_name == "Anna, Maria"
    assert await group_references(anna) == ["gold", "vip"]
    assert (await by_card(api, "S2")).note == "a; b; c"


async def test_groups_are_found_by_reference_or_by_name(api: Api, tmp_path: Path) -> None:
    await create_group(api, "Stały klient")
    await create_group(api, "Złoty", reference="gold")
    await create_group(api, "Dwa", reference="dwa-1")
    await create_group(api, "dwa ", reference="dwa-2")
    text = (
        "card_code;groups\n"
        'N1;"stały   KLIENT;Złoty"\n'  # names, case and spaces ignored
        'N2;"GOLD;staly-klient"\n'  # references
        "N3;dwa\n"  # a name two groups share
    )

    report = await import_customers(location(api), write(tmp_path, text.encode()))

    assert english(report.problems) == (
        (4, "group name 'dwa' is shared by several groups; give its reference"),
    )
    assert await group_references(await by_card(api, "N1")) == ["gold", "staly-klient"]
    assert await group_references(await by_card(api, "N2")) == ["gold", "staly-klient"]


async def test_a_row_of_several_cards_creates_or_completes_one_customer(
    api: Api, tmp_path: Path
) -> None:
    await create_customer(api, firstName="Ewa", cards=[{"code": "E1"}])
    await create_customer(api, firstName="Olga", cards=[{"code": "O1"}])
    await create_customer(api, firstName="Zofia", cards=[{"code": "Z1"}])
    text = (
        "card_code;first_name\n"
        "M1;M2;Marta\n"  # line 2: unquoted, so M2 is the first name and Marta ignored
        '"P1;P2";Piotr\n'  # line 3: two new cards, one new customer
        '"E2;E1";\n'  # line 4: Ewa's card with a new one: Ewa gets it
        '"Z1;O1";\n'  # line 5: two customers' cards
        '"X1;X1";\n'  # line 6: a card given twice
    )

    report = await import_customers(location(api), write(tmp_path, text.encode()))

    assert english(report.problems) == (
        (5, "the row's card codes belong to different customers"),
        (6, "card code 'X1' is given twice on line 6"),
    )
    assert report.summary() == {"created": 2, "updated": 1, "unchanged": 0, "skipped": 2}
    assert (await by_card(api, "M1")).first_name == "M2"
    piotr = await by_card(api, "P2")
    assert (piotr.first_name, await card_codes(piotr)) == ("Piotr", ["P1", "P2"])
    ewa = await by_card(api, "E2")
    assert (ewa.first_name, await card_codes(ewa)) == ("Ewa", ["E1", "E2"])
    assert await customer_count(api) == 5


async def test_the_same_chunk_imported_twice_at_once_creates_each_customer_once(
    api: Api,
) -> None:
    text = "card_code;first_name\n" + "".join(f"C{i};Osoba {i}\n" for i in range(200))

    first, second = await asyncio.gather(
        import_text(location(api), text), import_text(location(api), text)
    )

    assert first.created + second.created == 200
    assert await customer_count(api) == 200
    for report in (first, second):
        assert all("was taken during the import" in p.reason for p in report.problems)
        assert report.created + report.unchanged + report.skipped == 200


async def test_the_sample_file_in_docs_imports(api: Api) -> None:
    for name in ("Stały klient", "VIP", "Pracownicy"):
        await create_group(api, name)
    assert SAMPLE.read_bytes().startswith(b"\xef\xbb\xbffirst_name;")

    report = await import_customers(location(api), SAMPLE)
    again = await import_customers(location(api), SAMPLE)

    assert (report.rows, report.problems) == (6, ())
    assert report.summary() == {"created": 6, "updated": 0, "unchanged": 0, "skipped": 0}
    assert again.summary() == {"created": 0, "updated": 0, "unchanged": 6, "skipped": 0}
    gosia = await by_card(api, "KARTA-0003")
    assert (gosia.first_name, gosia.note) == (
        "Małgorzata",
        "Alergia: orzechy.\nPyta o menu bezglutenowe",
    )
    assert await group_references(gosia) == ["staly-klient", "vip"]
    grzegorz = await by_card(api, "KARTA-0004-B")
    assert grzegorz.note == 'Mówi na siebie "Grześ"'
    assert await card_codes(grzegorz) == ["KARTA-0004", "KARTA-0004-B"]
    assert await group_references(grzegorz) == ["pracownicy"]
    page = await customers.list_customers(UUID(api.location_id), None, 10, None)
    assert page.total_count == 6


async def test_a_cell_neutralised_as_a_formula_is_read_as_it_was(api: Api, tmp_path: Path) -> None:
    text = "card_code;first_name;last_name;phone\nF1;'=1+2;'Ola;'+48 600 100 200\nF2;';'-;\n"

    report = await import_customers(location(api), write(tmp_path, text.encode()))

    assert report.summary() == {"created": 2, "updated": 0, "unchanged": 0, "skipped": 0}
    first = await by_card(api, "F1")
    assert (first.first_name, first.last_name, first.phone) == ("=1+2", "'Ola", "+48600100200")
    second = await by_card(api, "F2")
    assert (second.first_name, second.last_name) == ("'", "-")


async def test_a_byte_order_mark_before_windows_1250_text_is_dropped(
    api: Api, tmp_path: Path
) -> None:
    data = b"\xef\xbb\xbf" + "card_code;last_name\nB1;Gęś\n".encode("cp1250")

    report = await import_customers(location(api), write(tmp_path, data))

    assert report.summary() == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0}
    assert (await by_card(api, "B1")).last_name == "Gęś"
