#!/usr/bin/python3
"""Per-face latency of mien from Python next to the same work from C++, and fer-style usage.

    cmake --build build -j2 --target mien_python mien-peer
    /usr/bin/python3 bench/bench_python.py --build build            # --json out.json to keep it

Rows, for the paper network and its fast preset (one thread unless said):
  C++ net.predict           mien-peer serve `predict N`: net.predict in a loop, timed per call in C++
  C++ 64 faces              mien-peer serve `batch N`: 64 calls of net.predict timed together, per face
  Python predict(1 face)    mien.Model(...).predict(face) per call: the C++ call plus pybind11,
                            NumPy conversion and the output array
  Python predict(64 faces)  one call on a (64, 48, 48) uint8 batch, per face; threads 1 and 2
  fer-style detect_emotions mien.Recognizer.detect_emotions(frame) on a 720x528 Megamind frame with
                            one face (Haar detection included), per call, and inside it the
                            C++ recognizer's own stage times (Recognizer.timings): the
                            difference is what crossing into Python costs per frame
Measurements alternate between C++ and Python in rounds, so load from other programs falls on
both alike; medians over all rounds. Prints a Markdown table and `uptime` before and after.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
MEGAMIND = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


class Peer:
    """mien-peer serve: C++ timings of net.predict, one JSON line per command."""

    def __init__(self, exe, preset):
        self.p = subprocess.Popen([exe, "serve", "--model", preset, "--weights", os.path.join(ROOT, "models", f"{preset}.mien")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ms(self, command):
        self.p.stdin.write(command + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())["ms"]

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait()


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--build", default=os.path.join(ROOT, "build"), help="the CMake build directory")
    a.add_argument("--rounds", type=int, default=8)
    a.add_argument("--calls", type=int, default=100, help="batch-1 calls per round")
    a.add_argument("--json", help="also write the figures here")
    args = a.parse_args()
    sys.path.insert(0, os.path.join(args.build, "python"))
    import numpy as np
    import mien

    peer_exe = os.path.join(args.build, "bench", "mien-peer")
    frame = None
    if mien.has_opencv and os.path.exists(MEGAMIND):
        import cv2
        video = cv2.VideoCapture(MEGAMIND)
        for _ in range(10):
            ok, frame = video.read()
    rng = np.random.default_rng(1)
    face = rng.integers(0, 256, size=(48, 48), dtype=np.uint8)
    batch = rng.integers(0, 256, size=(64, 48, 48), dtype=np.uint8)

    before = uptime()
    results = {}
    for preset in ("paper", "fast"):
        weights = os.path.join(ROOT, "models", f"{preset}.mien")
        peer = Peer(peer_exe, preset)
        m1 = mien.Model(weights, threads=1)
        m2 = mien.Model(weights, threads=2)
        rec = mien.Recognizer(weights=weights) if frame is not None else None
        r = {k: [] for k in ("cpp", "py1", "cpp64", "py64_t1", "py64_t2", "fer_call", "fer_cpp", "fer_recognition")}
        peer.ms("predict 20")  # warm-up
        timed(lambda: m1.predict(face), 20)
        for _ in range(args.rounds):
            r["cpp"] += peer.ms(f"predict {args.calls}")
            r["cpp64"] += [ms / 64 for ms in peer.ms("batch 5")]
            r["py1"] += timed(lambda: m1.predict(face), args.calls)
            r["py64_t1"] += [ms / 64 for ms in timed(lambda: m1.predict(batch), 5)]
            r["py64_t2"] += [ms / 64 for ms in timed(lambda: m2.predict(batch), 5)]
            if rec is not None:
                for _ in range(5):
                    t0 = time.perf_counter()
                    faces = rec.detect_emotions(frame)
                    r["fer_call"].append((time.perf_counter() - t0) * 1e3)
                    t = rec.timings
                    r["fer_cpp"].append(t["gray_ms"] + t["detection_ms"] + t["preprocessing_ms"] + t["recognition_ms"])
                    r["fer_recognition"].append(t["recognition_ms"] / max(1, len(faces)))
        peer.close()
        results[preset] = {k: statistics.median(v) if v else None for k, v in r.items()}

    after = uptime()
    rows = [("C++ net.predict (mien-peer), batch 1", "cpp"),
            ("Python Model.predict(one face), batch 1", "py1"),
            ("C++ 64 calls of net.predict (mien-peer batch), per face", "cpp64"),
            ("Python Model.predict(64 faces), threads=1, per face", "py64_t1"),
            ("Python Model.predict(64 faces), threads=2, per face", "py64_t2"),
            ("fer-style Recognizer.detect_emotions(frame), per call", "fer_call"),
            ("  of which the C++ recognizer's stages (timings)", "fer_cpp"),
            ("  of which the network, per face", "fer_recognition")]
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"mien {mien.__file__}")
    print(f"uptime before: {before}\nuptime after:  {after}\n")
    print("| median ms | paper | vs C++ | fast | vs C++ |\n|---|---|---|---|---|")
    for label, key in rows:
        cells = []
        for preset in ("paper", "fast"):
            # Each Python row against the C++ row of the same shape of work: a long timed call
            # (64 faces) catches more preemption from other programs than a short one.
            v = results[preset][key]
            c = results[preset]["cpp64" if key.startswith("py64") else "cpp"]
            ratio = f"{v / c:.2f}x" if v is not None and key in ("py1", "py64_t1", "py64_t2") else ""
            cells += [f"{v:.3f}" if v is not None else "n/a", ratio]
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": cpu_name(), "uptime_before": before, "uptime_after": after, "median_ms": results}, f, indent=1)


if __name__ == "__main__":
    main()
