"""Klienci's records in a browser: a customer added and deleted (the balance to be written off said
before, the amount written off after), selected customers put in a group and taken out, a CSV
file checked (its first rows, its problems by line) and imported in chunks, and the filtered list
exported as CSV and imported back unchanged; every claim is checked through the API."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import FilePayload, Locator, Page, Route, expect

from tests.console.conftest import Api, Gateway, log_in, open_page, operation_of, plain

LOCATION = "Kartoteka"
HEADER = "first_name;last_name;email;phone;note;card_code;groups"
CUSTOMER = """mutation($input: CustomerInput!) { createCustomer(input: $input) {
  customer { id } errors { code field message } } }"""
GROUP = """mutation($name: String!) { createCustomerGroup(input: {name: $name}) {
  group { id reference } errors { code field message } } }"""
CREDITS = """mutation($input: SetPromotionalCreditsInput!) { setPromotionalCredits(input: $input) {
  operation { id } errors { code field message } } }"""
READ = """query($id: ID!) { customer(id: $id) { firstName lastName email phone note
  cards { code } groups { name } wallet { balance { amount } } } }"""
BY_CARD = """query($code: String!) { customer(cardCode: $code) { id } }"""
MEMBERS = """query($id: ID!) { customerGroup(id: $id) { customerCount } }"""
TIMED_OUT = {"message": "The request took longer than 15 s.", "extensions": {"code": "TIMEOUT"}}
LISTED = """query($filter: CustomerFilter) { customers(first: 200, filter: $filter) {
  totalCount edges { node { firstName lastName email phone note cards { code }
  groups { reference } } } } }"""


async def _text(locator: Locator) -> str:
    await expect(locator).to_be_visible()
    return plain(await locator.inner_text())


async def _counts(dialog: Locator, kind: str) -> dict[str, str]:
    summary = dialog.locator(f'[data-import="{kind}"]')
    await expect(summary).to_be_visible(timeout=30_000)
    keys = ("rows", "created", "updated", "unchanged", "skipped")
    return {k: await summary.locator(f'[data-count="{k}"]').inner_text() for k in keys}


async def _problems(dialog: Locator) -> list[list[str]]:
    rows = dialog.locator("table.import-problems tbody tr")
    return [plain(t).split("\t") for t in await rows.all_inner_texts()]


async def _listed(admin: Api, search: str) -> dict[str, Any]:
    found: dict[str, Any] = (await admin.data(LISTED, {"filter": {"search": search}}))["customers"]
    return found


async def test_a_customer_is_added_then_deleted_once_the_write_off_is_shown(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await log_in(page, gateway, admin.key)
    await page.get_by_role("link", name="Dodaj klienta").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Nowy klient")
    form = page.get_by_role("form", name="Dane kontaktowe")
    await form.get_by_label("Imię").fill("Anna")
    await form.get_by_label("Nazwisko").fill("Kasprzak")
    await form.get_by_label("E-mail").fill("anna.kasprzak@example.com")
    await form.get_by_label("Kod karty").fill("KASP-0001")
    await form.get_by_role("button", name="Zapisz").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Anna Kasprzak")
    customer = page.url.rsplit("/", 1)[1]
    assert (await admin.data(READ, {"id": customer}))["customer"] == {
        "firstName": "Anna",
        "lastName": "Kasprzak",
        "email": "anna.kasprzak@example.com",
        "phone": None,
        "note": None,
        "cards": [{"code": "KASP-0001"}],
        "groups": [],
        "wallet": {"balance": {"amount": "0.00"}},
    }
    # Credits given after the page was read: the dialog reads the balance again.
    target = {"customerIds": [customer]}
    await admin.mutate(
        CREDITS, {"input": {"target": target, "operation": "ADD", "amount": "25.50"}}
    )

    await page.get_by_role("button", name="Więcej").click()
    await page.get_by_role("menuitem", name="Usuń klienta").click()
    dialog = page.get_by_role("dialog", name="Usunąć klienta?")
    assert await _text(dialog.get_by_role("alert")) == (
        "Saldo promocyjnych kredytów zostanie odpisane: 25,50 zł."
    )
    await dialog.get_by_role("button", name="Usuń klienta").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("Klienci")
    assert page.url.endswith("#/customers")
    assert await _text(page.locator("main .alert.info")) == (
        "Usunięto klienta „Anna Kasprzak”. Odpisano saldo: 25,50 zł."
    )
    assert (await admin.data(READ, {"id": customer}))["customer"] is None
    assert (await admin.data(BY_CARD, {"code": "KASP-0001"}))["customer"] is None


async def test_a_customer_without_credits_is_deleted_with_no_write_off(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    created = await admin.mutate(
        CUSTOMER, {"input": {"firstName": "Bez", "lastName": "Salda", "cards": [{"code": "BS1"}]}}
    )
    customer = created["customer"]["id"]
    await log_in(page, gateway, admin.key)
    await open_page(page, gateway, f"customers/{customer}")

    await page.get_by_role("button", name="Więcej").click()
    await page.get_by_role("menuitem", name="Usuń klienta").click()
    dialog = page.get_by_role("dialog", name="Usunąć klienta?")
    await expect(dialog.get_by_text("Klient nie ma promocyjnych kredytów.")).to_be_visible()
    await expect(dialog.get_by_role("alert")).to_have_count(0)
    await dialog.get_by_role("button", name="Usuń klienta").click()

    assert await _text(page.locator("main .alert.info")) == "Usunięto klienta „Bez Salda”."
    assert (await admin.data(READ, {"id": customer}))["customer"] is None


async def test_selected_customers_join_a_group_and_every_result_leaves_it(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    group = (await admin.mutate(GROUP, {"name": "Stolik VIP"}))["group"]["id"]
    for n in range(3):
        await admin.mutate(
            CUSTOMER,
            {
                "input": {
                    "firstName": "Ewa",
                    "lastName": f"Członek{n}",
                    "cards": [{"code": f"CZ{n}"}],
                }
            },
        )
    await log_in(page, gateway, admin.key)
    # The search applies once typing pauses; a selection made before would be cleared then.
    async with page.expect_response(lambda r: "Członek" in (r.request.post_data or "")):
        await page.get_by_label("Szukaj").fill("Członek")
    await expect(page.get_by_text("Wyniki: 3")).to_be_visible()

    await page.get_by_label("Zaznacz: Ewa Członek0").check()
    await page.get_by_label("Zaznacz: Ewa Członek2").check()
    await page.get_by_role("button", name="Grupa…").click()
    dialog = page.get_by_role("dialog", name="Grupa klientów")
    await expect(dialog.get_by_text("Zaznaczeni klienci: 2")).to_be_visible()
    await dialog.get_by_label("Grupa", exact=True).select_option(label="Stolik VIP")
    await dialog.get_by_role("button", name="Dodaj do grupy").click()
    await expect(dialog.get_by_role("status")).to_have_text(
        "Dodano do grupy „Stolik VIP”. Klientów w grupie: 2."
    )
    found = (await _listed(admin, "Członek"))["edges"]
    assert {e["node"]["lastName"]: len(e["node"]["groups"]) for e in found} == {
        "Członek0": 1,
        "Członek1": 0,
        "Członek2": 1,
    }
    assert (await admin.data(MEMBERS, {"id": group}))["customerGroup"] == {"customerCount": 2}

    await dialog.get_by_role("button", name="Zamknij", exact=True).first.click()
    await page.get_by_role("button", name="Zaznacz wszystkie wyniki (3)").click()
    await page.get_by_role("button", name="Grupa…").click()
    dialog = page.get_by_role("dialog", name="Grupa klientów")
    await expect(dialog.get_by_text("Wszystkie wyniki filtra: 3")).to_be_visible()
    await dialog.get_by_label("Usuń z grupy").check()
    await dialog.get_by_role("button", name="Usuń z grupy").click()
    await expect(dialog.get_by_role("status")).to_have_text(
        "Usunięto z grupy „Stolik VIP”. Klientów w grupie: 0."
    )
    assert (await admin.data(MEMBERS, {"id": group}))["customerGroup"] == {"customerCount": 0}


def _import_file(rows: int) -> bytes:
    """A file as Polish Excel saves it: Windows-1250, ";" between cells. Line 3 has a bad email,
    line 2203 (in the third chunk of 1,000 rows) no card code, and line 2302 the card code of
    line 7, in the first chunk, in lower case."""
    lines = [HEADER]
    for n in range(rows):
        email = "zły-email" if n == 1 else f"imp{n}@example.com"
        code = {2201: "", 2300: "imp-00005"}.get(n, f"IMP-{n:05d}")
        lines.append(f"Łucja{n};Importowska;{email};;;{code};")
    return ("\r\n".join(lines) + "\r\n").encode("cp1250")


async def test_a_csv_file_is_checked_first_then_imported_in_chunks(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await log_in(page, gateway, admin.key)
    await page.get_by_role("button", name="Importuj CSV").click()
    dialog = page.get_by_role("dialog", name="Import klientów z pliku CSV")
    file = FilePayload(name="klienci.csv", mimeType="text/csv", buffer=_import_file(2500))
    await dialog.get_by_label("Plik CSV").set_input_files(files=[file])

    assert await _text(dialog.locator(".import-file")) == (
        "klienci.csv · Windows-1250 · wierszy z danymi: 2500 · części do wysłania: 3"
    )
    preview = dialog.locator("table.import-preview tbody tr")
    await expect(preview).to_have_count(5)
    assert plain(await preview.first.inner_text()).split("\t") == [
        "2", "Łucja0", "Importowska", "imp0@example.com", "", "", "IMP-00000", "",
    ]  # fmt: skip
    assert await _counts(dialog, "checked") == {
        "rows": "2500",
        "created": "2497",
        "updated": "0",
        "unchanged": "0",
        "skipped": "3",
    }
    problems = await _problems(dialog)
    # The server's two in its catalog's Polish, the third the console's own (across chunks).
    assert problems == [
        ["3", "e-mail: nieprawidłowa wartość „zły-email”"],
        ["2203", "brak kodu karty"],
        ["2302", "kod karty IMP-00005 powtarza wiersz 7"],
    ]
    assert (await _listed(admin, "Importowska"))["totalCount"] == 0

    await dialog.get_by_role("button", name="Importuj (wierszy: 2500)").click()
    assert await _counts(dialog, "imported") == {
        "rows": "2500",
        "created": "2497",
        "updated": "0",
        "unchanged": "0",
        "skipped": "3",
    }
    assert [p[0] for p in await _problems(dialog)] == ["3", "2203", "2302"]
    await expect(dialog.get_by_role("progressbar")).to_have_count(0)
    assert (await _listed(admin, "Importowska"))["totalCount"] == 2497
    assert (await admin.data(BY_CARD, {"code": "IMP-02499"}))["customer"] is not None


EXPORTED = [
    {
        "firstName": "Łucja",
        "lastName": "Żółkiewska",
        "email": "lucja@example.com",
        "phone": "+48 600 100 200",
        "note": 'Lubi "mocną" kawę; bez cukru\nStolik 4',
        "cards": [{"code": "EKS-1"}, {"code": "EKS-1B"}],
    },
    {"firstName": "Jan", "lastName": "Eksportowy", "cards": [{"code": "EKS-2"}]},
    {"firstName": "Zenon", "lastName": "Ćma, młodszy", "cards": [{"code": "EKS-3"}]},
]


@pytest.fixture
async def exported(admin: Api) -> list[str]:
    """Three customers of the "Eksport" group (the first also in "Eksport, stali"), with what a
    CSV must quote: a note with quotes, ";" and a line break, a "," in a name, two cards; returns
    the two groups' references."""
    groups = [
        (await admin.mutate(GROUP, {"name": name}))["group"]
        for name in ("Eksport", "Eksport, stali")
    ]
    for n, customer in enumerate(EXPORTED):
        chosen = [g["id"] for g in (groups if n == 0 else groups[:1])]
        await admin.mutate(CUSTOMER, {"input": {**customer, "groupIds": chosen}})
    return [g["reference"] for g in groups]


