"""API keys in a keyring (a real file-backed keyring backend) and the headless fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from core import secrets
from core.secrets import KeyringUnavailable, delete_api_key, get_api_key, set_api_key

URL = "http://127.0.0.1:11434/v1"


class FileKeyring(KeyringBackend):
    """A keyring kept in one JSON file: the OS keyrings' behaviour, without the OS."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _load(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self.path.write_text(json.dumps({**self._load(), f"{service}\n{username}": password}))

    def delete_password(self, service: str, username: str) -> None:
        stored = self._load()
        if stored.pop(f"{service}\n{username}", None) is None:
            raise PasswordDeleteError("not found")
        self.path.write_text(json.dumps(stored))


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileKeyring]:
    monkeypatch.delenv(secrets.ENV_VAR, raising=False)
    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(secrets.ENV_VAR, raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_set_get_delete(file_keyring: FileKeyring) -> None:
    assert get_api_key(URL) is None
    set_api_key(URL, "  sk-abc\n")  # pasted with spaces and a newline
    assert get_api_key(URL) == "sk-abc"
    assert "sk-abc" in file_keyring.path.read_text()
    assert get_api_key("HTTP://127.0.0.1:11434/v1/") == "sk-abc"  # the same endpoint
    assert get_api_key("http://127.0.0.1:1234/v1") is None  # another one
    delete_api_key(URL)
    assert get_api_key(URL) is None
    delete_api_key(URL)  # deleting what is not there is fine
    assert secrets.keyring_available()


def test_an_empty_key_deletes(file_keyring: FileKeyring) -> None:
    set_api_key(URL, "sk-abc")
    set_api_key(URL, "   ")
    assert get_api_key(URL) is None


def test_the_keyring_wins_over_the_environment(file_keyring: FileKeyring,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secrets.ENV_VAR, "sk-from-env")
    assert get_api_key(URL) == "sk-from-env"  # nothing saved: the environment
    set_api_key(URL, "sk-saved")
    assert get_api_key(URL) == "sk-saved"


def test_headless_falls_back_to_the_environment(no_keyring: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert not secrets.keyring_available()
    assert get_api_key(URL) is None
    monkeypatch.setenv(secrets.ENV_VAR, " sk-from-env ")
    assert get_api_key(URL) == "sk-from-env"
    with pytest.raises(KeyringUnavailable) as caught:
        set_api_key(URL, "sk-abc")
    assert "No OS keyring" in caught.value.message
    assert secrets.ENV_VAR in caught.value.hint
    assert "sk-abc" not in str(caught.value)
    delete_api_key(URL)  # nothing to delete, no error
