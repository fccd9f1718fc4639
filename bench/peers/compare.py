#!/usr/bin/python3
"""mien side by side with PyTorch (eager, TorchScript) and OpenCV DNN, in one run.

    /usr/bin/python3 bench/peers/compare.py --peer build/bench/mien-peer
    /usr/bin/python3 bench/peers/compare.py --peer build/bench/mien-peer --check-only   # equivalence only

What it does, in order:
1. Exports models/<preset>.mien to .npz (`mien-peer export`), loads it into the PyTorch twin
   (bench/peers/twin.py) and writes the twin's ONNX (batch 1 and batch 64) for OpenCV.
2. Equivalence: the same faces (random pixels, and real FER2013 validation faces when
   ../shared/data is there) through mien (`mien-peer probs`), the twin (eager and TorchScript)
   and OpenCV DNN; the probabilities must agree to --tolerance (1e-4), or it stops with exit 1.
3. Timing: one worker process per (framework, preset), all started before anything is timed:
   mien-peer serve, and this script in --worker mode for eager, TorchScript and OpenCV. The
   measurements are taken in rounds; within a round every worker runs its share in turn (the
   order rotates per round), so load from other programs falls on all of them alike.
   - predict: batch 1, one thread, per-call wall time; median and p90 over all rounds;
   - batch: 64 faces per timed call, one thread; faces/s from the median call. mien has no batched
     inference entry point besides the trainer, so its batch is 64 calls of net.predict;
     PyTorch and OpenCV get one tensor of 64 faces;
   - train: batch 32 (Adam, cross-entropy, dropout on), two threads, then one thread; images/s from
     the median step. Only mien and PyTorch eager train.
   Peak RSS (VmHWM) of each worker is read after each phase (it only grows).
4. Prints a Markdown table with the ratios against mien, `uptime` before and after, and writes
   everything as JSON (--json).

Exit code 77 when PyTorch is not installed (CTest reads it as skipped).
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SKIP = 77

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # python3-torch / python3-numpy missing
    print(f"compare.py: skipped: {e} (install python3-torch and python3-numpy, run with /usr/bin/python3)")
    sys.exit(SKIP)
try:
    import cv2
except ImportError:
    cv2 = None

sys.path.insert(0, HERE)
import twin  # noqa: E402

BATCH = 64
TRAIN_BATCH = 32


def peak_rss_kb():
    """VmHWM of this process. Not ru_maxrss: Linux carries that over from the parent through
    fork and exec, so every worker would report at least this script's own size."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def blas_library():
    """The BLAS shared library this process has loaded (PyTorch's convolutions depend on it)."""
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    return ", ".join(sorted(os.path.realpath(p) for p in libs)) or "none"


# ---------------------------------------------------------------------------------------------
# Workers: one command per line on stdin, one JSON line on stdout (the protocol of mien-peer serve).

