"""Reading a customers CSV file into rows to import (the importer writes them: `services.importer`).

The file is read as Poles export it from Excel or an accounting program:

- its encoding is UTF-8 (with or without a byte order mark) when the whole file decodes strictly
  as UTF-8, else Windows-1250 (a file that is neither is refused);
- its separator is ``,`` or ``;``, whichever makes the header row name a card_code column.

The columns are first_name, last_name, email, phone, note, card_code and groups, in any order
(other columns are ignored). card_code holds one card code or several separated by ``;``;
groups holds group references or names separated by ``;``. A cell that an export neutralised as
a spreadsheet formula (``'=…``, ``'+48 600…``) is read without that leading ``'``, so an export
written by the rule the README gives imports back unchanged.

The file is read a line at a time, never whole: a line longer than `MAX_LINE_BYTES` is read through
in pieces and its row is skipped and reported, like a row the CSV reader refuses (a quoted field
longer than the csv module's field size limit), so memory stays bounded whatever the file holds.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING
from uuid import UUID

from domain import entities
from domain.contacts import (
    MAX_NAME_LENGTH,
    MAX_NOTE_LENGTH,
    PhoneRule,
    card_code_problem,
    clean_text,
    email_problem,
    normalise_card_code,
    normalise_email,
    normalised_phone,
)
from domain.customer_checks import MAX_CARDS_PER_CUSTOMER
from domain.errors import ErrorCode, fail
from domain.messages import Message, msg
from domain.references import normalise_reference
from domain.text import control_character, text_problem
from services.import_problems import ImportProblem, invalid, row_problems

if TYPE_CHECKING:
    from _csv import Reader

MAX_LINE_BYTES = 64 * 1024  # a line's bytes, without its line ending
MAX_QUOTED_LENGTH = 64  # the longest cell a problem report quotes back
READ_CHUNK = 64 * 1024
SEPARATORS = (",", ";")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "note")
COLUMNS = (*CONTACT_FIELDS, "card_code", "groups")
_TEXT_LIMITS = {
    "first_name": (MAX_NAME_LENGTH, False),
    "last_name": (MAX_NAME_LENGTH, False),
    "note": (MAX_NOTE_LENGTH, True),
}


@dataclass(frozen=True)
class Row:
    """A valid data row: its card codes, the non-empty contact values and the groups to join."""

    line: int
    card_codes: tuple[str, ...]
    contact: tuple[tuple[str, str], ...]
    group_ids: tuple[UUID, ...]


class Groups:
    """The location's groups as a groups cell names them: by reference, else by name (case and
    runs of spaces ignored). A name two groups share names neither."""

    def __init__(self, groups: Sequence[entities.CustomerGroup]) -> None:
        self._references = {normalise_reference(g.reference): g.id for g in groups}
        self._names: dict[str, UUID | None] = {}
        for group in groups:
            key = _name_key(group.name)
            self._names[key] = None if key in self._names else group.id

    def find(self, given: str) -> UUID | str:
        """The group's id, or why there is none ("unknown" or "ambiguous")."""
        if (found := self._references.get(normalise_reference(given))) is not None:
            return found
        key = _name_key(given)
        if key not in self._names:
            return "unknown"
        return self._names[key] or "ambiguous"


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def detect_encoding(stream: IO[bytes]) -> str:
    """ "utf-8" when the whole stream decodes strictly as UTF-8, else "cp1250"; read in chunks,
    then rewound."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        while chunk := stream.read(READ_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1250"
    finally:
        stream.seek(0)
    return "utf-8"


class Lines:
    """The lines of a file opened in binary mode, decoded, for the CSV reader.

    A line of more than `limit` bytes is read through in pieces of `READ_CHUNK` bytes and never
    held whole: the reader gets an empty line in its place (so its line count stays right), and
    the line's number and size are kept in `oversized` until the caller takes them.
    """

    def __init__(self, stream: IO[bytes], limit: int, encoding: str) -> None:
        self._stream = stream
        self._limit = limit
        self._encoding = encoding
        self.number = 0
        self.oversized: list[tuple[int, int]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        piece = self._stream.readline(self._limit + 2)  # the limit, and room for "\r\n"
        if not piece:
            raise StopIteration
        self.number += 1
        if len(piece) - _ending(piece) <= self._limit:
            return self._decode(piece)
        size, tail = len(piece), piece[-2:]
        while not tail.endswith(b"\n"):
            piece = self._stream.readline(READ_CHUNK)
            if not piece:
                break
            size, tail = size + len(piece), (tail + piece)[-2:]
        self.oversized.append((self.number, size - _ending(tail)))
        return "\n"

    def take_oversized(self) -> list[tuple[int, int]]:
        taken, self.oversized = self.oversized, []
        return taken

    def _decode(self, data: bytes) -> str:
        if self.number == 1:  # a byte order mark, even on a file that is not UTF-8 after it
            data = data.removeprefix(codecs.BOM_UTF8)
        if self._encoding == "utf-8":
            return data.decode("utf-8")
        try:
            return data.decode(self._encoding)
        except UnicodeDecodeError as error:
            raise fail(
                ErrorCode.INVALID,
                "file",
                msg("import.encoding", line=self.number),
            ) from error


def _ending(line: bytes) -> int:
    """The length of the line ending that `line` ends with: 2 for CR LF, 1 for LF, else 0."""
    if line.endswith(b"\r\n"):
        return 2
    return 1 if line.endswith(b"\n") else 0


def _too_long(line: int, oversized: list[tuple[int, int]]) -> ImportProblem:
    number, size = oversized[0]
    kib = MAX_LINE_BYTES // 1024
    if number == line:
        return ImportProblem(line, msg("import.line_too_long", kib=kib, bytes=size))
    return ImportProblem(
        line, msg("import.earlier_line_too_long", line=number, kib=kib, bytes=size)
    )


def read_rows(
    stream: IO[bytes], groups: Groups, phone: PhoneRule, max_rows: int | None = None
) -> list[Row | ImportProblem]:
    """Every non-blank data row of the file, valid or not, in file order, phones in E.164
    (`phone`: the location's rule) and card codes normalised; raises INVALID (field "file")
    for an unusable file, or one of more than `max_rows` data rows."""
    lines = Lines(stream, MAX_LINE_BYTES, detect_encoding(stream))
    separator, columns = _header(lines)
    reader = csv.reader(lines, delimiter=separator)
    return _parse(reader, lines, columns, (groups, phone), max_rows)


def _header(lines: Lines) -> tuple[str, dict[str, int]]:
    """The separator, and the position of each known column in the header row."""
    first = next(lines, None)
    if lines.oversized:
        _number, size = lines.oversized[0]
        too_long = msg("import.header_too_long", kib=MAX_LINE_BYTES // 1024, bytes=size)
        raise fail(ErrorCode.INVALID, "file", too_long)
    if first is None:
        raise fail(ErrorCode.INVALID, "file", msg("import.empty"))
    found: list[tuple[int, str, dict[str, int]]] = []
    for separator in SEPARATORS:
        try:
            header = next(csv.reader([first], delimiter=separator), [])
        except csv.Error as error:
            problem = msg("import.header_unreadable", detail=error)
            raise fail(ErrorCode.INVALID, "file", problem) from error
        positions: dict[str, int] = {}
        for index, name in enumerate(header):
            key = name.strip().casefold()
            if key in COLUMNS:
                positions.setdefault(key, index)
        if "card_code" in positions:
            found.append((len(positions), separator, positions))
    if not found:
        raise fail(ErrorCode.INVALID, "file", msg("import.no_card_code"))
    _, separator, positions = max(found, key=lambda f: f[0])
    return separator, positions


def _parse(
    reader: Reader,
    lines: Lines,
    columns: dict[str, int],
    rules: tuple[Groups, PhoneRule],
    max_rows: int | None,
) -> list[Row | ImportProblem]:
    records: list[Row | ImportProblem] = []
    first_seen: dict[str, int] = {}
    while True:
        line = lines.number + 1
        try:
            cells = next(reader)
        except StopIteration:
            if oversized := lines.take_oversized():
                records.append(_too_long(line, oversized))
            return records
        except csv.Error as error:
            lines.take_oversized()
            records.append(ImportProblem(line, msg("import.unreadable_csv", detail=error)))
            continue
        if oversized := lines.take_oversized():
            records.append(_too_long(line, oversized))
        else:
            values = {
                name: _unescaped(cells[index]) if index < len(cells) else ""
                for name, index in columns.items()
            }
            if not any(value.strip() for value in values.values()):
                continue
            records.append(_check_row(line, values, rules, first_seen))
        if max_rows is not None and len(records) > max_rows:
            raise fail(
                ErrorCode.INVALID,
                "file",
                msg("import.too_many_rows", cap=max_rows),
            )


def _unescaped(cell: str) -> str:
    """A cell as it was before an export neutralised it as a formula: ``'=1+2`` → ``=1+2``
    (a leading ``'`` before ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is dropped)."""
    if cell.startswith("'") and cell[1:2] in FORMULA_STARTS and len(cell) > 1:
        return cell[1:]
    return cell


def _shown(value: str) -> str | None:
    """A cell as a problem report may quote it: short and clean, or not at all, so that a cell
    of 100 KiB or one with control characters never reaches the report or the log."""
    if len(value) <= MAX_QUOTED_LENGTH and control_character(value) is None:
        return value
    return None


def _invalid(column: str, value: str, problem: Message, *, explain: bool = False) -> Message:
    return invalid(column, _shown(value), problem, explain=explain)


def _check_row(
    line: int, values: dict[str, str], rules: tuple[Groups, PhoneRule], first_seen: dict[str, int]
) -> Row | ImportProblem:
    if any("\x00" in value for value in values.values()):
        return ImportProblem(line, msg("import.nul_character"))
    groups, phone = rules
    reasons: list[Message] = []
    codes = _card_codes(reasons, line, values["card_code"], first_seen)
    contact = _contact(reasons, values, phone)
    group_ids = _group_ids(reasons, values.get("groups", ""), groups)
    if reasons:
        return ImportProblem(line, row_problems(reasons))
    return Row(line, codes, tuple(contact.items()), group_ids)


def _card_codes(
    reasons: list[Message], line: int, cell: str, first_seen: dict[str, int]
) -> tuple[str, ...]:
    codes = [code for raw in cell.split(";") if (code := normalise_card_code(raw.strip()))]
    if not codes:
        reasons.append(msg("import.card_code_missing"))
        return ()
    if len(codes) > MAX_CARDS_PER_CUSTOMER:
        reasons.append(msg("import.card_codes_too_many", count=MAX_CARDS_PER_CUSTOMER))
        return ()
    for code in codes:
        if problem := card_code_problem(code):
            reasons.append(_invalid("card_code", code, problem, explain=True))
        elif code in first_seen:
            where = (
                "import.card_code_repeats" if first_seen[code] != line else "import.card_code_twice"
            )
            reasons.append(msg(where, code=code, line=first_seen[code]))
        else:
            first_seen[code] = line
    return tuple(codes)


def _contact(reasons: list[Message], values: dict[str, str], rule: PhoneRule) -> dict[str, str]:
    contact: dict[str, str] = {}
    for name, (limit, multiline) in _TEXT_LIMITS.items():
        text = clean_text(values.get(name))
        if text is not None and (problem := text_problem(text, limit, multiline=multiline)):
            reasons.append(_invalid(name, text, problem, explain=True))
        elif text is not None:
            contact[name] = text
    email = clean_text(values.get("email"))
    if email is not None:
        email = normalise_email(email)
        if problem := email_problem(email):
            reasons.append(_invalid("email", email, problem))
        contact["email"] = email
    phone = clean_text(values.get("phone"))
    if phone is not None:
        normalised, problem = normalised_phone(phone, rule)
        if normalised is None:
            reasons.append(_invalid("phone", phone, problem or msg("phone.invalid", phone=phone)))
        else:
            contact["phone"] = normalised
    return {name: contact[name] for name in CONTACT_FIELDS if name in contact}


def _group_ids(reasons: list[Message], cell: str, groups: Groups) -> tuple[UUID, ...]:
    found: list[UUID] = []
    for raw in cell.split(";"):
        given = raw.strip()
        if not given:
            continue
        group = groups.find(given)
        if isinstance(group, UUID):
            found.append(group)
        else:
            reasons.append(_group_problem(group, _shown(given)))
    return tuple(dict.fromkeys(found))


def _group_problem(why: str, shown: str | None) -> Message:
    """Why a groups cell's entry names no group ("unknown" or "ambiguous"), quoting it if shown."""
    if why == "unknown":
        return (
            msg("import.unknown_group_hidden")
            if shown is None
            else msg("import.unknown_group", group=shown)
        )
    if shown is None:
        return msg("import.group_name_shared_hidden")
    return msg("import.group_name_shared", group=shown)
