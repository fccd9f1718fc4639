"""mien.Model: shapes, dtypes, threads, the GIL, errors, and the C++ API's probabilities."""
import os
import subprocess
import threading
import time

import numpy as np
import pytest

import mien
from conftest import FERPLUS, eight_class, read_mien_file, weights_of, with_metadata, write_mien_file

FACES = 37  # not a multiple of the thread count: uneven slices


def random_faces(n, seed=1):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 48), dtype=np.uint8)


def test_costs_and_labels(preset):
    m = mien.Model(weights_of(preset))
    assert m.preset == preset
    assert m.labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    if preset == "paper":  # models/paper.hpp's header comment and the paper's Table I
        assert (m.params, m.macs) == (175_495, 25_373_056)
    else:
        assert m.params < 175_495 / 2 and m.macs < 25_373_056 / 3
    assert 0 < m.inference_bytes < 8 << 20


def test_shapes_and_probabilities(preset):
    m = mien.Model(weights_of(preset))
    faces = random_faces(FACES)
    p = m.predict(faces)
    assert p.shape == (FACES, 7) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert m.predict(faces[3]).shape == (1, 7)                    # one face (48, 48)
    np.testing.assert_array_equal(m.predict(faces[3]), p[3:4])
    np.testing.assert_array_equal(m.predict(faces[..., None]), p)  # (N, 48, 48, 1)
    assert m.predict(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)


def test_uint8_is_float_over_255(preset):
    m = mien.Model(weights_of(preset))
    faces = random_faces(5, seed=2)
    as_float = faces.astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(m.predict(faces), m.predict(as_float))
    np.testing.assert_array_equal(m.predict(faces), m.predict(as_float.astype(np.float64)))  # converted to float32
    np.testing.assert_array_equal(m.predict(faces), m.predict(np.asfortranarray(as_float)))  # any memory order


def test_threads_give_the_same_probabilities(preset):
    faces = random_faces(FACES, seed=3)
    one = mien.Model(weights_of(preset), threads=1)
    four = mien.Model(weights_of(preset), threads=4)
    assert (one.threads, four.threads) == (1, 4)
    np.testing.assert_array_equal(one.predict(faces), four.predict(faces))
    four.threads = 0  # 0: one per core
    assert four.threads == os.cpu_count()


def test_same_probabilities_as_the_cpp_api(preset, tmp_path):
    """mien-peer probs runs net.predict of the C++ API on the same floats."""
    peer = os.environ.get("MIEN_PEER")
    if not peer or not os.path.exists(peer):
        pytest.skip("mien-peer (bench/peers) not built")
    faces = random_faces(FACES, seed=4).astype(np.float32) / np.float32(255)
    faces.tofile(tmp_path / "faces.f32")
    subprocess.run([peer, "probs", "--model", preset, "--weights", weights_of(preset), "--inputs",
                    str(tmp_path / "faces.f32"), "--out", str(tmp_path / "probs.f32")], check=True)
    cpp = np.fromfile(tmp_path / "probs.f32", dtype=np.float32).reshape(FACES, 7)
    py = mien.Model(weights_of(preset), threads=3).predict(faces)
    # Same code, same compiler flags (mien_native): the same bits, not just close.
    np.testing.assert_array_equal(py, cpp)


def test_predict_releases_the_gil():
    """While one Python thread predicts, another keeps running Python code: the longest pause of
    a busy loop in the main thread during the worker's predict is a small part of that predict.
    With the GIL held, the loop could not run at all until predict returned."""
    m = mien.Model(weights_of("fast"), threads=1)
    faces = random_faces(1500, seed=5)
    window = []
    done = threading.Event()

    def work():
        t0 = time.perf_counter()
        m.predict(faces)
        window.extend([t0, time.perf_counter()])
        done.set()

    worker = threading.Thread(target=work)
    stamps = []
    worker.start()
    while not done.is_set():
        stamps.append(time.perf_counter())
    worker.join()
    start, end = window
    inside = [start] + [t for t in stamps if start < t < end] + [end]
    longest = max(b - a for a, b in zip(inside, inside[1:]))
    assert end - start > 0.05, "too fast to tell"
    assert longest < 0.5 * (end - start), f"main thread paused {longest * 1e3:.1f} ms of a {(end - start) * 1e3:.1f} ms predict"


def test_errors_name_expected_and_found(tmp_path):
    with pytest.raises(mien.Error, match="no/such.mien"):
        mien.Model("no/such.mien")
    bad = tmp_path / "bad.mien"
    data = bytearray(open(weights_of("fast"), "rb").read())
    data[200] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(mien.Error, match=r"checksum mismatch: stored 0x[0-9a-f]+, computed 0x[0-9a-f]+"):
        mien.Model(str(bad))
    assert issubclass(mien.Error, RuntimeError)
    m = mien.Model(weights_of("fast"))
    with pytest.raises(ValueError, match=r"expected faces of shape \(48, 48\) or \(N, 48, 48\).*found \(3, 47, 48\)"):
        m.predict(np.zeros((3, 47, 48), np.uint8))
    with pytest.raises(ValueError, match=r"found \(2304,\)"):
        m.predict(np.zeros(2304, np.float32))
    with pytest.raises(TypeError, match="expected uint8 .* or floating-point .*, found dtype int32"):
        m.predict(np.zeros((48, 48), np.int32))


