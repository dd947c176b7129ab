"""Export a trained run as a bundle another machine can run: ``exports/<name>/`` and a zip.

The bundle holds the model as GGUF (f16, q8_0, q4_k_m), the trimmed company index (so
``talksmall serve|chat <folder>`` answers with the company's facts), an Ollama Modelfile
(tone only, without company facts), MODEL_CARD.md, README.md, the chat template and a
manifest, ``talksmall-export.json``, that names every file with its size and sha256.

Everything is built in a temporary folder next to the target and renamed into place at the
end; an existing export of the same name is replaced only once the new one is complete, and
the zip is written under a temporary name too. A failure, or a cancel (the ``progress``
callback raising), removes what was written: there is never a half export.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import __version__
from core.atomic import fsync_dir, fsync_file
from core.errors import TalkSmallError, ValidationError
from core.export.gguf_export import remove_created_folders

EXPORT_QUANTS = ("f16", "q8_0", "q4_k_m")
MANIFEST = "talksmall-export.json"
INDEX_FILE = "index.sqlite"
FORMAT = "talksmall-export"
FORMAT_VERSION = 1
# Ollama users want the small file; TalkSmall's own runner prefers quality (target.py).
MODELFILE_PREFERENCE = ("q4_k_m", "q8_0", "f16")
# Size of each quant relative to f16 (SmolLM2-135M measured: q8_0 0.53, q4_k_m 0.39), for
# the free-space check.
_SIZE_SHARE = {"f16": 1.0, "q8_0": 0.55, "q4_k_m": 0.45}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")

Progress = Callable[[float, str], None]


@dataclass
class ExportResult:
    """What ``export_assistant`` wrote."""

    folder: Path
    zip_path: Path | None
    files: list[tuple[str, int]]  # (name relative to the folder, size in bytes)
    quants: list[str]
    run_id: str
    seconds: float
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "folder": str(self.folder),
                "zip": str(self.zip_path) if self.zip_path else None,
                "zip_size": self.zip_path.stat().st_size if self.zip_path else None,
                "files": [{"name": n, "size": s} for n, s in self.files],
                "quants": list(self.quants), "run": self.run_id,
                "seconds": round(self.seconds, 2)}


@dataclass
class ExportInfo:
    """One existing export, as read from its manifest (for the Export page's list)."""

    name: str
    folder: Path
    created: str
    run_id: str
    quants: dict[str, str]  # quant -> file name
    sizes: dict[str, int] = field(default_factory=dict)  # file name -> bytes
    zip_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "folder": str(self.folder), "created": self.created,
                "run": self.run_id, "quants": dict(self.quants), "sizes": dict(self.sizes),
                "zip": str(self.zip_path) if self.zip_path else None}


def parse_quants(quants: Sequence[str] | str) -> list[str]:
    """Validated, de-duplicated quants in the order given; "all" means every one."""
    items = [quants] if isinstance(quants, str) else list(quants)
    chosen: list[str] = []
    for item in items:
        for quant in (EXPORT_QUANTS if str(item).lower() == "all" else (str(item).lower(),)):
            if quant not in EXPORT_QUANTS:
                raise ValidationError("quant", f"Unknown model size {item!r} for an export.",
                                      f"Choose {', '.join(EXPORT_QUANTS)} or all.")
            if quant not in chosen:
                chosen.append(quant)
    if not chosen:
        raise ValidationError("quant", "No model size was chosen for the export.",
                              f"Choose one or more of {', '.join(EXPORT_QUANTS)}.")
    return chosen


