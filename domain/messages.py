"""What a person reads, as data: a stable message id and its named parameters.

The domain never writes a sentence: it names the message (``"group.reference_taken"``) and the
values it is made from (``reference="vip"``). The gateway renders it from a gettext catalog in
the reader's language. A parameter is text, another `Message` (rendered in the same language),
or a `Listing` of those (joined, with "and N more" when `hidden` items were left out).

Stored messages (a failed job's error, a sync run's error, a wallet entry the system wrote) are
kept as `encode` writes them (JSON) and read back with `decode`; text that is not such JSON (a
row written before messages had ids) reads as the message ``"text.legacy"`` carrying that text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

LANGUAGES = ("pl", "en")
LEGACY = "text.legacy"
LIST_MORE = "list.more"


@dataclass(frozen=True, slots=True)
class Listing:
    items: tuple[Param, ...]
    separator: str = ", "
    hidden: int = 0  # how many more there are beyond `items`


Param: TypeAlias = "str | Message | Listing"


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    params: tuple[tuple[str, Param], ...] = ()

    @property
    def values(self) -> dict[str, str | Message | Listing]:
        return dict(self.params)

    def plain(self) -> dict[str, str]:
        """The parameters that are plain text (nested messages and listings left out)."""
        return {name: value for name, value in self.params if isinstance(value, str)}


def default_language(currency: str) -> str:
    """A new location's language: Polish for a location selling in złoty, else English."""
    return "pl" if currency.upper() == "PLN" else "en"


def msg(message_id: str, /, **params: object) -> Message:
    """A message; each parameter is kept as text unless it is a `Message` or a `Listing`."""
    return Message(message_id, tuple((name, _param(value)) for name, value in params.items()))


def listing(
    items: Sequence[str | Message],
    total: int | None = None,
    *,
    limit: int,
    separator: str = ", ",
) -> Listing:
    """The first `limit` of `items` (of `total`, default all of them)."""
    count = len(items) if total is None else total
    shown = tuple(items[:limit])
    return Listing(shown, separator, max(count - len(shown), 0))


def _param(value: object) -> str | Message | Listing:
    if isinstance(value, (Message, Listing)):
        return value
    return str(value)


def encode(message: Message) -> str:
    return json.dumps(_as_json(message), ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> Message:
    try:
        data = json.loads(text)
    except ValueError:
        return msg(LEGACY, text=text)
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return msg(LEGACY, text=text)
    return _message_of(data)


def _as_json(value: str | Message | Listing) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Message):
        return {"id": value.id, "params": {name: _as_json(v) for name, v in value.params}}
    return {
        "items": [_as_json(item) for item in value.items],
        "separator": value.separator,
        "hidden": value.hidden,
    }


def _message_of(data: Mapping[str, Any]) -> Message:
    params = data.get("params") or {}
    return Message(str(data["id"]), tuple((str(k), _value_of(v)) for k, v in params.items()))


def _value_of(data: Any) -> str | Message | Listing:
    if isinstance(data, dict) and "id" in data:
        return _message_of(data)
    if isinstance(data, dict) and "items" in data:
        items = tuple(_value_of(item) for item in data["items"])
        return Listing(items, str(data.get("separator", ", ")), int(data.get("hidden", 0)))
    return str(data)
