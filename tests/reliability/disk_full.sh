#!/usr/bin/env bash
# The disk fills up during a save: mien-train under a 150 KB file-size limit (RLIMIT_FSIZE, with
# SIGXFSZ ignored so that the write fails with EFBIG as on a full disk instead of killing the
# process) fails with the reason, and the files of the previous epochs are unchanged; the same
# command without the limit then resumes.
#
#   disk_full.sh MIEN_TRAIN DATA_DIR WORK_DIR
set -euo pipefail
train=$1 data=$2 work=$3
rm -rf "$work"
args=(--data "$data" --train-split faces --val-split faces --model fast --batch 16 --threads 1 --seed 4 --out "$work")
"$train" "${args[@]}" --epochs 2 > "$work.first.log" 2>&1
for f in last.ckpt best.mien best.npz; do cp "$work/$f" "$work.$f.before"; done
set +e
( trap '' XFSZ; ulimit -f 150; exec "$train" "${args[@]}" --epochs 4 --resume ) > "$work.full.log" 2>&1
rc=$?
set -e
tr '\r' '\n' < "$work.full.log" | grep -v ETA || true
if (( rc == 0 )); then echo "disk_full: the run succeeded under a 150 KB limit"; exit 1; fi
grep -Eq "mien-train: save_[a-z]+: cannot write .*\.tmp-[0-9]+: File too large" "$work.full.log" ||
    { echo "disk_full: no 'cannot write ...: File too large' message"; exit 1; }
for f in last.ckpt best.mien best.npz; do
    cmp "$work/$f" "$work.$f.before" || { echo "disk_full: $f changed"; exit 1; }
    echo "disk_full: $f unchanged"
done
if compgen -G "$work/*.tmp-*" > /dev/null; then echo "disk_full: a temporary file was left behind"; exit 1; fi
"$train" "${args[@]}" --epochs 4 --resume > "$work.resume.log" 2>&1
echo "disk_full: resumed without the limit and finished"
