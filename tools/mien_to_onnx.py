#!/usr/bin/python3
"""Exports a mien .mien weights file (the paper or fast preset) to ONNX, for ONNX Runtime,
OpenCV DNN, TensorRT or a phone.

    /usr/bin/python3 tools/mien_to_onnx.py models/paper.mien paper.onnx
    /usr/bin/python3 tools/mien_to_onnx.py models/fast.mien fast.onnx --batch 64 --logits

Needs Debian's python3-numpy, python3-torch and python3-onnx (run it with /usr/bin/python3).

How: the .mien file is read here (docs/WEIGHTS_FORMAT.md: header, tensors, CRC-32 checked), its
tensors are copied into the PyTorch twin of the network (bench/peers/twin.py, which converts
the layouts with tools/npz_to_torch.py and checks that every tensor is used exactly once), and
torch.onnx.export writes the graph at opset 11, checked by onnx.checker.

The graph:
  input  "face"           float32 [B, 1, 48, 48]: gray face crops, pixels / 255 (NCHW), as
                          mien's predict and mien::recognizer feed the network;
  output "probabilities"  float32 [B, K]: softmax, K = 7 (FER2013) or 8 (FER+, from
                          mien-train --labels ferplus), classes in model.labels order
                          (the names the .mien file stores, by default angry, disgust,
                          fear, happy, sad, surprise, neutral);
                          "logits" instead with --logits.
B is fixed (--batch, default 1): OpenCV 4.6, Debian 12's, cannot run this graph with a dynamic
batch axis (its Reshape of the token matrix fails). The additive attention's broadcast sum is
written as Concat of copies, which OpenCV imports correctly (twin.py explains why). The labels,
the preset, the input convention and the source file go into the model's metadata_props.

tests/python/test_onnx_export.py checks, for both shipped presets, that OpenCV DNN running the
exported file gives mien's probabilities within 1e-5.
"""
import argparse
import io
import os
import struct
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bench", "peers"))

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # FER2013: 7 outputs
FERPLUS_LABELS = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt"]  # 8
KINDS = {0: "parameter", 1: "state", 2: "optimizer"}


class MienFileError(ValueError):
    pass


def read_mien(path, metadata=None):
    """The network tensors of a .mien file (weights or checkpoint) as {name: float32 array}, in
    file order, after the checks of docs/WEIGHTS_FORMAT.md (magic, version, size, CRC-32). The
    file's metadata (key -> value, reserved mien.* keys included) goes into `metadata` if given."""
    data = open(path, "rb").read()
    if data[:4] != b"MIEN":
        raise MienFileError(f"{path}: not a mien file (bad magic)")
    if len(data) < 16:
        raise MienFileError(f"{path}: truncated file: {len(data)} bytes")
    version, size = struct.unpack_from("<IQ", data, 4)
    if version != 1:
        raise MienFileError(f"{path}: unsupported format version: expected 1, found {version}")
    if size != len(data):
        raise MienFileError(f"{path}: file size {len(data)} != {size} in the header (truncated or extended)")
    stored, = struct.unpack_from("<I", data, len(data) - 4)
    computed = zlib.crc32(data[:-4])
    if stored != computed:
        raise MienFileError(f"{path}: checksum mismatch: stored 0x{stored:08x}, computed 0x{computed:08x} "
                            "(the file is corrupted)")
    at = 28  # magic, version, size, content, fingerprint

    def u32():
        nonlocal at
        at += 4
        return struct.unpack_from("<I", data, at - 4)[0]

    def text():
        nonlocal at
        n = u32()
        at += n
        return data[at - n:at].decode("utf-8")

    text()  # topology description
    for _ in range(u32()):
        key, value = text(), text()
        if metadata is not None:
            metadata[key] = value
    tensors = {}
    for _ in range(u32()):
        name, rank = text(), u32()
        dims = struct.unpack_from(f"<{rank}Q", data, at)
        at += 8 * rank
        kind = u32()
        count = int(np.prod(dims)) if rank else 1
        values = np.frombuffer(data, dtype="<f4", count=count, offset=at).reshape(dims)
        at += 4 * count
        if kind not in KINDS:
            raise MienFileError(f"{path}: malformed file: tensor {name} has kind {kind}")
        if kind != 2:  # a checkpoint's optimizer moments are not part of the network
            tensors[name] = values.astype(np.float32)
    if at != len(data) - 4:
        raise MienFileError(f"{path}: malformed file: {len(data) - 4 - at} bytes after the last tensor")
    return tensors


