"""mien.Recognizer: fer-shaped results, the same faces and probabilities as mien-detect, videos,
progress, errors. Uses opencv-doc's messi5.jpg and Megamind.avi (Debian: opencv-doc) and
Debian's OpenCV for Python (python3-opencv) to read them."""
import json
import os
import subprocess

import numpy as np
import pytest

import mien
from conftest import FERPLUS, MEGAMIND, MESSI, eight_class, weights_of

cv2 = pytest.importorskip("cv2", reason="python3-opencv not installed")
if not mien.has_opencv:
    pytest.skip("mien's Python module was built without OpenCV", allow_module_level=True)

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


@pytest.fixture(scope="module")
def messi():
    if not os.path.exists(MESSI):
        pytest.skip(f"{MESSI} missing (opencv-doc)")
    return cv2.imread(MESSI)


@pytest.fixture(scope="module")
def megamind_face():
    """The first of Megamind's frames in which the recognizer finds a face (the second one)."""
    if not os.path.exists(MEGAMIND):
        pytest.skip(f"{MEGAMIND} missing (opencv-doc)")
    video = cv2.VideoCapture(MEGAMIND)
    rec = mien.Recognizer(weights=weights_of("fast"))
    for _ in range(24):
        ok, frame = video.read()
        assert ok
        if rec.detect_emotions(frame):
            return frame
    pytest.fail("no face in Megamind's first second")


def test_detect_emotions_has_fers_shape(messi, preset):
    rec = mien.Recognizer(weights=weights_of(preset))
    assert rec.preset == preset
    faces = rec.detect_emotions(messi)
    assert len(faces) >= 1
    for face in faces:
        assert sorted(face) == ["box", "emotions"]
        x, y, w, h = face["box"]
        assert 0 <= x < messi.shape[1] and 0 <= y < messi.shape[0] and w > 20 and h > 20
        assert list(face["emotions"]) == LABELS
        assert sum(face["emotions"].values()) == pytest.approx(1.0, abs=1e-5)
    areas = [f["box"][2] * f["box"][3] for f in faces]
    assert areas == sorted(areas, reverse=True)  # largest first
    name, score = rec.top_emotion(messi)
    assert score == max(faces[0]["emotions"].values()) and faces[0]["emotions"][name] == score
    assert rec.timings["faces"] == len(faces)


def test_gray_bgra_and_blank_frames(messi):
    rec = mien.Recognizer(weights=weights_of("paper"))
    bgr = rec.detect_emotions(messi)
    gray = cv2.cvtColor(messi, cv2.COLOR_BGR2GRAY)
    assert rec.detect_emotions(gray) == bgr  # the recognizer works on gray either way
    assert rec.detect_emotions(cv2.cvtColor(messi, cv2.COLOR_BGR2BGRA)) == bgr
    assert rec.detect_emotions(np.zeros((120, 160, 3), np.uint8)) == []
    assert rec.top_emotion(np.zeros((120, 160, 3), np.uint8)) == (None, None)


def test_same_faces_and_probabilities_as_mien_detect(messi):
    """mien-detect --image --json is the C++ program on the same file."""
    detect = os.environ.get("MIEN_DETECT")
    if not detect or not os.path.exists(detect):
        pytest.skip("mien-detect (examples) not built")
    out = subprocess.run([detect, "--image", MESSI, "--weights", weights_of("paper"), "--json"], check=True,
                         capture_output=True, text=True).stdout
    cpp = json.loads(out.splitlines()[0])["faces"]
    py = mien.Recognizer(weights=weights_of("paper")).detect_emotions(messi)
    assert [f["box"] for f in py] == [f["box"] for f in cpp]
    for p, c in zip(py, cpp):
        for k in LABELS:  # mien-detect prints its probabilities rounded
            assert p["emotions"][k] == pytest.approx(c["probabilities"][k], abs=1e-4)


def test_large_preset_as_mien_detect(messi, untrained_large):
    """The large preset (untrained, 7 and 8 classes): the recognizer takes it, and mien-detect
    --model large finds the same faces with the same probabilities."""
    detect = os.environ.get("MIEN_DETECT")
    for classes, labels in ((7, LABELS), (8, FERPLUS)):
        rec = mien.Recognizer(weights=untrained_large[classes])
        assert rec.preset == "large" and rec.labels == labels
        faces = rec.detect_emotions(messi)
        assert faces and all(list(f["emotions"]) == labels for f in faces)
        if not detect or not os.path.exists(detect):
            continue
        out = subprocess.run([detect, "--image", MESSI, "--weights", untrained_large[classes], "--model", "large", "--json"],
                             check=True, capture_output=True, text=True).stdout
        cpp = json.loads(out.splitlines()[0])["faces"]
        assert [f["box"] for f in faces] == [f["box"] for f in cpp]
        for p, c in zip(faces, cpp):
            for k in labels:  # mien-detect prints its probabilities rounded
                assert p["emotions"][k] == pytest.approx(c["probabilities"][k], abs=1e-4)


