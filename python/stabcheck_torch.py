"""Record a stabcheck trace from your own PyTorch training loop; needs only torch.

A trace is JSONL, one object per step (schema 1, docs/traces.md; `stabcheck schema --trace`
prints its JSON Schema). `stabcheck diagnose trace.jsonl` judges it with the same diagnoses and
gates as a scenario run. Three lines in a loop:

    from stabcheck_torch import Recorder

    rec = Recorder(model, "trace.jsonl")
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        rec.after_backward(loss, opt)   # gradient norms, before any clipping or unscaling
        opt.step()
        rec.after_step()                # weight norms and update ratios; writes the line
    rec.close()

What is recorded, per step:
- `loss` (the value passed in), `lr` (`opt.param_groups[0]["lr"]` when the update ran) and
  `grad_norm` (the 2-norm of every parameter's gradient together);
- per tensor, under state_dict names: `M.weight` with `grad_norm`, `norm` (after the update) and
  `update_ratio` (‖W_after − W_before‖ / ‖W_before‖); `M.bias` with `grad_norm`;
- per module `M`, from a forward hook on its output: `activation_mean`, `activation_std`
  (population), `activation_max_abs`, `nonfinite` (count) and `dead_fraction` (the fraction of
  output units, i.e. of the last dimension, that are exactly 0 for every sample).

Assumptions, stated because a trace cannot check them:
- The modules are every module owning a parameter named `weight` (Linear, Conv, Embedding,
  LayerNorm, ...), in `named_modules()` order, which is registration order. stabcheck reads that
  order as the forward (depth) order; pass `modules=[name, ...]` when it is not.
- A module's statistics come from its first forward call after the previous `after_step`, so an
  evaluation pass between steps does not overwrite them; a module called twice per step (weight
  sharing) is measured on its first call.
- With a GradScaler, call `after_backward` after `scaler.unscale_(opt)`, so gradients are true
  gradients. Under DDP, record on one rank; names keep the `module.` prefix.
- `activations=False` skips the forward hooks (and their cost); the module statistics then read
  as "not measured" (NaN), never as 0.
"""
import json
import math

import torch

SCHEMA = 1


