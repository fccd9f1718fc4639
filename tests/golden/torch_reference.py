#!/usr/bin/python3
"""Cross-framework golden values: PyTorch computes what mien's layers must produce.

Run with Debian's interpreter (it has python3-torch):

    /usr/bin/python3 tests/golden/torch_reference.py

It rewrites tests/golden/torch_reference.hpp next to this file. Inputs and weights come from a
small integer generator (no framework RNG), are rounded to four decimals and are written into
the header too, so the C++ tests feed mien exactly the numbers PyTorch saw. Everything is
computed in float64.

mien's layout is HWC (one sample) and NHWC (a batch); its weights are conv2d [K][K][Cin][F],
depthwise [K][K][C], qk_projection Wq/Wk [C][D], additive attention W1/W2 [D][D] (rows are the
input index: Q_i W1). The permutes below map them to PyTorch's NCHW and [F][Cin][K][K].
"""

import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


class Values:
    """A 64-bit LCG (Knuth's MMIX constants) mapped to [-1, 1), rounded to 4 decimals."""

    def __init__(self, seed):
        self.state = seed & (2**64 - 1)

    def take(self, n, low=-1.0, high=1.0):
        out = []
        for _ in range(n):
            self.state = (self.state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
            u = (self.state >> 11) / 2.0**53
            out.append(round(low + (high - low) * u, 4))
        return out


def tensor(values, *dims):
    return torch.tensor(values).reshape(*dims)


def flat(t):
    return [float(v) for v in t.reshape(-1)]


blocks = []


def emit(namespace, comment, arrays):
    lines = [f"// {comment}", f"namespace {namespace} {{"]
    for name, values in arrays:
        body = ", ".join(repr(float(v)) for v in values)
        lines.append(f"inline constexpr double {name}[] = {{{body}}};")
    lines.append(f"}}  // namespace {namespace}")
    blocks.append("\n".join(lines))


def nhwc_to_nchw(x):
    return x.permute(0, 3, 1, 2)


def nchw_to_nhwc(y):
    return y.permute(0, 2, 3, 1)


def conv2d_case(namespace, n, h, w, cin, filters, k, stride, same, bias, seed):
    g = Values(seed)
    x = tensor(g.take(n * h * w * cin), n, h, w, cin)
    weight = tensor(g.take(k * k * cin * filters, -0.5, 0.5), k, k, cin, filters)
    b = tensor(g.take(filters), filters) if bias else None
    pad = (k - 1) // 2 if same else 0
    y = F.conv2d(nhwc_to_nchw(x), weight.permute(3, 2, 0, 1), b, stride=stride, padding=pad)
    arrays = [("x", flat(x)), ("weight", flat(weight))]
    if bias:
        arrays.append(("bias", flat(b)))
    arrays.append(("y", flat(nchw_to_nhwc(y))))
    pad_text = "same" if same else "valid"
    emit(namespace, f"conv2d: batch {n}, {h}x{w}x{cin} -> {filters} filters {k}x{k}, stride {stride}, "
         f"{pad_text}, bias {'yes' if bias else 'no'}; y is N x OH x OW x F", arrays)


def depthwise_case(namespace, n, h, w, c, k, stride, same, seed):
    g = Values(seed)
    x = tensor(g.take(n * h * w * c), n, h, w, c)
    weight = tensor(g.take(k * k * c, -0.5, 0.5), k, k, c)
    pad = (k - 1) // 2 if same else 0
    y = F.conv2d(nhwc_to_nchw(x), weight.permute(2, 0, 1).unsqueeze(1), None, stride=stride, padding=pad, groups=c)
    emit(namespace, f"depthwise_conv2d: batch {n}, {h}x{w}x{c}, {k}x{k}, stride {stride}, "
         f"{'same' if same else 'valid'}", [("x", flat(x)), ("weight", flat(weight)), ("y", flat(nchw_to_nhwc(y)))])


def batch_norm_case(namespace, n, h, w, c, seed):
    g = Values(seed)
    x = tensor(g.take(n * h * w * c, -2.0, 3.0), n, h, w, c)
    gamma = tensor(g.take(c, 0.5, 1.5), c)
    beta = tensor(g.take(c), c)
    mean0 = tensor(g.take(c), c)
    var0 = tensor(g.take(c, 0.5, 2.0), c)
    mean, var = mean0.clone(), var0.clone()
    # training=True normalises with the batch statistics and updates mean/var in place with
    # momentum 0.1 and the unbiased batch variance.
    y_train = F.batch_norm(nhwc_to_nchw(x), mean, var, gamma, beta, training=True, momentum=0.1, eps=1e-5)
    y_infer = F.batch_norm(nhwc_to_nchw(x), mean, var, gamma, beta, training=False, eps=1e-5)
    emit(namespace, f"batch_norm: batch {n}, {h}x{w}x{c}; a training pass (batch statistics, running "
         "statistics updated), then an inference pass with the updated running statistics",
         [("x", flat(x)), ("gamma", flat(gamma)), ("beta", flat(beta)), ("running_mean0", flat(mean0)),
          ("running_var0", flat(var0)), ("y_train", flat(nchw_to_nhwc(y_train))), ("running_mean1", flat(mean)),
          ("running_var1", flat(var)), ("y_infer", flat(nchw_to_nhwc(y_infer)))])


def attention_case(namespace, h, w, c, d, seed):
    """ARCHITECTURE.md section 2, written out with torch operations, one sample."""
    g = Values(seed)
    n = h * w
    x = tensor(g.take(n * c), n, c)  # the HxWxC map read row-major as N tokens
    wq = tensor(g.take(c * d), c, d)
    bq = tensor(g.take(d, -0.2, 0.2), d)
    wk = tensor(g.take(c * d), c, d)
    bk = tensor(g.take(d, -0.2, 0.2), d)
    w1 = tensor(g.take(d * d), d, d)
    w2 = tensor(g.take(d * d), d, d)
    b = tensor(g.take(d, -0.2, 0.2), d)
    v = tensor(g.take(d), d)
    q = x @ wq + bq
    kt = x @ wk + bk
    values = x
    a = torch.softmax(q @ kt.T / math.sqrt(d), dim=1)
    o1 = a @ values
    e = torch.tanh((q @ w1).unsqueeze(1) + (kt @ w2).unsqueeze(0) + b) @ v  # E_ij, N x N
    o2 = torch.softmax(e, dim=1) @ values
    z = torch.cat([o1.mean(dim=0), o2.mean(dim=0)])
    qkv = torch.cat([q, kt, values], dim=1)
    emit(namespace, f"attention: {h}x{w}x{c} map ({n} tokens), D = {d}; qkv = [Q | K | V] per token, "
         "o_dot and o_add are N x C, z = [mean o_dot ; mean o_add]",
         [("x", flat(x)), ("wq", flat(wq)), ("bq", flat(bq)), ("wk", flat(wk)), ("bk", flat(bk)),
          ("w1", flat(w1)), ("w2", flat(w2)), ("b", flat(b)), ("v", flat(v)), ("qkv", flat(qkv)),
          ("o_dot", flat(o1)), ("o_add", flat(o2)), ("z", flat(z))])


conv2d_case("conv2d_same", 1, 5, 5, 3, 4, 3, 1, True, False, seed=11)
conv2d_case("conv2d_valid_stride2_bias", 2, 7, 6, 3, 5, 3, 2, False, True, seed=12)
conv2d_case("conv2d_same_stride2_bias", 1, 6, 5, 2, 3, 3, 2, True, True, seed=13)
depthwise_case("depthwise_same", 1, 6, 5, 3, 3, 1, True, seed=21)
depthwise_case("depthwise_valid_stride2", 2, 7, 7, 4, 3, 2, False, seed=22)
batch_norm_case("batch_norm", 2, 3, 2, 3, seed=31)
attention_case("attention", 2, 3, 5, 3, seed=41)
attention_case("attention_wide", 3, 3, 6, 20, seed=42)  # D = 20: a full AVX-512 float register and a tail

header = f"""// tests/golden/torch_reference.hpp -- GENERATED by tests/golden/torch_reference.py with
// PyTorch {torch.__version__}, float64. Do not edit: change the script and re-run
//     /usr/bin/python3 tests/golden/torch_reference.py
// Layouts are mien's: NHWC activations, conv2d weights [K][K][Cin][F], depthwise [K][K][C],
// projections [C][D], additive attention W1/W2 [D][D].
#pragma once

namespace mien::golden {{

{chr(10).join(b + chr(10) for b in blocks)}
}}  // namespace mien::golden
"""

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_reference.hpp"), "w") as f:
    f.write(header)
