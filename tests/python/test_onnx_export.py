"""tools/mien_to_onnx.py: OpenCV DNN running the exported file gives mien's probabilities within
1e-5 for both shipped presets (python3-torch, python3-onnx and python3-opencv needed)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import mien
from conftest import FERPLUS, SOURCE, eight_class, weights_of, with_metadata

pytest.importorskip("torch", reason="python3-torch not installed")
pytest.importorskip("onnx", reason="python3-onnx not installed")
cv2 = pytest.importorskip("cv2", reason="python3-opencv not installed")

sys.path.insert(0, os.path.join(SOURCE, "tools"))
import mien_to_onnx  # noqa: E402

TOLERANCE = 1e-5


def faces(n, seed):
    """Random pixels, and smooth gradients with a bright blob (closer to a face's statistics)."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, size=(n // 2, 48, 48), dtype=np.uint8)
    y, x = np.mgrid[0:48, 0:48] / 47.0
    smooth = []
    for _ in range(n - n // 2):
        a, b, c, cx, cy = rng.uniform(0, 1, 5)
        img = 0.4 * a * x + 0.4 * b * y + 0.5 * c * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) * 20)
        smooth.append(np.clip(img * 255, 0, 255).astype(np.uint8))
    return np.concatenate([noise, np.stack(smooth)])


@pytest.mark.parametrize("batch", [1, 5])
def test_opencv_dnn_gives_miens_probabilities(preset, batch, tmp_path):
    path = tmp_path / f"{preset}.onnx"
    got_preset, _ = mien_to_onnx.export(weights_of(preset), str(path), batch=batch)
    assert got_preset == preset
    x = faces(20, seed=batch)
    expected = mien.Model(weights_of(preset)).predict(x)
    dnn = cv2.dnn.readNetFromONNX(str(path))
    blobs = x.astype(np.float32)[:, None] / np.float32(255)  # N x 1 x 48 x 48, as mien scales uint8
    got = []
    for i in range(0, len(x), batch):
        dnn.setInput(blobs[i:i + batch])
        got.append(dnn.forward().reshape(batch, 7))
    got = np.concatenate(got)
    difference = np.abs(got - expected).max()
    print(f"{preset} batch {batch}: max |OpenCV - mien| = {difference:.3g} over {len(x)} faces")
    assert difference <= TOLERANCE
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


def test_metadata_and_logits(tmp_path):
    import onnx
    path = tmp_path / "fast_logits.onnx"
    mien_to_onnx.export(weights_of("fast"), str(path), logits=True)
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["mien.preset"] == "fast" and meta["mien.output"] == "logits"
    assert meta["mien.labels"].split(",") == mien.Model(weights_of("fast")).labels
    assert [o.name for o in model.graph.output] == ["logits"]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 1, 48, 48]
    dnn = cv2.dnn.readNetFromONNX(str(path))
    x = faces(2, seed=9)[1:]
    dnn.setInput(x.astype(np.float32)[:, None] / np.float32(255))
    logits = dnn.forward().reshape(1, 7)
    p = np.exp(logits - logits.max())
    np.testing.assert_allclose(p / p.sum(), mien.Model(weights_of("fast")).predict(x), atol=TOLERANCE)


def test_eight_class_models_export(preset, tmp_path):
    import onnx
    src = tmp_path / "eight.mien"
    src.write_bytes(eight_class(preset))
    path = tmp_path / "eight.onnx"
    mien_to_onnx.export(str(src), str(path))
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["mien.labels"].split(",") == FERPLUS == mien.Model(str(src)).labels
    x = faces(4, seed=11)
    dnn = cv2.dnn.readNetFromONNX(str(path))
    got = []
    for face in x:
        dnn.setInput(face.astype(np.float32)[None, None] / np.float32(255))
        got.append(dnn.forward().reshape(8))
    difference = np.abs(np.stack(got) - mien.Model(str(src)).predict(x)).max()
    print(f"{preset}, 8 classes: max |OpenCV - mien| = {difference:.3g}")
    assert difference <= TOLERANCE


def test_the_files_class_names_go_into_the_metadata(tmp_path):
    import onnx
    named = tmp_path / "named.mien"
    names = ["n0", "n1", "n2", "n3", "n4", "n5", "n6"]
    named.write_bytes(with_metadata(open(weights_of("fast"), "rb").read(), "mien.labels", "\n".join(names)))
    mien_to_onnx.export(str(named), str(tmp_path / "named.onnx"))
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "named.onnx")).metadata_props}
    assert meta["mien.labels"] == ",".join(names) == ",".join(mien.Model(str(named)).labels)


def test_bad_files_fail_with_the_reason(tmp_path):
    data = bytearray(open(weights_of("fast"), "rb").read())
    data[300] ^= 1
    bad = tmp_path / "bad.mien"
    bad.write_bytes(bytes(data))
    with pytest.raises(mien_to_onnx.MienFileError, match=r"checksum mismatch: stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}"):
        mien_to_onnx.read_mien(str(bad))
    cli = subprocess.run([sys.executable, os.path.join(SOURCE, "tools", "mien_to_onnx.py"), str(bad),
                          str(tmp_path / "x.onnx")], capture_output=True, text=True)
    assert cli.returncode == 1 and "checksum mismatch" in cli.stderr
    assert not (tmp_path / "x.onnx").exists()
    not_mien = tmp_path / "x.mien"
    not_mien.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(mien_to_onnx.MienFileError, match="not a mien file"):
        mien_to_onnx.read_mien(str(not_mien))
