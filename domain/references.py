"""Group references: what a valid one is, how a given one is normalised, how they are matched.

A reference links a CRM group to the GoPOS group and GoOrder promotion with the same reference.

A stored reference is lower-case ASCII letters and digits in words joined by single dashes, at
most 64 characters (``staly-klient``). One rule, a slug function (python-slugify, applied by the
service that owns the dependency), turns text into that form: a name when no reference is given
("Stały klient" → ``staly-klient``), and a reference a client gives. A given reference may be
normalised only in ways that keep what it says:

- trimmed; case, width and diacritics folded (``ＶＩＰ`` → ``vip``, ``Stały`` → ``staly``);
- runs of spaces, dashes and underscores joined into one dash (``a b`` and ``a_b`` → ``a-b``).

Any other character (``.``, ``/``, ``:``, ``%``, quotes, control characters) would be dropped by
the slug rule, so a given reference that contains one is INVALID rather than silently changed
(``../../etc`` is refused, not stored as ``etc``). So is one longer than 64 characters, given or
normalised.

References are matched across systems after trimming and case-folding (`normalise_reference`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import TypeAlias

from domain.messages import Message, msg
from domain.text import control_character

MAX_REFERENCE_LENGTH = 64
_VALID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_SEPARATORS = frozenset(" -_")

Slug: TypeAlias = Callable[[str], str]
"""Text → lower-case ASCII words joined by dashes, untruncated (the slug rule)."""


def normalise_reference(value: str) -> str:
    """The form in which references from different systems are compared."""
    return value.strip().casefold()


def reference_problem(reference: str) -> Message | None:
    """Why a reference is not valid as stored, or None when it is."""
    if not reference:
        return msg("reference.empty")
    if len(reference) > MAX_REFERENCE_LENGTH:
        return msg("reference.too_long", count=MAX_REFERENCE_LENGTH)
    if not _VALID.fullmatch(reference):
        return msg("reference.form")
    return None


def given_reference_problem(given: str) -> Message | None:
    """Why a reference a client gives (trimmed) cannot be normalised without changing what it
    says, or None when it can."""
    if not given:
        return msg("reference.empty")
    if len(given) > MAX_REFERENCE_LENGTH:
        return msg("reference.too_long", count=MAX_REFERENCE_LENGTH)
    if found := control_character(given):
        return msg("reference.control_character", character=found)
    folded = unicodedata.normalize("NFKC", given)
    if not all(char.isalnum() or char in _SEPARATORS for char in folded):
        return msg("reference.characters")
    return None


def normalised_given_reference(given: str, slug: Slug) -> tuple[str | None, Message | None]:
    """A given reference in its stored form, or the reason it has none: (reference, problem)."""
    given = given.strip()
    if problem := given_reference_problem(given):
        return None, problem
    reference = slug(given)
    if not reference:
        return None, msg("reference.no_letter")
    if problem := reference_problem(reference):
        return None, problem
    return reference, None


def shorten_reference(slug: str) -> str:
    """A slug cut to at most 64 characters, at a dash where a whole first word fits."""
    if len(slug) <= MAX_REFERENCE_LENGTH:
        return slug
    head = slug[: MAX_REFERENCE_LENGTH + 1]
    if "-" in head.rstrip("-"):
        return head.rsplit("-", 1)[0].rstrip("-")
    return slug[:MAX_REFERENCE_LENGTH]


def reference_from_name(name: str, slug: Slug) -> str:
    """The reference generated from a group name; empty when the name has no letter or digit."""
    return shorten_reference(slug(name))
