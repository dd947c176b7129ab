"""API keys for teacher endpoints: kept in the OS keyring, never in the project.

A project folder gets copied, zipped and shared; a key inside project.sqlite would travel with
it. The keyring (macOS Keychain, Windows Credential Locker, Secret Service on Linux) keeps one
key per endpoint URL for this user. On a machine without one (a headless server, CI) the key
comes from the ``TALKSMALL_API_KEY`` environment variable instead, and saving says so plainly.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit, urlunsplit

from core.errors import TalkSmallError

SERVICE = "talksmall-studio"
ENV_VAR = "TALKSMALL_API_KEY"

log = logging.getLogger(__name__)


class KeyringUnavailable(TalkSmallError):
    """The OS keyring cannot store the key (none on this machine, locked, or refused)."""

    code = "secrets"


def get_api_key(base_url: str) -> str | None:
    """The key saved for ``base_url``, else ``$TALKSMALL_API_KEY``, else None."""
    import keyring
    import keyring.errors

    try:
        key = keyring.get_password(SERVICE, account_for(base_url))
    except (keyring.errors.KeyringError, RuntimeError, OSError) as exc:
        log.info("OS keyring not usable (%s); using $%s if set.", type(exc).__name__, ENV_VAR)
        key = None
    if key:
        return key
    return os.environ.get(ENV_VAR, "").strip() or None


def set_api_key(base_url: str, key: str) -> None:
    """Save ``key`` for ``base_url`` in the OS keyring (an empty key deletes it).

    Raises ``KeyringUnavailable`` where no keyring can store it; its hint names the
    environment variable to use instead.
    """
    import keyring
    import keyring.errors

    key = (key or "").strip()
    if not key:
        delete_api_key(base_url)
        return
    try:
        keyring.set_password(SERVICE, account_for(base_url), key)
    except (keyring.errors.NoKeyringError, RuntimeError) as exc:
        raise KeyringUnavailable(
            "No OS keyring is available on this computer, so the API key cannot be saved.",
            f"Set the environment variable {ENV_VAR} to the key before starting TalkSmall "
            "Studio; it is then used for every endpoint and never written to the project."
        ) from exc
    except (keyring.errors.KeyringError, OSError) as exc:
        raise KeyringUnavailable(
            f"The OS keyring refused to save the API key ({type(exc).__name__}).",
            f"Unlock the keyring (your login keychain) and try again, or set the environment "
            f"variable {ENV_VAR} to the key before starting TalkSmall Studio.") from exc


def delete_api_key(base_url: str) -> None:
    """Forget the key saved for ``base_url``; nothing happens if there is none."""
    import keyring
    import keyring.errors

    try:
        keyring.delete_password(SERVICE, account_for(base_url))
    except (keyring.errors.PasswordDeleteError, keyring.errors.NoKeyringError):
        pass  # not there, or nowhere it could be
    except (keyring.errors.KeyringError, RuntimeError, OSError) as exc:
        raise KeyringUnavailable(
            f"The OS keyring refused to delete the API key ({type(exc).__name__}).",
            "Unlock the keyring (your login keychain) and try again.") from exc


def keyring_available() -> bool:
    """Whether a real keyring is there (the settings form says where a key will go)."""
    import keyring
    from keyring.backends import fail

    try:
        return not isinstance(keyring.get_keyring(), fail.Keyring)
    except (RuntimeError, OSError):
        return False


def account_for(base_url: str) -> str:
    """One keyring entry per endpoint: scheme and host lower-cased, no trailing slash."""
    url = (base_url or "").strip().rstrip("/")
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
