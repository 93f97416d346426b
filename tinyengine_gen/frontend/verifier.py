"""Bounds-checked reading of flatbuffer tables, so hostile files fail fast and clearly.

The generated TFLite schema module trusts every offset and length in the file: a vector
length corrupted to 10^9 makes its object API loop for minutes or allocate gigabytes, and
a stray offset surfaces as ``struct.error`` deep inside generated code. The reader
therefore never unpacks the whole model with it. It walks only the tables it needs with
:class:`FlatBuffer` and :class:`Table` below, which check, before every read, that

* the root offset, each table's vtable and inline fields lie inside the file;
* each vector's length fits in the bytes after it (so a claimed billion-element vector
  fails at once, in constant time) and under a caller-given element limit;
* each referenced table passes the same checks.

This mirrors what the C++ ``flatbuffers::Verifier`` does for TFLite, on the subset of the
schema we read. It knows nothing about TFLite itself: the reader names the fields (by
slot number, which the flatbuffers schema-evolution rules keep stable) and the limits.
Every failure is a :class:`~tinyengine_gen.errors.MalformedModelError` naming the file
and the place in the model (``subgraph 0 tensor 12 shape``).
"""

from __future__ import annotations

import dataclasses
import struct

import numpy as np

from tinyengine_gen.errors import MalformedModelError

__all__ = ["ReadLimits", "FlatBuffer", "Table"]

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_SCALARS = {
    "b": struct.Struct("<b"),
    "B": struct.Struct("<B"),
    "?": struct.Struct("<?"),
    "h": struct.Struct("<h"),
    "H": struct.Struct("<H"),
    "i": struct.Struct("<i"),
    "I": struct.Struct("<I"),
    "q": struct.Struct("<q"),
    "Q": struct.Struct("<Q"),
    "f": struct.Struct("<f"),
}
_ADVICE = "the file is truncated or corrupt; re-export it with the TFLite converter."


