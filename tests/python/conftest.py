"""Shared fixtures of the Python tests (run by CTest: python/CMakeLists.txt sets the environment).

MIEN_SOURCE_DIR: the repository; MIEN_PEER: mien-peer (bench/peers), which gives the C++ API's
probabilities; MIEN_EVAL_FIXTURE: mien-eval-fixture (examples), which writes untrained large
networks; MIEN_DATA_DIR: the data sets. A file whose tests all skipped ends with exit code 77,
which CTest reports as skipped rather than passed.
"""
import os
import subprocess

import pytest

SOURCE = os.environ.get("MIEN_SOURCE_DIR", os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..")))
MEGAMIND = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"
MESSI = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"


@pytest.fixture(scope="session")
def source_dir():
    return SOURCE


@pytest.fixture(scope="session", params=["paper", "fast"])
def preset(request):
    return request.param


def weights_of(preset):
    return os.path.join(SOURCE, "models", f"{preset}.mien")


@pytest.fixture(scope="session")
def untrained_large(tmp_path_factory):
    """{7: path, 8: path}: the large preset (models::large) with 7 and 8 outputs, initialised and
    saved by C++ (mien-eval-fixture's large.mien and large8.mien, seed 1). No trained large file
    is shipped yet; these carry the topology fingerprint that C++ computes, which a file edited
    here could not."""
    program = os.environ.get("MIEN_EVAL_FIXTURE")
    if not program or not os.path.exists(program):
        pytest.skip("mien-eval-fixture (examples) not built")
    out = tmp_path_factory.mktemp("eval_fixture")
    subprocess.run([program, str(out)], check=True, stdout=subprocess.DEVNULL)
    return {7: str(out / "large.mien"), 8: str(out / "large8.mien")}


def _replace_metadata(data, keep, extra=()):
    """`data` (a .mien file or read_mien_file's head) with its metadata entries filtered by
    keep(key) and `extra` added, kept sorted by key (docs/WEIGHTS_FORMAT.md's layout: after the
    28-byte header, the topology description, then a count and key/value texts)."""
    import struct

    def text_at(at):
        n, = struct.unpack_from("<I", data, at)
        return data[at + 4:at + 4 + n], at + 4 + n

    _, meta_at = text_at(28)  # the topology description
    count, = struct.unpack_from("<I", data, meta_at)
    at = meta_at + 4
    entries = []
    for _ in range(count):
        k, at = text_at(at)
        v, at = text_at(at)
        if keep(k):
            entries.append((k, v))
    entries = sorted(entries + list(extra))
    meta = struct.pack("<I", len(entries)) + b"".join(
        struct.pack("<I", len(k)) + k + struct.pack("<I", len(v)) + v for k, v in entries)
    return data[:meta_at] + meta + data[at:]


def with_metadata(data, key, value):
    """A copy of a .mien file with the metadata entry `key` set to `value` (replacing one the file
    has: files written by today's mien-train store mien.labels), size and CRC-32 rewritten."""
    import struct
    import zlib
    out = bytearray(_replace_metadata(data, lambda k: k != key.encode(), [(key.encode(), value.encode())]))
    out[8:16] = struct.pack("<Q", len(out))
    out[-4:] = struct.pack("<I", zlib.crc32(bytes(out[:-4])))
    return bytes(out)


def read_mien_file(data):
    """A .mien file as (bytes before the tensor count, [(name, dims, kind, float32 array)])."""
    import struct
    import numpy as np
    at = 28
    n, = struct.unpack_from("<I", data, at)
    at += 4 + n
    count, = struct.unpack_from("<I", data, at)
    at += 4
    for _ in range(2 * count):
        n, = struct.unpack_from("<I", data, at)
        at += 4 + n
    head = data[:at]
    count, = struct.unpack_from("<I", data, at)
    at += 4
    tensors = []
    for _ in range(count):
        n, = struct.unpack_from("<I", data, at)
        name = data[at + 4:at + 4 + n].decode()
        at += 4 + n
        rank, = struct.unpack_from("<I", data, at)
        dims = struct.unpack_from(f"<{rank}Q", data, at + 4)
        at += 4 + 8 * rank
        kind, = struct.unpack_from("<I", data, at)
        at += 4
        size = int(np.prod(dims))
        tensors.append((name, dims, kind, np.frombuffer(data, "<f4", size, at).reshape(dims).copy()))
        at += 4 * size
    return head, tensors


def write_mien_file(head, tensors):
    """The inverse of read_mien_file, with the size and CRC-32 recomputed."""
    import struct
    import zlib
    body = bytearray(head) + struct.pack("<I", len(tensors))
    for name, _, kind, values in tensors:
        body += struct.pack("<I", len(name)) + name.encode() + struct.pack("<I", values.ndim)
        body += struct.pack(f"<{values.ndim}Q", *values.shape) + struct.pack("<I", kind)
        body += values.astype("<f4").tobytes()
    body += b"\0\0\0\0"
    body[8:16] = struct.pack("<Q", len(body))
    body[-4:] = struct.pack("<I", zlib.crc32(bytes(body[:-4])))
    return bytes(body)


def without_metadata(head, key):
    """read_mien_file's head without the metadata entry `key` (a file written by today's
    mien-train stores its class names as mien.labels)."""
    return _replace_metadata(head, lambda k: k != key)


def eight_class(preset):
    """The shipped 7-class network with an 8th output whose logit is always -1e30: an 8-class
    file (as mien-train --labels ferplus writes, FER+'s default names) whose first seven
    probabilities are the 7-class network's. Its topology fingerprint is zeroed: the 7-class one
    would be wrong and this script cannot compute the 8-class one, so readers find the network by
    its tensor shapes."""
    import numpy as np
    head, tensors = read_mien_file(open(weights_of(preset), "rb").read())
    head = without_metadata(head[:20] + bytes(8) + head[28:], b"mien.labels")  # 7 names no longer fit
    out = []
    for name, dims, kind, values in tensors:
        if name.endswith("34.dense.weight"):
            values = np.concatenate([values, np.zeros((values.shape[0], 1), np.float32)], axis=1)
        elif name.endswith("34.dense.bias"):
            values = np.concatenate([values, np.float32([-1e30])])
        out.append((name, values.shape, kind, values))
    return write_mien_file(head, out)


FERPLUS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]

_counts = {"passed": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if report.passed and report.when == "call":
        _counts["passed"] += 1
    elif report.skipped:
        _counts["skipped"] += 1


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _counts["passed"] == 0 and _counts["skipped"] > 0:
        session.exitstatus = 77
