"""Read a GGUF file's metadata and tensor table without loading its tensors.

Why not ``gguf.GGUFReader``: it turns every vocabulary string into its own numpy array, so
opening the embedded 93 MB SmolLM2 file takes ~2.5 s on two cores; this reader skips large
arrays and answers in a few tens of milliseconds, which keeps the model list and
``inspect_model`` instant. It also checks that the tensor data really fits in the file, so a
truncated download is caught here rather than deep inside llama.cpp or transformers.

Format (GGUF v2/v3, little-endian): magic, version u32, tensor count u64, KV count u64, the KV
pairs, the tensor infos, padding to ``general.alignment``, then the tensor data.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAGIC = b"GGUF"
SMALL_ARRAY = 64  # arrays up to this length are kept; longer ones only by their length

_SCALARS = {  # GGUF value type -> struct format
    0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
    10: "<Q", 11: "<q", 12: "<d",
}
_STRING, _ARRAY = 8, 9


class GGUFFormatError(Exception):
    """The file is not a GGUF file, or it is damaged; the message says which."""


@dataclass(frozen=True)
class ArrayInfo:
    """A long metadata array (e.g. the vocabulary), kept by its length only."""

    length: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # relative to the start of the data section

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0
    file_size: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)


class _Cursor:
    def __init__(self, buf: mmap.mmap | bytes) -> None:
        self.buf = buf
        self.pos = 0
        self.size = len(buf)

    def take(self, n: int, what: str) -> int:
        start = self.pos
        if n < 0 or start + n > self.size:
            raise GGUFFormatError(f"it ends in the middle of its header ({what})")
        self.pos = start + n
        return start

    def scalar(self, fmt: str, what: str) -> Any:
        return struct.unpack_from(fmt, self.buf, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what: str) -> str:
        length = self.scalar("<Q", what)
        start = self.take(length, what)
        try:
            return bytes(self.buf[start:start + length]).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GGUFFormatError(f"its header holds a string that is not UTF-8 ({what})") from exc

    def skip_string(self, what: str) -> None:
        self.take(self.scalar("<Q", what), what)

    def value(self, vtype: int, what: str) -> Any:
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype], what)
        if vtype == _STRING:
            return self.string(what)
        if vtype == _ARRAY:
            item_type = self.scalar("<I", what)
            length = self.scalar("<Q", what)
            if length > SMALL_ARRAY:
                self._skip_array(item_type, length, what)
                return ArrayInfo(length)
            return [self.value(item_type, what) for _ in range(length)]
        raise GGUFFormatError(f"its header has an unknown value type {vtype} ({what})")

    def _skip_array(self, item_type: int, length: int, what: str) -> None:
        if item_type in _SCALARS:
            self.take(struct.calcsize(_SCALARS[item_type]) * length, what)
        elif item_type == _STRING:
            for _ in range(length):
                self.skip_string(what)
        else:
            for _ in range(length):
                self.value(item_type, what)


def read_header(path: str | Path) -> GGUFHeader:
    """Parse the header; raise ``GGUFFormatError`` with a plain reason if it is not valid GGUF."""
    path = Path(path)
    with path.open("rb") as handle:
        size = path.stat().st_size
        head = handle.read(4)
        if head != MAGIC:
            raise GGUFFormatError("it does not start with the GGUF signature")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            header = _parse(_Cursor(buf))
    header.file_size = size
    return header


def _parse(cur: _Cursor) -> GGUFHeader:
    cur.take(4, "signature")
    version = cur.scalar("<I", "version")
    if version & 0xFFFF == 0 and version:
        raise GGUFFormatError("it is a big-endian GGUF file, which is not supported")
    if version not in (2, 3):
        raise GGUFFormatError(f"it is GGUF version {version}; versions 2 and 3 are supported")
    n_tensors = cur.scalar("<Q", "tensor count")
    n_kv = cur.scalar("<Q", "metadata count")
    if n_tensors > cur.size or n_kv > cur.size:
        raise GGUFFormatError("its header counts are impossible for its size")
    header = GGUFHeader(version=version)
    for _ in range(n_kv):
        key = cur.string("metadata key")
        header.metadata[key] = cur.value(cur.scalar("<I", key), key)
    for _ in range(n_tensors):
        name = cur.string("tensor name")
        n_dims = cur.scalar("<I", name)
        if n_dims > 8:
            raise GGUFFormatError(f"tensor {name} claims {n_dims} dimensions")
        shape = tuple(cur.scalar("<Q", name) for _ in range(n_dims))
        ggml_type = cur.scalar("<I", name)
        offset = cur.scalar("<Q", name)
        header.tensors.append(TensorInfo(name, shape, ggml_type, offset))
    alignment = header.metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise GGUFFormatError(f"its general.alignment {alignment!r} is not a power of two")
    header.data_offset = -(-cur.pos // alignment) * alignment
    return header


def check_tensor_data(header: GGUFHeader) -> None:
    """Raise ``GGUFFormatError`` if a tensor's bytes would lie past the end of the file."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    end = header.data_offset
    for tensor in header.tensors:
        try:
            block, type_size = GGML_QUANT_SIZES[GGMLQuantizationType(tensor.ggml_type)]
        except (ValueError, KeyError) as exc:
            raise GGUFFormatError(
                f"tensor {tensor.name} uses tensor type {tensor.ggml_type}, unknown to this "
                "version of the gguf library"
            ) from exc
        end = max(end, header.data_offset + tensor.offset + tensor.n_elements // block * type_size)
    if end > header.file_size:
        raise GGUFFormatError(
            f"it is truncated: its tensors need {end:,} bytes but the file has "
            f"{header.file_size:,}"
        )
