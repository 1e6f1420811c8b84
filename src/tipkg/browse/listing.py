"""A listing: rows (small JSON objects) in one or more orders, written once and read a page at a
time without reading the rest.

Two files per listing. ``NAME.jsonl`` holds the rows, one JSON object per line, in the listing's
first order. ``NAME.index`` holds, little-endian, the byte offset of each line and then the size
of ``NAME.jsonl`` (``count + 1`` unsigned 64-bit numbers), followed by one block per further
order: the row numbers in that order (``count`` unsigned 32-bit numbers). A page in the first
order is one read of its offsets and one read of its lines; in another order, one read of its
row numbers and two small reads per row. Both files are written in a fixed order from sorted
input, so a rebuild writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

Row = dict[str, Any]

ROWS_SUFFIX = ".jsonl"
INDEX_SUFFIX = ".index"
OFFSET = struct.Struct("<Q")
ROW_NUMBER = struct.Struct("<I")


@dataclass(frozen=True)
class WrittenFile:
    """A file a listing was written to: its name relative to the listing's folder's parent
    (``browse/event.jsonl``), size and SHA-256, for the manifest and SHA256SUMS."""

    name: str
    bytes: int
    sha256: str


def listing_paths(folder: Path, name: str) -> tuple[Path, Path]:
    """The rows file and the index file of the listing ``name`` in ``folder``."""
    return folder / f"{name}{ROWS_SUFFIX}", folder / f"{name}{INDEX_SUFFIX}"


def write_listing(
    folder: Path, name: str, rows: Sequence[Row], other_orders: Sequence[Sequence[int]] = ()
) -> list[WrittenFile]:
    """Write ``rows`` (already in the first order) and each further order (row numbers, each a
    permutation of ``range(len(rows))``) as the listing ``name`` in ``folder``."""
    count = len(rows)
    for order in other_orders:
        if sorted(order) != list(range(count)):
            raise ValueError(f"an order of listing {name!r} is not a permutation of its rows")
    lines = [
        (json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        for row in rows
    ]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    index = b"".join(OFFSET.pack(offset) for offset in offsets)
    for order in other_orders:
        index += b"".join(ROW_NUMBER.pack(number) for number in order)
    folder.mkdir(parents=True, exist_ok=True)
    rows_path, index_path = listing_paths(folder, name)
    written = []
    for path, data in ((rows_path, b"".join(lines)), (index_path, index)):
        path.write_bytes(data)
        written.append(
            WrittenFile(f"{folder.name}/{path.name}", len(data), hashlib.sha256(data).hexdigest())
        )
    return written


class Listing:
    """One listing opened for reading pages from any thread (reads are positional). ``count``
    and the number of orders come from the manifest, which the build wrote with the files."""

    def __init__(self, folder: Path, name: str, count: int, orders: int = 1) -> None:
        rows_path, index_path = listing_paths(folder, name)
        self.count = count
        self.orders = orders
        self._rows: BinaryIO = rows_path.open("rb")
        self._index: BinaryIO = index_path.open("rb")
        expected = OFFSET.size * (count + 1) + ROW_NUMBER.size * count * (orders - 1)
        if os.fstat(self._index.fileno()).st_size != expected:
            raise ValueError(f"{index_path} does not index {count} rows in {orders} orders")

    def close(self) -> None:
        self._rows.close()
        self._index.close()

    def page(self, offset: int, limit: int, order: int = 0) -> list[Row]:
        """The rows ``offset`` to ``offset + limit`` (fewer at the end) in the ``order``-th order
        (0: the order of the file)."""
        if not 0 <= order < self.orders:
            raise ValueError(f"no order {order}: the listing has {self.orders}")
        start, stop = max(0, offset), min(self.count, offset + limit)
        if start >= stop:
            return []
        if order == 0:
            first, *_, last = self._offsets(start, stop + 1)
            data = self._read(self._rows, last - first, first)
            return [json.loads(line) for line in data.decode("utf-8").split("\n") if line]
        return [self.row(number) for number in self._order_slice(order, start, stop)]

    def row(self, number: int) -> Row:
        """The row at ``number`` in the first order."""
        begin, end = self._offsets(number, number + 2)
        return json.loads(self._read(self._rows, end - begin, begin))

    def _offsets(self, start: int, stop: int) -> list[int]:
        data = self._read(self._index, OFFSET.size * (stop - start), OFFSET.size * start)
        return [value for (value,) in OFFSET.iter_unpack(data)]

    def _order_slice(self, order: int, start: int, stop: int) -> list[int]:
        block = OFFSET.size * (self.count + 1) + ROW_NUMBER.size * self.count * (order - 1)
        data = self._read(
            self._index, ROW_NUMBER.size * (stop - start), block + ROW_NUMBER.size * start
        )
        return [value for (value,) in ROW_NUMBER.iter_unpack(data)]

    @staticmethod
    def _read(file: BinaryIO, length: int, position: int) -> bytes:
        data = os.pread(file.fileno(), length, position)
        if len(data) != length:
            raise ValueError(f"{file.name} is shorter than its index says")
        return data
