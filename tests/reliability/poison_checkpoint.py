#!/usr/bin/env python3
"""Sets every value of one tensor of a .mien file (weights or checkpoint) and reseals it.

    poison_checkpoint.py FILE TENSOR VALUE      e.g. last.ckpt optimizer.first_moment 3e38

The file stays well-formed (size and CRC-32 recomputed), so mien's reader accepts it: this is
how tests/reliability/nan_loss.sh makes a training run blow up at a chosen moment with values
that are finite on disk. The format is docs/WEIGHTS_FORMAT.md.
"""
import struct
import sys
import zlib

path, wanted, value = sys.argv[1], sys.argv[2], float(sys.argv[3])
data = bytearray(open(path, "rb").read())
at = 20  # magic 4, version 4, size 8, content kind 4

def u32():
    global at
    at += 4
    return struct.unpack_from("<I", data, at - 4)[0]

def text():
    global at
    n = u32()
    at += n
    return data[at - n:at].decode()

at += 8  # fingerprint
text()  # topology description
for _ in range(u32()):
    text(), text()
found = False
for _ in range(u32()):
    name = text()
    rank = u32()
    dims = struct.unpack_from(f"<{rank}Q", data, at)
    at += 8 * rank
    u32()  # kind
    count = 1
    for d in dims:
        count *= d
    if name == wanted:
        struct.pack_into(f"<{count}f", data, at, *([value] * count))
        found = True
    at += 4 * count
if not found:
    sys.exit(f"poison_checkpoint: {path} has no tensor {wanted}")
struct.pack_into("<I", data, len(data) - 4, zlib.crc32(bytes(data[:-4])) & 0xFFFFFFFF)
open(path, "wb").write(bytes(data))
print(f"poison_checkpoint: {path}: {wanted} = {value}")
