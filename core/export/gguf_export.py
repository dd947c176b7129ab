"""Export a Hugging Face causal LM folder as one GGUF file for llama.cpp, Ollama, LM Studio.

Our own writer on the official ``gguf`` package does f32/f16; q8_0 and q4_k_m are made from
an f32 file by llama.cpp's quantizer. Everything is validated (architecture, RoPE, tokenizer,
weights present) before the first byte is written, and the file is written under a temporary
name in the target folder and renamed only when complete: a failure or a cancel (the
``progress`` callback raising) leaves no file, half-written or otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.atomic import fsync_file
from core.errors import ModelError, ValidationError
from core.export.hparams import ModelShape, describe_model

SUPPORTED_QUANTS = ("f32", "f16", "q8_0", "q4_k_m")
# Rough output size as a share of the f32 size, for the free-space check.
_SIZE_SHARE = {"f32": 1.0, "f16": 0.5, "q8_0": 0.27, "q4_k_m": 0.2}

Progress = Callable[[float, str], None]


def export_gguf(hf_dir: str | Path, out_path: str | Path, quant: str = "f16", *,
                progress: Progress | None = None,
                source_gguf: str | Path | None = None) -> Path:
    """Write ``out_path`` as a GGUF of the model in ``hf_dir``; return its path.

    ``progress(fraction, message)`` gets fractions rising to 1.0; raising from it cancels the
    export and removes the temporary files. ``source_gguf`` names the GGUF the model was
    originally converted from (the embedded model: ``core.models.embedded_gguf_path()``);
    its tokenizer fields are then copied instead of rebuilt from the folder.
    """
    caller_errors: list[BaseException] = []

    def report(fraction: float, message: str) -> None:
        if progress is None:
            return
        try:
            progress(fraction, message)
        except BaseException as exc:  # a cancel passes through unchanged, never re-worded
            caller_errors.append(exc)
            raise

    if quant not in SUPPORTED_QUANTS:
        raise ValidationError("quant", f"unknown GGUF type {quant!r}",
                              f"choose one of: {', '.join(SUPPORTED_QUANTS)}")
    hf_dir, target = Path(hf_dir), Path(out_path)
    report(0.0, f"Checking {hf_dir.name}")
    shape = describe_model(hf_dir)
    if target.is_dir():
        raise ModelError(f"{target} is a folder.", "Give the path of the .gguf file to write.")
    created = _prepare_folder(target, shape, quant)

    temporary: list[Path] = []
    finished = False

    def new_temp(tag: str) -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".{tag}.tmp",
                                    dir=target.parent)
        os.close(fd)
        temporary.append(Path(name))
        return temporary[-1]

    try:
        final = new_temp(quant)
        if quant in ("f32", "f16"):
            write_float_gguf(hf_dir, final, quant, source_gguf=source_gguf, shape=shape,
                             progress=lambda f, m: report(0.02 + 0.95 * f, m))
        else:
            from core.export.quantize import quantize_gguf

            unquantized = new_temp("f32")
            write_float_gguf(hf_dir, unquantized, "f32", source_gguf=source_gguf, shape=shape,
                             progress=lambda f, m: report(0.02 + 0.7 * f, m))
            report(0.73, f"Quantizing to {quant} with llama.cpp")
            quantize_gguf(unquantized, final, quant)
            unquantized.unlink()
        report(0.98, f"Saving {target.name}")
        fsync_file(final)
        final.chmod(0o644)  # mkstemp makes it private; an export is meant to be shared
        os.replace(final, target)
        finished = True
    except OSError as exc:
        if any(exc is raised for raised in caller_errors):
            raise
        raise ModelError(
            f"Writing {target} failed: {exc.strerror or exc}.",
            "Check that the folder is writable and has enough free space, then retry.") from exc
    finally:
        for path in temporary:
            path.unlink(missing_ok=True)
        if not finished:
            remove_created_folders(target.parent, created)
    report(1.0, f"Exported {target.name} ({target.stat().st_size / 1e6:.0f} MB)")
    return target


def write_float_gguf(hf_dir: Path, path: Path, ftype: str, *,
                     source_gguf: str | Path | None = None, shape: ModelShape | None = None,
                     progress: Progress | None = None,
                     undo_rotary_permutation: bool = True) -> None:
    """Write an f32 or f16 GGUF straight to ``path`` (not atomic: export_gguf wraps it).

    ``undo_rotary_permutation=False`` deliberately skips the q/k row permutation; it exists so
    a test can show that the greedy-equality check catches that classic bug.
    """
    import gguf

    from core.export.hparams import write_model_metadata
    from core.export.tensors import plan_tensors
    from core.export.tokenizer_meta import add_tokenizer_metadata

    report = progress or (lambda fraction, message: None)
    shape = shape or describe_model(hf_dir)
    plan = plan_tensors(hf_dir, shape, ftype, undo_rotary_permutation)
    file_type = gguf.LlamaFileType.ALL_F32 if ftype == "f32" else gguf.LlamaFileType.MOSTLY_F16
    writer = gguf.GGUFWriter(path, shape.arch)
    try:
        write_model_metadata(writer, shape, hf_dir.name, file_type)
        report(0.0, "Writing the tokenizer")
        source = Path(source_gguf) if source_gguf is not None else None
        report(0.02, add_tokenizer_metadata(writer, hf_dir, shape.vocab_size, source))
        for tensor in plan:
            writer.add_tensor_info(tensor.name, tensor.shape, tensor.dtype, tensor.nbytes)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        total = sum(t.nbytes for t in plan) or 1
        done = 0
        for tensor in plan:
            report(0.05 + 0.95 * done / total, f"Writing {ftype} weights")
            writer.write_tensor_data(tensor.load())
            done += tensor.nbytes
        report(1.0, f"Wrote {len(plan)} tensors")
    finally:
        writer.close()


def _prepare_folder(target: Path, shape: ModelShape, quant: str) -> Path | None:
    """Check the free space, then create the target's folder; return the topmost folder
    created (so a failed export can remove what it made), or None."""
    created, existing = None, target.parent
    while not existing.exists() and existing != existing.parent:
        created, existing = existing, existing.parent
    params = shape.vocab_size * shape.hidden * (1 if shape.tied_embeddings else 2)
    per_layer = (shape.hidden * shape.head_dim * (2 * shape.n_head + 2 * shape.n_head_kv)
                 + 3 * shape.hidden * shape.n_ff)
    f32_bytes = 4 * (params + shape.n_layers * per_layer)
    # A quantized export holds the f32 intermediate and the result at the same time.
    needed = f32_bytes * (_SIZE_SHARE[quant] + (1.0 if quant.startswith("q") else 0.0))
    try:
        free = shutil.disk_usage(existing).free
        if free >= needed * 1.05:
            target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"Cannot use the folder {target.parent}: {exc.strerror or exc}.",
                         "Choose a writable folder for the export.") from exc
    if free < needed * 1.05:
        raise ModelError(
            f"Not enough free space in {existing}: the {quant} export needs about "
            f"{needed / 1e9:.1f} GB, {free / 1e9:.1f} GB is free.",
            "Free some disk space or export to another folder.")
    return created


def remove_created_folders(folder: Path, created: Path | None) -> None:
    """Remove the folders this export created, from ``folder`` up to ``created``, if empty."""
    if created is None:
        return
    for each in (folder, *folder.parents):
        try:
            each.rmdir()
        except OSError:
            return
        if each == created:
            return

