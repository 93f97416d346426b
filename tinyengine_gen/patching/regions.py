"""Rectangles of a feature map and how a windowed layer maps output rows back to input rows.

All regions are half-open [y0, y1) x [x0, x1) in the coordinates of the full tensor. An
output region of a convolution needs exactly the input rows its receptive field touches
inside the image; pad taps are not rows of any buffer (the kernel treats them as padding),
which is what makes patch-based execution bit-exact with layer-wise execution.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Region", "Window", "cuts", "grid_regions"]


@dataclasses.dataclass(frozen=True, order=True)
class Region:
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def area(self) -> int:
        return max(self.height, 0) * max(self.width, 0)

    def union(self, other: "Region | None") -> "Region":
        if other is None:
            return self
        return Region(min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1))

    def contains(self, other: "Region") -> bool:
        return self.y0 <= other.y0 and other.y1 <= self.y1 and self.x0 <= other.x0 and other.x1 <= self.x1


@dataclasses.dataclass(frozen=True)
class Window:
    """The spatial geometry of a windowed layer (convolution, depthwise, pooling)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int]  # (top, left)
    input_size: tuple[int, int]  # (H, W) of the full input

    def _axis(self, axis: int, start: int, stop: int) -> tuple[int, int]:
        reach = (self.kernel[axis] - 1) * self.dilation[axis] + 1
        first = start * self.stride[axis] - self.padding[axis]
        last = (stop - 1) * self.stride[axis] - self.padding[axis] + reach
        start_row = min(max(0, first), self.input_size[axis])
        return start_row, max(start_row, min(self.input_size[axis], last))  # empty if only pad taps

    def input_interval(self, axis: int, start: int, stop: int) -> tuple[int, int]:
        """The input rows (axis 0) or columns (axis 1) that output rows/columns [start, stop) read."""
        return self._axis(axis, start, stop)

    def input_region(self, out: Region) -> Region:
        y0, y1 = self._axis(0, out.y0, out.y1)
        x0, x1 = self._axis(1, out.x0, out.x1)
        return Region(y0, y1, x0, x1)

    def local_padding(self, out: Region, held: Region) -> tuple[int, int]:
        """(top, left) padding that makes a kernel computing ``out`` from a buffer holding
        ``held`` index the same taps as on the full tensor. Never negative when ``held`` is
        exactly :meth:`input_region` of ``out``."""
        return (
            self.padding[0] + held.y0 - out.y0 * self.stride[0],
            self.padding[1] + held.x0 - out.x0 * self.stride[1],
        )


def cuts(size: int, parts: int) -> list[int]:
    """Boundaries of an even split of ``size`` rows into ``parts`` bands (``parts + 1`` values)."""
    return [round(i * size / parts) for i in range(parts + 1)]


def grid_regions(height: int, width: int, rows: int, columns: int) -> list[Region]:
    """An even rows x columns grid over a height x width map, row-major."""
    ys, xs = cuts(height, rows), cuts(width, columns)
    return [Region(ys[i], ys[i + 1], xs[j], xs[j + 1]) for i in range(rows) for j in range(columns)]
