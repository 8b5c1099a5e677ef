"""Group references: how they are normalised, validated and matched across systems.

A reference links a CRM group to the GoPOS group and GoOrder promotion with the same reference.
References are compared after trimming and case-folding; they are stored in that form.
"""

from __future__ import annotations

import re

MAX_REFERENCE_LENGTH = 64
_ALLOWED = re.compile(r"^[^\s](?:[^\x00-\x1f]*[^\s])?$")


def normalise_reference(value: str) -> str:
    return value.strip().casefold()


def reference_problem(reference: str) -> str | None:
    """Why a normalised reference is unusable, or None when it is fine."""
    if not reference:
        return "Reference must not be empty."
    if len(reference) > MAX_REFERENCE_LENGTH:
        return f"Reference must be at most {MAX_REFERENCE_LENGTH} characters."
    if not _ALLOWED.match(reference):
        return "Reference must not contain control characters."
    return None
