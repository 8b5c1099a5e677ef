"""Integration credentials sealed at rest (the GoPOS client secret, the GoOrder API key).

Secrets are sealed with Fernet (AES-128-CBC with an HMAC-SHA256, from `cryptography`) under the
key set in GOCRM_SECRET_KEY, or, when it is not set, a key file created on first use. The setting
may hold several keys separated by commas: the first one seals, every one opens, so a key is
rotated by putting a new one first, re-sealing the stored secrets (`SecretBox.reseal`) and then
dropping the old one.

    ValueError           a key setting or key file that does not hold Fernet keys
    SecretKeyMismatch    a stored secret sealed with a key that is not configured
    SecretTokenError     (a ValueError) a stored value that is not a sealed secret at all

No key ever appears in a message or a repr.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_SETTING = "GOCRM_SECRET_KEY"
KEY_LENGTH = 44  # 32 bytes in url-safe base64 with its padding
_KEY = re.compile(r"[A-Za-z0-9_-]{43}=")
_TOKEN_VERSION = 0x80
_KEY_HINT = "a Fernet key is 32 random bytes in url-safe base64 (44 characters, ending in '=')"


class SecretKeyMismatch(Exception):  # noqa: N818 (the name operators see in logs)
    def __init__(self) -> None:
        super().__init__(f"stored integration secrets were sealed with another {KEY_SETTING}")


class SecretTokenError(ValueError):
    def __init__(self) -> None:
        super().__init__("the stored integration secret is not a sealed value (damaged?)")


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _key_problem(key: str) -> str | None:
    if not _KEY.fullmatch(key):
        return f"it has {len(key)} characters or characters outside url-safe base64"
    try:
        raw = base64.urlsafe_b64decode(key)
    except binascii.Error:
        return "it is not valid base64"
    return None if len(raw) == 32 else f"it decodes to {len(raw)} bytes instead of 32"


def _parse(value: str, source: str) -> list[str]:
    items = [item.strip() for item in value.split(",")]
    keys = [item for item in items if item]
    if not keys:
        raise ValueError(f"{source} holds no key; {_KEY_HINT}.")
    for position, key in enumerate(keys, start=1):
        if problem := _key_problem(key):
            which = f"key {position} of {len(keys)}" if len(keys) > 1 else "the key"
            raise ValueError(f"{source}: {which} is not a Fernet key ({problem}); {_KEY_HINT}.")
    return list(dict.fromkeys(keys))


def parse_keys(value: str) -> list[str]:
    """The keys in a GOCRM_SECRET_KEY value (comma-separated, sealing key first), checked."""
    return _parse(value, KEY_SETTING)


class SecretBox:
    """Seals and opens integration secrets with the configured keys."""

    __slots__ = ("_count", "_fernet")

    def __init__(self, keys: str | bytes | Iterable[str | bytes]) -> None:
        items = [keys] if isinstance(keys, str | bytes) else list(keys)
        texts = [k.decode("ascii", "replace") if isinstance(k, bytes) else k for k in items]
        parsed = parse_keys(",".join(texts))
        self._fernet = MultiFernet(Fernet(key) for key in parsed)
        self._count = len(parsed)

    def __repr__(self) -> str:
        return f"SecretBox(keys=<{self._count} hidden>)"

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, token: str) -> str:
        _check_token(token)
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise SecretKeyMismatch from exc

    def reseal(self, token: str) -> str:
        """The same secret sealed with the first key (for rotation)."""
        _check_token(token)
        try:
            return self._fernet.rotate(token).decode("ascii")
        except InvalidToken as exc:
            raise SecretKeyMismatch from exc


def _check_token(token: str) -> None:
    """Tell a value that is no sealed secret from one sealed with another key."""
    try:
        data = base64.urlsafe_b64decode(token.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise SecretTokenError from exc
    if len(data) < 1 + 8 + 16 + 16 + 32 or data[0] != _TOKEN_VERSION:
        raise SecretTokenError


def _read_key_file(path: Path) -> str:
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise ValueError(f"Secret key file {path} is not text; {_KEY_HINT}.") from exc
    return ",".join(_parse(text, f"Secret key file {path}"))


def load_or_create_key_file(path: Path) -> str:
    """The key (or comma-separated keys) in `path`, which is created with a new key and mode
    0600 when it does not exist. Processes starting at once all end with the same key: the file
    appears complete under its name in one step (a hard link), and only the first link wins."""
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = new_key()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(key + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_key_file(path)
        _sync_directory(path.parent)
        return key
    finally:
        os.unlink(temporary)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
