"""The Python recorder's overhead (python/stabcheck_torch.py) on the peers' deep-mlp PyTorch loop,
next to anomaly mode and to plain hooks computing the same gradient norms.

Workload: ../shared/peers/common.py's "deep-mlp", restated here so the repo stands alone:
64 -> 16 hidden Linear(128) + ReLU -> 10 logits, softmax cross-entropy (mean), He-normal init
(W ~ N(0, 2/fan_in), b = 0), plain SGD lr 0.01, batch 64, synthetic data from seed 0 (Gaussian
inputs, labels = argmax of a random linear teacher), 64 distinct batches cycled.

Method (as ../shared/peers/bench_torch.py): every mode lives in ONE process with its own model and
optimizer, initialised identically and fed the identical batches; ROUNDS rounds each run
STEPS/ROUNDS timed steps of every mode, the mode order rotated per round, so drift hits all
modes alike and the ratios are same-run ratios. A second plain instance (`plain_b`) gives the
noise floor. The final losses must agree exactly: tooling must not change the numerics.

Modes:
  plain            forward + backward + SGD step
  anomaly          torch.autograd.set_detect_anomaly(True, check_nan=True)
  hooks            the peers' `probes_foreach`: a full backward hook on every Linear taking
                   ||grad_output||, ||grad|| of every parameter via torch._foreach_norm, all
                   copied to the host each step
  recorder         stabcheck_torch.Recorder, writing a trace line per step (to /dev/null):
                   gradient norms, weight norms, update ratios and the forward-hook output
                   statistics of every Linear
  recorder_noact   the same with activations=False (no forward hooks)
  plain_b          a second plain instance

Usage: /usr/bin/python3 benches/torch_recorder.py [steps] [warmup] [rounds]
Pin the core from outside: `taskset -c 0 /usr/bin/python3 benches/torch_recorder.py 600 30 6`.
Prints one line per mode: median ms/step and the ratio to `plain`.
"""
import os
import statistics
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from stabcheck_torch import Recorder  # noqa: E402

STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 600
WARMUP = int(sys.argv[2]) if len(sys.argv) > 2 else 30
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 6
DIMS = [64] + [128] * 16 + [10]
BATCH, SAMPLES, LR = 64, 4096, 0.01

warnings.filterwarnings("ignore", message="Full backward hook is firing")
torch.set_num_threads(1)
torch.set_num_interop_threads(1)

rng = np.random.default_rng(0)
X = rng.standard_normal((SAMPLES, DIMS[0]))
Y = np.argmax(X @ rng.standard_normal((DIMS[0], DIMS[-1])), axis=1).astype(np.int64)
X, Y = torch.tensor(X, dtype=torch.float32), torch.tensor(Y)
prng = np.random.default_rng(1)
INIT = [(prng.standard_normal((a, b)) * np.sqrt(2.0 / a), np.zeros(b))
        for a, b in zip(DIMS[:-1], DIMS[1:])]
NB = SAMPLES // BATCH


def build():
    layers = []
    for i, (w, b) in enumerate(INIT):
        lin = nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w.T, dtype=torch.float32))
            lin.bias.copy_(torch.tensor(b, dtype=torch.float32))
        layers.append(lin)
        if i < len(INIT) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Runner:
    def __init__(self, mode):
        self.mode = mode
        self.model = build()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.params = list(self.model.parameters())
        self.i = 0
        self.times = []
        self.act_norms = []
        self.log = []
        self.rec = None
        if mode == "hooks":
            def hook(_m, _gin, gout):
                self.act_norms.append(torch.linalg.vector_norm(gout[0]))
            for m in self.model:
                if isinstance(m, nn.Linear):
                    m.register_full_backward_hook(hook)
        elif mode.startswith("recorder"):
            self.rec = Recorder(self.model, os.devnull, activations=(mode == "recorder"))

    def step(self):
        lo = (self.i % NB) * BATCH
        xb, yb = X[lo:lo + BATCH], Y[lo:lo + BATCH]
        self.i += 1
        self.opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model(xb), yb)
        loss.backward()
        if self.mode == "hooks":
            norms = torch._foreach_norm([p.grad for p in self.params])
            self.log.append(torch.stack(list(norms) + self.act_norms).tolist())
            self.act_norms.clear()
        if self.rec is not None:
            self.rec.after_backward(loss, self.opt)
        self.opt.step()
        if self.rec is not None:
            self.rec.after_step()
        return loss

    def run(self, n, timed):
        if self.mode == "anomaly":
            torch.autograd.set_detect_anomaly(True, check_nan=True)
        try:
            for _ in range(n):
                t0 = time.perf_counter()
                self.loss = self.step()
                if timed:
                    self.times.append(time.perf_counter() - t0)
        finally:
            torch.autograd.set_detect_anomaly(False)


modes = ["plain", "anomaly", "hooks", "recorder", "recorder_noact", "plain_b"]
runners = [Runner(m) for m in modes]
for r in runners:
    r.run(WARMUP, timed=False)
per_round = STEPS // ROUNDS
for k in range(ROUNDS):
    for j in range(len(runners)):
        runners[(j + k) % len(runners)].run(per_round, timed=True)
base = statistics.median(runners[0].times)
print(f"torch {torch.__version__}, 1 thread, {per_round * ROUNDS} timed steps per mode in {ROUNDS} "
      "interleaved rounds")
for r in runners:
    med = statistics.median(r.times)
    print(f"{r.mode:<15} {med * 1e3:8.3f} ms/step  x{med / base:5.3f}  "
          f"final loss {float(r.loss):.9g}")
losses = {float(r.loss) for r in runners}
if len(losses) != 1:
    print(f"FAIL: the modes' final losses differ: {sorted(losses)}")
    sys.exit(1)
