#!/usr/bin/python3
"""The PyTorch twin of mien's paper network (ARCHITECTURE.md), and its fast preset.

    /usr/bin/python3 bench/peers/twin.py paper.npz            # loads, prints the layer list
    /usr/bin/python3 bench/peers/twin.py paper.npz --onnx paper.onnx

`Twin(widths)` is the network of ARCHITECTURE.md written with torch.nn, NCHW:
six blocks (conv 3x3 no bias, BN, ReLU, max-pool 2 / depthwise 3x3 + pointwise 1x1 no bias,
BN, identity shortcut, ReLU), the 6x6xC3 map read row-major as 36 tokens, Q and K projections,
dot-product attention (1/sqrt(D)) and additive attention E_ij = v^T tanh(Q_i W1 + K_j W2 + b),
the means over tokens concatenated, dense-ReLU-dropout-dense. It outputs logits.

`load_mien_npz(twin, path)` copies the arrays of a mien .npz (`mien-peer export`,
docs/WEIGHTS_FORMAT.md) into the twin, converting layouts with tools/npz_to_torch.py, and
checks that every tensor of both sides is used exactly once.

`onnx_friendly=True` writes the additive attention's N x N x D broadcast sum as explicit
copies joined by Concat: OpenCV 4.6 computes the broadcast Add that PyTorch exports for
`a.unsqueeze(2) + b.unsqueeze(1)` with the wrong output shape (36 values, not 36 x 36), while
Concat of copies imports and gives PyTorch's numbers. The eager and TorchScript measurements
use the plain broadcast.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import npz_to_torch  # noqa: E402  (the repository's layout converter)

PRESETS = {
    "paper": dict(c1=32, c2=64, c3=128, d=64, hd=128, k=7),
    "fast": dict(c1=16, c2=32, c3=64, d=32, hd=64, k=7),
}


class NormalBlock(nn.Module):
    """Conv 3x3 same (no bias) -> BN -> ReLU -> max-pool 2x2."""

    def __init__(self, cin, c):
        super().__init__()
        self.conv = nn.Conv2d(cin, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    def forward(self, x):
        return F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)


class SeparableBlock(nn.Module):
    """y = ReLU(x + BN(PW(DW(x))))."""

    def __init__(self, c):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.pw = nn.Conv2d(c, c, 1, bias=False)
        self.bn = nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)

    def forward(self, x):
        return F.relu(x + self.bn(self.pw(self.dw(x))))


class Twin(nn.Module):
    def __init__(self, c1=32, c2=64, c3=128, d=64, hd=128, k=7, dropout=0.2, onnx_friendly=False):
        super().__init__()
        self.features = nn.Sequential(NormalBlock(1, c1), SeparableBlock(c1), NormalBlock(c1, c2), SeparableBlock(c2),
                                      NormalBlock(c2, c3), SeparableBlock(c3))
        self.query = nn.Linear(c3, d)
        self.key = nn.Linear(c3, d)
        self.w1 = nn.Linear(d, d, bias=False)  # Q_i W1
        self.w2 = nn.Linear(d, d, bias=False)  # K_j W2
        self.b = nn.Parameter(torch.zeros(d))
        self.v = nn.Parameter(torch.zeros(d))
        self.hidden = nn.Linear(2 * c3, hd)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hd, k)
        self.scale = 1.0 / math.sqrt(d)
        self.onnx_friendly = onnx_friendly
        self.tokens = 36  # 6 x 6 after three 2x2 pools of 48 x 48

    def forward(self, x):  # x: N x 1 x 48 x 48, pixels / 255
        f = self.features(x)                   # N x C3 x 6 x 6
        t = f.flatten(2).transpose(1, 2)       # N x 36 x C3: tokens in row-major (y, x) order
        q = self.query(t)
        kt = self.key(t)
        # (Q / sqrt(D)) Kt^T: OpenCV 4.6 mis-broadcasts a scalar Mul after a batched MatMul.
        a = torch.softmax(torch.matmul(q * self.scale, kt.transpose(1, 2)), dim=2)
        o1 = torch.matmul(a, t)
        qw = self.w1(q) + self.b               # N x 36 x D, the bias folded into the query side
        kw = self.w2(kt)
        if self.onnx_friendly:
            n = self.tokens
            s = torch.cat([qw.unsqueeze(2)] * n, dim=2) + torch.cat([kw.unsqueeze(1)] * n, dim=1)
            # OpenCV reads a MatMul by a constant vector as a fully connected layer that keeps a
            # trailing 1: write it as one, then drop that axis.
            e = torch.matmul(torch.tanh(s), self.v.unsqueeze(1)).flatten(2)
        else:
            s = qw.unsqueeze(2) + kw.unsqueeze(1)  # N x 36 x 36 x D
            e = torch.matmul(torch.tanh(s), self.v)  # N x 36 x 36
        o2 = torch.matmul(torch.softmax(e, dim=2), t)
        z = torch.cat([o1.mean(dim=1), o2.mean(dim=1)], dim=1)
        return self.out(self.dropout(F.relu(self.hidden(z))))


def make(preset, **kw):
    return Twin(**PRESETS[preset], **kw)


def _targets(twin):
    """Twin tensors in mien's leaf-layer order, grouped per mien layer: (layer name, [(tensor, param)])."""
    out = []
    for block in twin.features:
        if isinstance(block, NormalBlock):
            out.append(("conv2d", [("weight", block.conv.weight)]))
            bn = block.bn
        else:
            out.append(("depthwise_conv2d", [("weight", block.dw.weight)]))
            out.append(("pointwise", [("weight", block.pw.weight)]))
            bn = block.bn
        out.append(("batch_norm", [("weight", bn.weight), ("bias", bn.bias), ("running_mean", bn.running_mean),
                                   ("running_var", bn.running_var)]))
    out.append(("qk_projection", [("query_weight", twin.query.weight), ("query_bias", twin.query.bias),
                                  ("key_weight", twin.key.weight), ("key_bias", twin.key.bias)]))
    out.append(("additive_attention", [("query_weight", twin.w1.weight), ("key_weight", twin.w2.weight),
                                       ("bias", twin.b), ("score", twin.v)]))
    out.append(("dense", [("weight", twin.hidden.weight), ("bias", twin.hidden.bias)]))
    out.append(("dense", [("weight", twin.out.weight), ("bias", twin.out.bias)]))
    return out


