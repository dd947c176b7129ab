"""Shared fixtures for core tests: one real conversion of the embedded model per session.

The conversion takes ~20-40 s on two cores, so the tests that need a converted folder share
it. It runs cold: in the session's fresh TALKSMALL_CACHE_DIR (tests/conftest.py makes one),
or, if another test already converted there, in a second fresh folder, so the first-run path
(and its progress reports) is what gets tested, never a cache left in ~/.cache. The
converted folder is deleted when the session ends.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@dataclass
class EmbeddedConversion:
    path: Path  # the converted Hugging Face folder
    cache_dir: Path  # the TALKSMALL_CACHE_DIR it was converted under
    seconds: float
    progress: list[tuple[float, str]] = field(default_factory=list)


@pytest.fixture(scope="session")
def embedded_conversion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedConversion]:
    from core.models import embedded

    cache = Path(os.environ["TALKSMALL_CACHE_DIR"])
    if embedded.is_embedded_converted():
        cache = tmp_path_factory.mktemp("cold-model-cache")
    calls: list[tuple[float, str]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TALKSMALL_CACHE_DIR", str(cache))
        started = time.perf_counter()
        path = embedded.embedded_hf_dir(progress=lambda f, m: calls.append((f, m)))
        seconds = time.perf_counter() - started
    print(f"\n[embedded conversion, cold] {seconds:.1f} s -> {path}")
    yield EmbeddedConversion(path=path, cache_dir=cache, seconds=seconds, progress=calls)
    shutil.rmtree(path.parent, ignore_errors=True)  # ~520 MB per session otherwise