async def test_the_exported_list_imports_back_unchanged(
    page: Page, gateway: Gateway, admin: Api, exported: list[str]
) -> None:
    before = await _listed(admin, "EKS-")
    assert before["totalCount"] == 3
    phone = next(e["node"]["phone"] for e in before["edges"] if e["node"]["firstName"] == "Łucja")
    await log_in(page, gateway, admin.key)
    await page.get_by_label("Grupa klientów").select_option(label="Eksport")
    await expect(page.get_by_text("Wyniki: 3")).to_be_visible()
    async with page.expect_download() as started:
        await page.get_by_role("button", name="Eksportuj CSV").click()
    download = await started.value
    path = Path(await download.path())
    await expect(page.locator('[data-export="done"]')).to_contain_text(
        "Wyeksportowano klientów: 3. Plik jest w UTF-8 ze znacznikiem BOM"
    )

    data = await asyncio.to_thread(path.read_bytes)
    assert data.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert sorted(rows[1:]) == [
        ["Jan", "Eksportowy", "", "", "", "EKS-2", exported[0]],
        ["Zenon", "Ćma, młodszy", "", "", "", "EKS-3", exported[0]],
        [
            "Łucja",
            "Żółkiewska",
            "lucja@example.com",
            phone,
            'Lubi "mocną" kawę; bez cukru\nStolik 4',
            "EKS-1;EKS-1B",
            ";".join(exported),
        ],
    ]

    await page.get_by_role("button", name="Importuj CSV").click()
    dialog = page.get_by_role("dialog", name="Import klientów z pliku CSV")
    await dialog.get_by_label("Plik CSV").set_input_files(path)
    unchanged = {"rows": "3", "created": "0", "updated": "0", "unchanged": "3", "skipped": "0"}
    assert await _counts(dialog, "checked") == unchanged
    await dialog.get_by_role("button", name="Importuj (wierszy: 3)").click()
    assert await _counts(dialog, "imported") == unchanged
    assert await _listed(admin, "EKS-") == before


