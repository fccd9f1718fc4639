#!/usr/bin/env bash
# A loss that becomes NaN mid-training stops mien-train with a message (exit status 3) and
# leaves the last good files as they were: last.ckpt, best.mien, best.npz byte for byte.
#
#   nan_loss.sh MIEN_TRAIN DATA_DIR WORK_DIR PYTHON
#
# Three epochs train normally; then the checkpoint's Adam first moments are set to 3e38 (finite,
# so the file loads) and the run is resumed: the first update overflows the weights to infinity
# and the next loss is NaN, in epoch 4.
set -euo pipefail
train=$1 data=$2 work=$3 python=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
args=(--data "$data" --train-split faces --val-split faces --model fast --batch 16 --threads 1 --seed 3 --out "$work/run")
"$train" "${args[@]}" --epochs 3 > "$work/first.log" 2>&1
"$python" "$here/poison_checkpoint.py" "$work/run/last.ckpt" optimizer.first_moment 3e38
for f in last.ckpt best.mien best.npz; do cp "$work/run/$f" "$work/$f.before"; done

set +e
"$train" "${args[@]}" --epochs 6 --resume > "$work/second.log" 2>&1
rc=$?
set -e
cat "$work/second.log" | tr '\r' '\n' | grep -v ETA || true
if (( rc != 3 )); then echo "nan_loss: expected exit status 3, found $rc"; exit 1; fi
if ! grep -Eq "loss is (nan|-nan|inf) at epoch 4, batch [0-9]+: stopping\. The last good weights are in" "$work/second.log"; then
    echo "nan_loss: the message is missing"; exit 1
fi
for f in last.ckpt best.mien best.npz; do
    if ! cmp -s "$work/$f.before" "$work/run/$f"; then echo "nan_loss: $f changed"; exit 1; fi
    echo "nan_loss: $f unchanged"
done
