#!/usr/bin/python3
"""Converts a mien .npz (mien::save_npz) into PyTorch layouts and saves a state dict.

    /usr/bin/python3 tools/npz_to_torch.py best.npz best.pt

mien names its arrays "<layer index>.<layer>.<tensor>" (docs/WEIGHTS_FORMAT.md) and stores
them the Keras/TF way. PyTorch modules want other layouts; this maps each array:

    conv2d / pointwise weight  [K][K][Cin][F] -> nn.Conv2d weight [F][Cin][K][K]
    depthwise_conv2d weight    [K][K][C]      -> nn.Conv2d(groups=C) weight [C][1][K][K]
    dense, qk_projection and additive_attention weights [In][Out] -> nn.Linear weight [Out][In]
    batch_norm gamma, beta     -> weight, bias (running_mean, running_var unchanged; PyTorch
                                  and mien share eps 1e-5, momentum 0.1, unbiased variance)
    biases                     -> unchanged; dropout rate -> dropped (not a tensor in PyTorch)

Keys stay "<index>.<layer>.<name>" with the PyTorch tensor name; rename them to your module's
names, e.g. {"00.conv2d.weight": "features.0.weight"}. A dense layer fed by a HxWxC map (not
the paper's 1x1xC pooled vector) flattens HWC, while torch.flatten of NCHW flattens CHW:
permute its input rows before loading such a weight.
"""
import sys
from collections import OrderedDict

import numpy as np
import torch

RENAME = {"gamma": "weight", "beta": "bias"}


def convert(name, array):
    """(torch key, tensor) for one mien array, or None for arrays PyTorch has no slot for."""
    index, layer, tensor = name.split(".", 2)
    a = np.asarray(array, dtype=np.float32)
    if layer == "dropout":
        return None
    if layer in ("conv2d", "pointwise") and tensor == "weight":
        a = a.transpose(3, 2, 0, 1)
    elif layer == "depthwise_conv2d" and tensor == "weight":
        a = a.transpose(2, 0, 1)[:, None, :, :]
    elif a.ndim == 2:  # dense, qk_projection and additive_attention matrices: x @ W -> Linear
        a = a.T
    key = f"{index}.{layer}.{RENAME.get(tensor, tensor)}"
    return key, torch.from_numpy(np.ascontiguousarray(a))


def load(path):
    """The state dict of a mien .npz, in PyTorch layouts, in network order."""
    with np.load(path) as archive:
        pairs = (convert(name, archive[name]) for name in archive.files)  # mien writes them in network order
        return OrderedDict(p for p in pairs if p is not None)


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    state = load(argv[1])
    torch.save(state, argv[2])
    for key, value in state.items():
        print(f"{key:40s} {tuple(value.shape)}")


if __name__ == "__main__":
    main(sys.argv)