def load_twin(path, metadata=None):
    """The PyTorch twin (eval mode) holding the file's weights, and its preset's name."""
    import twin as twin_module
    tensors = read_mien(path, metadata)
    buffer = io.BytesIO()
    np.savez(buffer, **tensors)  # twin.load_mien_npz reads an .npz (mien::save_npz's layout)
    reasons = []
    for preset in twin_module.PRESETS:
        for classes in (7, 8):  # FER2013's classes, or FER+'s (mien-train --labels ferplus)
            buffer.seek(0)
            try:
                net = twin_module.Twin(**{**twin_module.PRESETS[preset], "k": classes})
                return twin_module.load_mien_npz(net, buffer).eval(), preset
            except (ValueError, RuntimeError) as e:
                reasons.append(f"{preset} ({classes} classes): {e}")
    raise MienFileError(f"{path}: not a preset this exporter knows ({', '.join(twin_module.PRESETS)}):\n  "
                        + "\n  ".join(reasons))


def export(mien_path, onnx_path, batch=1, logits=False, opset=11):
    """Writes the ONNX file; returns (preset, the PyTorch module that was exported)."""
    import onnx
    import torch

    metadata = {}
    net, preset = load_twin(mien_path, metadata)
    # The class names the file stores (mien.labels, one per line), else the default of the output
    # count (models/labels.hpp): FER2013's seven, FER+'s eight.
    classes = net.out.out_features
    labels = metadata["mien.labels"].split("\n") if "mien.labels" in metadata else (LABELS if classes == 7 else FERPLUS_LABELS)
    net.onnx_friendly = True

    class Probabilities(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, face):
            return torch.softmax(self.inner(face), dim=1)

    module = net if logits else Probabilities(net).eval()
    output = "logits" if logits else "probabilities"
    tmp = f"{onnx_path}.tmp-{os.getpid()}"
    try:
        with torch.no_grad():
            torch.onnx.export(module, torch.zeros(batch, 1, 48, 48), tmp, opset_version=opset,
                              input_names=["face"], output_names=[output])
        model = onnx.load(tmp)
        for key, value in {"mien.preset": preset, "mien.labels": ",".join(labels),
                           "mien.input": "gray 48x48 face crop, pixels / 255, NCHW float32",
                           "mien.output": output, "mien.source": os.path.basename(mien_path)}.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(model)
        onnx.save(model, tmp)
        os.replace(tmp, onnx_path)  # never a half-written file under the final name
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return preset, module


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights", help=".mien weights or checkpoint of the paper or fast preset")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--batch", type=int, default=1, help="the fixed batch size of the graph (default 1)")
    p.add_argument("--logits", action="store_true", help="output the logits instead of the probabilities")
    p.add_argument("--opset", type=int, default=11, help="ONNX opset (default 11, what OpenCV 4.6 reads)")
    a = p.parse_args(argv)
    if a.batch < 1:
        p.error(f"--batch: expected at least 1, found {a.batch}")
    try:
        preset, module = export(a.weights, a.output, a.batch, a.logits, a.opset)
        classes = (module if a.logits else module.inner).out.out_features
    except (MienFileError, OSError) as e:
        print(f"mien_to_onnx: {e}", file=sys.stderr)
        return 1
    except ImportError as e:
        print(f"mien_to_onnx: {e} (install python3-torch python3-onnx; run with /usr/bin/python3)", file=sys.stderr)
        return 1
    print(f"wrote {a.output}: {preset}, input face [{a.batch}, 1, 48, 48], output "
          f"{'logits' if a.logits else 'probabilities'} [{a.batch}, {classes}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