def test_analyze_video_records(capsys):
    if not os.path.exists(MEGAMIND):
        pytest.skip(f"{MEGAMIND} missing (opencv-doc)")
    rec = mien.Recognizer(weights=weights_of("fast"))
    rows = rec.analyze_video(MEGAMIND, every=2, max_frames=24, progress=True)
    err = capsys.readouterr().err
    assert "Megamind.avi [" in err and "100% 24/24 frames" in err
    assert rows, "Megamind shows a face in its first frames"
    frames = sorted({r["frame"] for r in rows})
    assert all(f % 2 == 0 and f < 24 for f in frames)
    keys = ["frame", "time", "face", "x", "y", "w", "h", *LABELS, "top_emotion", "score"]
    for r in rows:
        assert list(r) == keys
        assert r["time"] == pytest.approx(r["frame"] / 23.976, rel=1e-3)  # Megamind is 23.976 frames/s
        assert r["top_emotion"] == max(LABELS, key=r.get) and r["score"] == r[r["top_emotion"]]
    # Frame by frame, the same as detect_emotions on the frame read by OpenCV.
    video = cv2.VideoCapture(MEGAMIND)
    ok, frame0 = video.read()
    assert ok
    first = [r for r in rows if r["frame"] == 0]
    assert [[r["x"], r["y"], r["w"], r["h"]] for r in first] == [f["box"] for f in rec.detect_emotions(frame0)]
    assert rec.analyze_video(MEGAMIND, max_frames=3, progress=False) is not None
    assert capsys.readouterr().err == ""


def test_an_8_class_ferplus_model_names_its_own_classes(megamind_face, tmp_path):
    """models/paper_ferplus.mien: FER+'s eight classes, named by the file (mien.labels), as the
    C++ recognizer and mien-detect name them."""
    weights = os.path.join(os.path.dirname(weights_of("paper")), "paper_ferplus.mien")
    if not os.path.exists(weights):
        pytest.skip(f"{weights} missing")
    labels = mien.Model(weights).labels
    assert labels == FERPLUS
    rec = mien.Recognizer(weights=weights)
    assert rec.preset == "paper"
    assert rec.labels == labels
    assert mien.Recognizer(weights=weights_of("fast")).labels == LABELS
    faces = rec.detect_emotions(megamind_face)
    assert len(faces) >= 1
    for face in faces:
        assert list(face["emotions"]) == labels
        assert sum(face["emotions"].values()) == pytest.approx(1.0, abs=1e-5)
    name, p = rec.top_emotion(megamind_face)
    assert name in labels and p == max(faces[0]["emotions"].values())
    # The same faces as the 7-class model finds (one detector), other probabilities.
    seven = mien.Recognizer(weights=weights_of("paper")).detect_emotions(megamind_face)
    assert [f["box"] for f in faces] == [f["box"] for f in seven]
    detect = os.environ.get("MIEN_DETECT")
    if detect and os.path.exists(detect):
        image = os.path.join(tmp_path, "frame.png")
        cv2.imwrite(image, megamind_face)
        out = subprocess.run([detect, "--image", image, "--weights", weights, "--json"], check=True,
                             capture_output=True, text=True).stdout
        cpp = json.loads(out.splitlines()[0])["faces"]
        assert [f["box"] for f in faces] == [f["box"] for f in cpp]
        for py_face, cpp_face in zip(faces, cpp):
            assert list(cpp_face["probabilities"]) == labels
            for k in labels:
                assert py_face["emotions"][k] == pytest.approx(cpp_face["probabilities"][k], abs=1e-4)
    if os.path.exists(MEGAMIND):
        rows = rec.analyze_video(MEGAMIND, max_frames=4, progress=False)
        assert rows
        for r in rows:
            assert list(r) == ["frame", "time", "face", "x", "y", "w", "h", *labels, "top_emotion", "score"]
            assert r["top_emotion"] == max(labels, key=r.get)


def test_an_8_class_model_gives_the_probabilities_of_its_outputs(tmp_path, megamind_face, preset):
    """conftest.eight_class: the 7-class network plus an output that is never chosen. The
    recognizer names the outputs FER+'s way, and the first seven are the 7-class recognizer's."""
    path = tmp_path / "eight.mien"
    path.write_bytes(eight_class(preset))
    faces8 = mien.Recognizer(weights=str(path)).detect_emotions(megamind_face)
    faces7 = mien.Recognizer(weights=weights_of(preset)).detect_emotions(megamind_face)
    assert faces8 and [f["box"] for f in faces8] == [f["box"] for f in faces7]
    for f8, f7 in zip(faces8, faces7):
        assert list(f8["emotions"]) == FERPLUS
        assert f8["emotions"]["contempt"] == 0
        assert list(f8["emotions"].values())[:7] == pytest.approx(list(f7["emotions"].values()), abs=1e-6)


def test_errors_are_python_exceptions(tmp_path, messi):
    with pytest.raises(mien.Error, match="no/such.mien"):
        mien.Recognizer(weights="no/such.mien")
    with pytest.raises(mien.Error, match="face_detector"):
        mien.Recognizer(weights=weights_of("fast"), cascade=str(tmp_path / "none.xml"))
    rec = mien.Recognizer(weights=weights_of("fast"))
    with pytest.raises(mien.Error, match="OpenCV cannot open the video"):
        rec.analyze_video(str(tmp_path / "none.avi"), progress=False)
    with pytest.raises(ValueError, match=r"expected an 8-bit image .* found \(4, 4, 2\)"):
        rec.detect_emotions(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError):
        rec.detect_emotions(messi.astype(np.float32))  # pybind11 refuses the dtype, naming the signature