def test_preset_by_shapes_when_the_fingerprint_differs(tmp_path):
    """A file whose topology fingerprint is neither preset's loads into the preset whose tensor
    shapes it matches (load_weights' default policy); a cut file fails with mien's message."""
    import struct
    import zlib
    data = bytearray(open(weights_of("fast"), "rb").read())
    data[20:28] = struct.pack("<Q", 0x0123456789ABCDEF)
    data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
    other = tmp_path / "other.mien"
    other.write_bytes(bytes(data))
    faces = random_faces(3, seed=6)
    m = mien.Model(str(other))
    assert m.preset == "fast"
    np.testing.assert_array_equal(m.predict(faces), mien.Model(weights_of("fast")).predict(faces))
    cut = tmp_path / "short.mien"
    cut.write_bytes(bytes(data[:1000]))
    with pytest.raises(mien.Error, match="truncated file: 1000 of [0-9]+ bytes"):
        mien.Model(str(cut))


def test_labels_come_from_the_file(tmp_path):
    """Class names stored in the weights (metadata mien.labels) are the model's labels; a count
    that is not the model's outputs is mien's error."""
    data = open(weights_of("fast"), "rb").read()
    named = tmp_path / "named.mien"
    names = ["a1", "b2", "c3", "d4", "e5", "f6", "g7"]
    named.write_bytes(with_metadata(data, "mien.labels", "\n".join(names)))
    m = mien.Model(str(named))
    assert m.labels == names
    np.testing.assert_array_equal(m.predict(random_faces(2)), mien.Model(weights_of("fast")).predict(random_faces(2)))
    wrong = tmp_path / "wrong.mien"
    wrong.write_bytes(with_metadata(data, "mien.labels", "x\ny"))
    with pytest.raises(mien.Error, match="the file names 2 classes"):
        mien.Model(str(wrong))


def test_the_file_helpers_round_trip():
    data = open(weights_of("paper"), "rb").read()
    assert write_mien_file(*read_mien_file(data)) == data


def test_eight_class_models_load(preset, tmp_path):
    """An 8-class network (FER+) of either preset: (N, 8) probabilities, FER+'s default names."""
    path = tmp_path / "eight.mien"
    path.write_bytes(eight_class(preset))
    m = mien.Model(str(path))
    assert m.preset == preset and m.labels == FERPLUS
    faces = random_faces(6, seed=8)
    p = m.predict(faces)
    assert p.shape == (6, 8)
    assert (p[:, 7] == 0).all()
    np.testing.assert_allclose(p[:, :7], mien.Model(weights_of(preset)).predict(faces), atol=1e-6)
    if mien.has_opencv:  # the recognizer takes it too, with the file's class names
        rec = mien.Recognizer(weights=str(path))
        assert rec.preset == preset and rec.labels == FERPLUS


def test_large_preset_loads(untrained_large, tmp_path):
    """The large preset (models::large, twice the paper's widths) with 7 and 8 outputs, as C++
    saves it: found by its fingerprint and, with the fingerprint cleared, by its tensor shapes."""
    import struct
    import zlib
    faces = random_faces(FACES, seed=9)
    seven = mien.Model(untrained_large[7], threads=2)
    assert seven.preset == "large" and seven.labels == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert (seven.params, seven.macs) == (692_999, 98_587_392)  # what mien-train reports for --model large
    eight = mien.Model(untrained_large[8], threads=2)
    assert eight.preset == "large" and eight.labels == FERPLUS
    assert (eight.params, eight.macs) == (seven.params + 257, seven.macs + 256)  # one more output of 256 inputs
    for m, classes in ((seven, 7), (eight, 8)):
        p = m.predict(faces)
        assert p.shape == (FACES, classes) and p.dtype == np.float32
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(p, mien.Model(m.path, threads=1).predict(faces))
        data = bytearray(open(m.path, "rb").read())
        data[20:28] = bytes(8)
        data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
        by_shapes = tmp_path / f"large{classes}.mien"
        by_shapes.write_bytes(bytes(data))
        other = mien.Model(str(by_shapes))
        assert other.preset == "large" and other.labels == m.labels
        np.testing.assert_array_equal(other.predict(faces), p)


def test_unknown_networks_name_every_preset(tmp_path):
    """A network the module does not know (9 outputs) fails with each preset's reason."""
    head, tensors = read_mien_file(open(weights_of("fast"), "rb").read())
    head = head[:20] + bytes(8) + head[28:]
    nine = []
    for name, dims, kind, values in tensors:
        if name.endswith("34.dense.weight") or name.endswith("34.dense.bias"):
            values = np.concatenate([values, np.zeros(values.shape[:-1] + (2,), np.float32)], axis=-1)
        nine.append((name, values.shape, kind, values))
    path = tmp_path / "nine.mien"
    path.write_bytes(write_mien_file(head, nine))
    with pytest.raises(mien.Error) as e:
        mien.Model(str(path))
    message = str(e.value)
    assert "not a network mien's Python module knows (paper, fast or large, 7 or 8 classes)" in message
    for preset in ("paper", "fast", "large"):
        for classes in (7, 8):
            assert f"\n  {preset} ({classes} classes): " in message
