"""The import's per-row problems as messages: a stable id and named parameters, rendered in the
reader's language (the API's `ImportProblem`) or in English (the CLI's stderr, `reason`).

A row with several problems is one message, ``"import.row_problems"``, listing them separated by
``"; "``. A parameter named ``reason`` holds a nested message (why a value is invalid, e.g.
``"text.control_character"``); it is shown without its closing full stop, inside parentheses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.messages import Listing, Message, Param, msg
from services.i18n import render, render_param, rendered_params

ROW_PROBLEMS = "import.row_problems"
REASON = "reason"
# The columns a problem names, by column: the id of the column's name.
COLUMN_NAMES = {
    "card_code": "import.column.card_code",
    "first_name": "import.column.first_name",
    "last_name": "import.column.last_name",
    "note": "import.column.note",
    "email": "import.column.email",
    "phone": "import.column.phone",
}


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: Message

    @property
    def reason(self) -> str:
        """The problem in English, as the CLI reports it."""
        return problem_text(self.message, "en")


def problem_text(message: Message, language: str) -> str:
    return render(_flattened(message, language), language)


def problem_params(message: Message, language: str) -> list[tuple[str, str]]:
    return rendered_params(_flattened(message, language), language)


def row_problems(reasons: Sequence[Message]) -> Message:
    """One row's problems: the only one, or all of them in one message."""
    if len(reasons) == 1:
        return reasons[0]
    return msg(ROW_PROBLEMS, problems=Listing(tuple(reasons), "; "))


def invalid(column: str, value: str | None, reason: Message, *, explain: bool) -> Message:
    """A value the column cannot hold: quoted when `value` is given (it is short and clean), with
    why when `explain` is set or the value is not quoted."""
    what = msg(COLUMN_NAMES[column])
    if value is None:
        return msg("import.invalid_reason", what=what, reason=reason)
    if explain:
        return msg("import.invalid_value_reason", what=what, value=value, reason=reason)
    return msg("import.invalid_value", what=what, value=value)


def _flattened(message: Message, language: str) -> Message:
    """`message` with each `reason` rendered in `language`, its closing full stop left out."""
    params = tuple((name, _flat(name, value, language)) for name, value in message.params)
    return Message(message.id, params)


def _flat(name: str, value: Param, language: str) -> Param:
    if isinstance(value, Message):
        if name == REASON:
            return render_param(_flattened(value, language), language).rstrip(".")
        return _flattened(value, language)
    if isinstance(value, Listing):
        items = tuple(_flat(name, item, language) for item in value.items)
        return Listing(items, value.separator, value.hidden)
    return value
