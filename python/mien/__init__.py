"""mien from Python: facial expressions from 48x48 face crops, or from whole frames and videos.

    import mien
    model = mien.Model("models/paper.mien")
    p = model.predict(faces)            # (N, 48, 48) uint8 or float in [0, 1] -> (N, 7) probabilities
    model.labels                        # ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']

    rec = mien.Recognizer(weights="models/paper.mien")
    rec.detect_emotions(frame)          # BGR uint8 -> [{"box": [x, y, w, h], "emotions": {"angry": p, ...}}]
    rec.top_emotion(frame)              # ("happy", 0.93) for the largest face, (None, None) without one
    rows = rec.analyze_video("clip.avi")  # one dict per frame and face: pandas.DataFrame(rows)

The work is done by mien's C++ code (the extension module mien._mien) with the GIL released:
`predict` spreads a batch over `model.threads` threads. Errors from mien raise `mien.Error` (a
RuntimeError) with mien's message; wrong shapes and dtypes raise ValueError / TypeError.
"""
import os
import sys

from ._mien import Error, Model, has_opencv  # noqa: F401  (re-exported)

if has_opencv:
    from ._mien import Recognizer as _Recognizer

__all__ = ["Error", "Model", "Recognizer", "has_opencv", "default_weights"]


def default_weights():
    """The weights used when none are given: $MIEN_WEIGHTS, else the shipped paper network that the
    build copies into the package (mien/models/paper.mien); None when neither exists."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.environ.get("MIEN_WEIGHTS"), os.path.join(here, "models", "paper.mien")):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


class _ProgressBar:
    """A one-line text bar on stderr, redrawn at most every 1 % (no dependency on tqdm)."""

    def __init__(self, label, stream=None):
        self.label, self.stream, self.last = label, stream or sys.stderr, -1

    def __call__(self, done, total):
        if total > 0:
            percent = min(100, done * 100 // total)
            if percent == self.last:
                return
            self.last = percent
            bar = "#" * (percent * 30 // 100)
            self.stream.write(f"\r{self.label} [{bar:<30}] {percent:3d}% {done}/{total} frames")
        else:
            self.stream.write(f"\r{self.label} {done} frames")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


class Recognizer:
    """Faces and their expressions in BGR frames: OpenCV's Haar cascade, mien's crop and network.

    Recognizer(weights=None, cascade="", max_faces=8, margin=None, offset=None, min_neighbors=0,
    min_face_fraction=0.0): weights is a .mien file of the paper, fast or large preset, 7 or 8 classes (default:
    the MIEN_WEIGHTS environment variable, then the shipped paper network); cascade a Haar cascade XML (default: Debian's
    opencv-data one); margin and offset the framing (default: mien's measured values); 0 keeps
    the detector's defaults. Not shared between threads without cost: calls take turns.
    """

    def __init__(self, weights=None, cascade="", max_faces=8, margin=None, offset=None, min_neighbors=0,
                 min_face_fraction=0.0):
        if not has_opencv:
            raise Error("mien.Recognizer: this build of mien's Python module has no OpenCV "
                        "(install libopencv-dev and rebuild)")
        weights = weights or default_weights()
        if weights is None:
            raise Error("mien.Recognizer: no weights given (weights=... or the MIEN_WEIGHTS environment variable)")
        self._rec = _Recognizer(os.fspath(weights), cascade, max_faces, margin, offset, min_neighbors,
                                min_face_fraction)

    @property
    def preset(self):
        return self._rec.preset

    @property
    def labels(self):
        """The model's class names, the keys of "emotions" (FER2013's seven, or FER+'s eight)."""
        return self._rec.labels

    @property
    def timings(self):
        """Milliseconds per stage of the last detect_emotions call."""
        return self._rec.timings

    def detect_emotions(self, frame):
        """[{"box": [x, y, w, h], "emotions": {"angry": p, ...}}, ...], largest face first."""
        return self._rec.detect_emotions(frame)

    def top_emotion(self, frame):
        """(name, probability) of the largest face's most likely expression; (None, None) without a face."""
        faces = self.detect_emotions(frame)
        if not faces:
            return None, None
        emotions = faces[0]["emotions"]
        name = max(emotions, key=emotions.get)
        return name, emotions[name]

    def analyze_video(self, path, every=1, max_frames=0, progress=None):
        """Every `every`-th frame of the video (up to max_frames, 0: all): one dict per frame and face
        with frame, time (s), face, x, y, w, h, one probability per class (under labels), top_emotion and score.
        progress: True / False, or None for a bar only when stderr is a terminal."""
        show = sys.stderr.isatty() if progress is None else bool(progress)
        bar = _ProgressBar(os.path.basename(os.fspath(path))) if show else None
        try:
            return self._rec.analyze_video(os.fspath(path), every, max_frames, bar)
        finally:
            if bar is not None:
                bar.close()