async def test_cells_are_quoted_and_formulas_written_as_text(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    await log_in(page, gateway, admin.key)
    written = await page.evaluate(
        """async () => {
          const csv = await import("/console/static/csv.js");
          const cells = ["=HYPERLINK(1)", "+48 600 100 200", "@x", "-5", "a;b", 'say "hi"', " x"];
          return csv.write(["c"], [cells.map(csv.safeCell)]);
        }"""
    )
    assert written == (
        '\ufeffc\r\n\'=HYPERLINK(1);+48 600 100 200;\'@x;-5;"a;b";"say ""hi""";" x"\r\n'
    )


async def test_an_import_stopped_by_a_failed_chunk_is_resumed_without_writing_twice(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    lines = [HEADER, *(f"Piotr;Wznowiony{n};;;;WZN-{n:04d};" for n in range(1500))]
    file = FilePayload(name="wznow.csv", mimeType="text/csv", buffer="\n".join(lines).encode())
    failed: list[str] = []

    async def fail_the_second_chunk_once(route: Route) -> None:
        body = route.request.post_data or ""
        if '"dryRun":false' in body and "WZN-1000" in body and not failed:
            failed.append(body)
            # The gateway's answer to a request that ran out of time, with status 200: the
            # page fixture counts a 503 in the browser's log as an error of the page.
            await route.fulfill(json={"data": None, "errors": [TIMED_OUT]})
        else:
            await route.continue_()

    await log_in(page, gateway, admin.key)
    await page.route("**/graphql", fail_the_second_chunk_once)
    await page.get_by_role("button", name="Importuj CSV").click()
    dialog = page.get_by_role("dialog", name="Import klientów z pliku CSV")
    await dialog.get_by_label("Plik CSV").set_input_files(files=[file])
    await expect(dialog.locator('[data-import="checked"]')).to_be_visible()
    await dialog.get_by_role("button", name="Importuj (wierszy: 1500)").click()

    await expect(dialog.get_by_role("alert")).to_have_text(
        "Serwer nie odpowiedział na czas. Spróbuj ponownie."
    )
    await expect(
        dialog.get_by_text("Przerwano przy części zaczynającej się od wiersza 1002.")
    ).to_be_visible()
    assert (await _listed(admin, "Wznowiony"))["totalCount"] == 1000
    await dialog.get_by_role("button", name="Ponów").click()
    assert await _counts(dialog, "imported") == {
        "rows": "1500",
        "created": "1500",
        "updated": "0",
        "unchanged": "0",
        "skipped": "0",
    }
    assert len(failed) == 1
    assert (await _listed(admin, "Wznowiony"))["totalCount"] == 1500


async def test_a_file_without_a_card_code_column_is_refused_before_it_is_sent(
    page: Page, gateway: Gateway, admin: Api
) -> None:
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.post_data or "") if "/graphql" in r.url else None)
    file = FilePayload(name="bez.csv", mimeType="text/csv", buffer=b"Imie;Nazwisko\nJan;Nowak\n")
    await log_in(page, gateway, admin.key)
    await page.get_by_role("button", name="Importuj CSV").click()
    dialog = page.get_by_role("dialog", name="Import klientów z pliku CSV")
    await dialog.get_by_label("Plik CSV").set_input_files(files=[file])

    await expect(dialog.get_by_role("alert")).to_contain_text(
        "Pierwszy wiersz pliku nie ma kolumny card_code"
    )
    await expect(dialog.locator("table")).to_have_count(0)
    operations = [operation_of(json.loads(body or "{}")) for body in sent]
    assert "Viewer" in operations
    assert "ImportCustomers" not in operations


async def test_chunks_repeat_the_header_and_keep_the_files_line_numbers(
    page: Page, gateway: Gateway
) -> None:
    await page.goto(f"{gateway.url}/console/")
    parts = await page.evaluate(
        """async () => {
          const csv = await import("/console/static/csv.js");
          const text = 'card_code;note\\r\\nA1;"two\\nlines"\\r\\n\\r\\nA2;x\\r\\nA3;y\\nA4;z';
          const [header, ...data] = csv.records(text);
          return csv.chunks(text, header, data, { maxBytes: 1000, maxRecords: 2 });
        }"""
    )
    # A1 starts on line 2 and spans two; line 4 is blank; A2, A3 and A4 are lines 5 to 7. The
    # server numbers a chunk's lines from its header, line 1.
    assert parts == [
        {"csv": 'card_code;note\r\nA1;"two\nlines"\r\n\r\nA2;x', "offset": 0, "count": 2},
        {"csv": "card_code;note\r\nA3;y\nA4;z", "offset": 4, "count": 2},
    ]