def export_assistant(project: Any, run_id: str | None = None,
                     quants: Sequence[str] = ("q4_k_m",), *, out_dir: Path | None = None,
                     name: str | None = None, make_zip: bool = True,
                     progress: Progress | None = None,
                     override_gates: bool = False) -> ExportResult:
    """Export the run (default: the newest with a model) to ``<out_dir>/<name>/`` (+ zip).

    ``out_dir`` defaults to the project's exports/ folder; ``name`` to
    "<company-slug>-<run id>". ``progress(fraction, message)`` may raise to cancel.
    A run that fails the release gates (or was never evaluated) is refused unless
    ``override_gates``; the manifest records the gates' verdict or the override.
    """
    from core.chat.runs import newest_run_with_model, run_folder
    from core.pipeline.gates import require_gates

    started = time.perf_counter()
    chosen = parse_quants(quants)
    if run_id is None:
        run_id = newest_run_with_model(project)
        if run_id is None:
            raise ValidationError("run", f"{project.name} has no trained run with a model to "
                                  "export.", "Train a model first (the Training step or "
                                  "'talksmall train'), then export it.")
    run_dir = run_folder(project, run_id)
    gates = require_gates(project, run_id, override_gates)
    name = name or default_name(project, run_id)
    if not _NAME.match(name) or ".." in name:
        raise ValidationError("name", f"{name!r} cannot be an export's folder name.",
                              "Use letters, digits, dots, dashes and underscores only.")
    parent = Path(out_dir).expanduser() if out_dir is not None else Path(project.exports_dir)
    created = _first_missing(parent)
    _recover(parent, name)
    _check_parent(parent, name)
    report = _Reporter(progress)
    build = _Build(project, run_id, run_dir, chosen, name, report)
    build.gates = gates.to_dict() if gates is not None else {"overridden": True}
    workspace = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent))
    zip_temp: Path | None = None
    try:
        build.write(workspace)
        if make_zip:
            report(0.93, f"Zipping {name}.zip")
            zip_temp = _write_zip(workspace, parent, name)
        report(1.0, f"Saving {name}")
        folder, zip_path = _commit(workspace, zip_temp, parent, name)
    except BaseException as exc:
        shutil.rmtree(workspace, ignore_errors=True)
        if zip_temp is not None:
            zip_temp.unlink(missing_ok=True)
        if created is not None:
            remove_created_folders(parent, created)
        if isinstance(exc, OSError | sqlite3.Error) and not report.raised(exc):
            raise _os_error(exc, parent) from exc
        raise
    files = [(n, int(s)) for n, s in build.sizes.items()]
    return ExportResult(folder=folder, zip_path=zip_path, files=files, quants=chosen,
                        run_id=run_id, seconds=time.perf_counter() - started, name=name)


def list_exports(project: Any) -> list[ExportInfo]:
    """The project's exports (folders with a readable manifest), newest first."""
    root = Path(project.exports_dir)
    found: list[ExportInfo] = []
    if not root.is_dir():
        return found
    for folder in root.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        files = manifest.get("files", {})
        zip_path = folder.with_name(f"{folder.name}.zip")
        found.append(ExportInfo(
            name=str(manifest.get("name", folder.name)), folder=folder,
            created=str(manifest.get("created", "")), run_id=str(manifest.get("run_id", "")),
            quants=dict(manifest.get("quants", {})),
            sizes={n: int(f.get("size", 0)) for n, f in files.items() if isinstance(f, dict)},
            zip_path=zip_path if zip_path.is_file() else None))
    return sorted(found, key=lambda e: (e.created, e.name), reverse=True)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The export's manifest, or None when ``folder`` is not a TalkSmall export."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def default_name(project: Any, run_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", project.name.lower()).strip("-") or "assistant"
    return f"{slug}-{run_id}"


