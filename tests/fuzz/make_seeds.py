#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py -- the text seeds of the fuzz corpora, from real files.

    python3 tests/fuzz/make_seeds.py [DATA_DIR]      (default: $MIEN_DATA or ../shared/data)

ferplus/     the first rows of the real FER+ votes and mapping files, NUL-joined (the target
             splits its input there), and the same with CRLF line ends
file_names/  real folder/file names of FER2013, CK+ and JAFFE
cli_flags/   mien-train command lines from docs/RESULTS.md, NUL-separated
npz/         the repository's NumPy fixture and a deflated copy (np.savez_compressed's layout)
The binary seeds (.mien, checkpoints, FER2013 CSV) come from make_seeds.cpp.
"""
import os
import sys
import zipfile
from pathlib import Path

here = Path(__file__).resolve().parent
corpus = here / "corpus"
data = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MIEN_DATA", here.parents[2] / ".." / "shared" / "data"))


def write(rel, content):
    path = corpus / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    print(f"{path}: {len(content)} bytes")


def head(path, lines):
    with open(path, "rb") as f:
        return b"".join(f.readline() for _ in range(lines))


votes = head(data / "ferplus" / "fer2013new.csv", 6)
mapping = head(data / "ferplus" / "fer2013new_to_fer2013_files.csv", 6)
write("ferplus/first_rows", votes + b"\0" + mapping)
write("ferplus/first_rows_crlf", votes.replace(b"\n", b"\r\n") + b"\0" + mapping.replace(b"\n", b"\r\n"))

names = []
for split, label in (("train", "angry"), ("val", "happy")):
    folder = data / "fer2013" / split / label
    names.append(f"{label}/{sorted(os.listdir(folder))[0]}")
for label in ("anger", "contempt", "sadness"):
    names.append(f"{label}/{sorted(os.listdir(data / 'ckplus' / label))[0]}")
jaffe = sorted(p for p in os.listdir(data / "jaffe") if p.endswith(".tiff"))
names += [f"neutral/{jaffe[0]}", f"surprise/{jaffe[-1]}"]
for i, n in enumerate(names):
    write(f"file_names/{i:02d}", n.encode())

for i, line in enumerate([
    "--epochs 30 --batch 32 --lr 3e-3 --dropout 0.2 --seed 1 --threads 2",
    "--epochs 40 --batch 16 --lr 0.001 --label-smoothing 0.1 --weight-decay 1e-4 --max-shift 4 --max-rotation 10",
    "--mixup 0.4 --class-weights none --threads 1",
]):
    write(f"cli_flags/{i:02d}", line.replace(" ", "\0").encode())

fixture = here.parent / "fixtures" / "tiny_numpy.npz"
write("npz/tiny_numpy.npz", fixture.read_bytes())
deflated = corpus / "npz" / "tiny_numpy_deflated.npz"
with zipfile.ZipFile(fixture) as src, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))
print(f"{deflated}: {deflated.stat().st_size} bytes")
