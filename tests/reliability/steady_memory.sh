#!/usr/bin/env bash
# Steady under load: resident memory (VmRSS) of a long run, sampled every 0.2 s, compared between
# the moment the run has done 100 units of work and its end; fails when it grew by more than
# 5 MB (5120 kB). A bench check (minutes long), not part of the default test run:
#
#   steady_memory.sh detect MIEN_DETECT WEIGHTS WORK_DIR [FRAMES=5130]
#       mien-detect --json on Megamind.avi (opencv-doc) looped to FRAMES frames; a unit is a frame
#   steady_memory.sh train MIEN_TRAIN DATA_DIR WORK_DIR [STEPS=1000]
#       mien-train on DATA_DIR/faces (mien-eval-fixture's 21 faces, batch 16: 2 steps an epoch);
#       a unit is a training step
#
# Prints the RSS after 100 units, at the end, the peak, and the verdict. docs/RELIABILITY.md
# holds the figures measured with it.
set -euo pipefail
mode=$1 program=$2 input=$3 work=$4
mkdir -p "$work"
log="$work/$mode.out" samples="$work/$mode.rss"
: > "$samples"

if [[ $mode == detect ]]; then
    frames=${5:-5130}
    video="$work/looped.avi"
    if [[ ! -s $video ]]; then
        /usr/bin/python3 - "$video" "$frames" <<'PY'
import sys, cv2
out, frames = sys.argv[1], int(sys.argv[2])
src = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi"
w = None
n = 0
while n < frames:
    cap = cv2.VideoCapture(src)
    while n < frames:
        ok, f = cap.read()
        if not ok:
            break
        f = cv2.resize(f, (360, 264))
        if w is None:
            w = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"MJPG"), 25, (360, 264))
        w.write(f)
        n += 1
w.release()
print(f"steady_memory: wrote {out}: {n} frames (Megamind.avi looped)")
PY
    fi
    "$program" --video "$video" --weights "$input" --json --no-output --no-window > "$log" 2>"$work/$mode.err" &
    count_units() { wc -l < "$log" 2>/dev/null || echo 0; }
else
    steps=${5:-1000}
    epochs=$(( (steps + 1) / 2 ))
    "$program" --data "$input" --train-split faces --val-split faces --model fast --batch 16 --threads 2 \
        --epochs "$epochs" --out "$work/train" > "$log" 2>&1 &
    count_units() { local n; n=$(grep -c "train loss" "$log" 2>/dev/null) || true; echo $(( ${n:-0} * 2 )); }
fi
pid=$!
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n $rss ]] && echo "$(count_units) $rss" >> "$samples"
    sleep 0.2
done
wait "$pid"
read -r at100 rss100 < <(awk '$1 >= 100 {print $1, $2; exit}' "$samples")
# "The end": the last sample taken before 98 % of the work was done, so that the process tearing
# itself down (freeing memory) does not count as steady.
total=$(tail -1 "$samples" | cut -d' ' -f1)
read -r at_end rss_end < <(awk -v limit=$(( total * 98 / 100 )) '$1 <= limit {u = $1; r = $2} END {print u, r}' "$samples")
peak=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$samples")
growth=$(( rss_end - rss100 ))
echo "steady_memory: $mode: RSS $rss100 kB after $at100 units, $rss_end kB at $at_end units (end), peak $peak kB; growth $growth kB"
if (( growth > 5120 )); then echo "steady_memory: grew by more than 5 MB"; exit 1; fi