class _Reporter:
    """Forwards progress; remembers what the caller raised, so a cancel is never re-worded."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.errors: list[BaseException] = []

    def __call__(self, fraction: float, message: str) -> None:
        if self.progress is None:
            return
        try:
            self.progress(min(max(fraction, 0.0), 1.0), message)
        except BaseException as exc:
            self.errors.append(exc)
            raise

    def part(self, start: float, end: float) -> Progress:
        return lambda f, m: self(start + (end - start) * f, m)

    def raised(self, exc: BaseException) -> bool:
        return any(exc is e for e in self.errors)


class _Build:
    """Writes every file of the bundle into a workspace folder, recording sizes and hashes."""

    def __init__(self, project: Any, run_id: str, run_dir: Path, quants: list[str], name: str,
                 report: _Reporter) -> None:
        self.project, self.run_id, self.run_dir = project, run_id, run_dir
        self.quants, self.name, self.report = quants, name, report
        self.sizes: dict[str, int] = {}
        self.hashes: dict[str, str] = {}
        self.gates: dict[str, Any] = {}

    def write(self, workspace: Path) -> None:
        from core.chat.runs import _source_gguf, model_for_run
        from core.export.gguf_export import export_gguf
        from core.export.gguf_fields import read_fields
        from core.export.index_copy import copy_index
        from core.export.model_card import render_model_card, render_readme, run_facts
        from core.export.modelfile import ollama_name, ollama_template, render_modelfile

        report = self.report
        report(0.0, f"Preparing run {self.run_id}")
        chat_f16 = model_for_run(self.project, self.run_id, "f16",
                                 progress=report.part(0.0, 0.3))
        fields = read_fields(chat_f16, "tokenizer.chat_template")
        field_value = fields.get("tokenizer.chat_template")
        chat_template = field_value.value.decode("utf-8") if field_value else ""
        profile = self.project.profile()
        role = profile.customer_roles[0] if profile.customer_roles else "user"
        template = ollama_template(chat_template, role)  # refuse early, before big writes
        _check_space(workspace.parent, chat_f16.stat().st_size, self.quants)

        quant_files: dict[str, str] = {}
        share = 0.45 / len(self.quants)
        for i, quant in enumerate(self.quants):
            file_name = f"model-{quant}.gguf"
            target = workspace / file_name
            start, end = 0.3 + i * share, 0.3 + (i + 1) * share
            middle = start + 0.85 * (end - start)  # writing, then hashing
            if quant == "f16":
                report(start, f"Copying {file_name}")
                _link_or_copy(chat_f16, target)
            else:
                export_gguf(self.run_dir / "final", target, quant,
                            progress=report.part(start, middle),
                            source_gguf=_source_gguf(self.run_dir))
            quant_files[quant] = file_name
            self._record(target, report.part(middle, end))

        report(0.76, "Indexing the company's documents")
        from core.retrieval import update_index

        update_index(self.project)
        report(0.8, "Copying the company index (without personal data)")
        counts = copy_index(self.project, workspace / INDEX_FILE)
        self._record(workspace / INDEX_FILE, report.part(0.8, 0.82))

        report(0.85, "Writing the Modelfile, model card and README")
        company = " ".join(profile.company_name.split()) or self.project.name
        modelfile_quant = next(q for q in MODELFILE_PREFERENCE if q in quant_files)
        model_name = ollama_name(company)
        self._text(workspace, "chat_template.jinja", chat_template)
        self._text(workspace, "Modelfile", render_modelfile(
            quant_files[modelfile_quant], template, profile.system_prompt(), company=company,
            customer_role=role, model_name=model_name))
        self._text(workspace, "README.md", render_readme(
            name=self.name, company=company, quant_files=quant_files,
            modelfile_gguf=quant_files[modelfile_quant], ollama_model=model_name))
        facts = run_facts(self.project, self.run_dir)
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        listed = [{"name": n, "size": self.sizes[n], "sha256": self.hashes[n]}
                  for n in self.sizes]
        self._text(workspace, "MODEL_CARD.md", render_model_card(
            facts, company=company, name=self.name, created=created, version=__version__,
            files=listed))
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "name": self.name,
            "company": company, "run_id": self.run_id, "base": facts["base"],
            "method": facts["method"], "preset": facts["preset"], "customer_role": role,
            "template_family": template.family, "quants": quant_files,
            "modelfile": {"file": "Modelfile", "quant": modelfile_quant},
            "index": INDEX_FILE, "index_counts": counts, "created": created,
            "release_gates": self.gates,
            "talksmall_version": __version__,
            "files": {n: {"size": self.sizes[n], "sha256": self.hashes[n]}
                      for n in self.sizes},
        }
        path = workspace / MANIFEST
        path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        self.sizes[MANIFEST] = path.stat().st_size
        for each in workspace.iterdir():
            fsync_file(each)

    def _record(self, path: Path, report: Progress) -> None:
        self.sizes[path.name] = path.stat().st_size
        self.hashes[path.name] = _sha256(path, report)
        report(1.0, f"{path.name}: {path.stat().st_size / 1e6:,.1f} MB")

    def _text(self, workspace: Path, name: str, text: str) -> None:
        path = workspace / name
        path.write_text(text, encoding="utf-8")
        self._record(path, lambda f, m: None)


def _check_parent(parent: Path, name: str) -> None:
    if parent.exists() and not parent.is_dir():
        raise ValidationError("out", f"{parent} is a file, not a folder.",
                              "Choose a folder to export into (it is created if missing).")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError("out", f"Cannot create the export folder {parent}: "
                              f"{exc.strerror or exc}.", "Choose a folder you can write to."
                              ) from exc
    if not os.access(parent, os.W_OK):
        raise ValidationError("out", f"Cannot write to {parent}.",
                              "Choose a folder you can write to.")
    folder, archive = parent / name, parent / f"{name}.zip"
    if folder.exists() and not folder.is_dir():
        raise ValidationError("name", f"{folder} is a file, not an export folder.",
                              "Choose another export name or move that file.")
    if folder.is_dir() and read_manifest(folder) is None and any(folder.iterdir()):
        raise ValidationError("name", f"{folder} exists and is not a TalkSmall export.",
                              "Choose another export name; that folder is left alone.")
    if archive.is_dir():
        raise ValidationError("name", f"{archive} is a folder.",
                              "Choose another export name or move that folder.")


def _check_space(parent: Path, f16_bytes: int, quants: list[str]) -> None:
    """Room for every file twice (folder and zip) plus a quantizer's f32 intermediate."""
    files = sum(f16_bytes * _SIZE_SHARE[q] for q in quants)
    needed = 2 * files + (2 * f16_bytes if any(q != "f16" for q in quants) else 0)
    free = shutil.disk_usage(parent).free
    if free < needed * 1.05:
        raise ValidationError(
            "out", f"Not enough free space in {parent}: the export needs about "
            f"{needed / 1e9:.1f} GB, {free / 1e9:.1f} GB is free.",
            "Free some disk space, export fewer sizes, or export to another folder.")


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (instant, no space) where the file system allows it, else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _sha256(path: Path, report: Progress) -> str:
    digest = hashlib.sha256()
    size, done = max(path.stat().st_size, 1), 0
    with path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
            done += len(chunk)
            report(0.9 * done / size, f"Checking {path.name}")
    return digest.hexdigest()


