"""GGUF export time of the embedded model, against llama.cpp's own converter in the same run.

Each export runs as a fresh process (imports included), as the export job and llama.cpp's
``convert_hf_to_gguf.py`` both do. f16: our exporter vs the converter's ``--outtype f16``.
q4_k_m: our exporter (f32 file, then llama.cpp's quantizer) vs the converter's f16 file plus
the same quantizer (the usual llama.cpp route; its ``llama-quantize`` tool is not installed
here). Goal (issue 8): <= 1.0x. Also checks that both f16 files hold identical tensors.

The converter comes from llama-cpp-python's source archive (vendor/llama.cpp): ``--llama-cpp
DIR`` names an unpacked llama.cpp; otherwise pip's cache or ``pip download --no-binary`` is
tried. It needs ``sentencepiece``, which the app does not: ``pip install --target DIR
sentencepiece`` and pass ``--extra-path DIR``. Where it cannot run offline, the ratio is
skipped with the reason.

Run: .venv/bin/python benchmarks/export_gguf.py [--repeat 3] [--llama-cpp DIR] [--extra-path DIR]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("from core.export import export_gguf; import sys; "
        "export_gguf(sys.argv[1], sys.argv[2], sys.argv[3], source_gguf=sys.argv[4] or None)")
QUANTIZE = ("from pathlib import Path; import sys; from core.export.quantize import quantize_gguf; "
            "quantize_gguf(Path(sys.argv[1]), Path(sys.argv[2]), 'q4_k_m')")
MEMBERS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")


def timed(command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(tail)
    return time.perf_counter() - started


def median_of(repeat: int, run) -> float:
    return statistics.median(run() for _ in range(repeat))


def find_converter(explicit: Path | None, scratch: Path) -> tuple[Path | None, str]:
    """A llama.cpp folder holding convert_hf_to_gguf.py, or None and the reason."""
    if explicit is not None:
        ok = (explicit / "convert_hf_to_gguf.py").is_file()
        return (explicit, "") if ok else (None, f"{explicit} has no convert_hf_to_gguf.py")
    version = importlib.metadata.version("llama_cpp_python")
    name = f"llama_cpp_python-{version}.tar.gz"
    archives = list((Path.home() / ".cache" / "pip").rglob(name))
    if not archives:
        download = subprocess.run(
            [sys.executable, "-m", "pip", "download", f"llama-cpp-python=={version}",
             "--no-deps", "--no-binary", ":all:", "-d", str(scratch)],
            capture_output=True, text=True, timeout=600)
        archives = list(scratch.glob(name))
        if download.returncode or not archives:
            return None, f"the llama-cpp-python {version} source archive is not available offline"
    vendor = f"llama_cpp_python-{version}/vendor/llama.cpp/"
    with tarfile.open(archives[0]) as archive:
        wanted = [m for m in archive.getmembers()
                  if m.name.startswith(vendor) and m.name[len(vendor):].startswith(MEMBERS)]
        archive.extractall(scratch, members=wanted, filter="data")
    folder = scratch / vendor
    if not (folder / "convert_hf_to_gguf.py").is_file():
        return None, f"{name} has no vendor/llama.cpp/convert_hf_to_gguf.py"
    return folder, ""


def same_tensors(ours: Path, theirs: Path) -> bool:
    import gguf
    import numpy as np

    mine = {t.name: t for t in gguf.GGUFReader(ours).tensors}
    other = {t.name: t for t in gguf.GGUFReader(theirs).tensors}
    return mine.keys() == other.keys() and all(
        t.tensor_type == other[n].tensor_type
        and np.array_equal(np.asarray(t.data), np.asarray(other[n].data))
        for n, t in mine.items())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--llama-cpp", type=Path, help="an unpacked llama.cpp source folder")
    parser.add_argument("--extra-path", help="PYTHONPATH addition for the converter's imports")
    args = parser.parse_args()

    from core.models.embedded import embedded_gguf_path, embedded_hf_dir

    hf_dir, source = embedded_hf_dir(), embedded_gguf_path()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="export-bench-") as scratch_name:
        scratch = Path(scratch_name)
        ours = {}
        for quant in ("f16", "q4_k_m"):
            out = scratch / f"ours-{quant}.gguf"
            ours[quant] = median_of(args.repeat, lambda q=quant, o=out: timed(
                [py, "-c", OURS, str(hf_dir), str(o), q, str(source)]))
            print(f"ours {quant:7s} {ours[quant]:6.2f} s  ({out.stat().st_size / 1e6:.0f} MB, "
                  f"median of {args.repeat}, process start to file renamed)")

        converter, reason = find_converter(args.llama_cpp, scratch)
        if converter is None:
            print(f"llama.cpp's converter: skipped ({reason}); no ratio")
            return
        env = {**os.environ}
        if args.extra_path:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.extra_path,
                                                              env.get("PYTHONPATH")]))
        theirs_f16 = scratch / "llamacpp-f16.gguf"
        try:
            theirs = median_of(args.repeat, lambda: timed(
                [py, str(converter / "convert_hf_to_gguf.py"), str(hf_dir), "--outtype", "f16",
                 "--outfile", str(theirs_f16)], env=env, cwd=converter))
        except RuntimeError as exc:
            print(f"llama.cpp's converter: could not run offline ({exc}); no ratio. If a "
                  "module is missing: pip install --target DIR <module>, then --extra-path DIR")
            return
        quantize = median_of(args.repeat, lambda: timed(
            [py, "-c", QUANTIZE, str(theirs_f16), str(scratch / "llamacpp-q4_k_m.gguf")]))
        print(f"llama.cpp f16     {theirs:6.2f} s  (convert_hf_to_gguf.py --outtype f16)")
        print(f"llama.cpp q4_k_m  {theirs + quantize:6.2f} s  (f16 convert + quantize "
              f"{quantize:.2f} s)")
        print(f"ratio f16    {ours['f16'] / theirs:.2f}x  (goal <= 1.0x)")
        print(f"ratio q4_k_m {ours['q4_k_m'] / (theirs + quantize):.2f}x  (goal <= 1.0x)")
        identical = same_tensors(scratch / "ours-f16.gguf", theirs_f16)
        print(f"f16 tensors identical to llama.cpp's converter: {'yes' if identical else 'NO'}")


if __name__ == "__main__":
    main()