@dataclasses.dataclass(frozen=True)
class ReadLimits:
    """Sizes no microcontroller model comes near; anything beyond is refused before reading it."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_tensor_bytes: int = 256 * 1024 * 1024
    max_tensors: int = 1 << 14
    max_operators: int = 1 << 12  # real microcontroller models have tens to hundreds
    max_buffers: int = (1 << 14) + 1
    max_opcodes: int = 1 << 12
    max_rank: int = 8
    max_io: int = 1 << 10  # graph inputs/outputs, operator inputs/outputs
    max_name_bytes: int = 1 << 16


class FlatBuffer:
    """A byte string read as a flatbuffer, with every access bounds-checked."""

    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.size = len(data)
        self.source = source

    def fail(self, where: str, message: str) -> MalformedModelError:
        return MalformedModelError(f"{self.source}: corrupt or truncated flatbuffer: {where}: {message}; {_ADVICE}")

    def require(self, position: int, length: int, where: str, what: str) -> None:
        if position < 0 or length < 0 or position + length > self.size:
            raise self.fail(
                where, f"{what} at byte {position} (+{length}) lies outside the file of {self.size} bytes"
            )

    def u16(self, position: int, where: str) -> int:
        self.require(position, 2, where, "a vtable entry")
        return int(_U16.unpack_from(self.data, position)[0])

    def u32(self, position: int, where: str) -> int:
        self.require(position, 4, where, "an offset")
        return int(_U32.unpack_from(self.data, position)[0])

    def follow(self, position: int, where: str) -> int:
        """The absolute position an unsigned offset stored at ``position`` points to."""
        target = position + self.u32(position, where)
        if target >= self.size:
            raise self.fail(where, f"offset at byte {position} points to byte {target}, past the end of the file")
        return target

    def root(self, where: str) -> "Table":
        return self.table(self.follow(0, where), where)

    def table(self, position: int, where: str) -> "Table":
        """The table at ``position``, after checking its vtable and inline part lie in the file."""
        self.require(position, 4, where, "a table")
        vtable = position - int(_I32.unpack_from(self.data, position)[0])
        vtable_bytes = self.u16(vtable, where)
        inline_bytes = self.u16(vtable + 2, where)
        if vtable_bytes < 4 or vtable_bytes % 2:
            raise self.fail(where, f"vtable at byte {vtable} has an impossible size {vtable_bytes}")
        self.require(vtable, vtable_bytes, where, "a vtable")
        if inline_bytes < 4:
            raise self.fail(where, f"table at byte {position} has an impossible size {inline_bytes}")
        self.require(position, inline_bytes, where, "a table")
        return Table(self, position, vtable, vtable_bytes, inline_bytes, where)


class Table:
    """One verified table. Field accessors take the schema's slot number (0, 1, 2 …)."""

    def __init__(
        self, buf: FlatBuffer, position: int, vtable: int, vtable_bytes: int, inline_bytes: int, where: str
    ) -> None:
        self.buf = buf
        self.position = position
        self._vtable = vtable
        self._vtable_bytes = vtable_bytes
        self._inline_bytes = inline_bytes
        self.where = where

    def _field(self, slot: int, size: int, name: str) -> int | None:
        """Absolute position of a present field of ``size`` bytes, or None if absent."""
        entry = 4 + 2 * slot
        if entry >= self._vtable_bytes:
            return None
        offset = int(_U16.unpack_from(self.buf.data, self._vtable + entry)[0])
        if offset == 0:
            return None
        if offset + size > self._inline_bytes:
            raise self.buf.fail(f"{self.where} {name}", f"field lies outside its table ({self._inline_bytes} bytes)")
        return self.position + offset

    def has(self, slot: int) -> bool:
        entry = 4 + 2 * slot
        return entry < self._vtable_bytes and _U16.unpack_from(self.buf.data, self._vtable + entry)[0] != 0

    def scalar(self, slot: int, fmt: str, default: int | float | bool, name: str) -> int | float | bool:
        packer = _SCALARS[fmt]
        at = self._field(slot, packer.size, name)
        if at is None:
            return default
        return packer.unpack_from(self.buf.data, at)[0]

    def table(self, slot: int, name: str) -> Table | None:
        at = self._field(slot, 4, name)
        if at is None:
            return None
        where = f"{self.where} {name}"
        return self.buf.table(self.buf.follow(at, where), where)

    def vector(self, slot: int, element_bytes: int, name: str, max_elements: int) -> tuple[int, int] | None:
        """(position of the first element, element count) of a vector field, or None if absent."""
        at = self._field(slot, 4, name)
        if at is None:
            return None
        where = f"{self.where} {name}"
        start = self.buf.follow(at, where)
        count = self.buf.u32(start, where)
        room = self.buf.size - start - 4
        if count * element_bytes > room:
            raise self.buf.fail(
                where,
                f"vector claims {count} elements of {element_bytes} bytes but only {max(room, 0)} bytes follow it",
            )
        if count > max_elements:
            raise MalformedModelError(
                f"{self.buf.source}: {where} has {count} entries, more than the {max_elements} a microcontroller "
                "model can have; the file is corrupt or not meant for a microcontroller."
            )
        return start + 4, count

    def numbers(self, slot: int, dtype: str, name: str, max_elements: int) -> np.ndarray | None:
        """A vector of scalars as a read-only little-endian numpy array (None if absent)."""
        kind = np.dtype(dtype).newbyteorder("<")
        found = self.vector(slot, kind.itemsize, name, max_elements)
        if found is None:
            return None
        start, count = found
        array = np.frombuffer(self.buf.data, dtype=kind, count=count, offset=start).astype(kind.newbyteorder("="))
        array.setflags(write=False)
        return array

    def string(self, slot: int, name: str, max_bytes: int) -> bytes | None:
        found = self.vector(slot, 1, name, max_bytes)
        if found is None:
            return None
        start, count = found
        return bytes(self.buf.data[start : start + count])

    def tables(self, slot: int, name: str, label: str, max_elements: int) -> list[Table]:
        """Every table of a vector-of-tables field (empty if absent), each verified.

        Element ``i`` is described as ``f"{label} {i}"`` in messages (``tensor 12``).
        """
        found = self.vector(slot, 4, name, max_elements)
        if found is None:
            return []
        start, count = found
        return [self.buf.table(self.buf.follow(start + 4 * i, f"{label} {i}"), f"{label} {i}") for i in range(count)]