def _write_zip(workspace: Path, parent: Path, name: str) -> Path:
    """``<name>.zip`` under a temporary name: GGUF stored (it does not compress), text deflated."""
    fd, temp = tempfile.mkstemp(prefix=f".{name}.zip.", suffix=".tmp", dir=parent)
    os.close(fd)
    path = Path(temp)
    try:  # the caller only learns the temp name on success: a failure here removes it
        with zipfile.ZipFile(path, "w", allowZip64=True) as archive:
            for each in sorted(workspace.iterdir()):
                method = zipfile.ZIP_STORED if each.suffix in (".gguf", ".sqlite") \
                    else zipfile.ZIP_DEFLATED
                archive.write(each, f"{name}/{each.name}", compress_type=method)
        fsync_file(path)
        path.chmod(0o644)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _commit(workspace: Path, zip_temp: Path | None, parent: Path,
            name: str) -> tuple[Path, Path | None]:
    """Rename the finished export into place; the old one (if any) goes only after."""
    folder, zip_path = parent / name, parent / f"{name}.zip"
    workspace.chmod(0o755)  # mkdtemp makes it private; an export is meant to be shared
    old: Path | None = None
    if folder.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{name}.old.", dir=parent))
        os.replace(folder, old / name)
    try:
        os.replace(workspace, folder)
    except BaseException:
        if old is not None:
            os.replace(old / name, folder)
            shutil.rmtree(old, ignore_errors=True)
        raise
    if zip_temp is not None:
        os.replace(zip_temp, zip_path)
    else:
        zip_path.unlink(missing_ok=True)  # an old zip would not match the new folder
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    fsync_dir(parent)
    return folder, (zip_path if zip_temp is not None else None)


def _recover(parent: Path, name: str) -> None:
    """Tidy what an export of ``name`` killed mid-way left (kill -9, power cut): its hidden
    temp folder and zip go; an earlier export parked aside during the final rename comes
    back if the new one never took its place."""
    if not parent.is_dir():
        return
    folder = parent / name
    for parked in sorted(parent.glob(f".{name}.old.????????")):
        if not folder.exists() and (parked / name).is_dir():
            os.replace(parked / name, folder)
        shutil.rmtree(parked, ignore_errors=True)
    leftover = re.compile(rf"\.{re.escape(name)}\.(zip\.)?[A-Za-z0-9_]{{8}}\.tmp")
    for temp in parent.iterdir():
        if not leftover.fullmatch(temp.name):
            continue
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        else:
            temp.unlink(missing_ok=True)


def _os_error(exc: OSError | sqlite3.Error, parent: Path) -> TalkSmallError:
    from core.project.store import is_disk_full

    if is_disk_full(exc):
        return ValidationError("out", f"The disk holding {parent} is full; nothing was "
                               "exported.", "Free some disk space or export to another folder.")
    reason = getattr(exc, "strerror", None) or exc
    return TalkSmallError(f"Writing the export in {parent} failed: {reason}; "
                          "nothing was exported.", "Check that the folder is writable, retry.")


def _first_missing(folder: Path) -> Path | None:
    """The topmost folder of ``folder``'s path that does not exist yet (None: it exists)."""
    missing = None
    for each in (folder, *folder.parents):
        if each.exists():
            return missing
        missing = each
    return missing