def worker(kind, preset, npz, onnx1, onnx64):
    torch.set_num_threads(1)
    rng = np.random.RandomState(5)
    faces = rng.rand(BATCH, 1, 48, 48).astype(np.float32)
    labels = torch.from_numpy(rng.randint(0, 7, TRAIN_BATCH).astype(np.int64))
    x1, x64 = torch.from_numpy(faces[:1]), torch.from_numpy(faces)
    train_state = {}
    if kind in ("eager", "script"):
        model = twin.load(preset, npz)
        if kind == "script":
            with torch.no_grad():
                model = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))

        def predict(x):
            with torch.inference_mode():
                return model(x)
    elif kind == "opencv":
        cv2.setNumThreads(1)
        nets = {1: cv2.dnn.readNetFromONNX(onnx1), BATCH: cv2.dnn.readNetFromONNX(onnx64)}
        for n in nets.values():
            n.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            n.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)

        def predict(x):
            net = nets[x.shape[0]]
            net.setInput(x.numpy())
            return net.forward()
    else:
        raise SystemExit(f"unknown worker {kind}")

    def train_step():
        m, opt = train_state["model"], train_state["opt"]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x_train), labels)
        loss.backward()
        opt.step()
        return loss

    x_train = torch.from_numpy(faces[:TRAIN_BATCH])
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        cmd, n = parts[0], int(parts[1]) if len(parts) > 1 else 0
        ms = []
        if cmd in ("predict", "batch"):
            torch.set_num_threads(1)
            x = x1 if cmd == "predict" else x64
            for _ in range(n):
                t0 = time.perf_counter()
                predict(x)
                ms.append((time.perf_counter() - t0) * 1e3)
            out = {"ms": ms}
        elif cmd == "train":
            if kind != "eager":
                out = {"error": "only eager trains"}
            else:
                torch.set_num_threads(int(parts[2]))
                if not train_state:
                    m = twin.load(preset, npz).train()
                    train_state.update(model=m, opt=torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7))
                for _ in range(n):
                    t0 = time.perf_counter()
                    train_step()
                    ms.append((time.perf_counter() - t0) * 1e3)
                out = {"ms": ms}
        elif cmd == "rss":
            out = {"peak_rss_kb": peak_rss_kb()}
        else:
            out = {"error": "unknown command"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


class Proc:
    def __init__(self, name, argv, env=None):
        self.name = name
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"compare.py: worker {self.name} died on '{cmd}'")
        out = json.loads(line)
        if "error" in out:
            raise SystemExit(f"compare.py: worker {self.name}: {out['error']}")
        return out

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        self.p.wait(timeout=60)


# ---------------------------------------------------------------------------------------------
# Preparation and the equivalence check.

def prepare(peer, preset, workdir):
    weights = os.path.join(ROOT, "models", f"{preset}.mien")
    npz = os.path.join(workdir, f"{preset}.npz")
    subprocess.run([peer, "export", "--model", preset, "--weights", weights, "--out", npz], check=True)
    model = twin.load(preset, npz)
    onnx = {}
    if cv2 is not None:
        for b in (1, BATCH):
            onnx[b] = os.path.join(workdir, f"{preset}_b{b}.onnx")
            twin.export_onnx(model, onnx[b], batch=b)
    return npz, onnx