def _number(v):
    """A float for JSON: non-finite values as the strings "NaN", "inf", "-inf" (as run.json)."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _norms(tensors):
    """2-norms of `tensors` as one 1-D f64 tensor (f32 math for 16-bit tensors); one fused call
    where torch has `_foreach_norm` and the dtypes agree."""
    if not tensors:
        return torch.zeros(0, dtype=torch.float64)
    if hasattr(torch, "_foreach_norm") and all(t.dtype == tensors[0].dtype for t in tensors):
        return torch.stack(torch._foreach_norm(tensors)).double()
    return torch.stack([torch.linalg.vector_norm(t.float()) for t in tensors]).double()


class Recorder:
    """Writes one trace line per step of a PyTorch training loop (see the module docstring).

    Cost: everything a step measures is gathered into one tensor and copied to the host once,
    in `after_step` (one device sync per step); each module's forward hook runs four reductions
    over its output. `benches/torch_recorder.py` measures the overhead.
    """

    def __init__(self, model, path, modules=None, activations=True):
        named = dict(model.named_modules())
        if modules is None:
            modules = [n for n, m in named.items() if m._parameters.get("weight") is not None]
        missing = [n for n in modules if n not in named or named[n]._parameters.get("weight") is None]
        if missing:
            raise ValueError(f"stabcheck_torch: no module with a .weight named {missing}")
        if not modules:
            raise ValueError("stabcheck_torch: the model has no module with a .weight parameter")
        self.names = list(modules)
        self.weights = [named[n].weight for n in self.names]
        biases = [getattr(named[n], "bias", None) for n in self.names]
        self.biases = [b if isinstance(b, torch.Tensor) else None for b in biases]
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.tracked = [t for w, b in zip(self.weights, self.biases) for t in (w, b) if t is not None]
        # Each weight's value before the update, in buffers allocated once (a fresh allocation
        # per step cost page faults: measured 2-4x slower than copying in place).
        self.before = [torch.empty_like(w, memory_format=torch.preserve_format) for w in self.weights]
        self.file = open(path, "w", encoding="utf-8")
        self.step = 0
        self.pending = None
        self.outputs = {}
        self.hooks = []
        if activations:
            for n in self.names:
                self.hooks.append(named[n].register_forward_hook(self._hook(n)))

    def _hook(self, name):
        def hook(_module, _inputs, output):
            if name in self.outputs or not torch.is_tensor(output):
                return
            with torch.no_grad():
                self.outputs[name] = _module_stats(output.detach())
        return hook

    def after_backward(self, loss, optimizer):
        """Call after `loss.backward()` and before `optimizer.step()` (and before clipping)."""
        with torch.no_grad():
            have = [p for p in self.params if p.grad is not None]
            norms = _norms([p.grad for p in have])
            total = norms.square().sum().sqrt().reshape(1)
            at = {id(p): i for i, p in enumerate(have)}
            # A tracked tensor without a gradient points past the end, at a NaN.
            pick = torch.tensor([at.get(id(t), len(have)) for t in self.tracked])
            per_tensor = torch.cat([norms, norms.new_full((1,), math.nan)])[pick]
            for buf, w in zip(self.before, self.weights):
                buf.copy_(w)
            self.pending = {
                "lr": float(optimizer.param_groups[0]["lr"]),
                "head": torch.cat([loss.detach().double().reshape(1), total, per_tensor,
                                   _norms(self.before)]),
            }

    def after_step(self):
        """Call after `optimizer.step()`: measures the update and writes the step's line."""
        if self.pending is None:
            raise RuntimeError("stabcheck_torch: after_step() without after_backward() first")
        p, self.pending = self.pending, None
        k = len(self.weights)
        with torch.no_grad():
            after = [w.detach() for w in self.weights]
            for buf, w in zip(self.before, after):
                buf.sub_(w)  # now -ΔW, whose norm is ‖ΔW‖
            parts = [p["head"], _norms(after), _norms(self.before)]
            measured = [n for n in self.names if n in self.outputs] if self.hooks else []
            if measured:
                parts.append(torch.cat([self.outputs[n] for n in measured]))
            values = torch.cat(parts).tolist()
        loss, total = values[0], values[1]
        at = 2 + len(self.tracked)
        grads = iter(values[2:at])
        befores, norms, deltas = values[at:at + k], values[at + k:at + 2 * k], values[at + 2 * k:at + 3 * k]
        tensors = {}
        for i, (name, b) in enumerate(zip(self.names, self.biases)):
            ratio = deltas[i] / befores[i] if befores[i] > 0 else math.nan
            tensors[f"{name}.weight"] = {
                "grad_norm": _number(next(grads)),
                "norm": _number(norms[i]),
                "update_ratio": _number(ratio),
            }
            if b is not None:
                tensors[f"{name}.bias"] = {"grad_norm": _number(next(grads))}
        line = {
            "schema": SCHEMA,
            "step": self.step,
            "loss": _number(loss),
            "lr": _number(p["lr"]),
            "grad_norm": _number(total),
            "tensors": tensors,
        }
        if self.hooks:
            stats = values[at + 3 * k:]
            found = {n: _module_line(stats[5 * j:5 * j + 5]) for j, n in enumerate(measured)}
            line["modules"] = {n: found.get(n, _NOT_MEASURED) for n in self.names}
        self.outputs = {}
        self.file.write(json.dumps(line) + "\n")
        self.file.flush()
        self.step += 1

    def close(self):
        for h in self.hooks:
            h.remove()
        self.hooks = []
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()


_NOT_MEASURED = {"activation_mean": "NaN", "activation_std": "NaN", "activation_max_abs": "NaN"}


def _module_stats(out):
    """A module output's `[mean, std, max |x|, dead units, non-finite count]` as one f64 tensor,
    left on the device until `after_step`.

    `std` is the population std (torch's two-pass reduction, in f32 for 16-bit outputs). A unit
    (last dimension) is dead when its largest `|x|` over the samples is exactly 0, which also
    gives `max |x|`. Non-finite values are counted on the GPU always (asynchronously), on the
    CPU only when the sum is not finite (any NaN or ±inf makes it so), since counting costs more
    than all the rest there (measured: 18 µs of ~25 µs per 64x128 output on torch 1.13).
    """
    x = out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
    rows = x.reshape(-1, x.shape[-1]) if x.dim() > 0 else x.reshape(1, 1)
    total = rows.sum()
    mean = total / max(rows.numel(), 1)
    std = rows.std(unbiased=False)
    reach = torch.maximum(rows.amax(dim=0), -rows.amin(dim=0))
    dead = (reach == 0).sum() / max(rows.shape[1], 1)
    if rows.is_cuda or not math.isfinite(float(total)):
        nonfinite = rows.numel() - torch.isfinite(rows).sum()
    else:
        nonfinite = torch.zeros((), dtype=mean.dtype)
    return torch.stack([mean, std, reach.max(), dead.to(mean.dtype), nonfinite.to(mean.dtype)]).double()


def _module_line(v):
    return {
        "activation_mean": _number(v[0]),
        "activation_std": _number(v[1]),
        "activation_max_abs": _number(v[2]),
        "dead_fraction": _number(v[3]),
        "nonfinite": int(v[4]) if math.isfinite(v[4]) else 0,
    }
