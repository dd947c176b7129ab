"""Where TalkSmall keeps things outside a project: shipped resources, config, caches.

Environment overrides let tests and CI use fresh folders: ``TALKSMALL_CONFIG_DIR`` and
``TALKSMALL_CACHE_DIR``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "talksmall"


def resources_dir() -> Path:
    """The shipped ``resources/`` folder (next to ``core/``, or inside a frozen bundle)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def config_dir() -> Path:
    override = os.environ.get("TALKSMALL_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_NAME))


def cache_dir() -> Path:
    override = os.environ.get("TALKSMALL_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir(APP_NAME))
