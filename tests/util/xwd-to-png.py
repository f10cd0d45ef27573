#!/usr/bin/python3
# Copyright 2026 The mailenroll authors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turns an X window dump (`xwd`, TrueColor ZPixmap, 24 or 32 bits a pixel) into a PNG.

    xwd-to-png.py IN.xwd OUT.png [--crop-black]

--crop-black cuts the image to the bounding box of the pixels that are not black: on an
Xvfb without a window manager, a dump of the root window is the Thunderbird window on a
black screen. Only the standard library: the tests' screenshots need no ImageMagick.
"""
import struct
import sys
import zlib

HEADER_FIELDS = 25


def read_xwd(path):
    data = open(path, "rb").read()
    if len(data) < HEADER_FIELDS * 4:
        sys.exit("xwd-to-png: %s is too short" % path)
    # the header is big-endian whatever the pixels are (X11 XWDFile.h)
    h = struct.unpack(">%dI" % HEADER_FIELDS, data[: HEADER_FIELDS * 4])
    (header_size, version, pixmap_format, _depth, width, height, _xoff, byte_order, _unit, _bit_order, _pad,
     bits_per_pixel, bytes_per_line, visual_class, red_mask, green_mask, blue_mask, _bits_rgb, _cmap_entries,
     ncolors) = h[:20]
    if version != 7 or pixmap_format != 2 or visual_class not in (4, 5) or bits_per_pixel not in (24, 32):
        sys.exit("xwd-to-png: %s is not a TrueColor ZPixmap dump of 24 or 32 bits a pixel" % path)
    offset = header_size + ncolors * 12
    if offset + bytes_per_line * height > len(data) or bytes_per_line * 8 < width * bits_per_pixel:
        sys.exit("xwd-to-png: %s is cut short" % path)
    step = bits_per_pixel // 8
    endian = "little" if byte_order == 0 else "big"

    def shift(mask):
        return (mask & -mask).bit_length() - 1

    shifts = [(mask, shift(mask)) for mask in (red_mask, green_mask, blue_mask)]
    rows = []
    for y in range(height):
        line = data[offset + y * bytes_per_line: offset + y * bytes_per_line + width * step]
        row = bytearray()
        for x in range(0, width * step, step):
            pixel = int.from_bytes(line[x: x + step], endian)
            row += bytes(((pixel & m) >> s) & 0xFF for m, s in shifts)
        rows.append(bytes(row))
    return width, height, rows


def crop_black(width, height, rows):
    ys = [y for y in range(height) if rows[y].strip(b"\0")]
    if not ys:
        return width, height, rows
    left, right = width, 0
    for y in ys:
        row = rows[y]
        first = len(row) - len(row.lstrip(b"\0"))
        last = len(row.rstrip(b"\0"))
        left = min(left, first // 3)
        right = max(right, (last + 2) // 3)
    rows = [r[left * 3: right * 3] for r in rows[ys[0]: ys[-1] + 1]]
    return right - left, len(rows), rows


def write_png(path, width, height, rows):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\0" + r for r in rows)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        sys.exit(__doc__)
    width, height, rows = read_xwd(args[0])
    if "--crop-black" in sys.argv:
        width, height, rows = crop_black(width, height, rows)
    write_png(args[1], width, height, rows)


if __name__ == "__main__":
    main()
