#!/usr/bin/env bash
# "A checkpoint of another run": --resume into an --out whose checkpoint was written with another
# seed, or by a weights save instead of a checkpoint save, is refused with the reason, and the
# checkpoint is left as it was.
#
#   other_run.sh MIEN_TRAIN DATA_DIR WORK_DIR
set -euo pipefail
train=$1 data=$2 work=$3
rm -rf "$work"
args=(--data "$data" --train-split faces --val-split faces --model fast --batch 16 --threads 1)
"$train" "${args[@]}" --epochs 1 --seed 1 --out "$work" > "$work.log" 2>&1
cp "$work/last.ckpt" "$work/last.ckpt.before"
expect_refusal() {  # expect_refusal REGEX ARGS...
    local regex=$1; shift
    set +e; "$train" "$@" > "$work.out" 2>&1; local rc=$?; set -e
    if (( rc == 0 )) || ! grep -Eq "$regex" "$work.out"; then
        echo "other_run: expected a refusal matching '$regex', exit status $rc:"; cat "$work.out"; exit 1
    fi
    echo "other_run: refused (exit status $rc): $(grep -E "$regex" "$work.out")"
    cmp "$work/last.ckpt" "$work/last.ckpt.before"
}
expect_refusal "was trained with seed '1', this run asks for '2'" "${args[@]}" --epochs 2 --seed 2 --resume --out "$work"
expect_refusal "00[.a-z_0-9]+: file shape \([0-9,]+\) != model shape" \
    --data "$data" --train-split faces --val-split faces --model paper --batch 16 --threads 1 --epochs 2 --resume --out "$work"
cp "$work/best.mien" "$work/last.ckpt"   # weights where the checkpoint should be
cp "$work/last.ckpt" "$work/last.ckpt.before"
expect_refusal "a weights file, not a checkpoint" "${args[@]}" --epochs 2 --seed 1 --resume --out "$work"
