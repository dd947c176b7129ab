"""Read selected metadata fields of a GGUF file, whole and raw, fast.

``gguf.GGUFReader`` builds a numpy view per vocabulary string (~3 s for the embedded model's
98k tokens and merges on two cores) and core.models.gguf_header skips long arrays. Copying a
tokenizer needs the long arrays themselves, as raw bytes (token text is never re-decoded), so
this reads only the key/value section and keeps the fields whose key starts with a prefix,
in about a tenth of a second.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_NUMPY = {0: "<u1", 1: "<i1", 2: "<u2", 3: "<i2", 4: "<u4", 5: "<i4", 6: "<f4", 7: "?",
          10: "<u8", 11: "<i8", 12: "<f8"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class Field:
    vtype: int  # gguf.GGUFValueType value
    value: Any  # int/float/bool, bytes for strings, a list for arrays
    sub_type: int | None = None  # the item type of an array


def read_fields(path: Path, prefix: str) -> dict[str, Field]:
    """Fields whose key starts with ``prefix``; raise ValueError if the file is not GGUF."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return _Parser(buf).fields(prefix)


class _Parser:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def fields(self, prefix: str) -> dict[str, Field]:
        if bytes(self.buf[:4]) != b"GGUF":
            raise ValueError("it does not start with the GGUF signature")
        self.pos = 4
        version = self._scalar(4)
        if version not in (2, 3):
            raise ValueError(f"it is GGUF version {version}; versions 2 and 3 are supported")
        self._scalar(10)  # tensor count
        found: dict[str, Field] = {}
        for _ in range(self._scalar(10)):
            key = self._bytes().decode("utf-8")
            vtype = self._scalar(4)
            keep = key.startswith(prefix)
            if vtype == _ARRAY:
                sub_type, length = self._scalar(4), self._scalar(10)
                items = self._array(sub_type, length, keep)
                if keep:
                    found[key] = Field(vtype, items, sub_type)
            else:
                value = self._value(vtype)
                if keep:
                    found[key] = Field(vtype, value)
        return found

    def _take(self, n: int) -> int:
        start = self.pos
        if start + n > len(self.buf):
            raise ValueError("it ends in the middle of its metadata")
        self.pos += n
        return start

    def _scalar(self, vtype: int) -> Any:
        fmt = _SCALARS[vtype]
        return struct.unpack_from(fmt, self.buf, self._take(struct.calcsize(fmt)))[0]

    def _bytes(self) -> bytes:
        length = self._scalar(10)
        start = self._take(length)
        return self.buf[start:start + length]

    def _value(self, vtype: int) -> Any:
        if vtype in _SCALARS:
            return self._scalar(vtype)
        if vtype == _STRING:
            return self._bytes()
        if vtype == _ARRAY:
            return self._array(self._scalar(4), self._scalar(10), True)
        raise ValueError(f"its metadata has an unknown value type {vtype}")

    def _array(self, sub_type: int, length: int, keep: bool) -> list[Any] | None:
        if sub_type in _NUMPY:
            start = self._take(length * struct.calcsize(_SCALARS[sub_type]))
            if not keep:
                return None
            return np.frombuffer(self.buf, _NUMPY[sub_type], length, start).tolist()
        items = [self._value(sub_type) for _ in range(length)]
        return items if keep else None
