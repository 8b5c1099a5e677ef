import os
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from adapters.secrets import (
    SecretBox,
    SecretKeyMismatch,
    SecretTokenError,
    load_or_create_key_file,
    new_key,
    parse_keys,
)
from settings import load_settings

OLD = "AxlfYgfU06kOverBMUlCk5Nmq_zGV31hJxex2LV9yDw="
NEW = "msvTvgBUTXjTzeISQs__hqXRw2qUyN-QJJRD6V49nYY="


def test_seal_and_open_round_trip() -> None:
    box = SecretBox(OLD)

    token = box.seal("zażółć-secret")

    assert token != "zażółć-secret"
    assert "secret" not in token
    assert box.open(token) == "zażółć-secret"
    assert box.seal("zażółć-secret") != token  # a fresh IV every time


def test_a_box_takes_bytes_and_lists() -> None:
    token = SecretBox(OLD.encode()).seal("s")

    assert SecretBox([NEW, OLD.encode()]).open(token) == "s"


def test_a_wrong_key_is_a_readable_mismatch() -> None:
    token = SecretBox(OLD).seal("s")

    with pytest.raises(SecretKeyMismatch) as raised:
        SecretBox(NEW).open(token)

    assert str(raised.value) == (
        "stored integration secrets were sealed with another GOCRM_SECRET_KEY"
    )


@pytest.mark.parametrize("token", ["", "plain-text", "żółw", "gAAAAAAAAAAA", "%%%"])
def test_a_value_that_was_never_sealed_is_invalid(token: str) -> None:
    box = SecretBox(OLD)

    with pytest.raises(SecretTokenError) as raised:
        box.open(token)

    assert str(raised.value) == "the stored integration secret is not a sealed value (damaged?)"


def test_an_altered_token_does_not_open() -> None:
    box = SecretBox(OLD)
    token = box.seal("secret")
    altered = token[:-6] + ("AAAAAA" if token[-6:] != "AAAAAA" else "BBBBBB")

    with pytest.raises(SecretKeyMismatch):
        box.open(altered)


def test_rotation_first_key_seals_every_key_opens() -> None:
    old_token = SecretBox(OLD).seal("client-secret")
    rotated = SecretBox(f"{NEW}, {OLD}")

    new_token = rotated.seal("api-key")

    assert rotated.open(old_token) == "client-secret"
    assert SecretBox(NEW).open(new_token) == "api-key"
    with pytest.raises(SecretKeyMismatch):
        SecretBox(OLD).open(new_token)
    resealed = rotated.reseal(old_token)
    assert SecretBox(NEW).open(resealed) == "client-secret"
    with pytest.raises(SecretKeyMismatch):
        SecretBox(NEW).reseal(SecretBox(OLD).seal("x"))


def test_repr_hides_the_keys() -> None:
    box = SecretBox(f"{NEW},{OLD}")

    assert repr(box) == "SecretBox(keys=<2 hidden>)"
    assert str(box) == repr(box)
    assert not hasattr(box, "__dict__")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (OLD, [OLD]),
        (f" {OLD}\n", [OLD]),
        (f"{NEW},{OLD}", [NEW, OLD]),
        (f"{NEW} , {OLD},", [NEW, OLD]),
        (f"{NEW},{NEW}", [NEW]),
    ],
)
def test_parse_keys(value: str, expected: list[str]) -> None:
    assert parse_keys(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "",
            "GOCRM_SECRET_KEY holds no key; a Fernet key is 32 random bytes in url-safe base64 "
            "(44 characters, ending in '=').",
        ),
        (
            " , ",
            "GOCRM_SECRET_KEY holds no key; a Fernet key is 32 random bytes in url-safe base64 "
            "(44 characters, ending in '=').",
        ),
        (
            "hunter2",
            "GOCRM_SECRET_KEY: the key is not a Fernet key (it has 7 characters or characters "
            "outside url-safe base64); a Fernet key is 32 random bytes in url-safe base64 "
            "(44 characters, ending in '=').",
        ),
        (
            f"{NEW},{OLD[:-2]}+=",
            "GOCRM_SECRET_KEY: key 2 of 2 is not a Fernet key (it has 44 characters or "
            "characters outside url-safe base64); a Fernet key is 32 random bytes in url-safe "
            "base64 (44 characters, ending in '=').",
        ),
    ],
)
def test_parse_keys_refuses_what_is_not_a_key(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^GOCRM_SECRET_KEY") as raised:
        parse_keys(value)

    assert str(raised.value) == message


def test_a_key_file_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "config" / "secret.key"

    created = load_or_create_key_file(path)
    again = load_or_create_key_file(path)

    assert parse_keys(created) == [created]
    assert again == created
    assert path.read_text() == created + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert os.listdir(path.parent) == ["secret.key"]
    assert SecretBox(again).open(SecretBox(created).seal("s")) == "s"


def test_an_existing_key_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text(f"{NEW},\n{OLD}\n")

    assert load_or_create_key_file(path) == f"{NEW},{OLD}"
    assert path.read_text() == f"{NEW},\n{OLD}\n"


def create_at_once(path: Path, creators: int) -> list[str]:
    start = threading.Barrier(creators)
    keys: list[str] = []

    def create() -> None:
        start.wait()
        keys.append(load_or_create_key_file(path))

    threads = [threading.Thread(target=create) for _ in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys


def test_concurrent_creators_end_with_the_same_key(tmp_path: Path) -> None:
    for attempt in range(20):
        path = tmp_path / str(attempt) / "secret.key"

        keys = create_at_once(path, 8)

        assert len(keys) == 8
        assert set(keys) == {path.read_text().strip()}
        assert os.listdir(path.parent) == ["secret.key"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", " holds no key;"),
        (b"not a key\n", ": the key is not a Fernet key (it has 9 characters"),
        ("kłucz".encode(), " is not text;"),
    ],
)
def test_a_bad_key_file_names_its_path(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(content)

    with pytest.raises(ValueError, match=r"^Secret key file ") as raised:
        load_or_create_key_file(path)

    assert str(raised.value).startswith(f"Secret key file {path}{problem}")
    assert path.read_bytes() == content


def test_new_keys_are_valid_and_distinct() -> None:
    first, second = new_key(), new_key()

    assert parse_keys(first) == [first]
    assert first != second


MOVE_FROM_KEY_FILE = "export GOCRM_SECRET_KEY=\"$(tr -d '\\n' < gocrm.key)\""


def test_the_documented_move_from_the_key_file_opens_what_it_sealed(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    documented = [root / "README.md", root / "docs" / "configuration.md"]
    sealed = SecretBox(load_or_create_key_file(tmp_path / "gocrm.key")).seal("client-secret")

    moved = subprocess.run(
        ["sh", "-c", f'{MOVE_FROM_KEY_FILE} && printf %s "$GOCRM_SECRET_KEY"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    settings = load_settings({"GOCRM_SECRET_KEY": moved, "GOCRM_ENV": "production"})

    assert [MOVE_FROM_KEY_FILE in path.read_text(encoding="utf-8") for path in documented] == [
        True,
        True,
    ]
    assert settings.secret_key is not None
    assert SecretBox(settings.secret_key).open(sealed) == "client-secret"
