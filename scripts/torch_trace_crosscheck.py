"""An MLP scenario trained in PyTorch from stabcheck's own npz weights and batches, recorded with
python/stabcheck_torch.py (tests/it/torch_trace.rs drives it; docs/traces.md).

Usage: torch_trace_crosscheck.py DIR
DIR holds what the Rust test exported:
- init.npz: `layer{L}.weight` as [fan_in, fan_out] (PyTorch's Linear.weight transposed) and
  `layer{L}.bias`;
- data.npz: `x` [samples, inputs] f32, `y` [samples] int64 class labels, `idx` [steps, batch]
  int64, the sample indices of every step's batch in the core's order;
- config.json: {"activation": "relu", "betas", "eps", "steps", "lrs"}, `lrs` the core's
  learning rate of every step (its schedule), set on the optimizer before each update.
Writes DIR/torch.jsonl. Adam and cross-entropy are torch's own (`torch.optim.Adam`,
`F.cross_entropy`).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from stabcheck_torch import Recorder  # noqa: E402

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "identity": lambda x: x}


class Dense(nn.Linear):
    """A Linear followed by its activation, so the module's output is what stabcheck's layer
    outputs are (post-activation) and its state_dict names are `layerL.weight`."""

    def __init__(self, fan_in, fan_out, activation):
        super().__init__(fan_in, fan_out)
        self.activation = activation

    def forward(self, x):
        return self.activation(super().forward(x))


class Mlp(nn.Module):
    def __init__(self, init, activation):
        super().__init__()
        depth = len([k for k in init.files if k.endswith(".weight")])
        for layer in range(depth):
            w = init[f"layer{layer}.weight"]
            act = ACTIVATIONS["identity"] if layer == depth - 1 else ACTIVATIONS[activation]
            dense = Dense(w.shape[0], w.shape[1], act)
            with torch.no_grad():
                dense.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
                dense.bias.copy_(torch.from_numpy(init[f"layer{layer}.bias"]))
            setattr(self, f"layer{layer}", dense)
        self.depth = depth

    def forward(self, x):
        for layer in range(self.depth):
            x = getattr(self, f"layer{layer}")(x)
        return x


def main(folder):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    init = np.load(os.path.join(folder, "init.npz"))
    data = np.load(os.path.join(folder, "data.npz"))
    x, y, idx = torch.from_numpy(data["x"]), torch.from_numpy(data["y"]), data["idx"]
    model = Mlp(init, cfg["activation"])
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lrs"][0], betas=tuple(cfg["betas"]),
                           eps=cfg["eps"])
    with Recorder(model, os.path.join(folder, "torch.jsonl")) as rec:
        for step in range(cfg["steps"]):
            rows = torch.from_numpy(idx[step])
            for group in opt.param_groups:
                group["lr"] = cfg["lrs"][step]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[rows]), y[rows])
            loss.backward()
            rec.after_backward(loss, opt)
            opt.step()
            rec.after_step()


if __name__ == "__main__":
    main(sys.argv[1])
