"""A small raster canvas written as PNG with ``zlib`` and ``struct`` only (no Pillow needed).

Enough to draw the default rich-menu image: filled rectangles, rings and a 5x7 bitmap font for
the word that matters most to someone who cannot read the menu: LANGUAGE.
"""

from __future__ import annotations

import struct
import zlib

Color = tuple[int, int, int]

_FONT: dict[str, tuple[str, ...]] = {
    "A": ("01110", "10001", "10001", "11111", "10001", "10001", "10001"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "G": ("01110", "10001", "10000", "10111", "10001", "10001", "01111"),
    "L": ("10000", "10000", "10000", "10000", "10000", "10000", "11111"),
    "N": ("10001", "11001", "10101", "10011", "10001", "10001", "10001"),
    "U": ("10001", "10001", "10001", "10001", "10001", "10001", "01110"),
    " ": ("00000",) * 7,
}


class Canvas:
    """An RGB image in memory."""

    def __init__(self, width: int, height: int, background: Color) -> None:
        self.width = width
        self.height = height
        self._rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def rectangle(self, x: int, y: int, width: int, height: int, color: Color) -> None:
        """Fill a rectangle (clipped to the canvas)."""
        left, right = max(0, x), min(self.width, x + width)
        if right <= left:
            return
        span = bytes(color) * (right - left)
        for row in self._rows[max(0, y):min(self.height, y + height)]:
            row[left * 3:right * 3] = span

    def ring(self, cx: int, cy: int, rx: int, ry: int, thickness: int, color: Color) -> None:
        """An ellipse outline of ``thickness`` pixels centred on (cx, cy)."""
        inner_rx, inner_ry = max(1, rx - thickness), max(1, ry - thickness)
        for y in range(max(0, cy - ry), min(self.height, cy + ry + 1)):
            row = self._rows[y]
            for x in range(max(0, cx - rx), min(self.width, cx + rx + 1)):
                outer = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
                inner = ((x - cx) / inner_rx) ** 2 + ((y - cy) / inner_ry) ** 2
                if outer <= 1.0 < inner:
                    row[x * 3:x * 3 + 3] = bytes(color)

    def text_width(self, text: str, scale: int) -> int:
        """Width in pixels of ``text`` drawn with :meth:`text`."""
        return max(0, len(text) * 6 * scale - scale)

    def text(self, x: int, y: int, text: str, scale: int, color: Color) -> None:
        """Draw upper-case ``text`` with the built-in 5x7 font (unknown characters are blank)."""
        for index, char in enumerate(text.upper()):
            glyph = _FONT.get(char, _FONT[" "])
            for gy, line in enumerate(glyph):
                for gx, bit in enumerate(line):
                    if bit == "1":
                        self.rectangle(x + (index * 6 + gx) * scale, y + gy * scale, scale, scale, color)

    def png(self) -> bytes:
        """The image as PNG bytes (8-bit RGB, no filter, zlib level 9)."""
        raw = b"".join(b"\x00" + bytes(row) for row in self._rows)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        pixels = zlib.compress(raw, 9)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
