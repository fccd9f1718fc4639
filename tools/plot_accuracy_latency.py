#!/usr/bin/python3
"""Accuracy against latency for the presets (the paper's accuracy/speed balance) as a PNG.

    /usr/bin/python3 tools/plot_accuracy_latency.py docs/accuracy_latency.csv docs/accuracy_latency.png

The CSV holds one row per preset: its MACs, FER2013 validation accuracy (single view and
flip-test, from docs/RESULTS.md) and the predict latency per face (batch 1, one thread, median)
of mien and of the frameworks it was compared with (docs/PERFORMANCE.md). Lines starting with
'#' are comments. When the figures change, edit the CSV and run this again. A flip-test
prediction is two forward passes (the face and its mirror image), so it is drawn at twice the
latency. Needs Debian's python3-matplotlib.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FRAMEWORKS = [("mien_ms", "mien", "o", "C0"), ("torchscript_ms", "TorchScript", "s", "C1"),
              ("opencv_ms", "OpenCV DNN", "^", "C2"), ("eager_ms", "PyTorch eager", "v", "C3")]


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], newline="") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, label, marker, color in FRAMEWORKS:
        pts = [(float(r[key]), float(r["accuracy_single"]), r) for r in rows if r.get(key)]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color, linestyle="-",
                label=f"{label}, single view")
        if key == "mien_ms":
            flips = [(2 * float(r[key]), float(r["accuracy_flip"])) for r in rows if r.get(key)]
            ax.plot([p[0] for p in flips], [p[1] for p in flips], marker=marker, color=color, linestyle="--",
                    fillstyle="none", label="mien, flip-test (2 passes)")
            for (x, y, r), (fx, fy) in zip(pts, flips):
                ax.annotate(f"{r['preset']} ({int(r['macs']) / 1e6:.1f} M MACs)", (x, y), textcoords="offset points",
                            xytext=(6, 6), fontsize=8)
    ax.set_xscale("log")
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.set_xlim(0.8 * min(min(float(r[k]) for k, *_ in FRAMEWORKS if r.get(k)) for r in rows),
                1.25 * max(max(float(r[k]) for k, *_ in FRAMEWORKS if r.get(k)) for r in rows))
    ax.set_xlabel("latency per face, ms (batch 1, one thread, median; log scale)")
    ax.set_ylabel("FER2013 validation accuracy, %")
    ax.set_title("Accuracy against latency: the paper network and its fast preset")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)
    print(f"wrote {sys.argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
