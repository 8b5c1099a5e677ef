"""Messages in a person's language: gettext catalogs read with Babel, one per language.

The catalogs are the `.po` files beside this module (``locale/<language>/LC_MESSAGES/``), read
once per process when first needed: no compiled artifact can drift from them. A message id is
the catalog's msgid (``"group.reference_taken"``); its text names its parameters in braces
(``"Reference '{reference}' is already used by another group."``). An entry with plural forms
picks its form by the parameter ``count`` with the language's plural rule.

`render` turns a `domain.messages.Message` into text in `pl` or `en`; an id missing from the
catalog (never, while the catalog test passes) falls back to English, then to the id itself.
`negotiate` reads an `Accept-Language` header: the supported language with the highest q-value,
or None when it names none of them.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from string import Formatter

from babel import Locale
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from domain.messages import LANGUAGES, LIST_MORE, Listing, Message, msg

DEFAULT_LANGUAGE = "en"
DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"
# Parameters that are large counts: shown with the language's digit grouping ("10 000", "10,000").
_GROUPED = frozenset({"bytes", "cap", "objects"})
MAX_ACCEPT_LANGUAGE = 1000


@dataclass(frozen=True)
class Catalog:
    language: str
    texts: Mapping[str, tuple[str, ...]]  # id → its forms (one, or one per plural form)
    plural: Callable[[int], int]  # n → index of the form

    def text(self, message_id: str, count: int | None) -> str | None:
        forms = self.texts.get(message_id)
        if not forms:
            return None
        if len(forms) == 1 or count is None:
            return forms[0] if len(forms) == 1 else forms[-1]
        return forms[min(self.plural(count), len(forms) - 1)]


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalog(language: str) -> Catalog:
    with catalog_path(language).open("rb") as stream:
        po = read_po(stream, locale=language, domain=DOMAIN)
    texts: dict[str, tuple[str, ...]] = {}
    for entry in po:
        if not entry.id:
            continue
        key = entry.id[0] if isinstance(entry.id, (tuple, list)) else entry.id
        forms = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
        texts[str(key)] = tuple(str(form) for form in forms)
    return Catalog(language, texts, gettext.c2py(po.plural_expr))


def supported(language: str | None) -> str | None:
    """`language` when it is one of `LANGUAGES` (after folding case), else None."""
    folded = (language or "").strip().lower()
    return folded if folded in LANGUAGES else None


def negotiate(header: str | None) -> str | None:
    """The supported language an `Accept-Language` header prefers (``pl-PL`` counts as ``pl``;
    ``q=0`` refuses), or None when it names none."""
    if not header or len(header) > MAX_ACCEPT_LANGUAGE:
        return None
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, rest = part.strip().partition(";")
        language = supported(tag.split("-")[0])
        if language is None:
            continue
        quality = _quality(rest)
        if quality <= 0:
            continue
        candidate = (quality, -position, language)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                return 0.0
            return quality if 0 <= quality <= 1 else 0.0
    return 1.0


def render(message: Message, language: str) -> str:
    """The message's text in `language` (one of `LANGUAGES`)."""
    values = dict(rendered_params(message, language))
    count = _count(message.values.get("count"))
    template = catalog(language).text(message.id, count)
    if template is None:
        template = catalog(DEFAULT_LANGUAGE).text(message.id, count) or message.id
    return _format(template, values)


def render_param(value: str | Message | Listing, language: str) -> str:
    if isinstance(value, Message):
        return render(value, language)
    if isinstance(value, Listing):
        items = [render_param(item, language) for item in value.items]
        if value.hidden:
            items.append(render(msg(LIST_MORE, count=value.hidden), language))
        return value.separator.join(items)
    return value


def _format(template: str, values: Mapping[str, str]) -> str:
    parts: list[str] = []
    for literal, field, _spec, _conversion in Formatter().parse(template):
        parts.append(literal)
        if field is not None:
            parts.append(values.get(field, "{" + field + "}"))
    return "".join(parts)


def _count(value: object) -> int | None:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def rendered_params(message: Message, language: str) -> list[tuple[str, str]]:
    """The parameters as a client sees them: nested messages rendered, counts grouped."""
    return [(name, _shown(name, value, language)) for name, value in message.params]


def _shown(name: str, value: str | Message | Listing, language: str) -> str:
    text = render_param(value, language)
    if name in _GROUPED and text.isdigit():
        try:
            return format_decimal(Decimal(text), locale=Locale.parse(language))
        except (InvalidOperation, ValueError):
            return text
    return text


def placeholders(template: str) -> frozenset[str]:
    """The parameter names a catalog text uses."""
    return frozenset(field for _, field, _, _ in Formatter().parse(template) if field)
