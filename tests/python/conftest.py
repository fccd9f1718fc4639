"""Shared fixtures of the Python tests (run by CTest: python/CMakeLists.txt sets the environment).

MIEN_SOURCE_DIR: the repository; MIEN_PEER: mien-peer (bench/peers), which gives the C++ API's
probabilities; MIEN_DATA_DIR: the data sets. A file whose tests all skipped ends with exit code
77, which CTest reports as skipped rather than passed.
"""
import os

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


def with_metadata(data, key, value):
    """A copy of a .mien file with one more metadata entry (kept sorted by key), size and CRC-32
    rewritten: docs/WEIGHTS_FORMAT.md's layout."""
    import struct
    import zlib

    def text_at(at):
        n, = struct.unpack_from("<I", data, at)
        return data[at + 4:at + 4 + n], at + 4 + n

    _, at = text_at(28)  # the topology description
    meta_at = at
    count, = struct.unpack_from("<I", data, at)
    at += 4
    entries = []
    for _ in range(count):
        k, at = text_at(at)
        v, at = text_at(at)
        entries.append((k, v))
    entries = sorted(entries + [(key.encode(), value.encode())])
    meta = struct.pack("<I", len(entries)) + b"".join(
        struct.pack("<I", len(k)) + k + struct.pack("<I", len(v)) + v for k, v in entries)
    out = bytearray(data[:meta_at] + meta + data[at:])
    out[8:16] = struct.pack("<Q", len(out))
    out[-4:] = struct.pack("<I", zlib.crc32(bytes(out[:-4])))
    return bytes(out)


_counts = {"passed": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if report.passed and report.when == "call":
        _counts["passed"] += 1
    elif report.skipped:
        _counts["skipped"] += 1


def pytest_sessionfinish(session, exitstatus):
    if exitstatus == 0 and _counts["passed"] == 0 and _counts["skipped"] > 0:
        session.exitstatus = 77
