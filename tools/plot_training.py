#!/usr/bin/python3
"""Training curves of one or more mien-train runs (their log.csv) as a PNG.

    tools/plot_training.py docs/training_paper.png runs/paper/log.csv [more logs ...]

Needs Debian's python3-matplotlib (use /usr/bin/python3).
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out, logs = sys.argv[1], sys.argv[2:]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for path in logs:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            print(f"{path}: no epochs logged", file=sys.stderr)
            return 1
        epochs = [int(r["epoch"]) for r in rows]
        name = path.rsplit("/", 2)[-2] if "/" in path else path
        for key, ax, style in (("train_loss", loss_ax, "--"), ("val_loss", loss_ax, "-"),
                               ("train_accuracy", acc_ax, "--"), ("val_accuracy", acc_ax, "-")):
            ax.plot(epochs, [float(r[key]) for r in rows], style, label=f"{name} {key.split('_')[0]}")
    loss_ax.set_xlabel("epoch")
    loss_ax.set_ylabel("cross-entropy")
    acc_ax.set_xlabel("epoch")
    acc_ax.set_ylabel("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("mien-train on FER2013 (train: augmented batches; val: PublicTest)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