def load_mien_npz(twin, path):
    """Copies a mien .npz into the twin; every array used once, every twin tensor set once."""
    groups = {}  # mien layer index -> (layer name, {tensor: torch tensor in PyTorch layout})
    with np.load(path) as archive:
        for name in archive.files:
            converted = npz_to_torch.convert(name, archive[name])
            index, layer, _ = name.split(".", 2)
            if converted is None:
                continue  # the dropout rate: not a tensor in PyTorch
            key, value = converted
            groups.setdefault(int(index), (layer, {}))[1][key.split(".", 2)[2]] = value
    layers = [groups[i] for i in sorted(groups)]
    targets = _targets(twin)
    if [l for l, _ in layers] != [l for l, _ in targets]:
        raise ValueError(f"{path}: layers {[l for l, _ in layers]} != twin {[l for l, _ in targets]}")
    with torch.no_grad():
        for (layer, arrays), (_, wanted) in zip(layers, targets):
            if sorted(arrays) != sorted(n for n, _ in wanted):
                raise ValueError(f"{path}: {layer} has {sorted(arrays)}, the twin wants {[n for n, _ in wanted]}")
            for tensor_name, param in wanted:
                value = arrays[tensor_name]
                if tuple(value.shape) != tuple(param.shape):
                    raise ValueError(f"{path}: {layer}.{tensor_name}: {tuple(value.shape)} != twin {tuple(param.shape)}")
                param.copy_(value)
    return twin


def load(preset, npz, **kw):
    return load_mien_npz(make(preset, **kw), npz).eval()


def export_onnx(twin, path, batch=1):
    """ONNX for OpenCV DNN (opset 11) at a fixed batch size: OpenCV 4.6 cannot run this graph with
    a dynamic batch axis (its Reshape of the token matrix fails), so batch 1 and batch 64 are two
    files."""
    was = twin.onnx_friendly
    twin.onnx_friendly = True
    try:
        torch.onnx.export(twin, torch.zeros(batch, 1, 48, 48), path, opset_version=11, input_names=["face"],
                          output_names=["logits"])
    finally:
        twin.onnx_friendly = was


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("npz")
    p.add_argument("--model", choices=sorted(PRESETS), default=None, help="default: from the file name")
    p.add_argument("--onnx", help="also write the ONNX export (Concat of copies) here")
    p.add_argument("--time", type=int, metavar="N", help="also time N eager predictions (batch 1, one thread)")
    a = p.parse_args(argv)
    preset = a.model or ("fast" if "fast" in os.path.basename(a.npz) else "paper")
    twin = load(preset, a.npz)
    print(twin)
    print(f"{sum(p.numel() for p in twin.parameters())} trainable parameters")
    if a.onnx:
        export_onnx(twin, a.onnx)
        print(f"wrote {a.onnx}")
    if a.time:
        import time
        torch.set_num_threads(1)
        x = torch.rand(1, 1, 48, 48)
        ms = []
        with torch.inference_mode():
            for i in range(a.time + 20):
                t0 = time.perf_counter()
                twin(x)
                ms.append((time.perf_counter() - t0) * 1e3)
        ms = sorted(ms[20:])
        print(f"PyTorch eager, batch 1, one thread: median {ms[len(ms) // 2]:.3f} ms over {a.time} calls")


if __name__ == "__main__":
    main(sys.argv[1:])