def real_faces(limit):
    """Up to `limit` FER2013 validation faces (pixels / 255), a few of every class, or None."""
    if cv2 is None:
        return None
    root = os.path.join(os.environ.get("MIEN_DATA", os.path.join(ROOT, "..", "shared", "data")), "fer2013", "val")
    if not os.path.isdir(root):
        return None
    faces = []
    for label in sorted(os.listdir(root)):
        names = sorted(os.listdir(os.path.join(root, label)))[: max(1, limit // 7)]
        for n in names:
            img = cv2.imread(os.path.join(root, label, n), cv2.IMREAD_GRAYSCALE)
            if img is not None and img.shape == (48, 48):
                faces.append(img.astype(np.float32) / 255.0)
    return np.stack(faces)[:, None] if faces else None


def equivalence(peer, preset, npz, onnx, workdir, tolerance):
    """Max |p_mien - p_other| per framework over random and real faces; raises when above tolerance."""
    inputs = [("random", np.random.RandomState(7).rand(64, 1, 48, 48).astype(np.float32))]
    real = real_faces(70)
    if real is not None:
        inputs.append((f"FER2013 val ({len(real)} faces)", real))
    model = twin.load(preset, npz)
    script = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(twin.load(preset, npz))))
    nets = {b: cv2.dnn.readNetFromONNX(p) for b, p in onnx.items()} if cv2 is not None else {}
    report = []
    for what, x in inputs:
        fin, fout = os.path.join(workdir, "faces.f32"), os.path.join(workdir, "probs.f32")
        x.astype("<f4").tofile(fin)
        subprocess.run([peer, "probs", "--model", preset, "--weights", npz, "--inputs", fin, "--out", fout], check=True)
        p_mien = np.fromfile(fout, dtype="<f4").reshape(len(x), 7)
        with torch.inference_mode():
            others = {"PyTorch eager": torch.softmax(model(torch.from_numpy(x)), 1).numpy(),
                      "TorchScript": torch.softmax(script(torch.from_numpy(x)), 1).numpy()}
        if nets:
            outs = []
            for i in range(len(x)):
                nets[1].setInput(x[i:i + 1])
                outs.append(nets[1].forward())
            others["OpenCV DNN"] = torch.softmax(torch.from_numpy(np.concatenate(outs)), 1).numpy()
            full = (len(x) // BATCH) * BATCH
            if full:
                outs = []
                for i in range(0, full, BATCH):
                    nets[BATCH].setInput(x[i:i + BATCH])
                    outs.append(nets[BATCH].forward())
                logits = np.concatenate(outs)
                others[f"OpenCV DNN batch {BATCH}"] = np.concatenate(
                    [torch.softmax(torch.from_numpy(logits), 1).numpy(), others["OpenCV DNN"][full:]])
        agree = float((p_mien.argmax(1) == others["PyTorch eager"].argmax(1)).mean())
        for name, p in others.items():
            diff = float(np.abs(p - p_mien).max())
            report.append({"preset": preset, "inputs": what, "framework": name, "max_abs_diff": diff,
                           "top1_agreement": agree, "ok": diff <= tolerance})
            print(f"  {preset:5s} {what:26s} mien vs {name:22s} max |dp| = {diff:.2e}  {'ok' if diff <= tolerance else 'FAIL'}")
    return report


# ---------------------------------------------------------------------------------------------
# Timing.

def median(v):
    return statistics.median(v)


def p90(v):
    s = sorted(v)
    return s[min(len(s) - 1, int(0.9 * (len(s) - 1) + 0.5))]


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run_rounds(procs, cmd, rounds, results, key):
    for r in range(rounds):
        order = procs[r % len(procs):] + procs[: r % len(procs)]
        for p in order:
            results.setdefault(p.name, {}).setdefault(key, []).extend(p.ask(cmd)["ms"])


def main():
    workdir = tempfile.mkdtemp(prefix="mien-peers-")
    try:
        return run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(workdir):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", help="the mien-peer program (bench/peers/mien_peer.cpp)")
    ap.add_argument("--models", nargs="+", default=["paper", "fast"], choices=["paper", "fast"])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--predict-runs", type=int, default=2500, help="per framework and preset, over all rounds")
    ap.add_argument("--batch-runs", type=int, default=40, help="batch-64 calls per framework and preset")
    ap.add_argument("--train-steps", type=int, default=40, help="training steps per framework and preset")
    ap.add_argument("--train-threads", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--check-only", action="store_true", help="export and the equivalence check, no timing")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--worker", choices=["eager", "script", "opencv"], help=argparse.SUPPRESS)
    ap.add_argument("--preset", help=argparse.SUPPRESS)
    ap.add_argument("--npz", help=argparse.SUPPRESS)
    ap.add_argument("--onnx1", help=argparse.SUPPRESS)
    ap.add_argument("--onnx64", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.preset, a.npz, a.onnx1, a.onnx64)
        return 0
    if not a.peer or not os.access(a.peer, os.X_OK):
        ap.error("--peer must name the built mien-peer program (cmake --build build --target mien-peer)")
    if cv2 is None:
        print("compare.py: python3-opencv missing: OpenCV DNN left out")

    out = {"uptime_before": uptime(), "torch": torch.__version__, "opencv": cv2.__version__ if cv2 else None,
           "python": platform.python_version(), "blas": blas_library(), "equivalence": [], "timing": {}}
    prepared = {}
    print("equivalence (same weights through the .npz interchange, softmax probabilities):")
    for preset in a.models:
        npz, onnx = prepare(a.peer, preset, workdir)
        prepared[preset] = (npz, onnx)
        out["equivalence"] += equivalence(a.peer, preset, npz, onnx, workdir, a.tolerance)
    if not all(e["ok"] for e in out["equivalence"]):
        print(f"compare.py: FAILED: probabilities differ by more than {a.tolerance}")
        return 1
    print(f"all agree to {a.tolerance}")
    if a.check_only:
        return 0

    procs = {}
    for preset in a.models:
        npz, onnx = prepared[preset]
        group = [Proc("mien", [a.peer, "serve", "--model", preset, "--weights", npz])]
        for kind in ["eager", "script"] + (["opencv"] if onnx else []):
            argv = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--preset", preset, "--npz", npz]
            if onnx:
                argv += ["--onnx1", onnx[1], "--onnx64", onnx[BATCH]]
            group.append(Proc(kind, argv))
        # PyTorch's OpenMP threads spin while they wait at a barrier (libgomp's default). When other
        # programs hold the cores, that costs PyTorch's two-thread training a lot; with passive waits
        # it loses little. Both are measured; the better one counts.
        argv = [sys.executable, os.path.abspath(__file__), "--worker", "eager", "--preset", preset, "--npz", npz]
        passive = Proc("eager_passive", argv, env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
        procs[preset] = (group, passive)
    names = {"mien": "mien", "eager": "PyTorch eager", "script": "TorchScript (frozen, optimize_for_inference)",
             "opencv": "OpenCV DNN", "eager_passive": "PyTorch eager, OMP_WAIT_POLICY=PASSIVE (training only)"}

    t0 = time.time()
    for preset in a.models:
        group, passive = procs[preset]
        res = out["timing"].setdefault(preset, {})
        for p in group:  # warm-up, not recorded
            p.ask("predict 200")
            p.ask("batch 3")
        run_rounds(group, f"predict {max(1, a.predict_runs // a.rounds)}", a.rounds, res, "predict_ms")
        for p in group:
            res[p.name]["rss_predict_kb"] = p.ask("rss")["peak_rss_kb"]
        run_rounds(group, f"batch {max(1, a.batch_runs // a.rounds)}", a.rounds, res, "batch_ms")
        for p in group:
            res[p.name]["rss_batch_kb"] = p.ask("rss")["peak_rss_kb"]
        trainers = [p for p in group if p.name in ("mien", "eager")] + [passive]
        for p in trainers:
            p.ask(f"train 3 {a.train_threads}")
        run_rounds(trainers, f"train {max(1, a.train_steps // a.rounds)} {a.train_threads}", a.rounds, res, "train_ms")
        if a.train_threads != 1:  # one thread too: no barrier waits, so also readable on a shared machine
            for p in trainers:
                p.ask("train 2 1")
            run_rounds(trainers, f"train {max(1, a.train_steps // a.rounds)} 1", a.rounds, res, "train1_ms")
        for p in trainers:
            res[p.name]["rss_train_kb"] = p.ask("rss")["peak_rss_kb"]
        for p in group + [passive]:
            p.close()
    out["seconds"] = time.time() - t0
    out["uptime_after"] = uptime()

    # Summary and table.
    lines = [f"uptime before: {out['uptime_before']}", f"uptime after:  {out['uptime_after']}",
             f"PyTorch {out['torch']} (BLAS: {out['blas']}), OpenCV {out['opencv']}, Python {out['python']}; timing took {out['seconds']:.0f} s", ""]
    lines.append("| preset | framework | predict median ms | p90 ms | vs mien | batch-64 faces/s | vs mien "
                 f"| train images/s, {a.train_threads} threads | vs mien | train images/s, 1 thread | vs mien "
                 "| peak RSS MB (predict / batch / train) |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for preset in a.models:
        res = out["timing"][preset]
        m = res["mien"]
        m["predict_median_ms"], m["predict_p90_ms"] = median(m["predict_ms"]), p90(m["predict_ms"])
        for name in ["mien", "eager", "script", "opencv", "eager_passive"]:
            if name not in res:
                continue
            r = res[name]
            if "predict_ms" in r:
                r["predict_median_ms"], r["predict_p90_ms"] = median(r["predict_ms"]), p90(r["predict_ms"])
                r["predict_runs"] = len(r["predict_ms"])
                r["batch_faces_per_s"] = BATCH / (median(r["batch_ms"]) * 1e-3)
                r["batch_runs"] = len(r["batch_ms"])
            if "train_ms" in r:
                r["train_images_per_s"] = TRAIN_BATCH / (median(r["train_ms"]) * 1e-3)
                r["train_images_per_s_mean"] = TRAIN_BATCH * len(r["train_ms"]) / (sum(r["train_ms"]) * 1e-3)
                r["train_steps"] = len(r["train_ms"])
            if "train1_ms" in r:
                r["train1_images_per_s"] = TRAIN_BATCH / (median(r["train1_ms"]) * 1e-3)
            pcols = "- | - | - | - | -"
            if "predict_ms" in r:
                ratio = r["predict_median_ms"] / m["predict_median_ms"]
                bratio = m["batch_faces_per_s"] / r["batch_faces_per_s"] if name != "mien" else 1.0
                pcols = (f"{r['predict_median_ms']:.3f} | {r['predict_p90_ms']:.3f} | "
                         f"{'1' if name == 'mien' else f'{ratio:.2f}x'} | {r['batch_faces_per_s']:.0f} | "
                         f"{'1' if name == 'mien' else f'{bratio:.2f}x'}")
            tr, tratio, tr1, tratio1 = "-", "-", "-", "-"
            if "train_images_per_s" in r:
                tr = f"{r['train_images_per_s']:.0f}"
                tratio = f"{m['train_images_per_s'] / r['train_images_per_s']:.2f}x" if name != "mien" else "1"
            if "train1_images_per_s" in r:
                tr1 = f"{r['train1_images_per_s']:.0f}"
                tratio1 = f"{m['train1_images_per_s'] / r['train1_images_per_s']:.2f}x" if name != "mien" else "1"
            rss = " / ".join(f"{r[k] / 1024:.0f}" if k in r else "-" for k in ("rss_predict_kb", "rss_batch_kb", "rss_train_kb"))
            lines.append(f"| {preset} | {names[name]} | {pcols} | {tr} | {tratio} | {tr1} | {tratio1} | {rss} |")
    for preset in a.models:
        res = out["timing"][preset]
        if "train_images_per_s_mean" in res["mien"]:
            others = ", ".join(f"{names[n]} {res[n]['train_images_per_s_mean']:.0f} "
                               f"({res['mien']['train_images_per_s_mean'] / res[n]['train_images_per_s_mean']:.2f}x)"
                               for n in ("eager", "eager_passive") if "train_images_per_s_mean" in res.get(n, {}))
            lines.append(f"\n{preset}, training images/s over all steps ({a.train_threads} threads, mean instead of median): "
                         f"mien {res['mien']['train_images_per_s_mean']:.0f}; {others}")
    lines.append("")
    lines.append(f"'vs mien': how many times faster mien is (their time / mien's time). predict: batch 1, one thread, "
                 f"{a.predict_runs // a.rounds * a.rounds} timed calls each; batch-64: one thread, median of "
                 f"{a.batch_runs // a.rounds * a.rounds} calls of 64 faces (mien: 64 x predict); train: batch {TRAIN_BATCH}, "
                 f"{a.train_threads} threads (and 1), median of {a.train_steps // a.rounds * a.rounds} steps; "
                 f"{a.rounds} rounds, frameworks alternating.")
    text = "\n".join(lines)
    print(text)
    out["table"] = text
    if a.json:
        for preset in out["timing"].values():  # keep the file small: summaries, not every call
            for r in preset.values():
                for k in ("predict_ms", "batch_ms", "train_ms", "train1_ms"):
                    r.pop(k, None)
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
