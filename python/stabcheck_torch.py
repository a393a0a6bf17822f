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
    """2-norms of `tensors` (f32 math for 16-bit tensors), as one 1-D f64 tensor."""
    if not tensors:
        return torch.zeros(0, dtype=torch.float64)
    if hasattr(torch, "_foreach_norm") and all(t.dtype == tensors[0].dtype for t in tensors):
        found = torch._foreach_norm(tensors)
    else:
        found = [torch.linalg.vector_norm(t.float()) for t in tensors]
    return torch.stack([n.double() for n in found])


class Recorder:
    """Writes one trace line per step of a PyTorch training loop (see the module docstring)."""

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
        self.biases = [getattr(named[n], "bias", None) for n in self.names]
        self.params = [p for p in model.parameters() if p.requires_grad]
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
            grads = [p.grad for p in self.params if p.grad is not None]
            total = _norms(grads).square().sum().sqrt() if grads else torch.tensor(math.nan)
            per_tensor = []
            for w, b in zip(self.weights, self.biases):
                per_tensor.append(w.grad if w.grad is not None else torch.full((1,), math.nan))
                if b is not None:
                    per_tensor.append(b.grad if b.grad is not None else torch.full((1,), math.nan))
            self.pending = {
                "loss": float(loss),
                "lr": float(optimizer.param_groups[0]["lr"]),
                "grad_norm": float(total),
                "tensor_grads": _norms(per_tensor).tolist(),
                "before": [w.detach().clone() for w in self.weights],
            }

    def after_step(self):
        """Call after `optimizer.step()`: measures the update and writes the step's line."""
        if self.pending is None:
            raise RuntimeError("stabcheck_torch: after_step() without after_backward() first")
        p, self.pending = self.pending, None
        with torch.no_grad():
            after = [w.detach() for w in self.weights]
            deltas = [a - b for a, b in zip(after, p["before"])]
            stats = torch.cat([_norms(after), _norms(deltas), _norms(p["before"])]).tolist()
        k = len(self.weights)
        norms, delta_norms, before_norms = stats[:k], stats[k:2 * k], stats[2 * k:]
        grads = iter(p["tensor_grads"])
        tensors = {}
        for i, (name, b) in enumerate(zip(self.names, self.biases)):
            ratio = delta_norms[i] / before_norms[i] if before_norms[i] > 0 else math.nan
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
            "loss": _number(p["loss"]),
            "lr": _number(p["lr"]),
            "grad_norm": _number(p["grad_norm"]),
            "tensors": tensors,
        }
        if self.hooks:
            line["modules"] = {n: self.outputs.get(n, _NOT_MEASURED) for n in self.names}
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
    """Output statistics of one module as stabcheck's probes define them (16-bit outputs are
    measured in f32; torch's reductions sum pairwise, so f32 sums are accurate enough)."""
    x = out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
    finite = torch.isfinite(x)
    rows = x.reshape(-1, x.shape[-1]) if x.dim() > 0 else x.reshape(1, 1)
    dead = (rows == 0).all(dim=0).double().mean()
    m = torch.stack([x.mean(), x.std(unbiased=False), x.abs().max(), dead]).tolist()
    nonfinite = 0 if bool(finite.all()) else int((~finite).sum())
    return {
        "activation_mean": _number(m[0]),
        "activation_std": _number(m[1]),
        "activation_max_abs": _number(m[2]),
        "dead_fraction": _number(m[3]),
        "nonfinite": nonfinite,
    }
